/// Whole-graph checks after the passes: every node still sound at the opset, every input defined
/// before use, every graph output produced. Packs were checked per equation during lowering;
/// this catches a pass that broke something.
public enum Verifier {
    public static func verify(_ g: Graph, opset: Int) throws {
        var defined = [Bool](repeating: false, count: g.values.count)
        for (v, _) in g.inputs { defined[Int(v)] = true }
        for (v, _) in g.initializers { defined[Int(v)] = true }
        var problems: [String] = []
        for (i, n) in g.nodes.enumerated() {
            for v in n.inputs where v != 0 && !defined[Int(v)] {
                problems.append("node \(i) (\(n.op)) reads value v\(v) before it is defined")
            }
            if let p = NodeChecker.check(g, node: i, opset: opset) { problems.append("node \(i): \(p)") }
            for v in n.outputs {
                if defined[Int(v)] { problems.append("value v\(v) is defined twice") }
                defined[Int(v)] = true
            }
        }
        for (v, name) in g.outputs where !defined[Int(v)] { problems.append("graph output '\(name)' is never produced") }
        if !problems.isEmpty { throw HostError.conversion(["internal error: the optimized graph is invalid:"] + problems.prefix(20).map { "  " + $0 }) }
    }
}
