import PluginKit

/// cumsum is ONNX CumSum. The others have no ONNX op before CumProd (opset 26), so they are a
/// scan-free prefix computation by doubling: after step j every element holds the combination of
/// the 2^j elements ending at it, so log2(n) steps of "combine with a copy shifted by 2^j
/// (identity shifted in)" give the inclusive scan. Exact for max and min; products and
/// log-sum-exps are reassociated, as XLA's own parallel scans do.
func cumulativeLowerings() -> [Lowering] {
    [
        Lowering("cumsum", emits: ["CumSum", "Cast"], dtypes: DType.numbers, note: "reverse via CumSum's reverse attribute") { eqn, g in
            let x = try eqn.input(0)
            let axis = try eqn.int("axis")
            let reverse = eqn.param("reverse")?.bool ?? false
            let t = x.dtype
            let compute = cumsumType(t)
            let y = try g.op("CumSum", x.cast(to: compute), g.constant([Int64(axis)], dtype: .i64, shape: []),
                             attributes: ["reverse": .int(reverse ? 1 : 0), "exclusive": .int(0)])
            return [try y.cast(from: compute, to: t)]
        },
        Lowering("cumprod", emits: scanOps + ["Mul"], dtypes: DType.numbers, note: "doubling scan of Mul (no CumProd before opset 26)",
                 lower: doublingScan(.prod)),
        Lowering("cummax", emits: scanOps + ["Max"], dtypes: DType.numbers, note: "doubling scan of Max", lower: doublingScan(.max)),
        Lowering("cummin", emits: scanOps + ["Min"], dtypes: DType.numbers, note: "doubling scan of Min", lower: doublingScan(.min)),
        Lowering("cumlogsumexp", emits: scanOps + ["Max", "Min", "Sub", "Exp", "Log", "Add", "IsInf", "Where"], dtypes: DType.floats,
                 note: "doubling scan of a stable logaddexp", lower: doublingScan(nil)),
    ]
}

let scanOps = ["Pad", "Slice", "Cast"]

/// ONNX Runtime's CumSum covers f32, f64, i32 and i64; narrower types wrap the same when summed
/// wider and cast back.
func cumsumType(_ t: DType) -> DType {
    switch t {
    case .f32, .f64, .i32, .i64: return t
    case .f16, .bf16: return .f32
    case .i8, .i16: return .i32
    default: return .i64
    }
}

/// Types ONNX Runtime's Max, Min and Mul take.
func elementwiseType(_ t: DType) -> DType {
    switch t {
    case .f16, .bf16: return .f32
    case .i8, .i16: return .i32
    case .u8, .u16: return .u32
    case .bool: return .i32
    default: return t
    }
}

/// `reduction == nil` is log-sum-exp.
func doublingScan(_ reduction: WindowReduction?) -> LowerFunction {
    { eqn, g in
        let x = try eqn.input(0)
        let out = try eqn.output(0)
        let axis = try eqn.int("axis")
        let reverse = eqn.param("reverse")?.bool ?? false
        guard let n = out.shape[axis].value.map(Int.init) else {
            throw LoweringError.unsupported("\(eqn.primitive) along a symbolic axis")
        }
        let t = x.dtype
        let compute = reduction == nil ? (t == .f64 ? .f64 : .f32) : elementwiseType(t)
        let fill = try reduction.map { try identity($0, compute, g) } ?? g.scalar(-.infinity, compute)
        let rank = out.rank
        var y = try x.cast(to: compute).with(shape: out.shape)
        var k = 1
        while k < n {
            var pads = Array(repeating: 0, count: 2 * rank)
            pads[reverse ? rank + axis : axis] = k
            let padded = try g.pad(y, g.int64s(pads), fill)
            let start = reverse ? k : 0
            let shifted = try g.op("Slice", padded, g.int64s([start]), g.int64s([start + n]), g.int64s([axis]),
                                   shape: out.shape)
            if let r = reduction {
                y = try g.op(r.combine, y, shifted, shape: out.shape)
            } else {
                y = try logAddExp(y, shifted, compute, g)
            }
            k *= 2
        }
        return [try y.cast(from: compute, to: t).with(shape: out.shape)]
    }
}

/// max(a, b) + log(1 + exp(min(a, b) - max(a, b))): no overflow, and an infinite max (where the
/// difference is NaN) is the answer itself.
func logAddExp(_ a: Value, _ b: Value, _ t: DType, _ g: GraphBuilder) throws -> Value {
    let hi = try g.op("Max", a, b, shape: a.shape)
    let lo = try g.op("Min", a, b)
    let tail = try g.op("Log", g.op("Add", g.scalar(1, t), g.op("Exp", g.op("Sub", lo, hi))))
    return try g.op("Where", g.op("IsInf", hi), hi, g.op("Add", hi, tail), shape: a.shape)
}
