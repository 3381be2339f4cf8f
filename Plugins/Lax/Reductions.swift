import PluginKit

/// Reductions over a set of axes, and arg-reductions over one.
let reductionOps: [(prim: String, op: String)] = [
    ("reduce_sum", "ReduceSum"), ("reduce_max", "ReduceMax"), ("reduce_min", "ReduceMin"), ("reduce_prod", "ReduceProd"),
]

/// ONNX Runtime's CPU reductions cover these element types; others are widened and narrowed back
/// (wrap-around of narrow integers is preserved by the narrowing cast).
func reductionType(_ t: DType) -> DType? {
    if [.f32, .f64, .i32, .i64].contains(t) { return nil }
    if t.isFloat { return .f32 }
    if t.isBool { return .i32 }
    return t.isUnsignedInt ? .i64 : .i64
}

func reductionLowerings() -> [Lowering] {
    var out: [Lowering] = reductionOps.map { prim, op in
        Lowering(prim, emits: [op, "Cast", "CumSum", "Slice", "Squeeze", "Pad", "Mul", "IsNaN", "ReduceSum", "Where", "Greater", "Expand"]) { eqn, g in
            let x = try eqn.input(0)
            let axes = try x.rank.map { try eqn.axes("axes", rank: $0) } ?? eqn.ints("axes")
            return [try reduce(prim, op, x, axes: axes, g)]
        }
    }
    for (prim, op) in [("argmax", "ArgMax"), ("argmin", "ArgMin")] {
        out.append(Lowering(prim, emits: (op == "ArgMax" ? [op] : [op, "ArgMax"]) + ["Cast", "IsNaN", "ReduceMax", "Where", "BitwiseXor", "Add"],
                            note: "first index on ties, like JAX; the first NaN wins, as in JAX") { eqn, g in
            let x = try eqn.input(0)
            let axes = try x.rank.map { try eqn.axes("axes", rank: $0) } ?? eqn.ints("axes")
            guard axes.count == 1 else { throw LoweringError.unsupported("\(prim) over \(axes.count) axes") }
            let attrs: KeyValuePairs<String, Attr> = ["axis": .int(Int64(axes[0])), "keepdims": .int(0), "select_last_index": .int(0)]
            // u32 widens to i64 so its order survives; narrower ints and bools fit i32.
            let xin: Value
            switch x.dtype {
            case .i32, .i64, .f32, .f64: xin = x
            case .u32: xin = try x.cast(to: .i64)
            case .f16, .bf16: xin = try x.cast(to: .f32)
            case .u64: xin = try g.uint64AsOrderedInt64(x)
            default: xin = try x.cast(to: .i32)
            }
            var r = try g.op(op, xin, attributes: attrs)
            if x.dtype.isFloat {
                // ArgMax compares with < and >, so NaN never wins; JAX picks the first NaN.
                let nan = try g.op("IsNaN", xin).cast(to: .i32)
                let firstNaN = try g.op("ArgMax", nan, attributes: attrs)
                let anyNaN: Value
                if g.opset >= 18 {
                    anyNaN = try g.op("ReduceMax", nan, g.int64s([axes[0]]), attributes: ["keepdims": .int(0)])
                } else {
                    anyNaN = try g.op("ReduceMax", nan, attributes: ["axes": .ints([axes[0]]), "keepdims": .int(0)])
                }
                r = try g.op("Where", anyNaN.cast(to: .bool), firstNaN, r)
            }
            return [try r.cast(to: eqn.output(0).dtype)]
        })
    }
    return out
}

