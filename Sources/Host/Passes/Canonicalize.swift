/// Brings equivalent spellings of the same arithmetic to one form before the fusion table runs,
/// so each fusion pattern is written once, against that form, whichever library or JAX version
/// produced the graph. Every rule keeps or lowers the node count and changes results by at most
/// the rounding of one operation:
///
/// - `ReduceSum(x) / n` with n the number of reduced elements is `ReduceMean(x)`;
/// - `Pow(x, 2)` is `x * x`, `Pow(x, 0.5)` is `Sqrt(x)`, `Pow(x, 1)` is x;
/// - `Div(x, c)` by a constant power of two is `Mul(x, 1/c)` (exact);
/// - `Div(1, x)` is `Reciprocal(x)`;
/// - a constant factor moves out of a quotient: `(c * a) / d` is `(a / d) * c`, so a scale
///   applied before a normalising division reads like one applied after it;
/// - `Max(x, 0)` and `Where(x > 0, x, 0)` are `Relu(x)` (float x);
/// - `Neg(Neg(x))` is x.
struct Canonicalize: GraphPass {
    let name = "canonicalize"

    /// Rules see nodes a previous rule emitted only after a commit, so chains (a constant
    /// factor moving out through several products) take a few sweeps; each sweep is linear.
    func run(_ g: Graph, opset: Int) {
        for _ in 0..<8 {
            let r = Rewriter(g, opset: opset)
            var changed = false
            for i in 0..<g.nodes.count where !r.isRemoved(i) {
                let n = g.nodes[i]
                guard n.outputs.count == 1, let v = Self.rewrite(i, n, r) else { continue }
                r.remove(i)
                r.replace(n.outputs[0], with: v)
                changed = true
            }
            r.commit()
            if !changed { break }
        }
    }

    /// Elementwise ops an Unsqueeze or Reshape may move in front of (see the Unsqueeze rule).
    /// Only the ops of an rsqrt(mean + eps) chain: the canonical place of the axes a reduction
    /// dropped is right after it, not after the root.
    static let unary: Set<String> = ["Sqrt", "Reciprocal", "Neg"]

