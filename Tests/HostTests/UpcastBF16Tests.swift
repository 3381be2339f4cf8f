import XCTest
@testable import Host

final class UpcastBF16Tests: XCTestCase {
    /// x: bf16 input, w: bf16 initializer; y = Cast<bf16>(Cast<f32>(x) * 3) + w.
    func graph() -> (Graph, w: ValueID) {
        let g = Graph()
        let x = g.addInput(name: "x", type: TensorType(.bf16, [.known(2)]))
        // 1.0 and -2.0 in bf16: 0x3F80, 0xC000, little-endian.
        let w = g.addInitializer(Initializer(dtype: .bf16, dims: [2], bytes: .owned([0x80, 0x3F, 0x00, 0xC0])))
        let toF32 = g.addNode("Cast", [x], outputCount: 1)
        g.setAttribute(node: toF32, Attribute(name: "to", value: .int(Int64(DType.f32.rawValue))))
        g.setType(g.nodes[toF32].outputs[0], dtype: .f32)
        let three = g.addInitializer(Initializer(dtype: .f32, dims: [], bytes: .owned([0, 0, 0x40, 0x40])))
        let mul = g.addNode("Mul", [g.nodes[toF32].outputs[0], three], outputCount: 1)
        g.setType(g.nodes[mul].outputs[0], dtype: .f32)
        let toBF16 = g.addNode("Cast", [g.nodes[mul].outputs[0]], outputCount: 1)
        g.setAttribute(node: toBF16, Attribute(name: "to", value: .int(Int64(DType.bf16.rawValue))))
        g.setType(g.nodes[toBF16].outputs[0], dtype: .bf16)
        let add = g.addNode("Add", [g.nodes[toBF16].outputs[0], w], outputCount: 1)
        g.setType(g.nodes[add].outputs[0], dtype: .bf16)
        g.addOutput(g.nodes[add].outputs[0], name: "y")
        return (g, w)
    }

    func testEveryBF16ValueBecomesF32AndConversionsStillRound() throws {
        let (g, w) = graph()
        UpcastBF16().run(g, opset: 23)
        // The interface and the weights are f32; the weight keeps its values exactly.
        XCTAssertEqual(g.values[Int(g.inputs[0].value)].dtype, .f32)
        XCTAssertEqual(g.values[Int(g.outputs[0].value)].dtype, .f32)
        let weight = try XCTUnwrap(g.initializer(of: w))
        XCTAssertEqual(weight.dtype, .f32)
        weight.bytes.withBytes { XCTAssertEqual(Array($0.bindMemory(to: Float.self)), [1.0, -2.0]) }
        // The Cast to bf16 survives and is read back as f32 before the Add.
        XCTAssertEqual(g.nodes.map(\.op), ["Cast", "Mul", "Cast", "Cast", "Add", "Cast", "Cast"])
        let castBack = g.nodes[3]
        XCTAssertEqual(castBack.inputs, g.nodes[2].outputs)
        XCTAssertEqual(g.nodes[4].inputs[0], castBack.outputs[0])
        XCTAssertEqual(g.values[Int(g.nodes[2].outputs[0])].dtype, .bf16)
        // The output is rounded to bf16 precision: Cast<bf16> then Cast<f32> after the Add.
        XCTAssertEqual(g.nodes[5].inputs, g.nodes[4].outputs)
        XCTAssertEqual(g.outputs[0].value, g.nodes[6].outputs[0])
        XCTAssertNoThrow(try Verifier.verify(g, opset: 23))
    }

    func testAGraphWithoutBF16IsUntouched() {
        let g = Graph()
        let x = g.addInput(name: "x", type: TensorType(.f32, [.known(2)]))
        let n = g.addNode("Neg", [x], outputCount: 1)
        g.setType(g.nodes[n].outputs[0], dtype: .f32)
        g.addOutput(g.nodes[n].outputs[0], name: "y")
        UpcastBF16().run(g, opset: 23)
        XCTAssertEqual(g.nodes.map(\.op), ["Neg"])
        XCTAssertEqual(g.outputs[0].value, g.nodes[0].outputs[0])
    }
}
