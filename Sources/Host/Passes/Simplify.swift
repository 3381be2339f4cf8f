/// Local cleanups that lowering one equation at a time leaves behind: Identity and same-type
/// Cast, Reshape and Transpose chains, Squeeze/Unsqueeze pairs that cancel, `x + 0`, `x * 1`,
/// `max(x, -inf)`, an Expand feeding an op that broadcasts anyway, and a reduction without
/// keepdims whose axes are put straight back. Each rule looks at one node and its producers; one
/// forward sweep per run (the pipeline runs it again after folding and fusing).
struct Simplify: GraphPass {
    let name = "simplify"

    static let broadcasting: Set<String> = ["Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Equal", "Less",
                                             "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor",
                                             "Where", "PRelu", "BitwiseAnd", "BitwiseOr", "BitwiseXor", "BitShift", "Mod"]

    func run(_ g: Graph, opset: Int) {
        let r = Rewriter(g, opset: opset)
        for i in 0..<g.nodes.count where !r.isRemoved(i) {
            let n = g.nodes[i]
            guard n.outputs.count == 1 else { continue }
            let out = n.outputs[0]
            if let same = Self.passThrough(n, r) {
                r.remove(i)
                r.replace(out, with: same)
                continue
            }
            Self.rewrite(i, n, r)
        }
        r.commit()
    }

    /// The input a node merely passes on, if it does.
    static func passThrough(_ n: Node, _ r: Rewriter) -> ValueID? {
        let out = n.outputs[0]
        guard let x = n.inputs.first, x != 0, r.dtype(x) == r.dtype(out) || r.dtype(out) == .undefined else { return nil }
        switch n.op {
        case "Identity":
            return x
        case "Cast":
            return r.dtype(x) == r.dtype(out) ? x : nil
        case "Reshape", "Expand", "Squeeze", "Unsqueeze":
            return r.sameShape(x, out) && r.staticShape(out) != nil ? x : nil
        case "Transpose":
            guard let perm = r.ints(n, "perm") else { return nil }
            return perm.enumerated().allSatisfy { $0.offset == Int($0.element) } ? x : nil
        case "Add", "Sub", "Mul", "Div", "Max", "Min":
            // x op neutral, with the neutral constant changing neither shape nor type.
            let neutral: Double
            switch n.op {
            case "Add", "Sub": neutral = 0
            case "Mul", "Div": neutral = 1
            case "Max": neutral = -.infinity
            default: neutral = .infinity
            }
            guard n.inputs.count == 2 else { return nil }
            let commutative = n.op != "Sub" && n.op != "Div"
            for (a, b) in commutative ? [(0, 1), (1, 0)] : [(0, 1)] {
                let keep = n.inputs[a], other = n.inputs[b]
                if r.splat(other) == neutral, r.sameShape(keep, out), r.dtype(keep) == r.dtype(out) { return keep }
            }
            return nil
        default:
            return nil
        }
    }

