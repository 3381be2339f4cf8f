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
                if let v = n.outputs.first, v != 0, !n.inputs.contains(where: reported.contains),
                   let why = broadcastConflict(n, r) {
                    reported.insert(v)
                    problems.append("\(origin(n, g)): \(n.op) inputs do not fit (\(why))")
                    if problems.count == 10 { break }
                    continue
                }
                guard let v = n.outputs.first, v != 0, let declared = g.values[Int(v)].shape,
                      !n.inputs.contains(where: reported.contains),
                      let inferred = r.infer(v), let why = disagreement(declared, inferred) else { continue }
                reported.insert(v)
                problems.append("\(origin(n, g)): \(n.op) computes \(text(inferred)) but the bundle declares \(text(declared)) (\(why))")
                if problems.count == 10 { break }
            }
            if !problems.isEmpty {
                throw HostError.conversion(["shapes disagree \(stage):"] + problems.map { "  " + $0 })
            }
        }
    }

    static func origin(_ n: Node, _ g: Graph) -> String {
        guard n.origin >= 0, Int(n.origin) < g.provenance.count else { return "a node the host made" }
        let p = g.provenance[Int(n.origin)]
        return "equation '\(p.primitive)'" + (p.source.map { " at \($0)" } ?? "") + " (pack \(p.pack))"
    }

    /// Inputs that cannot go together: two known sizes other than 1 on one axis of a broadcasting
    /// op's inputs (or an Expand's input and target), a MatMul contracting two known sizes that
    /// differ, a Reshape to another number of elements. ONNX's inference or ONNX Runtime rejects
    /// such a node; shape inference alone cannot tell it from "not known statically".
    static func broadcastConflict(_ n: Node, _ r: Rewriter) -> String? {
        if n.op == "Reshape", n.inputs.count == 2, let s = r.shape(n.inputs[0]), let t = r.intValues(n.inputs[1]),
           !t.contains(-1), !t.contains(0), let size = knownSize(s), let target = knownSize(t.map { .known($0) }), size != target {
            return "\(size) elements reshaped to \(text(t.map { .known($0) }))"
        }
        if n.op == "MatMul", n.inputs.count == 2, let a = r.shape(n.inputs[0]), let b = r.shape(n.inputs[1]), a.count >= 2, b.count >= 2,
           let k1 = a[a.count - 1].value, let k2 = b[b.count - 2].value, k1 != k2 {
            return "contracts \(k1) with \(k2)"
        }
        var shapes: [[Dim]] = []
        if Simplify.broadcasting.contains(n.op) {
            for v in n.inputs where v != 0 { guard let s = r.shape(v) else { return nil }; shapes.append(s) }
        } else if n.op == "Expand", n.inputs.count == 2, let s = r.shape(n.inputs[0]), let t = r.intValues(n.inputs[1]) {
            shapes = [s, t.map { .known($0) }]
        } else {
            return nil
        }
        let rank = shapes.map(\.count).max() ?? 0
        for axis in 0..<rank {
            var seen: Int64?
            for s in shapes where axis >= rank - s.count {
                guard let d = s[axis - (rank - s.count)].value, d != 1 else { continue }
                if let x = seen, x != d { return "axis \(axis): \(x) and \(d), shapes " + shapes.map(text).joined(separator: " and ") }
                seen = d
            }
        }
        return nil
    }

    static func knownSize(_ s: [Dim]) -> Int64? {
        var p: Int64 = 1
        for d in s {
            guard let v = d.value else { return nil }
            let (r, o) = p.multipliedReportingOverflow(by: v)
            if o { return nil }
            p = r
        }
        return p
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