    /// The canonical value for node i, emitted before it, or nil to keep the node.
    static func rewrite(_ i: Int, _ n: Node, _ r: Rewriter) -> ValueID? {
        let out = n.outputs[0]
        let dtype = r.dtype(out)
        func emit(_ op: String, _ inputs: [ValueID], _ attributes: [Attribute] = [], shape: [Dim]?? = nil) -> ValueID {
            r.insert(op, inputs, attributes: attributes, before: i, outputs: [(dtype, shape ?? r.shape(out))], origin: n.origin)[0]
        }
        func producer(_ v: ValueID, _ op: String) -> Int? {
            guard let p = r.producer(v), !r.isRemoved(p), r.node(p).op == op, r.node(p).outputs.count == 1 else { return nil }
            return p
        }
        if n.op == "Where", let c = r.constant(n.inputs[0]).flatMap({ HostTensor($0, limit: 1) }), c.count == 1 {
            // A condition known at export time (jnp.var's `n - ddof > 0`) picks its branch.
            let taken = c.values[0] != 0 ? n.inputs[1] : n.inputs[2]
            return r.sameShape(taken, out) && r.dtype(taken) == dtype ? taken : nil
        }
        guard dtype.isFloat else { return nil }
        switch n.op {
        case "Mul":
            // (c * a) * b -> (a * b) * c: constant factors gather outermost, so x * x * x and
            // c * x * x * x hold the same cube.
            for (k, kk) in [(0, 1), (1, 0)] where !r.isConstant(n.inputs[kk]) {
                guard let p = producer(n.inputs[k], "Mul"), r.useCount(n.inputs[k]) == 1, !r.isOutput(n.inputs[k]) else { continue }
                let m = r.node(p)
                for (c, a) in [(0, 1), (1, 0)] where r.isConstant(m.inputs[c]) && !r.isConstant(m.inputs[a]) {
                    guard let cs = r.staticShape(m.inputs[c]), cs.reduce(1, *) == 1, let as_ = r.shape(m.inputs[a]),
                          let bs = r.shape(n.inputs[kk]), let ps = Simplify.broadcastShape([as_, bs]), ps == r.shape(out) else { continue }
                    r.remove(p)
                    let product = emit("Mul", [m.inputs[a], n.inputs[kk]])
                    return emit("Mul", [product, m.inputs[c]])
                }
            }
            return nil
        case "Unsqueeze", "Reshape":
            // Shape ops move in front of elementwise unary ops, towards the reduction that
            // made the axes they put back (where fusion patterns and keepdims expect them).
            guard let p = r.producer(n.inputs[0]), !r.isRemoved(p), r.useCount(n.inputs[0]) == 1, !r.isOutput(n.inputs[0]) else { return nil }
            let u = r.node(p)
            guard u.outputs.count == 1, let inShape = r.shape(u.inputs.first ?? 0), let outShape = r.shape(out) else { return nil }
            var operands = Array(u.inputs.dropFirst())
            if unary.contains(u.op) {
                guard operands.isEmpty else { return nil }
            } else if ["Add", "Mul"].contains(u.op) {
                // x op c with a scalar constant c.
                guard let c = operands.first, let cs = r.staticShape(c), cs.isEmpty, r.isConstant(c) else { return nil }
                operands = [c]
            } else {
                return nil
            }
            // A Reshape only when it just adds or drops unit axes, like an Unsqueeze.
            if n.op == "Reshape" {
                guard inShape.filter({ $0 != .known(1) }) == outShape.filter({ $0 != .known(1) }) else { return nil }
            }
            guard r.sameShape(u.inputs[0], u.outputs[0]) else { return nil }
            r.remove(p)
            let moved = r.insert(n.op, [u.inputs[0]] + Array(n.inputs.dropFirst()), attributes: n.attributes, before: i,
                                 outputs: [(r.dtype(u.inputs[0]), outShape)], origin: n.origin)[0]
            return emit(u.op, [moved] + operands, u.attributes)
        case "Div":
            let a = n.inputs[0], d = n.inputs[1]
            if let c = r.splat(d) {
                if r.sameShape(a, out), let mean = meanOf(a, divisor: c, r) {
                    return emit("ReduceMean", mean.inputs, mean.attributes)
                }
                if c != 0, c.isFinite, c.significand == 1, abs(c.exponent) < 100, r.sameShape(a, out) {
                    let inv = r.addConstant(HostTensor(dtype: r.dtype(d), dims: [], values: [1 / c]))
                    return emit("Mul", [a, inv])
                }
                return nil
            }
            if r.splat(a) == 1, r.sameShape(d, out), r.opset >= 6 { return emit("Reciprocal", [d]) }
            // (c * a) / d -> (a / d) * c, the product read only here.
            if let p = producer(a, "Mul"), r.useCount(a) == 1, !r.isConstant(d) {
                let m = r.node(p)
                for (k, kk) in [(0, 1), (1, 0)] where r.isConstant(m.inputs[k]) && !r.isConstant(m.inputs[kk]) {
                    guard let inner = r.shape(m.inputs[kk]), let ds = r.shape(d),
                          let qs = Simplify.broadcastShape([inner, ds]), qs == r.shape(out) else { return nil }
                    r.remove(p)
                    let q = emit("Div", [m.inputs[kk], d], shape: .some(qs))
                    return emit("Mul", [q, m.inputs[k]])
                }
            }
            return nil
        case "Pow":
            guard let e = r.splat(n.inputs[1]), r.sameShape(n.inputs[0], out) else { return nil }
            let x = n.inputs[0]
            switch e {
            case 1: return x
            case 2: return emit("Mul", [x, x])
            case 0.5: return emit("Sqrt", [x])
            default: return nil
            }
        case "Max":
            guard r.opset >= 14 else { return nil }
            for (k, kk) in [(0, 1), (1, 0)] where r.splat(n.inputs[k]) == 0 && r.sameShape(n.inputs[kk], out) {
                return emit("Relu", [n.inputs[kk]])
            }
            return nil
        case "Where":
            // where(x > 0, x, 0)
            guard r.opset >= 14, let p = producer(n.inputs[0], "Greater"), r.splat(r.node(p).inputs[1]) == 0,
                  r.node(p).inputs[0] == n.inputs[1], r.splat(n.inputs[2]) == 0, r.sameShape(n.inputs[1], out) else { return nil }
            return emit("Relu", [n.inputs[1]])
        case "Neg":
            guard let p = producer(n.inputs[0], "Neg") else { return nil }
            return r.node(p).inputs[0]
        default:
            return nil
        }
    }

    /// The ReduceSum node behind `a` when `a / divisor` is a mean: the divisor is the number of
    /// elements it reduces.
    static func meanOf(_ a: ValueID, divisor: Double, _ r: Rewriter) -> Node? {
        guard let p = r.producer(a), !r.isRemoved(p), r.node(p).op == "ReduceSum", r.useCount(a) == 1, !r.isOutput(a) else { return nil }
        let n = r.node(p)
        guard let axes = r.reduceAxes(n), let shape = r.staticShape(n.inputs[0]), !axes.isEmpty,
              Double(axes.map { shape[$0] }.reduce(1, *)) == divisor else { return nil }
        // ReduceMean takes its axes as an input from opset 18, as ReduceSum does from 13; in
        // between the axes move to an attribute.
        r.remove(p)
        if r.opset >= 18 || n.inputs.count == 1 { return n }
        let attributes = n.attributes.filter { $0.name != "axes" && $0.name != "noop_with_empty_axes" } + [Attribute(name: "axes", value: .ints(axes.map(Int64.init)))]
        return Node(op: "ReduceMean", inputs: [n.inputs[0]], outputs: n.outputs, attributes: attributes, origin: n.origin)
    }
}