/// x reduced over axes by one of reductionOps, in a type ONNX Runtime reduces exactly.
func reduce(_ prim: String, _ op: String, _ x: Value, axes: [Int], _ g: GraphBuilder) throws -> Value {
    if axes.isEmpty { return x }
    if op == "ReduceMax" || op == "ReduceMin", let shape = x.shape, axes.contains(where: { shape[$0] == .known(0) }) {
        // Over nothing, max and min are their identities in x's own type; ONNX Runtime gives
        // the widened type's lowest value (an i8 max of nothing would narrow to 0, a bool one to true).
        let kept = shape.indices.filter { !axes.contains($0) }.map { shape[$0] }
        return try extreme(x.dtype, highest: op == "ReduceMin", g).expand(kept)
    }
    if let exact = try exactWideIntegerReduction(prim, x, axes: axes, g) { return exact }
    let wide = reductionType(x.dtype)
    let xin = try wide.map { try x.cast(to: $0) } ?? x
    var r: Value
    // ReduceSum takes axes as an input from opset 13, the others from opset 18.
    if op == "ReduceSum" || g.opset >= 18 {
        r = try g.op(op, xin, g.int64s(axes), attributes: ["keepdims": .int(0)])
    } else {
        r = try g.op(op, xin, attributes: ["axes": .ints(axes), "keepdims": .int(0)])
    }
    if x.dtype.isFloat, op == "ReduceMax" || op == "ReduceMin", try g.boolOption("strict_nan") {
        // ONNX Runtime's ReduceMax/ReduceMin skip NaN; XLA's max and min propagate it. On
        // request only, like the NN pack's pooling guard: the guard stops softmax fusing.
        let nans = try g.op("IsNaN", xin).cast(to: .i32)
        let count = try g.op("ReduceSum", nans, g.int64s(axes), attributes: ["keepdims": .int(0)])
        r = try g.op("Where", g.op("Greater", count, g.scalar(0, .i32)), g.scalar(.nan, r.dtype), r)
    }
    return try r.cast(to: x.dtype)
}

/// ONNX Runtime's ReduceSum and ReduceProd on 64-bit integers round through double, so sums and
/// products past 2^53 lose their low bits. CumSum and Mul are exact (and wrap like XLA), so a sum
/// is the last element of a running sum and a product a tree of halving multiplications. Nil
/// when the plain reduction is exact anyway (other types, empty axes) or a product axis is symbolic.
func exactWideIntegerReduction(_ prim: String, _ x: Value, axes: [Int], _ g: GraphBuilder) throws -> Value? {
    guard [.i64, .u64].contains(x.dtype), let shape = x.shape, prim == "reduce_sum" || prim == "reduce_prod" else { return nil }
    if axes.contains(where: { shape[$0] == 0 }) { return nil }
    // Two's complement addition and multiplication are the same bits signed or unsigned.
    var v = try x.cast(to: .i64)
    var s = shape
    if prim == "reduce_sum" {
        for a in axes {
            v = try g.op("CumSum", v, g.scalar(Double(a), .i64))
            s[a] = 1
            v = try g.op("Slice", v, g.int64s([-1]), g.int64s([Int64.max]), g.int64s([a]), shape: s)
        }
    } else {
        guard axes.allSatisfy({ shape[$0].value != nil }) else { return nil }
        for a in axes {
            var n = shape[a].value!
            while n > 1 {
                if n % 2 == 1 {
                    var pads = [Int64](repeating: 0, count: 2 * s.count)
                    pads[s.count + a] = 1
                    n += 1
                    s[a] = .known(n)
                    v = try g.pad(v, g.int64s(pads), g.scalar(1, .i64), shape: s)
                }
                s[a] = .known(n / 2)
                let front = try g.op("Slice", v, g.int64s([0]), g.int64s([n / 2]), g.int64s([a]), shape: s)
                let back = try g.op("Slice", v, g.int64s([n / 2]), g.int64s([n]), g.int64s([a]), shape: s)
                v = try g.op("Mul", front, back, shape: s)
                n /= 2
            }
        }
    }
    return try v.squeeze(axes.sorted()).cast(to: x.dtype)
}

/// The lowest or highest value of t (±inf for floats, false/true for bool).
func extreme(_ t: DType, highest: Bool, _ g: GraphBuilder) throws -> Value {
    switch t {
    case _ where t.isFloat: return try g.scalar(highest ? .infinity : -.infinity, t)
    case .bool: return try g.scalar(highest ? 1 : 0, t)
    case .i8: return try g.scalar(highest ? 127 : -128, t)
    case .i16: return try g.scalar(highest ? 32767 : -32768, t)
    case .i32: return try g.scalar(highest ? 2147483647 : -2147483648, t)
    case .i64: return try g.constant([highest ? Int64.max : Int64.min], dtype: t, shape: [])
    case .u8: return try g.scalar(highest ? 255 : 0, t)
    case .u16: return try g.scalar(highest ? 65535 : 0, t)
    case .u32: return try g.scalar(highest ? 4294967295 : 0, t)
    case .u64: return try g.constant([highest ? UInt64.max : 0], dtype: t, shape: [])
    default: throw LoweringError.unsupported("max/min reduction on \(t)")
    }
}
