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
            // Values are doubles: 64-bit integers beyond 2^53 would fold inexactly.
            let exact = args.allSatisfy { h in h.map { $0.dtype != .i64 || $0.values.allSatisfy { abs($0) < 0x1p53 } } ?? true }
            guard ok, exact, let out = Self.evaluate(n, args, outputType: r.dtype(n.outputs[0])) else { continue }
            if out.dtype == .i64, !out.values.allSatisfy({ abs($0) < 0x1p53 }) { continue }
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

    static func ints(_ t: HostTensor?) -> [Int64]? { t.map { $0.values.map { Int64($0) } } }

    static func evaluate(_ n: Node, _ a: [HostTensor?], outputType: DType) -> HostTensor? {
        func unary(_ f: (Double) -> Double) -> HostTensor? {
            guard let x = a.first ?? nil else { return nil }
            return HostTensor(dtype: x.dtype, dims: x.dims, values: x.values.map(f))
        }
        func binary(_ type: DType? = nil, _ f: (Double, Double) -> Double) -> HostTensor? {
            guard a.count == 2, let x = a[0], let y = a[1], let shape = HostTensor.broadcast(x.dims, y.dims) else { return nil }
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
            let count = max(0, Int(((limit - start) / delta).rounded(.up)))
            guard count <= 1 << 20 else { return nil }
            return HostTensor(dtype: a[0]!.dtype, dims: [Int64(count)], values: (0..<count).map { start + Double($0) * delta })
        case "Where":
            guard a.count == 3, let c = a[0], let x = a[1], let y = a[2],
                  let s1 = HostTensor.broadcast(c.dims, x.dims), let shape = HostTensor.broadcast(s1, y.dims) else { return nil }
            let cs = c.expanded(to: shape), xs = x.expanded(to: shape), ys = y.expanded(to: shape)
            return HostTensor(dtype: x.dtype, dims: shape, values: (0..<cs.count).map { cs[$0] != 0 ? xs[$0] : ys[$0] })
        case "Cast":
            guard let x = a.first ?? nil, HostTensor.foldable.contains(outputType) else { return nil }
            // Float to int truncates toward zero in ONNX; NaN/inf have no defined result: do not fold them.
            if outputType.isIntegral, x.dtype.isFloat, x.values.contains(where: { !$0.isFinite }) { return nil }
            return HostTensor(dtype: outputType, dims: x.dims, values: x.values).rounded()
        case "Reshape":
            guard a.count == 2, let x = a[0], let spec = ints(a[1]) else { return nil }
            var allowZero: Int64 = 0
            if case let .int(v)? = n.attribute("allowzero") { allowZero = v }
            var dims = spec.enumerated().map { (i, d) -> Int64 in d == 0 && allowZero == 0 && i < x.dims.count ? x.dims[i] : d }
            if let k = dims.firstIndex(of: -1) {
                var known: Int64 = 1
                for (i, d) in dims.enumerated() where i != k { known *= d }
                guard known > 0 else { return nil }
                dims[k] = Int64(x.count) / known
            }
            guard dims.reduce(1, *) == Int64(x.count) else { return nil }
            return HostTensor(dtype: x.dtype, dims: dims, values: x.values)
        case "Unsqueeze":
            guard a.count == 2, let x = a[0], let axes = ints(a[1]) else { return nil }
            let r = x.dims.count + axes.count
            let norm = Set(axes.map { $0 < 0 ? $0 + Int64(r) : $0 })
            var dims: [Int64] = [], k = 0
            for i in 0..<r { if norm.contains(Int64(i)) { dims.append(1) } else { dims.append(x.dims[k]); k += 1 } }
            return HostTensor(dtype: x.dtype, dims: dims, values: x.values)
        case "Squeeze":
            guard let x = a.first ?? nil else { return nil }
            let r = Int64(x.dims.count)
            let axes = a.count > 1 ? Set((ints(a[1]) ?? []).map { $0 < 0 ? $0 + r : $0 }) : Set((0..<r).filter { x.dims[Int($0)] == 1 })
            return HostTensor(dtype: x.dtype, dims: x.dims.enumerated().filter { !axes.contains(Int64($0.offset)) }.map(\.element), values: x.values)
        case "Transpose":
            guard let x = a.first ?? nil else { return nil }
            var perm = Array((0..<x.dims.count).reversed())
            if case let .ints(p)? = n.attribute("perm") { perm = p.map { Int($0) } }
            return x.transposed(perm)
        case "Expand":
            guard a.count == 2, let x = a[0], let spec = ints(a[1]), let shape = HostTensor.broadcast(x.dims, spec),
                  shape.reduce(1, *) <= 4096 else { return nil }
            return HostTensor(dtype: x.dtype, dims: shape, values: x.expanded(to: shape))
        case "Concat":
            guard case let .int(axis0)? = n.attribute("axis"), let first = a.first ?? nil else { return nil }
            let parts = a.compactMap { $0 }
            guard parts.count == a.count else { return nil }
            let r = first.dims.count
            let axis = Int(axis0 < 0 ? axis0 + Int64(r) : axis0)
            guard axis >= 0, axis < r, parts.allSatisfy({ $0.dims.count == r }) else { return nil }
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

extension DType {
    var isIntegral: Bool { [.i8, .i16, .i32, .i64, .u8, .u16, .u32, .u64].contains(self) }
    var isFloat: Bool { [.f16, .bf16, .f32, .f64].contains(self) }
}
