/// Shapes of values the lowering left untyped (intermediates inside one equation's lowering),
/// derived from the producing node by ONNX's rules for the ops the passes reason about. Lazy and
/// memoised, so asking about every value costs one visit each. Unknown stays unknown (nil).
extension Rewriter {
    static let sameShapeOps: Set<String> = [
        "Identity", "Cast", "Relu", "Sigmoid", "Tanh", "Exp", "Log", "Neg", "Abs", "Sqrt", "Reciprocal", "Erf",
        "Gelu", "Softmax", "LogSoftmax", "LayerNormalization", "RMSNormalization", "Not", "Floor", "Ceil", "Round",
        "Sin", "Cos", "Tan", "Sign", "IsNaN", "IsInf", "HardSigmoid", "HardSwish", "LeakyRelu", "Clip", "Softplus",
        "Mish", "Elu", "Selu", "Atan", "Asin", "Acos", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh", "BitwiseNot",
    ]

    func inferShape(_ v: ValueID) -> [Dim]? {
        if let known = inferred[v] { return known }
        warmAncestors(of: v)
        inferred[v] = .some(nil)  // cycles cannot happen in a DAG, but stay safe
        let result = infer(v)
        inferred[v] = result
        return result
    }

    /// Infers the shapeless values v is computed from, earliest producer first, so the recursion
    /// of `infer` finds each input already known: a chain of hundreds of unannotated nodes (a
    /// Loop-free unrolled sampler, say) would otherwise recurse once per node and overflow the
    /// stack. Only v's own scope is walked; a body's values warm themselves when asked.
    func warmAncestors(of v: ValueID) {
        let scope = g.values[Int(v)].scope
        guard let nodes = nodes(ofScope: scope) else { return }
        var pending: [ValueID] = [v], seen: Set<ValueID> = [v], found: [(producer: Int32, value: ValueID)] = []
        while let x = pending.popLast() {
            let p = g.values[Int(x)].producer
            guard p >= 0, Int(p) < nodes.count else { continue }
            for input in nodes[Int(p)].inputs where input != 0 && !seen.contains(input) {
                seen.insert(input)
                let info = g.values[Int(input)]
                guard info.shape == nil, inferred[input] == nil, info.scope == scope else { continue }
                found.append((info.producer, input))
                pending.append(input)
            }
        }
        guard found.count > 64 else { return }  // short chains recurse harmlessly
        for (_, x) in found.sorted(by: { $0.producer < $1.producer }) where inferred[x] == nil {
            inferred[x] = .some(nil)
            inferred[x] = infer(x)
        }
    }

    func infer(_ v: ValueID) -> [Dim]? {
        let info = g.values[Int(v)]
        let p = Int(info.producer)
        guard p >= 0, let nodes = nodes(ofScope: info.scope), p < nodes.count else { return nil }
        let n = nodes[p]
        guard let k = n.outputs.firstIndex(of: v) else { return nil }
        if k == 0, n.subgraphs.isEmpty { return inferOutput(of: n) }
        let all = inferOutputs(of: n)
        return k < all.count ? all[k] : nil
    }

    /// The node list a value's `producer` indexes. Passes rewrite the top level only, so the
    /// subgraphs' lists gathered once stay true for this session.
    func nodes(ofScope scope: Int32) -> [Node]? {
        if scope == 0 { return g.nodes }
        if scopeNodes == nil {
            var map: [Int32: [Node]] = [:]
            func walk(_ nodes: [Node]) { for n in nodes { for s in n.subgraphs { map[s.scope] = s.nodes; walk(s.nodes) } } }
            walk(g.nodes)
            scopeNodes = map
        }
        return scopeNodes?[scope]
    }

    /// A size ONNX's rules leave unknown, named for the value and axis it belongs to: it can only
    /// equal itself (and what is computed from that very axis), never a size it is not. Written
    /// out (a pass may type a value it inserts with it), it is a dim with neither value nor param.
    static func unknown(_ v: ValueID, _ axis: Int) -> Dim { .symbolic("?\(v).\(axis)") }

