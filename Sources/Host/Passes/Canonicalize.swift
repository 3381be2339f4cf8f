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

    func run(_ g: Graph, opset: Int) {
        let r = Rewriter(g, opset: opset)
        for i in 0..<g.nodes.count where !r.isRemoved(i) {
            let n = g.nodes[i]
            guard n.outputs.count == 1, let v = Self.rewrite(i, n, r) else { continue }
            r.remove(i)
            r.replace(n.outputs[0], with: v)
        }
        r.commit()
    }

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
        guard dtype.isFloat else { return nil }
        switch n.op {
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
