import Foundation

/// Evaluates nodes whose inputs are all constants and replaces them with one initializer, so
/// weight-only subgraphs (an inference BatchNorm's `rsqrt(var + eps) * scale`, a transposed or
/// reshaped weight, shape arithmetic on static dims) cost nothing at run time. One forward sweep:
/// a folded result is itself a constant for the nodes after it.
///
/// Only ops with plain, exactly reproducible semantics are folded; a fold never makes the model
/// bigger than a few KiB beyond what its inputs already were (no materialising broadcasts).
struct FoldConstants: GraphPass {
    let name = "fold-constants"
    /// Largest tensor (elements) folded; bigger weight rewrites are not worth the host time.
    static let limit = 1 << 24

    func run(_ g: Graph, opset: Int) {
        let r = Rewriter(g, opset: opset)
        for i in 0..<g.nodes.count {
            let n = g.nodes[i]
            // Most nodes read some computed value: settle that before converting any constant.
            guard Self.ops.contains(n.op), n.outputs.count == 1, n.inputs.allSatisfy({ $0 == 0 || r.isConstant($0) }) else { continue }
            var args: [HostTensor?] = []
            var ok = true
            for v in n.inputs {
                if v == 0 { args.append(nil); continue }
                guard let t = r.constant(v), let h = HostTensor(t, limit: Self.limit) else { ok = false; break }
                args.append(h)
            }
            // 64-bit integers fold exactly (evaluate never takes them through Double).
            guard ok, let out = Self.evaluate(n, args, outputType: r.dtype(n.outputs[0])) else { continue }
            let biggestInput = args.compactMap { $0?.count }.max() ?? 0
            guard out.count <= max(biggestInput, 4096) else { continue }
            r.remove(i)
            r.replace(n.outputs[0], with: r.addConstant(out.rounded()))
        }
        r.commit()
    }

    static let ops: Set<String> = [
        "Identity", "Neg", "Abs", "Sqrt", "Reciprocal", "Exp", "Log", "Tanh", "Floor", "Ceil", "Relu", "Sigmoid",
        "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Cast", "Reshape", "Unsqueeze", "Squeeze",
        "Transpose", "Expand", "Concat", "Equal", "Less", "Greater", "Where", "Not", "Sin", "Cos", "Range",
        "GreaterOrEqual", "LessOrEqual", "And", "Or",
    ]

    /// A shape or axes input as integers (exact for int64).
    static func ints(_ t: HostTensor?) -> [Int64]? { t.map { $0.exact ?? $0.values.map(HostTensor.integer) } }

    static func evaluate(_ n: Node, _ a: [HostTensor?], outputType: DType) -> HostTensor? {
        // Integers never go through Double: the exact evaluator handles them, and an op it does
        // not know is folded in Double only when every integer fits in 53 bits. (A cast reads
        // the exact elements itself; mixed inputs, such as Where over floats, are float folds.)
        let integers = n.op != "Cast" && !a.isEmpty && a.allSatisfy { $0 == nil || $0!.exact != nil } && a.contains { $0 != nil }
        if integers {
            if let r = exactLayout(n, a) ?? ExactIntegers.evaluate(n.op, a) { return r }
            guard !ExactIntegers.ops.contains(n.op), !layoutOps.contains(n.op) else { return nil }
            let limit: Int64 = 1 << 53
            guard a.allSatisfy({ $0?.exact?.allSatisfy { $0 >= -limit && $0 <= limit } ?? true }) else { return nil }
        }
        return evaluateInDouble(n, a, outputType: outputType)
    }

    static let layoutOps: Set<String> = ["Identity", "Reshape", "Unsqueeze", "Squeeze", "Transpose", "Expand", "Concat"]

    /// A layout op over integers: run it on the element indices (exact in Double, the tensors are
    /// small), then pick the exact elements by index.
    static func exactLayout(_ n: Node, _ a: [HostTensor?]) -> HostTensor? {
        guard layoutOps.contains(n.op) else { return nil }
        let dataInputs = n.op == "Concat" ? Array(a.indices) : [0]
        var pool: [Int64] = []
        var indexed = a
        for k in dataInputs {
            guard let t = a[k], let e = t.exact else { return nil }
            indexed[k] = HostTensor(dtype: .f64, dims: t.dims, values: (0..<e.count).map { Double(pool.count + $0) })
            pool += e
        }
        guard let moved = evaluateInDouble(n, indexed, outputType: .f64), let first = a[0] else { return nil }
        return HostTensor(dtype: first.dtype, dims: moved.dims, exact: moved.values.map { pool[Int($0)] })
    }