    /// The elements of a 1-D integer value that holds a shape, as dims: a constant's numbers, the
    /// dims `Shape` reads, concatenations of those; otherwise one unknown per element when the
    /// length is known. Nil when not even the length is.
    func dimValues(_ v: ValueID) -> [Dim]? {
        if let c = intValues(v) { return c.map { .known($0) } }
        let info = g.values[Int(v)]
        if info.scope == 0, let p = Optional(Int(info.producer)), p >= 0, p < g.nodes.count, g.nodes[p].outputs.first == v {
            let n = g.nodes[p]
            switch n.op {
            case "Shape":
                if let s = shape(n.inputs[0]) {
                    func bound(_ x: Int64?, _ dflt: Int) -> Int { x.map { Int(min(max($0 < 0 ? $0 + Int64(s.count) : $0, 0), Int64(s.count))) } ?? dflt }
                    let lo = bound(int(n, "start"), 0), hi = bound(int(n, "end"), s.count)
                    return lo < hi ? Array(s[lo..<hi]) : []
                }
            case "Concat":
                var out: [Dim] = []
                for x in n.inputs { guard let d = dimValues(x) else { out = []; break }; out += d }
                if !out.isEmpty || n.inputs.isEmpty { return out }
            case "Cast":
                return dimValues(n.inputs[0])
            default:
                break
            }
        }
        guard let s = shape(v), s.count == 1, let k = s[0].value, k >= 0, k <= 64 else { return nil }
        return (0..<Int(k)).map { Self.unknown(v, $0) }
    }

    /// Every output's shape of a node that holds subgraphs (Loop, Scan, If), from its bodies'
    /// declared or inferred outputs; other nodes give their first output only. A carried state
    /// keeps its initial value's shape (JAX fixes it; ONNX's inference starts from it).
    func inferOutputs(of n: Node) -> [[Dim]?] {
        func attrInts(_ name: String) -> [Int64]? { ints(n, name) }
        switch n.op {
        case "Scan":
            guard case let .graph(body)? = n.attribute("body"), let m0 = int(n, "num_scan_inputs"), m0 >= 0,
                  Int(m0) <= n.inputs.count else { return [] }
            let m = Int(m0), states = n.inputs.count - m
            guard body.outputs.count >= states, n.outputs.count == body.outputs.count else { return [] }
            // The sequence length: the first scan input's size along its scan axis.
            var length: Dim?
            if m > 0, let s = shape(n.inputs[states]) {
                let a = attrInts("scan_input_axes")?.first ?? 0
                length = Self.normalizedAxis(a, rank: s.count).map { s[$0] }
            }
            let outAxes = attrInts("scan_output_axes")
            return n.outputs.indices.map { k -> [Dim]? in
                guard k >= states else { return shape(n.inputs[k]) ?? shape(body.outputs[k]) }
                guard var s = shape(body.outputs[k]), let length else { return nil }
                let j = k - states
                guard let a = Self.normalizedAxis(outAxes.flatMap { j < $0.count ? $0[j] : nil } ?? 0, rank: s.count + 1) else { return nil }
                s.insert(length, at: a)
                return s
            }
        case "Loop":
            // Body: (iteration, condition, states...) -> (condition, states..., scan outputs...).
            guard case let .graph(body)? = n.attribute("body"), n.inputs.count >= 2 else { return [] }
            let states = n.inputs.count - 2
            guard body.outputs.count == n.outputs.count + 1, body.outputs.count >= 1 + states else { return [] }
            return n.outputs.indices.map { k -> [Dim]? in
                guard k >= states else { return shape(n.inputs[k + 2]) ?? shape(body.outputs[k + 1]) }
                // The iteration count is known only at run time (the condition may end it early).
                return shape(body.outputs[k + 1]).map { [Self.unknown(n.outputs[k], 0)] + $0 }
            }
        case "If":
            guard case let .graph(a)? = n.attribute("then_branch"), case let .graph(b)? = n.attribute("else_branch"),
                  a.outputs.count == n.outputs.count, b.outputs.count == n.outputs.count else { return [] }
            return n.outputs.indices.map { k -> [Dim]? in
                guard let x = shape(a.outputs[k]), let y = shape(b.outputs[k]), x.count == y.count else { return nil }
                return zip(x, y).enumerated().map { $1.0 == $1.1 ? $1.0 : Self.unknown(n.outputs[k], $0) }
            }
        default:
            return [inferOutput(of: n)]
        }
    }

