/// Shape truth: the shapes ONNX's rules give each node's output, checked against the shapes the
/// graph declares for it (the avals of the bundle's equations, carried by the values the packs
/// bound). A bundle whose declared shapes disagree with its program, or a lowering that emits
/// something of another shape than JAX said, fails the conversion here instead of writing a model
/// that fails ONNX shape inference or ORT's load. Checked after lowering and after optimizing.
public enum ShapeTruth {
    public static func check(_ g: Graph, opset: Int, stage: String) throws {
        try PassTimes.measure("shape-truth") {
            let r = Rewriter(g, opset: opset)
            var problems: [String] = []
            // A node reading a value already reported would only repeat the first disagreement.
            var reported: Set<ValueID> = []
            for n in g.nodes {
                guard let v = n.outputs.first, v != 0, let declared = g.values[Int(v)].shape,
                      !n.inputs.contains(where: reported.contains),
                      let inferred = r.infer(v), let why = disagreement(declared, inferred) else { continue }
                reported.insert(v)
                var at = "a node the host made"
                if n.origin >= 0, Int(n.origin) < g.provenance.count {
                    let p = g.provenance[Int(n.origin)]
                    at = "equation '\(p.primitive)'" + (p.source.map { " at \($0)" } ?? "") + " (pack \(p.pack))"
                }
                problems.append("\(at): \(n.op) computes \(text(inferred)) but the bundle declares \(text(declared)) (\(why))")
                if problems.count == 10 { break }
            }
            if !problems.isEmpty {
                throw HostError.conversion(["shapes disagree \(stage):"] + problems.map { "  " + $0 })
            }
        }
    }

    /// Only a rank or a pair of numbers can disagree for sure: two symbolic texts may be one
    /// expression written twice ("2*B", "B*2"), and a number may be what a symbol is.
    static func disagreement(_ declared: [Dim], _ inferred: [Dim]) -> String? {
        guard declared.count == inferred.count else { return "rank \(inferred.count) vs \(declared.count)" }
        for (a, (d, i)) in zip(declared, inferred).enumerated() {
            if let x = d.value, let y = i.value, x != y { return "axis \(a): \(y) vs \(x)" }
        }
        return nil
    }

    static func text(_ s: [Dim]) -> String { "[" + s.map { $0.value.map(String.init) ?? "\($0)" }.joined(separator: ", ") + "]" }
}