    static func evaluateInDouble(_ n: Node, _ a: [HostTensor?], outputType: DType) -> HostTensor? {
        func unary(_ f: (Double) -> Double) -> HostTensor? {
            guard let x = a.first ?? nil else { return nil }
            return HostTensor(dtype: x.dtype, dims: x.dims, values: x.values.map(f))
        }
        func binary(_ type: DType? = nil, _ f: (Double, Double) -> Double) -> HostTensor? {
            guard a.count == 2, let x = a[0], let y = a[1], let shape = HostTensor.broadcast(x.dims, y.dims),
                  let count = HostTensor.count(shape), count <= Int64(limit) else { return nil }
            let xs = x.expanded(to: shape), ys = y.expanded(to: shape)
            return HostTensor(dtype: type ?? x.dtype, dims: shape, values: zip(xs, ys).map(f))
        }
        let isInt = a.first??.dtype.isIntegral ?? false
        switch n.op {
        case "Identity": return a.first ?? nil
        case "Neg": return unary { -$0 }
        case "Abs": return unary { abs($0) }
        case "Sqrt": return unary { $0.squareRoot() }
        case "Reciprocal": return unary { 1 / $0 }
        case "Exp": return unary { Foundation.exp($0) }
        case "Log": return unary { Foundation.log($0) }
        case "Tanh": return unary { Foundation.tanh($0) }
        case "Sin": return unary { Foundation.sin($0) }
        case "Cos": return unary { Foundation.cos($0) }
        case "Floor": return unary { $0.rounded(.down) }
        case "Ceil": return unary { $0.rounded(.up) }
        case "Relu": return unary { max($0, 0) }
        case "Not": return unary { $0 == 0 ? 1 : 0 }
        case "Sigmoid": return unary { 1 / (1 + Foundation.exp(-$0)) }
        case "Add": return binary { $0 + $1 }
        case "Sub": return binary { $0 - $1 }
        case "Mul": return binary { $0 * $1 }
        case "Div":
            if isInt { return binary { $1 == 0 ? 0 : ($0 / $1).rounded(.towardZero) } }
            return binary { $0 / $1 }
        case "Pow": return binary { Foundation.pow($0, $1) }
        case "Max": return a.count == 2 ? binary { $0.isNaN || $1.isNaN ? .nan : max($0, $1) } : nil
        case "Min": return a.count == 2 ? binary { $0.isNaN || $1.isNaN ? .nan : min($0, $1) } : nil
        case "Equal": return binary(.bool) { $0 == $1 ? 1 : 0 }
        case "Less": return binary(.bool) { $0 < $1 ? 1 : 0 }
        case "Greater": return binary(.bool) { $0 > $1 ? 1 : 0 }
        case "GreaterOrEqual": return binary(.bool) { $0 >= $1 ? 1 : 0 }
        case "LessOrEqual": return binary(.bool) { $0 <= $1 ? 1 : 0 }
        case "And": return binary(.bool) { $0 != 0 && $1 != 0 ? 1 : 0 }
        case "Or": return binary(.bool) { $0 != 0 || $1 != 0 ? 1 : 0 }
        case "Range":
            guard a.count == 3, let start = a[0]?.values.first, let limit = a[1]?.values.first, let delta = a[2]?.values.first,
                  delta != 0 else { return nil }
            let steps = ((limit - start) / delta).rounded(.up)
            guard steps.isFinite, steps <= Double(1 << 20) else { return nil }
            let count = max(0, Int(steps))
            return HostTensor(dtype: a[0]!.dtype, dims: [Int64(count)], values: (0..<count).map { start + Double($0) * delta })
        case "Where":
            guard a.count == 3, let c = a[0], let x = a[1], let y = a[2],
                  let s1 = HostTensor.broadcast(c.dims, x.dims), let shape = HostTensor.broadcast(s1, y.dims),
                  let count = HostTensor.count(shape), count <= Int64(Self.limit) else { return nil }
            let cs = c.expanded(to: shape), xs = x.expanded(to: shape), ys = y.expanded(to: shape)
            return HostTensor(dtype: x.dtype, dims: shape, values: (0..<cs.count).map { cs[$0] != 0 ? xs[$0] : ys[$0] })
        case "Cast":
            guard let x = a.first ?? nil, HostTensor.foldable.contains(outputType) else { return nil }
            // Float to int truncates toward zero in ONNX; NaN, inf and values outside the target
            // type have no defined result: do not fold them.
            if outputType.isIntegral, x.dtype.isFloat {
                let (lo, hi) = outputType.integerRange
                guard x.values.allSatisfy({ $0.isFinite && $0.rounded(.towardZero) >= lo && $0.rounded(.towardZero) <= hi }) else { return nil }
            }
            if let e = x.exact, outputType.isExactInteger { return HostTensor(dtype: outputType, dims: x.dims, exact: e).rounded() }
            return HostTensor(dtype: outputType, dims: x.dims, values: x.values).rounded()
        case "Reshape":
            guard a.count == 2, let x = a[0], let spec = ints(a[1]) else { return nil }
            var allowZero: Int64 = 0
            if case let .int(v)? = n.attribute("allowzero") { allowZero = v }
            var dims = spec.enumerated().map { (i, d) -> Int64 in d == 0 && allowZero == 0 && i < x.dims.count ? x.dims[i] : d }
            if let k = dims.firstIndex(of: -1) {
                var rest = dims
                rest.remove(at: k)
                guard let known = HostTensor.count(rest), known > 0 else { return nil }
                dims[k] = Int64(x.count) / known
            }
            guard HostTensor.count(dims) == Int64(x.count) else { return nil }
            return x.with(dims: dims)
        case "Unsqueeze":
            guard a.count == 2, let x = a[0], let axes = ints(a[1]) else { return nil }
            let r = x.dims.count + axes.count
            guard let norm = Rewriter.normalizedAxes(axes, rank: r).map(Set.init) else { return nil }
            var dims: [Int64] = [], k = 0
            for i in 0..<r { if norm.contains(i) { dims.append(1) } else { dims.append(x.dims[k]); k += 1 } }
            return x.with(dims: dims)
        case "Squeeze":
            guard let x = a.first ?? nil else { return nil }
            let r = x.dims.count
            guard let axes = a.count > 1 ? Rewriter.normalizedAxes(ints(a[1]) ?? [], rank: r, repeats: true).map(Set.init)
                                         : Set((0..<r).filter { x.dims[$0] == 1 }),
                  axes.allSatisfy({ x.dims[$0] == 1 }) else { return nil }
            return x.with(dims: x.dims.enumerated().filter { !axes.contains($0.offset) }.map(\.element))
        case "Transpose":
            guard let x = a.first ?? nil else { return nil }
            var perm = Array((0..<x.dims.count).reversed())
            if case let .ints(p)? = n.attribute("perm") { perm = p.map { Int(truncatingIfNeeded: $0) } }
            guard perm.count == x.dims.count, Set(perm) == Set(0..<x.dims.count) else { return nil }
            return x.transposed(perm)
        case "Expand":
            guard a.count == 2, let x = a[0], let spec = ints(a[1]), let shape = HostTensor.broadcast(x.dims, spec),
                  let count = HostTensor.count(shape), count <= 4096 else { return nil }
            return x.broadcast(to: shape)
        case "Concat":
            guard case let .int(axis0)? = n.attribute("axis"), let first = a.first ?? nil else { return nil }
            let parts = a.compactMap { $0 }
            guard parts.count == a.count else { return nil }
            let r = first.dims.count
            guard let axis = Rewriter.normalizedAxis(axis0, rank: r), parts.allSatisfy({ p in
                p.dims.count == r && p.dtype == first.dtype && (0..<r).allSatisfy { $0 == axis || p.dims[$0] == first.dims[$0] }
            }) else { return nil }
            let outer = Int(first.dims[..<axis].reduce(1, *))
            var dims = first.dims
            dims[axis] = parts.map { $0.dims[axis] }.reduce(0, +)
            var values: [Double] = []
            values.reserveCapacity(Int(dims.reduce(1, *)))
            for o in 0..<outer {
                for p in parts {
                    let chunk = p.count / max(outer, 1)
                    values += p.values[(o * chunk)..<((o + 1) * chunk)]
                }
            }
            return HostTensor(dtype: first.dtype, dims: dims, values: values)
        default: return nil
        }
    }
}

