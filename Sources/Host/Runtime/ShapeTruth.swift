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
            func visit(_ nodes: [Node]) {
                for n in nodes where problems.count < 10 {
                    for sub in n.subgraphs { visit(sub.nodes) }
                    guard let v = n.outputs.first, v != 0, !n.inputs.contains(where: reported.contains) else { continue }
                    if let why = conflict(n, r) {
                        reported.insert(v)
                        problems.append("\(origin(n, g)): \(n.op) inputs do not fit (\(why))")
                        continue
                    }
                    // A Loop, Scan or If gives every output from its bodies; other nodes are
                    // checked on the first, the one the packs bind an equation's result to.
                    let outputs = n.subgraphs.isEmpty ? [r.inferOutput(of: n)] : r.inferOutputs(of: n)
                    for (k, inferred) in outputs.enumerated() where k < n.outputs.count {
                        let v = n.outputs[k]
                        guard v != 0, let declared = g.values[Int(v)].shape, let inferred,
                              let why = disagreement(declared, inferred) else { continue }
                        reported.insert(v)
                        problems.append("\(origin(n, g)): \(n.op) computes \(text(inferred)) but the bundle declares \(text(declared))"
                            + (outputs.count > 1 ? " for output \(k)" : "") + " (\(why))")
                        break
                    }
                }
            }
            visit(g.nodes)
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
    /// differ, a Reshape to another number of elements, axes outside the operand (Squeeze,
    /// Unsqueeze, Slice, Concat), a Squeeze of a size other than 1, Concat inputs of other ranks
    /// or sizes, a Pad with the wrong number of pads or more than one padding value. ONNX's inference or ONNX Runtime rejects
    /// such a node; shape inference alone cannot tell it from "not known statically".
    static func conflict(_ n: Node, _ r: Rewriter) -> String? {
        if let why = axisConflict(n, r) { return why }
        if n.op == "Reshape", n.inputs.count == 2, let s = r.shape(n.inputs[0]), let t = r.intValues(n.inputs[1]), !t.contains(-1),
           let size = knownSize(s) {
            // A 0 is a size of 0 under allowzero, else the operand's size on that axis.
            let zero = r.int(n, "allowzero") == 1
            let dims: [Dim]? = zero ? t.map { .known($0) }
                : t.indices.allSatisfy({ t[$0] != 0 || $0 < s.count }) ? t.indices.map { t[$0] == 0 ? s[$0] : .known(t[$0]) } : nil
            if let dims, let target = knownSize(dims), size != target { return "\(size) elements reshaped to \(text(dims))" }
        }
        if n.op == "Reshape", n.inputs.count == 2, let s = r.shape(n.inputs[0]), let t = r.dimValues(n.inputs[1]),
           !t.contains(.known(-1)), !t.contains(.known(0)) {
            // Every size is a whole number, so a side with symbolic sizes holds a multiple of its
            // known ones: [B, 30] never has the 10 elements of [1, 10], at any B.
            let (ks, kt) = (knownFactor(s), knownFactor(t))
            if let total = knownSize(t), ks > 0, total > 0, total % ks != 0 { return "\(text(s)) (a multiple of \(ks) elements) reshaped to \(text(t))" }
            if let total = knownSize(s), kt > 0, total > 0, total % kt != 0 { return "\(total) elements reshaped to \(text(t)) (a multiple of \(kt))" }
        }
        if n.op == "MatMul", n.inputs.count == 2, let a = r.shape(n.inputs[0]), let b = r.shape(n.inputs[1]), a.count >= 2, b.count >= 2,
           let k1 = a[a.count - 1].value, let k2 = b[b.count - 2].value, k1 != k2 {
            return "contracts \(k1) with \(k2)"
        }
        var shapes: [[Dim]] = []
        if Simplify.broadcasting.contains(n.op) {
            for v in n.inputs where v != 0 { guard let s = r.shape(v) else { return nil }; shapes.append(s) }
        } else if n.op == "Expand", n.inputs.count == 2, let s = r.shape(n.inputs[0]), let t = r.dimValues(n.inputs[1]) {
            shapes = [s, t]
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

    static func axisConflict(_ n: Node, _ r: Rewriter) -> String? {
        let ins = n.inputs
        switch n.op {
        case "Squeeze":
            guard ins.count > 1, ins[1] != 0, let s = r.shape(ins[0]), let axes = r.intValues(ins[1]) else { return nil }
            guard let a = Rewriter.normalizedAxes(axes, rank: s.count) else { return "axes \(axes) of a rank-\(s.count) operand" }
            if let bad = a.first(where: { s[$0].value.map { $0 != 1 } ?? false }) { return "axis \(bad) has size \(s[bad])" }
        case "Unsqueeze":
            guard ins.count > 1, let s = r.shape(ins[0]), let axes = r.intValues(ins[1]) else { return nil }
            if Rewriter.normalizedAxes(axes, rank: s.count + axes.count) == nil { return "axes \(axes) for a rank-\(s.count) operand" }
        case "Slice":
            guard ins.count > 3, ins[3] != 0, let s = r.shape(ins[0]), let axes = r.intValues(ins[3]) else { return nil }
            if Rewriter.normalizedAxes(axes, rank: s.count) == nil { return "axes \(axes) of a rank-\(s.count) operand" }
        case "Concat":
            guard let axis0 = r.int(n, "axis") else { return nil }
            var shapes: [[Dim]] = []
            for v in ins where v != 0 { guard let s = r.shape(v) else { return nil }; shapes.append(s) }
            guard let first = shapes.first else { return nil }
            if shapes.contains(where: { $0.count != first.count }) { return "ranks " + shapes.map { String($0.count) }.joined(separator: ", ") }
            guard let axis = Rewriter.normalizedAxes([axis0], rank: first.count)?.first else { return "axis \(axis0) of rank-\(first.count) inputs" }
            for k in first.indices where k != axis {
                let known = Set(shapes.compactMap { $0[k].value })
                if known.count > 1 { return "axis \(k): sizes \(known.sorted())" }
            }
        case "GatherND":
            guard ins.count > 1, let data = r.shape(ins[0]), let idx = r.shape(ins[1]), let depth = idx.last?.value else { return nil }
            let b = r.int(n, "batch_dims") ?? 0
            if depth > Int64(data.count) - b { return "index depth \(depth) into a rank-\(data.count) operand with \(b) batch axes" }
        case "Pad":
            guard ins.count > 1, let s = r.shape(ins[0]), let pads = r.intValues(ins[1]) else { return nil }
            let axes = ins.count > 3 && ins[3] != 0 ? r.intValues(ins[3]) : nil
            let count = axes?.count ?? s.count
            if pads.count != 2 * count { return "\(pads.count) pads for \(count) axes" }
            if let axes, Rewriter.normalizedAxes(axes, rank: s.count) == nil { return "axes \(axes) of a rank-\(s.count) operand" }
            // ONNX Runtime takes exactly one padding value.
            if ins.count > 2, ins[2] != 0, let c = r.shape(ins[2]), let size = knownSize(c), size != 1 {
                return "a padding value of shape \(text(c))"
            }
        case "Conv", "ConvTranspose":
            // Conv's kernel is [M, C/group, k...], ConvTranspose's [C, M/group, k...]; ONNX
            // Runtime refuses input channels that do not fit the kernel and group.
            guard ins.count > 1, let x = r.shape(ins[0]), let w = r.shape(ins[1]), x.count >= 3, let c = x[1].value else { return nil }
            let group = r.int(n, "group") ?? 1
            guard group > 0 else { return "group \(group)" }
            if w.count != x.count { return "a rank-\(w.count) kernel for a rank-\(x.count) input" }
            if n.op == "Conv", let k = w[1].value, k &* group != c { return "\(c) input channels for a kernel taking \(k) per group of \(group)" }
            if n.op == "ConvTranspose" {
                if c % group != 0 { return "\(c) input channels in \(group) groups" }
                if let k = w[0].value, k != c { return "\(c) input channels for a kernel taking \(k)" }
            }
        default:
            // Ops whose `axis` attribute names one axis of the first input.
            guard Self.singleAxisOps.contains(n.op), let axis = r.int(n, "axis"), let s = r.shape(ins[0]) else { return nil }
            if Rewriter.normalizedAxis(axis, rank: s.count) == nil { return "axis \(axis) of a rank-\(s.count) operand" }
        }
        return nil
    }

    static let singleAxisOps: Set<String> = [
        "TopK", "Gather", "GatherElements", "ScatterElements", "ArgMax", "ArgMin", "Softmax", "LogSoftmax", "Hardmax",
        "Split", "Compress",
    ]

    /// The product of a shape's known sizes (0 when it overflows, which says nothing; negative
    /// sizes, which other checks refuse, say nothing here either).
    static func knownFactor(_ s: [Dim]) -> Int64 {
        var p: Int64 = 1
        for d in s {
            guard let v = d.value else { continue }
            let (r, o) = p.multipliedReportingOverflow(by: v)
            if o { return 0 }
            p = r
        }
        return p
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

    /// A rank, a pair of numbers, or two polynomials that differ can disagree for sure: two
    /// symbolic texts may be one expression written twice ("2*B", "B*2"), and a number may be
    /// what a symbol is.
    static func disagreement(_ declared: [Dim], _ inferred: [Dim]) -> String? {
        guard declared.count == inferred.count else { return "rank \(inferred.count) vs \(declared.count)" }
        for (a, (d, i)) in zip(declared, inferred).enumerated() {
            if let x = d.value, let y = i.value, x != y { return "axis \(a): \(y) vs \(x)" }
            if case let .symbolic(x) = d, case let .symbolic(y) = i, differentPolynomials(x, y) { return "axis \(a): \(y) vs \(x)" }
        }
        return nil
    }

    /// Sizes JAX traced as equal are one polynomial of the same symbols. Two polynomials that
    /// take different values at some point are different. Expressions with floordiv, mod, max or
    /// min, or over other symbols (which a constraint may tie together), are left alone.
    static func differentPolynomials(_ a: String, _ b: String) -> Bool {
        guard a != b, !a.hasPrefix("?"), !b.hasPrefix("?"), let x = try? DimExpr.parse(a), let y = try? DimExpr.parse(b),
              x.isPolynomial, y.isPolynomial, x.symbols == y.symbols else { return false }
        let symbols = x.symbols.sorted()
        for point in 0..<3 {
            var env: [String: Int64] = [:]
            for (k, s) in symbols.enumerated() { env[s] = [3, 5, 7, 11, 13, 17][(k + point) % 6] }
            if let u = x.evaluate(env), let v = y.evaluate(env), u != v { return true }
        }
        return false
    }

    /// A size the rules leave unknown prints as "?", whatever internal name it carries.
    static func text(_ s: [Dim]) -> String {
        "[" + s.map { d in d.value.map(String.init) ?? (d.description.hasPrefix("?") ? "?" : d.description) }.joined(separator: ", ") + "]"
    }
}
