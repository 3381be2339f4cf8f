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
        inferred[v] = .some(nil)  // cycles cannot happen in a DAG, but stay safe
        let result = infer(v)
        inferred[v] = result
        return result
    }

    func infer(_ v: ValueID) -> [Dim]? {
        let p = Int(g.values[Int(v)].producer)
        guard g.values[Int(v)].scope == 0, p >= 0, p < g.nodes.count else { return nil }
        let n = g.nodes[p]
        guard n.outputs.first == v else { return nil }
        return inferOutput(of: n)
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
                guard let a = intValues(ins[3]) else { return nil }
                axes = a.map { Int($0 < 0 ? $0 + Int64(s.count) : $0) }
            }
            guard pads.count == 2 * axes.count, axes.allSatisfy({ $0 >= 0 && $0 < s.count }) else { return nil }
            for (k, a) in axes.enumerated() {
                guard let d = s[a].value else { continue }
                let (lo, o1) = d.addingReportingOverflow(pads[k]), (hi, o2) = lo.addingReportingOverflow(pads[k + axes.count])
                guard !o1, !o2 else { return nil }
                s[a] = .known(hi)
            }
            return s
        case "Expand":
            guard let s = input(0), ins.count > 1, let t = intValues(ins[1]) else { return nil }
            return Simplify.broadcastShape([s, t.map { .known($0) }])
        case "ArgMax", "ArgMin":
            guard var s = input(0) else { return nil }
            let a0 = int(n, "axis") ?? 0
            let a = Int(a0 < 0 ? a0 + Int64(s.count) : a0)
            guard a >= 0, a < s.count else { return nil }
            if int(n, "keepdims") == 0 { s.remove(at: a) } else { s[a] = .known(1) }
            return s
        case "Gather":
            guard let data = input(0), let idx = input(1) else { return nil }
            let a0 = int(n, "axis") ?? 0
            let a = Int(a0 < 0 ? a0 + Int64(data.count) : a0)
            guard a >= 0, a < data.count else { return nil }
            return Array(data[..<a]) + idx + Array(data[(a + 1)...])
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
            guard var s = input(0), let axes = intValues(ins[1]) else { return nil }
            let r = s.count + axes.count
            for a in axes.map({ Int($0 < 0 ? $0 + Int64(r) : $0) }).sorted() { guard a <= s.count else { return nil }; s.insert(.known(1), at: a) }
            return s
        case "Squeeze":
            guard let s = input(0) else { return nil }
            let axes: Set<Int>
            if ins.count > 1, ins[1] != 0 {
                guard let a = intValues(ins[1]) else { return nil }
                axes = Set(a.map { Int($0 < 0 ? $0 + Int64(s.count) : $0) })
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
            let strides = ints(n, "strides") ?? [Int64](repeating: 1, count: spatial)
            let dilations = ints(n, "dilations") ?? [Int64](repeating: 1, count: spatial)
            let pads = ints(n, "pads") ?? [Int64](repeating: 0, count: 2 * spatial)
            let ceil = int(n, "ceil_mode") == 1
            var out: [Dim] = [x[0]]
            if n.op == "Conv" { guard let w = input(1) else { return nil }; out.append(w[0]) } else { out.append(x[1]) }
            for i in 0..<spatial {
                guard let d = x[i + 2].value else { return nil }
                let span = d + pads[i] + pads[i + spatial] - dilations[i] * (kernel[i] - 1) - 1
                let q = ceil ? (span + strides[i] - 1) / strides[i] : span / strides[i]
                out.append(.known(q + 1))
            }
            return out
        case "Concat":
            guard case let .int(axis0)? = n.attribute("axis"), var s = input(0) else { return nil }
            let axis = Int(axis0 < 0 ? axis0 + Int64(s.count) : axis0)
            guard axis >= 0, axis < s.count else { return nil }
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
                let a = Int(a0 < 0 ? a0 + Int64(s.count) : a0)
                guard a >= 0, a < s.count, j < starts.count, j < ends.count, j < steps.count, let dim = s[a].value,
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