    /// A windowed op's (Conv, ConvTranspose, pools) strides, dilations and [begins, ends] pads,
    /// ONNX's defaults filled in; nil when a pack gave one of the wrong length or a stride below 1.
    func window(_ n: Node, spatial: Int) -> (strides: [Int64], dilations: [Int64], pads: [Int64])? {
        let strides = ints(n, "strides") ?? [Int64](repeating: 1, count: spatial)
        let dilations = ints(n, "dilations") ?? [Int64](repeating: 1, count: spatial)
        let pads = ints(n, "pads") ?? [Int64](repeating: 0, count: 2 * spatial)
        guard strides.count == spatial, dilations.count == spatial, pads.count == 2 * spatial, strides.allSatisfy({ $0 > 0 }) else { return nil }
        return (strides, dilations, pads)
    }

    /// The first output's shape of node n by ONNX's rules, from its inputs' shapes (declared or
    /// inferred); any node, a subgraph's included.
    func inferOutput(of n: Node) -> [Dim]? {
        let ins = n.inputs
        func input(_ k: Int) -> [Dim]? { k < ins.count && ins[k] != 0 ? shape(ins[k]) : nil }
        if Self.sameShapeOps.contains(n.op) || n.op == "CumSum" { return input(0) }
        if Simplify.broadcasting.contains(n.op) {
            var shapes: [[Dim]] = []
            for k in ins.indices where ins[k] != 0 { guard let s = input(k) else { return nil }; shapes.append(s) }
            return Simplify.broadcastShape(shapes)
        }
        switch n.op {
        case "Pad":
            guard var s = input(0), ins.count > 1, let pads = intValues(ins[1]) else { return nil }
            var axes = Array(0..<s.count)
            if ins.count > 3, ins[3] != 0 {
                guard let a = intValues(ins[3]).flatMap({ Self.normalizedAxes($0, rank: s.count, repeats: true) }) else { return nil }
                axes = a
            }
            guard pads.count == 2 * axes.count else { return nil }
            for (k, a) in axes.enumerated() {
                guard let d = s[a].value else {
                    // A symbolic size padded is another expression, which this rule does not build.
                    if pads[k] != 0 || pads[k + axes.count] != 0 { s[a] = Self.unknown(n.outputs.first ?? 0, a) }
                    continue
                }
                let (lo, o1) = d.addingReportingOverflow(pads[k]), (hi, o2) = lo.addingReportingOverflow(pads[k + axes.count])
                guard !o1, !o2 else { return nil }
                s[a] = .known(hi)
            }
            return s
        case "Expand":
            guard let s = input(0), ins.count > 1 else { return nil }
            if let t = intValues(ins[1]) { return Simplify.broadcastShape([s, t.map { .known($0) }]) }
            // A target computed at run time (from Shape, say): its length still fixes the rank,
            // and a known size other than 1 on either side is the size (the other is it or 1).
            guard let t = dimValues(ins[1]) else { return nil }
            let rank = max(s.count, t.count)
            let a = [Dim](repeating: .known(1), count: rank - s.count) + s, b = [Dim](repeating: .known(1), count: rank - t.count) + t
            return (0..<rank).map { k in
                if a[k] == .known(1) || a[k] == b[k] { return b[k] }
                if b[k] == .known(1) { return a[k] }
                if a[k].value != nil, b[k].value == nil { return a[k] }
                if b[k].value != nil, a[k].value == nil { return b[k] }
                return Self.unknown(n.outputs[0], k)
            }
        case "ArgMax", "ArgMin":
            guard var s = input(0) else { return nil }
            guard let a = Self.normalizedAxis(int(n, "axis") ?? 0, rank: s.count) else { return nil }
            if int(n, "keepdims") == 0 { s.remove(at: a) } else { s[a] = .known(1) }
            return s
        case "Gather":
            guard let data = input(0), let idx = input(1) else { return nil }
            guard let a = Self.normalizedAxis(int(n, "axis") ?? 0, rank: data.count) else { return nil }
            return Array(data[..<a]) + idx + Array(data[(a + 1)...])
        case "GatherND":
            // indices[:-1] + data[batch_dims + depth:], depth being the indices' last size.
            guard let data = input(0), let idx = input(1), let depth = idx.last?.value else { return nil }
            let b = int(n, "batch_dims") ?? 0
            guard b >= 0, depth >= 0, b < Int64(idx.count), b + depth <= Int64(data.count) else { return nil }
            return Array(idx.dropLast()) + Array(data[Int(b + depth)...])
        case "Tile":
            guard var s = input(0), ins.count > 1, let reps = intValues(ins[1]), reps.count == s.count else { return nil }
            for (i, r) in reps.enumerated() where r != 1 {
                guard let d = s[i].value else { return nil }
                let (t, o) = d.multipliedReportingOverflow(by: r)
                guard !o else { return nil }
                s[i] = .known(t)
            }
            return s
        case "Transpose":
            guard let s = input(0) else { return nil }
            let perm = ints(n, "perm") ?? (0..<Int64(s.count)).reversed().map { $0 }
            guard perm.count == s.count, Set(perm) == Set(0..<Int64(s.count)) else { return nil }
            return perm.map { s[Int($0)] }
        case "MatMul":
            guard var a = input(0), var b = input(1) else { return nil }
            let vecA = a.count == 1, vecB = b.count == 1
            if vecA { a.insert(.known(1), at: 0) }
            if vecB { b.append(.known(1)) }
            guard a.count >= 2, b.count >= 2, let batch = Simplify.broadcastShape([Array(a.dropLast(2)), Array(b.dropLast(2))]) else { return nil }
            var out = batch + [a[a.count - 2], b[b.count - 1]]
            if vecB { out.removeLast() }
            if vecA { out.remove(at: out.count - (vecB ? 1 : 2)) }
            return out
        case "Gemm":
            guard let a = input(0), let b = input(1), a.count == 2, b.count == 2 else { return nil }
            return [int(n, "transA") == 1 ? a[1] : a[0], int(n, "transB") == 1 ? b[0] : b[1]]
        case "Reshape":
            guard let spec = intValues(ins[1]) else { return nil }
            let s = input(0)
            var dims: [Dim] = []
            for (i, d) in spec.enumerated() {
                if d == 0, int(n, "allowzero") != 1 { guard let s, i < s.count else { return nil }; dims.append(s[i]) } else { dims.append(.known(d)) }
            }
            if let k = spec.firstIndex(of: -1) {
                guard let s, let total = s.map(\.value).reduce(Optional(Int64(1)), { acc, d in acc.flatMap { a in d.map { a * $0 } } }) else { return nil }
                var known: Int64 = 1
                for (i, d) in dims.enumerated() where i != k { guard let x = d.value else { return nil }; known *= x }
                guard known > 0 else { return nil }
                dims[k] = .known(total / known)
            }
            return dims
        case "Unsqueeze":
            guard var s = input(0), let axes = intValues(ins[1]),
                  let at = Self.normalizedAxes(axes, rank: s.count + axes.count) else { return nil }
            for a in at.sorted() { s.insert(.known(1), at: a) }
            return s
        case "Squeeze":
            guard let s = input(0) else { return nil }
            let axes: Set<Int>
            if ins.count > 1, ins[1] != 0 {
                guard let a = intValues(ins[1]).flatMap({ Self.normalizedAxes($0, rank: s.count) }) else { return nil }
                axes = Set(a)
            } else {
                axes = Set(s.indices.filter { s[$0] == .known(1) })
            }
            return s.enumerated().filter { !axes.contains($0.offset) }.map(\.element)
        case "ReduceSum", "ReduceMax", "ReduceMin", "ReduceMean", "ReduceProd", "ReduceL2", "ReduceLogSumExp":
            guard var s = input(0), let axes = reduceAxes(n) else { return nil }
            if keepDims(n) { for a in axes { s[a] = .known(1) }; return s }
            return s.enumerated().filter { !axes.contains($0.offset) }.map(\.element)
        case "Conv", "MaxPool", "AveragePool":
            // Explicit padding only (the lowering never uses auto_pad).
            guard let x = input(0), x.count >= 3, (string(n, "auto_pad") ?? "NOTSET") == "NOTSET" else { return nil }
            let spatial = x.count - 2
            var kernel: [Int64]
            if n.op == "Conv" {
                guard let w = input(1), w.count == x.count, let ks = Optional(w.dropFirst(2).compactMap(\.value)), ks.count == spatial else { return nil }
                kernel = ks
            } else {
                guard let ks = ints(n, "kernel_shape"), ks.count == spatial else { return nil }
                kernel = ks
            }
            guard let (strides, dilations, pads) = window(n, spatial: spatial) else { return nil }
            let ceil = int(n, "ceil_mode") == 1
            // Wrapping arithmetic: damaged sizes are refused later as a disagreement, not trapped on.
            var out: [Dim] = [x[0]]
            if n.op == "Conv" { guard let w = input(1) else { return nil }; out.append(w[0]) } else { out.append(x[1]) }
            for i in 0..<spatial {
                guard let d = x[i + 2].value else { return nil }
                let span = d &+ pads[i] &+ pads[i + spatial] &- dilations[i] &* (kernel[i] &- 1) &- 1
                let q = ceil ? (span &+ strides[i] &- 1) / strides[i] : span / strides[i]
                out.append(.known(q &+ 1))
            }
            return out
        case "ConvTranspose":
            // The inverse of Conv's arithmetic: each input position spreads a dilated kernel over
            // `stride` outputs. Explicit padding and no output_shape, as the lowering emits it.
            guard let x = input(0), let w = input(1), x.count >= 3, w.count == x.count,
                  (string(n, "auto_pad") ?? "NOTSET") == "NOTSET", ints(n, "output_shape") == nil else { return nil }
            let spatial = x.count - 2
            let kernel = w.dropFirst(2).compactMap(\.value)
            guard kernel.count == spatial, let perGroup = w[1].value else { return nil }
            let extra = ints(n, "output_padding") ?? [Int64](repeating: 0, count: spatial)
            guard let (strides, dilations, pads) = window(n, spatial: spatial), extra.count == spatial else { return nil }
            var out: [Dim] = [x[0], .known(perGroup &* (int(n, "group") ?? 1))]
            for i in 0..<spatial {
                guard let d = x[i + 2].value else { return nil }
                out.append(.known(strides[i] &* (d &- 1) &+ extra[i] &+ (kernel[i] &- 1) &* dilations[i] &+ 1 &- pads[i] &- pads[i + spatial]))
            }
            return out
        case "Concat":
            guard case let .int(axis0)? = n.attribute("axis"), var s = input(0),
                  let axis = Self.normalizedAxis(axis0, rank: s.count) else { return nil }
            var total: Int64 = 0
            for k in ins.indices {
                guard let t = input(k), axis < t.count, let d = t[axis].value else { return nil }
                let (sum, o) = total.addingReportingOverflow(d)
                guard !o else { return nil }
                total = sum
            }
            s[axis] = .known(total)
            return s
        case "Slice":
            guard var s = input(0), let starts = intValues(ins[1]), let ends = intValues(ins[2]) else { return nil }
            let axes = ins.count > 3 && ins[3] != 0 ? intValues(ins[3]) : (0..<Int64(starts.count)).map { $0 }
            let steps = ins.count > 4 && ins[4] != 0 ? intValues(ins[4]) : [Int64](repeating: 1, count: starts.count)
            guard let axes, let steps else { return nil }
            for (j, a0) in axes.enumerated() {
                guard let a = Self.normalizedAxis(a0, rank: s.count), j < starts.count, j < ends.count, j < steps.count, let dim = s[a].value,
                      steps[j] != 0, steps[j] != .min else { return nil }
                func clampIndex(_ x: Int64, _ lo: Int64, _ hi: Int64) -> Int64 { min(max(x < 0 ? x + dim : x, lo), hi) }
                let step = steps[j]
                let start = step > 0 ? clampIndex(starts[j], 0, dim) : clampIndex(starts[j], -1, dim - 1)
                let end = step > 0 ? clampIndex(ends[j], 0, dim) : clampIndex(ends[j], -1, dim - 1)
                // start and end are clamped into [-1, dim]: only the step can be extreme
                let count = step > 0 ? (end > start ? (end - start - 1) / step + 1 : 0) : (start > end ? (start - end - 1) / -step + 1 : 0)
                s[a] = .known(count)
            }
            return s
        default:
            return nil
        }
    }
}
