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

let scanOps = ["Pad", "Slice", "Cast", "Loop", "Less", "Add", "Mul", "Reshape"]

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
        let t = x.dtype
        // Nothing to combine: x itself, not a cast there and back (ONNX Runtime removes such a
        // pair and loses the value when an If or Loop body reads it; difftest seed 756).
        if let n = out.shape[axis].value, n <= 1 { return [x.with(shape: out.shape)] }
        let compute = reduction == nil ? (t == .f64 ? .f64 : .f32) : elementwiseType(t)
        let fill = try reduction.map { try identity($0, compute, g) } ?? g.scalar(-.infinity, compute)
        let rank = out.rank
        var y = try x.cast(to: compute).with(shape: out.shape)
        let combine = { (a: Value, b: Value) throws -> Value in
            if let r = reduction { return try g.op(r.combine, a, b, shape: out.shape) }
            return try logAddExp(a, b, compute, g)
        }
        guard let n = out.shape[axis].value.map(Int.init) else {
            let scanned = try doublingLoop(y, axis: axis, reverse: reverse, fill: fill, combine: combine, g)
            return [try scanned.cast(from: compute, to: t).with(shape: out.shape)]
        }
        var k = 1
        while k < n {
            var pads = Array(repeating: 0, count: 2 * rank)
            pads[reverse ? rank + axis : axis] = k
            let padded = try g.pad(y, g.int64s(pads), fill)
            let start = reverse ? k : 0
            let shifted = try g.op("Slice", padded, g.int64s([start]), g.int64s([start + n]), g.int64s([axis]),
                                   shape: out.shape)
            y = try combine(y, shifted)
            k *= 2
        }
        return [try y.cast(from: compute, to: t).with(shape: out.shape)]
    }
}

/// The same doubling along an axis whose length n is known only at run time: a Loop whose shift
/// k doubles until it reaches n (ceil(log2 n) trips, none when n <= 1).
func doublingLoop(_ y0: Value, axis: Int, reverse: Bool, fill: Value,
                  combine: @escaping (Value, Value) throws -> Value, _ g: GraphBuilder) throws -> Value {
    guard let shape = y0.shape else { throw LoweringError.unsupported("a cumulative op on an operand of unknown rank") }
    let rank = shape.count
    let n = try g.dimTensor(shape[axis])
    var unit = [Int64](repeating: 0, count: 2 * rank)
    unit[reverse ? rank + axis : axis] = 1
    let unitPads = try g.int64s(unit)
    let step = TensorType(.i64, [.known(1)])
    let body = try g.subgraph(inputs: [.typed(TensorType(.i64, [])), .typed(TensorType(.bool, [])),
                                       .typed(TensorType(y0.dtype, shape)), .typed(step)]) { args in
        let y = args[2], k = args[3]
        let padded = try g.pad(y, g.op("Mul", unitPads, k, shape: [.known(Int64(2 * rank))]), fill)
        let start = reverse ? k : try g.int64s([0])
        let shifted = try g.op("Slice", padded, start, g.op("Add", start, n, shape: [.known(1)]), g.int64s([axis]), shape: shape)
        let doubled = try g.op("Add", k, k, shape: [.known(1)])
        let again = try g.op("Less", doubled, n, shape: [.known(1)]).reshape([])
        return [again, try combine(y, shifted), doubled]
    }
    let first = try g.op("Less", g.int64s([1]), n, shape: [.known(1)]).reshape([])
    let outs = try g.node("Loop", [nil, first, y0, g.int64s([1])], outputs: 2, attributes: ["body": .graph(body)])
    return outs[0].with(shape: shape)
}

/// max(a, b) + log(1 + exp(min(a, b) - max(a, b))): no overflow, and an infinite max (where the
/// difference is NaN) is the answer itself.
func logAddExp(_ a: Value, _ b: Value, _ t: DType, _ g: GraphBuilder) throws -> Value {
    let hi = try g.op("Max", a, b, shape: a.shape)
    let lo = try g.op("Min", a, b)
    let tail = try g.op("Log", g.op("Add", g.scalar(1, t), g.op("Exp", g.op("Sub", lo, hi))))
    return try g.op("Where", g.op("IsInf", hi), hi, g.op("Add", hi, tail), shape: a.shape)
}
