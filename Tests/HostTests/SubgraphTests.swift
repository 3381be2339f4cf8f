import Foundation
import XCTest
@testable import Host
import ONNXProto

/// Subgraphs: a C pack builds If branches through the ABI; the host checks its use of them, names
/// every value once across the model, and its passes see uses inside subgraphs.
final class SubgraphTests: XCTestCase {
    func convert(_ defines: [String], optimize: Bool = true) throws -> (Fixture.Result, Onnx_ModelProto?) {
        let dir = try Fixture.tempDir()
        try Fixture.writeBundle(Fixture.unaryProgram(["sin"]), to: dir + "/m.jaxpr")
        let pack = try Fixture.buildPack("branchy.so", in: dir, defines: defines, source: "subgraph_pack.c")
        let r = try Fixture.run(Fixture.cli, ["convert", dir + "/m.jaxpr", "-o", dir + "/m.onnx", "--plugins", pack]
                                + (optimize ? [] : ["--no-optimize"]))
        guard r.status == 0 else { return (r, nil) }
        return (r, try Onnx_ModelProto(serializedBytes: try Data(contentsOf: URL(fileURLWithPath: dir + "/m.onnx"))))
    }

    /// Every name a graph or its subgraphs assign, with repeats.
    func assignedNames(_ g: Onnx_GraphProto) -> [String] {
        var names = g.input.map(\.name) + g.initializer.map(\.name)
        for n in g.node {
            names += n.output
            for a in n.attribute where a.type == .graph { names += assignedNames(a.g) }
        }
        return names
    }

    func branch(_ node: Onnx_NodeProto, _ name: String) -> Onnx_GraphProto? {
        node.attribute.first { $0.name == name && $0.type == .graph }?.g
    }

    func testACPackBuildsBranchesThatReadOuterValues() throws {
        for optimize in [true, false] {
            let (r, model) = try convert([], optimize: optimize)
            XCTAssertEqual(r.status, 0, r.stderr)
            guard let graph = model?.graph else { continue }
            XCTAssertEqual(graph.node.map(\.opType), ["Sin", "If"])
            let sinOut = graph.node[0].output[0]
            let ifNode = graph.node[1]
            guard let then = branch(ifNode, "then_branch"), let other = branch(ifNode, "else_branch") else {
                return XCTFail("If without both branches")
            }
            // The then-branch reads the outer Sin result by name; it has no inputs of its own.
            XCTAssertEqual(then.input.count, 0)
            XCTAssertEqual(then.node.map(\.opType), ["Cos"])
            XCTAssertEqual(then.node[0].input, [sinOut])
            // The else-branch returns the outer value: through an Identity, so its output is its own.
            XCTAssertEqual(other.node.map(\.opType), ["Identity"])
            XCTAssertEqual(other.node[0].input, [sinOut])
            XCTAssertEqual(other.output.map(\.name), other.node[0].output)
            XCTAssertEqual(then.output[0].type.tensorType.elemType, 1)
            let names = assignedNames(graph)
            XCTAssertEqual(names.count, Set(names).count, "a name is assigned twice: \(names)")
            XCTAssertEqual(Set(graph.node.map(\.name) + then.node.map(\.name) + other.node.map(\.name)).count, 4)
        }
    }

