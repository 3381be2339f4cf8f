import XCTest
@testable import Host

/// Shape truth's rules on nodes any pack could emit, a third party's included: each case is a
/// one-node graph over inputs of given shapes, refused with the reason, or accepted.
final class ShapeTruthTests: XCTestCase {
    struct Case {
        let op: String
        let inputs: [[Dim]]
        let constants: [[Int64]]  // i64 inputs after the tensor inputs (shapes, axes, K)
        let attributes: [Attribute]
        let declared: [Dim]?
        let refusal: String?  // nil: accepted
    }

    static let b: Dim = .symbolic("B")
    static func k(_ xs: Int64...) -> [Dim] { xs.map { .known($0) } }

    static let cases: [Case] = [
        // Conv's kernel is [M, C/group, k...]: 4 input channels do not fit a kernel taking 3.
        Case(op: "Conv", inputs: [k(1, 4, 8, 8), k(6, 3, 3, 3)], constants: [], attributes: [], declared: nil,
             refusal: "4 input channels for a kernel taking 3 per group of 1"),
        Case(op: "Conv", inputs: [k(1, 6, 8, 8), k(4, 3, 3, 3)], constants: [], attributes: [Attribute(name: "group", value: .int(2))],
             declared: k(1, 4, 6, 6), refusal: nil),
        // ConvTranspose's kernel is [C, M/group, k...].
        Case(op: "ConvTranspose", inputs: [k(1, 3, 8, 8), k(3, 2, 3, 3)], constants: [], attributes: [Attribute(name: "group", value: .int(2))],
             declared: nil, refusal: "3 input channels in 2 groups"),
        Case(op: "ConvTranspose", inputs: [k(1, 4, 8, 8), k(3, 2, 3, 3)], constants: [], attributes: [], declared: nil,
             refusal: "4 input channels for a kernel taking 3"),
        // 2 * (8 - 1) + (3 - 1) + 1 - 1 - 1 = 15 per spatial axis, 2 * 2 = 4 channels.
        Case(op: "ConvTranspose", inputs: [k(1, 4, 8, 8), k(4, 2, 3, 3)], constants: [],
             attributes: [Attribute(name: "strides", value: .ints([2, 2])), Attribute(name: "pads", value: .ints([1, 1, 1, 1])),
                          Attribute(name: "group", value: .int(2))],
             declared: k(1, 4, 8, 8), refusal: "ConvTranspose computes [1, 4, 15, 15] but the bundle declares [1, 4, 8, 8]"),
        Case(op: "ConvTranspose", inputs: [k(1, 4, 8, 8), k(4, 2, 3, 3)], constants: [],
             attributes: [Attribute(name: "strides", value: .ints([2, 2])), Attribute(name: "pads", value: .ints([1, 1, 1, 1])),
                          Attribute(name: "output_padding", value: .ints([1, 0])), Attribute(name: "group", value: .int(2))],
             declared: k(1, 4, 16, 15), refusal: nil),
        // An axis attribute outside the operand.
        Case(op: "TopK", inputs: [k(6, 5)], constants: [[2]], attributes: [Attribute(name: "axis", value: .int(2))], declared: nil,
             refusal: "axis 2 of a rank-2 operand"),
        Case(op: "Softmax", inputs: [k(6, 5)], constants: [], attributes: [Attribute(name: "axis", value: .int(-3))], declared: nil,
             refusal: "axis -3 of a rank-2 operand"),
        Case(op: "Softmax", inputs: [k(6, 5)], constants: [], attributes: [Attribute(name: "axis", value: .int(-2))], declared: k(6, 5),
             refusal: nil),
        // Whole-number sizes: [B, 30] holds a multiple of 30 elements, never 10; 30 is possible (B = 1).
        Case(op: "Reshape", inputs: [[b, .known(30)]], constants: [[1, 10]], attributes: [], declared: nil,
             refusal: "[B, 30] (a multiple of 30 elements) reshaped to [1, 10]"),
        Case(op: "Reshape", inputs: [[b, .known(30)]], constants: [[3, 10]], attributes: [], declared: k(3, 10), refusal: nil),
    ]

    func testRulesRefuseWhatONNXRuntimeWouldAndAcceptTheRest() throws {
        for (i, c) in Self.cases.enumerated() {
            let g = Graph()
            var ins = c.inputs.enumerated().map { g.addInput(name: "x\($0.offset)", type: TensorType(.f32, $0.element)) }
            for values in c.constants {
                let bytes = values.withUnsafeBytes { Array($0) }
                ins.append(g.addInitializer(Initializer(dtype: .i64, dims: [Int64(values.count)], bytes: .owned(bytes))))
            }
            let n = g.addNode(c.op, ins, outputCount: 1)
            for a in c.attributes { g.setAttribute(node: n, a) }
            let y = g.nodes[n].outputs[0]
            g.setType(y, dtype: .f32)
            g.setShape(y, c.declared)
            g.addOutput(y, name: "y")
            let label = "case \(i) (\(c.op))"
            if let refusal = c.refusal {
                XCTAssertThrowsError(try ShapeTruth.check(g, opset: 21, stage: "after lowering"), label) { e in
                    XCTAssertTrue("\(e)".contains(refusal), "\(label): \(e)")
                }
            } else {
                XCTAssertNoThrow(try ShapeTruth.check(g, opset: 21, stage: "after lowering"), label)
                XCTAssertEqual(Rewriter(g, opset: 21).inferOutput(of: g.nodes[n]), c.declared, label)
            }
        }
    }
}
