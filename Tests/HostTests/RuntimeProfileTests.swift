import XCTest
@testable import Host

final class RuntimeProfileTests: XCTestCase {
    func testOrtCPUAnswersFromTheGeneratedTable() {
        let cpu = RuntimeProfile.ortCPU
        XCTAssertGreaterThan(cpu.rowCount, 400)
        XCTAssertTrue(cpu.supports("Gemm", opset: 23, dtype: .f32))
        XCTAssertFalse(cpu.supports("Gemm", opset: 23, dtype: .bf16), "ORT 1.32 has no bf16 Gemm on CPU")
        XCTAssertFalse(cpu.supports("Mul", opset: 23, dtype: .bf16))
        XCTAssertTrue(cpu.supports("Cast", opset: 23, dtype: .bf16))
        // Equal is keyed on its input's type, not its bool output.
        XCTAssertFalse(cpu.supports("Equal", opset: 23, dtype: .f16))
        XCTAssertTrue(cpu.supports("Equal", opset: 23, dtype: .f32))
        XCTAssertFalse(cpu.supports("Gemm", domain: "com.example", opset: 23, dtype: .f32))
    }

    func testAnOpenEndedKernelServesOnlyTheSchemaVersionItStartsAt() {
        // ORT registers RandomUniformLike from opset 1 without an end version; ONNX gave the op a
        // new schema at opset 22, and ORT finds no kernel for it there (checked by a session).
        let cpu = RuntimeProfile.ortCPU
        XCTAssertTrue(cpu.supports("RandomUniformLike", opset: 21, dtype: .f32))
        XCTAssertFalse(cpu.supports("RandomUniformLike", opset: 22, dtype: .f32))
        XCTAssertFalse(cpu.supports("RandomUniformLike", opset: 23, dtype: .f32))
        // A versioned kernel row still serves every schema version in its range.
        XCTAssertTrue(cpu.supports("Acos", opset: 21, dtype: .f32))
        XCTAssertTrue(cpu.supports("Acos", opset: 23, dtype: .f32))
    }

    func testSpecTargetAcceptsEverythingAndWebDropsFloat64() {
        XCTAssertTrue(RuntimeProfile.spec.supports("Gemm", opset: 23, dtype: .bf16))
        XCTAssertTrue(RuntimeProfile.ortCPU.supports("Tanh", opset: 23, dtype: .f64))
        XCTAssertFalse(RuntimeProfile.ortWeb.supports("Tanh", opset: 23, dtype: .f64))
        XCTAssertEqual(RuntimeProfile.named("ort-web")?.name, "ort-web")
        XCTAssertNil(RuntimeProfile.named("tensorrt"))
    }

    func testANodeTheTargetLacksIsNamedWithItsDtype() {
        let g = Graph()
        let a = g.addValue(.bf16, [.known(2)], producer: -1)
        let n = g.addNode("Mul", [a, a], outputCount: 1)
        g.setType(g.nodes[n].outputs[0], dtype: .bf16)
        let problem = RuntimeProfile.ortCPU.problem(g, g.nodes[n], opset: 23)
        XCTAssertNotNil(problem)
        XCTAssertTrue(problem!.contains("ort-cpu") && problem!.contains("Mul") && problem!.contains("bf16"), problem!)
        XCTAssertNil(RuntimeProfile.spec.problem(g, g.nodes[n], opset: 23))
    }
}