    static func rewrite(_ i: Int, _ n: Node, _ r: Rewriter) {
        let out = n.outputs[0]
        switch n.op {
        case "Reshape":
            // Reshape(Reshape(x)) reads x directly; not to an empty shape, whose 0 a Reshape
            // without allowzero (all of them below opset 14) reads as "x's dim here".
            if let p = r.producer(n.inputs[0]), r.node(p).op == "Reshape", r.int(r.node(p), "allowzero") != 1,
               r.int(n, "allowzero") != 1, let target = r.staticShape(out), !target.contains(0) {
                let x = r.node(p).inputs[0]
                r.remove(i)
                let shape = r.int64Constant(target)
                let v = r.insert("Reshape", [x, shape], before: i, outputs: [(r.dtype(out), r.shape(out))])[0]
                r.replace(out, with: v)
                return
            }
            keepDimsInstead(i, n, r)
        case "Unsqueeze":
            if !cancel(i, n, r, inverse: "Squeeze") { keepDimsInstead(i, n, r) }
        case "Squeeze":
            _ = cancel(i, n, r, inverse: "Unsqueeze")
        case "Transpose":
            guard let outer = r.ints(n, "perm"), let p = r.producer(n.inputs[0]), r.node(p).op == "Transpose",
                  let inner = r.ints(r.node(p), "perm"), outer.count == inner.count,
                  Set(outer) == Set(0..<Int64(outer.count)) else { return }
            let composed = outer.map { inner[Int($0)] }
            let x = r.node(p).inputs[0]
            r.remove(i)
            if composed.enumerated().allSatisfy({ $0.offset == Int($0.element) }) {
                r.replace(out, with: x)
            } else {
                let v = r.insert("Transpose", [x], attributes: [Attribute(name: "perm", value: .ints(composed))],
                                 before: i, outputs: [(r.dtype(out), r.shape(out))])[0]
                r.replace(out, with: v)
            }
        case "Cast":
            // Cast(Cast(x)) back to x's own type through a type that holds every value of it.
            guard let p = r.producer(n.inputs[0]), r.node(p).op == "Cast" else { return }
            let x = r.node(p).inputs[0], middle = r.dtype(n.inputs[0])
            if r.dtype(x) == r.dtype(out), holdsEvery(of: r.dtype(x), in: middle) {
                r.remove(i)
                r.replace(out, with: x)
            }
        case "MatMul":
            swapOperands(i, n, r)
        default:
            if broadcasting.contains(n.op) { dropExpands(i, n, r) }
        }
    }

    /// A MatMul reading a Transpose that only swaps the last two axes computes (B^T A^T)^T
    /// instead: that Transpose disappears and the others compose with what is around them (JAX
    /// often swaps dot_general operands and transposes the result back).
    static func swapOperands(_ i: Int, _ n: Node, _ r: Rewriter) {
        let out = n.outputs[0]
        guard let rank = r.rank(out), rank >= 3, r.rank(n.inputs[0]) == rank, r.rank(n.inputs[1]) == rank,
              let outShape = r.shape(out), let a = r.shape(n.inputs[0]), let b = r.shape(n.inputs[1]) else { return }
        var swap = (0..<rank).map(Int64.init)
        swap.swapAt(rank - 1, rank - 2)
        let swapped = n.inputs.filter { v in
            guard let p = r.producer(v), r.node(p).op == "Transpose" else { return false }
            return r.ints(r.node(p), "perm") == swap && r.useCount(v) == 1
        }
        // Worth it only when the result goes straight into a Transpose (which absorbs the swap back)
        // and no new Transpose is needed for the other operand.
        let readers = r.consumers(out)
        guard !swapped.isEmpty, r.useCount(out) == 1, !r.isOutput(out), readers.count == 1, r.node(readers[0]).op == "Transpose",
              n.inputs.allSatisfy({ v in r.producer(v).map { r.node($0).op == "Transpose" } ?? false }) else { return }
        func t(_ v: ValueID, _ shape: [Dim]) -> ValueID {
            var s = shape
            s.swapAt(rank - 1, rank - 2)
            return r.insert("Transpose", [v], attributes: [Attribute(name: "perm", value: .ints(swap))], before: i,
                            outputs: [(r.dtype(v), s)], origin: n.origin)[0]
        }
        r.remove(i)
        var mmShape = outShape
        mmShape.swapAt(rank - 1, rank - 2)
        let bt = t(n.inputs[1], b), at = t(n.inputs[0], a)
        let mm = r.insert("MatMul", [bt, at], before: i, outputs: [(r.dtype(out), mmShape)], origin: n.origin)[0]
        r.replace(out, with: t(mm, mmShape))
    }

    /// Squeeze(Unsqueeze(x)) or Unsqueeze(Squeeze(x)) that gives x its own shape back is x.
    static func cancel(_ i: Int, _ n: Node, _ r: Rewriter, inverse: String) -> Bool {
        let out = n.outputs[0]
        guard let p = r.producer(n.inputs[0]), r.node(p).op == inverse, r.sameShape(r.node(p).inputs[0], out) else { return false }
        r.remove(i)
        r.replace(out, with: r.node(p).inputs[0])
        return true
    }

