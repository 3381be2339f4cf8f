/// Whole-graph checks after the passes: every node still sound at the opset, every input defined
/// before use and visible where it is used, every graph output produced; subgraphs likewise, each
/// seeing its own values and those of the graphs enclosing it. Packs were checked per equation
/// during lowering; this catches a pass that broke something.
public enum Verifier {
    public static func verify(_ g: Graph, opset: Int, target: RuntimeProfile = .spec) throws {
        try PassTimes.measure("verify") { try verifyAll(g, opset: opset) }
        try PassTimes.measure("verify-target") { try verifyTarget(g, opset: opset, target: target) }
    }

    /// Every node, subgraphs included, is one the target runs; the message names the equation
    /// the node came from (its provenance) or the pass that made it.
    static func verifyTarget(_ g: Graph, opset: Int, target: RuntimeProfile) throws {
        var problems: [String] = []
        func walk(_ nodes: [Node]) {
            for n in nodes {
                for sub in n.subgraphs { walk(sub.nodes) }
                guard let p = target.problem(g, n, opset: opset) else { continue }
                var from = "made by the optimizer"
                if n.origin >= 0, Int(n.origin) < g.provenance.count {
                    let prov = g.provenance[Int(n.origin)]
                    from = "from '\(prov.primitive)' (pack \(prov.pack))" + (prov.source.map { " at \($0)" } ?? "")
                }
                problems.append("\(n.op) \(from): \(p)")
            }
        }
        walk(g.nodes)
        if !problems.isEmpty {
            throw HostError.conversion(["the model would not run on target \(target.name):"] + problems.prefix(20).map { "  " + $0 })
        }
    }

    static func verifyAll(_ g: Graph, opset: Int) throws {
        var defined = [Bool](repeating: false, count: g.values.count)
        for (v, _) in g.inputs { defined[Int(v)] = true }
        for (v, _) in g.initializers { defined[Int(v)] = true }
        var problems: [String] = []
        verify(g, g.nodes, scope: 0, label: "", opset: opset, defined: &defined, problems: &problems)
        for (v, name) in g.outputs where !defined[Int(v)] { problems.append("graph output '\(name)' is never produced") }
        if !problems.isEmpty { throw HostError.conversion(["internal error: the optimized graph is invalid:"] + problems.prefix(20).map { "  " + $0 }) }
    }

    static func verify(_ g: Graph, _ nodes: [Node], scope: Int32, label: String, opset: Int,
                       defined: inout [Bool], problems: inout [String]) {
        for (i, n) in nodes.enumerated() {
            for v in n.inputs where v != 0 {
                if !defined[Int(v)] {
                    problems.append("\(label)node \(i) (\(n.op)) reads value v\(v) before it is defined")
                } else if !g.isVisible(v, from: scope) {
                    problems.append("\(label)node \(i) (\(n.op)) reads value v\(v) of a graph it cannot see")
                }
            }
            for (k, sub) in n.subgraphs.enumerated() {
                guard g.scopeParents.indices.contains(Int(sub.scope)), g.scopeParents[Int(sub.scope)] == scope else {
                    problems.append("\(label)node \(i) (\(n.op)) holds a subgraph that does not belong to its graph"); continue
                }
                for v in sub.inputs { defined[Int(v)] = true }
                verify(g, sub.nodes, scope: sub.scope, label: "\(label)node \(i) (\(n.op)) graph \(k): ", opset: opset,
                       defined: &defined, problems: &problems)
                for v in sub.outputs where !defined[Int(v)] || g.values[Int(v)].scope != sub.scope {
                    problems.append("\(label)node \(i) (\(n.op)) graph \(k): output v\(v) is not computed inside it")
                }
            }
            if let p = NodeChecker.check(g, n, index: i, scope: scope, opset: opset) { problems.append("\(label)node \(i): \(p)") }
            for v in n.outputs {
                if defined[Int(v)] { problems.append("\(label)value v\(v) is defined twice") }
                defined[Int(v)] = true
            }
        }
    }
}