    func testASubgraphLeftOpenIsThePacksError() throws {
        let (r, _) = try convert(["LEAVE_OPEN"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("pack Branchy@1.0.0"), r.stderr)
        XCTAssertTrue(r.stderr.contains("subgraph still open"), r.stderr)
    }

    func testAValueMadeInsideASubgraphCannotBeUsedOutside() throws {
        let (r, _) = try convert(["LEAK_INNER"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("pack Branchy@1.0.0"), r.stderr)
        XCTAssertTrue(r.stderr.contains("another subgraph"), r.stderr)
    }

    func testASubgraphIsAttachedOnce() throws {
        let (r, _) = try convert(["ATTACH_TWICE"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("already attached"), r.stderr)
    }

    func testALoopBodyMustMatchTheNode() throws {
        let (r, _) = try convert(["BAD_LOOP"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("Loop: body takes 0 inputs; with 1 loop-carried values it must take 3"), r.stderr)
    }

    func testDecliningHalfWayUndoesTheSubgraphs() throws {
        for variant in ["DECLINE_OPEN", "DECLINE_CLOSED"] {
            let (r, model) = try convert([variant])
            XCTAssertEqual(r.status, 0, r.stderr)
            // The built-in lowering takes over; nothing of the declined attempt is left.
            XCTAssertEqual(model?.graph.node.map(\.opType), ["Sin"], variant)
            XCTAssertEqual(model?.graph.initializer.count, 0, variant)
        }
    }

    // MARK: the IR, passes and writer

    /// x -> a = Sin(x); dead = Exp(x); y = If(p) { Neg(x) (dead), Cos(a) } else { a }
    func branchyGraph() -> (Graph, a: ValueID, dead: ValueID) {
        let g = Graph()
        let x = g.addInput(name: "x", type: TensorType(.f32, [.known(3)]))
        let p = g.addInput(name: "p", type: TensorType(.bool, []))
        let a = g.nodes[g.addNode("Sin", [x], outputCount: 1)].outputs[0]
        let dead = g.nodes[g.addNode("Exp", [x], outputCount: 1)].outputs[0]
        _ = g.beginSubgraph()
        _ = g.addNode("Neg", [x], outputCount: 1)
        let c = g.nodes[g.addNode("Cos", [a], outputCount: 1)].outputs[0]
        let then = g.endSubgraph(outputs: [c])
        _ = g.beginSubgraph()
        let other = g.endSubgraph(outputs: [a])
        let n = g.addNode("If", [p], outputCount: 1)
        g.setAttribute(node: n, Attribute(name: "then_branch", value: .graph(then)))
        g.setAttribute(node: n, Attribute(name: "else_branch", value: .graph(other)))
        for k in g.nodes.indices { XCTAssertNil(NodeChecker.check(g, node: k, opset: 23)) }
        g.addOutput(g.nodes[n].outputs[0], name: "y")
        return (g, a, dead)
    }

    func testDeadCodeKeepsWhatSubgraphsReadAndPrunesInsideThem() throws {
        let (g, a, dead) = branchyGraph()
        DeadCode().run(g, opset: 23)
        try Verifier.verify(g, opset: 23)
        XCTAssertEqual(g.nodes.map(\.op), ["Sin", "If"], "Sin is read only inside a branch and stays; Exp goes")
        XCTAssertEqual(g.nodes[0].outputs, [a])
        XCTAssertFalse(g.nodes.contains { $0.outputs.contains(dead) })
        XCTAssertEqual(g.nodes[1].subgraphs.map { $0.nodes.map(\.op) }, [["Cos"], ["Identity"]])
        XCTAssertEqual(g.values[Int(g.nodes[1].outputs[0])].dtype, .f32, "If's output type comes from its branches")
    }

    func testTheVerifierRejectsAValueReadOutsideItsSubgraph() throws {
        let (g, _, _) = branchyGraph()
        guard case let .graph(then)? = g.nodes.last?.attribute("then_branch") else { return XCTFail() }
        _ = g.addNode("Neg", [then.outputs[0]], outputCount: 1)
        XCTAssertThrowsError(try Verifier.verify(g, opset: 23)) { e in
            XCTAssertTrue("\(e)".contains("cannot see") || "\(e)".contains("another subgraph"), "\(e)")
        }
    }

    func testGeneratedNamesNeverTakeAUserName() throws {
        let g = Graph()
        // Value 1 is the input; the Sin result is value 2, whose generated name would be "v2".
        let x = g.addInput(name: "v2", type: TensorType(.f32, [.known(3)]))
        let s = g.nodes[g.addNode("Sin", [x], outputCount: 1)].outputs[0]
        XCTAssertEqual(s, 2)
        _ = NodeChecker.check(g, node: 0, opset: 23)
        let y = g.nodes[g.addNode("Cos", [s], outputCount: 1)].outputs[0]
        _ = NodeChecker.check(g, node: 1, opset: 23)
        g.addOutput(y, name: "y")
        let path = try Fixture.tempDir() + "/names.onnx"
        try ONNXWriter.write(g, to: path, options: WriteOptions(opset: 23))
        let model = try Onnx_ModelProto(serializedBytes: try Data(contentsOf: URL(fileURLWithPath: path)))
        XCTAssertEqual(model.graph.node[0].input, ["v2"])
        XCTAssertEqual(model.graph.node[0].output, ["v2_"])
        XCTAssertEqual(model.graph.node[1].input, ["v2_"])
    }

    func testALogicalResultIsBoolWithNoConsumerToTypeIt() {
        // A Loop body's condition output has no consumer; its type must come from the op itself.
        let g = Graph()
        let a = g.addInput(name: "a", type: TensorType(.bool, [.known(3)]))
        let b = g.addInput(name: "b", type: TensorType(.f32, [.known(3)]))
        let and = g.nodes[g.addNode("And", [a, a], outputCount: 1)].outputs[0]
        let gt = g.nodes[g.addNode("Greater", [b, b], outputCount: 1)].outputs[0]
        for k in g.nodes.indices { XCTAssertNil(NodeChecker.check(g, node: k, opset: 23)) }
        XCTAssertEqual(g.values[Int(and)].dtype, .bool)
        XCTAssertEqual(g.values[Int(gt)].dtype, .bool)
    }
}