    static func holdsEvery(of a: DType, in b: DType) -> Bool {
        let order: [DType: (kind: Int, bits: Int)] = [
            .bool: (0, 1), .u8: (1, 8), .u16: (1, 16), .u32: (1, 32), .u64: (1, 64),
            .i8: (2, 8), .i16: (2, 16), .i32: (2, 32), .i64: (2, 64), .f16: (3, 11), .f32: (3, 24), .f64: (3, 53),
        ]
        guard let x = order[a], let y = order[b] else { return false }
        if x.kind == y.kind { return y.bits >= x.bits }
        switch (x.kind, y.kind) {
        case (0, _): return true
        case (1, 2): return y.bits > x.bits
        case (1, 3), (2, 3): return y.bits >= x.bits
        default: return false
        }
    }

    /// ReduceX(keepdims=0) followed by an Unsqueeze or Reshape that only puts the reduced axes
    /// back becomes ReduceX(keepdims=1).
    static func keepDimsInstead(_ i: Int, _ n: Node, _ r: Rewriter) {
        let out = n.outputs[0]
        guard let p = r.producer(n.inputs[0]), r.node(p).op.hasPrefix("Reduce"), !r.keepDims(r.node(p)),
              r.useCount(n.inputs[0]) == 1, let axes = r.reduceAxes(r.node(p)),
              let inShape = r.shape(r.node(p).inputs[0]), let outShape = r.shape(out) else { return }
        var kept = inShape
        for a in axes { kept[a] = .known(1) }
        guard kept == outShape else { return }
        var reduce = r.node(p)
        reduce.attributes.removeAll { $0.name == "keepdims" }
        reduce.attributes.append(Attribute(name: "keepdims", value: .int(1)))
        r.remove(i)
        r.remove(p)
        let v = r.insert(reduce.op, reduce.inputs, attributes: reduce.attributes, before: i,
                         outputs: [(r.dtype(out), outShape)], origin: reduce.origin)[0]
        r.replace(out, with: v)
    }

    /// An Expand whose result only feeds this broadcasting op, when the op's output shape comes
    /// out the same without it.
    static func dropExpands(_ i: Int, _ n: Node, _ r: Rewriter) {
        guard let outShape = r.shape(n.outputs[0]) else { return }
        var inputs = n.inputs
        var changed = false
        for (k, v) in n.inputs.enumerated() where v != 0 {
            guard let p = r.producer(v), r.node(p).op == "Expand", r.useCount(v) == 1 else { continue }
            let source = r.node(p).inputs[0]
            var trial = inputs
            trial[k] = source
            guard let shapes = Optional(trial.filter { $0 != 0 }.compactMap { r.shape($0) }),
                  shapes.count == trial.filter({ $0 != 0 }).count,
                  broadcastShape(shapes) == outShape else { continue }
            inputs = trial
            changed = true
        }
        guard changed else { return }
        let out = n.outputs[0]
        r.remove(i)
        let v = r.insert(n.op, inputs, attributes: n.attributes, before: i, outputs: [(r.dtype(out), outShape)], origin: n.origin)[0]
        r.replace(out, with: v)
    }

    /// Numpy broadcasting over possibly symbolic dims; nil when it cannot be decided statically.
    static func broadcastShape(_ shapes: [[Dim]]) -> [Dim]? {
        let rank = shapes.map(\.count).max() ?? 0
        var out = [Dim](repeating: .known(1), count: rank)
        for s in shapes {
            let pad = rank - s.count
            for (j, d) in s.enumerated() {
                let cur = out[pad + j]
                if d == .known(1) { continue }
                if cur == .known(1) || cur == d { out[pad + j] = d; continue }
                return nil
            }
        }
        return out
    }
}