/// Integer folding in Int64, exactly. Arithmetic wraps (ONNX Runtime's kernels do; `rounded`
/// then wraps to the element width); what has no defined result (division by zero,
/// Int64.min / -1) is not folded.
enum ExactIntegers {
    static let ops: Set<String> = ["Neg", "Abs", "Add", "Sub", "Mul", "Div", "Max", "Min", "Equal", "Less", "Greater",
                                   "GreaterOrEqual", "LessOrEqual", "And", "Or", "Not", "Where", "Range"]

    static func evaluate(_ op: String, _ a: [HostTensor?]) -> HostTensor? {
        func unary(_ f: (Int64) -> Int64) -> HostTensor? {
            guard let x = a.first ?? nil, let e = x.exact else { return nil }
            return HostTensor(dtype: x.dtype, dims: x.dims, exact: e.map(f))
        }
        func binary(_ type: DType? = nil, _ f: (Int64, Int64) -> Int64?) -> HostTensor? {
            guard a.count == 2, let x = a[0], let y = a[1], x.exact != nil, y.exact != nil,
                  let shape = HostTensor.broadcast(x.dims, y.dims),
                  let count = HostTensor.count(shape), count <= Int64(FoldConstants.limit) else { return nil }
            let xs = x.broadcast(to: shape).exact!, ys = y.broadcast(to: shape).exact!
            var out: [Int64] = []
            out.reserveCapacity(xs.count)
            for i in xs.indices {
                guard let v = f(xs[i], ys[i]) else { return nil }
                out.append(v)
            }
            return HostTensor(dtype: type ?? x.dtype, dims: shape, exact: out)
        }
        switch op {
        case "Neg": return unary { 0 &- $0 }
        case "Abs": return unary { $0 < 0 ? 0 &- $0 : $0 }
        case "Not": return unary { $0 == 0 ? 1 : 0 }
        case "Add": return binary { $0 &+ $1 }
        case "Sub": return binary { $0 &- $1 }
        case "Mul": return binary { $0 &* $1 }
        case "Div": return binary { x, y in y == 0 || (x == .min && y == -1) ? nil : x / y }
        case "Max": return binary { max($0, $1) }
        case "Min": return binary { min($0, $1) }
        case "Equal": return binary(.bool) { $0 == $1 ? 1 : 0 }
        case "Less": return binary(.bool) { $0 < $1 ? 1 : 0 }
        case "Greater": return binary(.bool) { $0 > $1 ? 1 : 0 }
        case "GreaterOrEqual": return binary(.bool) { $0 >= $1 ? 1 : 0 }
        case "LessOrEqual": return binary(.bool) { $0 <= $1 ? 1 : 0 }
        case "And": return binary(.bool) { $0 != 0 && $1 != 0 ? 1 : 0 }
        case "Or": return binary(.bool) { $0 != 0 || $1 != 0 ? 1 : 0 }
        case "Where":
            guard a.count == 3, let c = a[0], let x = a[1], let y = a[2], c.exact != nil, x.exact != nil, y.exact != nil,
                  let s1 = HostTensor.broadcast(c.dims, x.dims), let shape = HostTensor.broadcast(s1, y.dims),
                  let count = HostTensor.count(shape), count <= Int64(FoldConstants.limit) else { return nil }
            let cs = c.broadcast(to: shape).exact!, xs = x.broadcast(to: shape).exact!, ys = y.broadcast(to: shape).exact!
            return HostTensor(dtype: x.dtype, dims: shape, exact: cs.indices.map { cs[$0] != 0 ? xs[$0] : ys[$0] })
        case "Range":
            guard a.count == 3, let start = a[0]?.exact?.first, let limit = a[1]?.exact?.first,
                  let delta = a[2]?.exact?.first, delta != 0 else { return nil }
            // The distance fits in UInt64 even from Int64.min to Int64.max.
            var count: UInt64 = 0
            if (delta > 0 && limit > start) || (delta < 0 && limit < start) {
                let distance = delta > 0 ? UInt64(bitPattern: limit &- start) : UInt64(bitPattern: start &- limit)
                let step = delta.magnitude
                count = distance / step + (distance % step == 0 ? 0 : 1)
            }
            guard count <= 1 << 20 else { return nil }
            return HostTensor(dtype: a[0]!.dtype, dims: [Int64(count)], exact: (0..<Int64(count)).map { start &+ $0 &* delta })
        default: return nil
        }
    }
}

extension DType {
    /// The integers this type holds, as Doubles (for range checks of float-to-int casts).
    var integerRange: (Double, Double) {
        switch self {
        case .i8: return (-128, 127)
        case .u8, .bool: return (0, 255)
        case .i16: return (-32768, 32767)
        case .u16: return (0, 65535)
        case .i32: return (-2_147_483_648, 2_147_483_647)
        case .u32: return (0, 4_294_967_295)
        // 2^63 itself is out of range; the largest double below it is 2^63 - 1024.
        case .i64: return (-9_223_372_036_854_775_808, 9_223_372_036_854_774_784)
        default: return (0, 18_446_744_073_709_549_568)
        }
    }
}

extension DType {
    var isIntegral: Bool { [.i8, .i16, .i32, .i64, .u8, .u16, .u32, .u64].contains(self) }
    var isFloat: Bool { [.f16, .bf16, .f32, .f64].contains(self) }
}
