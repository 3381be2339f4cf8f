import Foundation
import XCTest
@testable import Host

/// Constant folding computes 64-bit integers exactly: Double holds only 53 bits, so 2^53 + 1,
/// Int64.max and Int64.min must never pass through it.
final class ExactFoldingTests: XCTestCase {
    /// Folds `op(inputs...)` over int64 constants and returns the folded int64 elements (nil when
    /// the pass left the node alone).
    func fold(_ op: String, _ inputs: [[Int64]], dtype: DType = .i64, attributes: [Attribute] = [],
              outputType: DType = .i64) -> [Int64]? {
        let g = Graph()
        let ids = inputs.map { v -> ValueID in
            let bytes = v.withUnsafeBytes { Array($0) }
            return g.addInitializer(Initializer(dtype: dtype, dims: [Int64(v.count)], bytes: .owned(bytes)))
        }
        let n = g.addNode(op, ids, outputCount: 1)
        for a in attributes { g.setAttribute(node: n, a) }
        let out = g.nodes[n].outputs[0]
        g.setType(out, dtype: outputType)
        g.addOutput(out, name: "y")
        FoldConstants().run(g, opset: 23)
        guard let t = folded(g) else { return nil }
        return t.bytes.withBytes { raw in (0..<(raw.count / 8)).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self) } }
    }

    /// The constant the graph output now reads (a folded output is copied out through an Identity).
    func folded(_ g: Graph) -> Initializer? {
        let v = g.outputs[0].value
        if let t = g.initializer(of: v) { return t }
        guard let n = g.nodes.first(where: { $0.outputs.contains(v) }), n.op == "Identity" else { return nil }
        return g.initializer(of: n.inputs[0])
    }

    func testAboveTwoToThe53() {
        let big: Int64 = (1 << 53) + 1
        XCTAssertEqual(fold("Add", [[big, big], [2, -1]]), [big + 2, big - 1])
        XCTAssertEqual(fold("Mul", [[big], [3]]), [big * 3])
        XCTAssertEqual(fold("Identity", [[big]]), [big])
        XCTAssertEqual(fold("Where", [[1, 0], [big, big], [big - 1, big - 1]]), [big, big - 1])
    }

    func testAtTheEndsOfInt64() {
        XCTAssertEqual(fold("Identity", [[.max, .min]]), [.max, .min])
        XCTAssertEqual(fold("Sub", [[.max], [1]]), [.max - 1])
        XCTAssertEqual(fold("Add", [[.min], [1]]), [.min + 1])
        XCTAssertEqual(fold("Neg", [[.max]]), [-.max])
        XCTAssertEqual(fold("Max", [[.max, .min], [.max - 1, .min + 1]]), [.max, .min + 1])
        XCTAssertEqual(fold("Div", [[.max, .min], [2, 3]]), [.max / 2, .min / 3])
        XCTAssertEqual(fold("Concat", [[.max], [.min]], attributes: [Attribute(name: "axis", value: .int(0))]), [.max, .min])
        XCTAssertEqual(fold("Range", [[.max - 3], [.max], [1]]), [.max - 3, .max - 2, .max - 1])
        // Wraps as ONNX Runtime's kernels do, never traps.
        XCTAssertEqual(fold("Add", [[.max], [1]]), [.min])
        XCTAssertEqual(fold("Mul", [[.min], [-1]]), [.min])
        // No defined result: left for the runtime, not folded.
        XCTAssertNil(fold("Div", [[.min], [-1]]))
        XCTAssertNil(fold("Div", [[1], [0]]))
    }

    func testCastsKeepIntegersAndRefuseFloatsOutOfRange() {
        XCTAssertEqual(fold("Cast", [[(1 << 53) + 1]], dtype: .i64, attributes: [Attribute(name: "to", value: .int(7))]), [(1 << 53) + 1])
        let doubles: [Double] = [1e19, -1e19]
        let t = Graph()
        let x = t.addInitializer(Initializer(dtype: .f64, dims: [2], bytes: .owned(doubles.withUnsafeBytes { Array($0) })))
        let n = t.addNode("Cast", [x], outputCount: 1)
        t.setAttribute(node: n, Attribute(name: "to", value: .int(7)))
        t.setType(t.nodes[n].outputs[0], dtype: .i64)
        t.addOutput(t.nodes[n].outputs[0], name: "y")
        FoldConstants().run(t, opset: 23)  // out of int64's range: not folded, and no trap
        XCTAssertNil(folded(t))
    }
}
