import PluginKit

/// sort as a chain of stable TopK sorts (largest = 0; ONNX breaks ties by the lower index), least
/// significant key first, so several keys sort lexicographically. Each pass sorts the permutation
/// found so far; every operand is finally gathered through it. NaNs sort last whatever their sign
/// and -0.0 ties +0.0, as jnp.sort does: f32/f16/bf16 keys become f64 with NaN above +inf (one
/// pass), f64 keys take two passes (value, then "is NaN").
func lowerSort(_ eqn: Equation, _ g: GraphBuilder) throws -> [Value] {
    let axis = try eqn.int("dimension")
    let numKeys = (try? eqn.int("num_keys")) ?? 1
    let operands = eqn.inputs
    let shape = try eqn.output(0).shape
    guard numKeys >= 1, numKeys <= operands.count else { throw LoweringError.invalid("sort num_keys \(numKeys) with \(operands.count) operands") }
    guard axis >= 0, axis < shape.count else { throw LoweringError.invalid("sort dimension \(axis) is out of range for rank \(shape.count)") }
    let count = try g.dimTensor(shape[axis])
    var perm: Value?
    var single: Value?   // TopK's values, when one pass sorted the first operand itself (no cast)
    for key in operands.prefix(numKeys).reversed() {
        for pass in try sortPasses(key, g) {
            let permuted = try perm.map { try g.op("GatherElements", pass, $0, attributes: ["axis": .int(Int64(axis))], shape: shape) } ?? pass
            let r = try g.node("TopK", [permuted, count], outputs: 2,
                               attributes: ["axis": .int(Int64(axis)), "largest": .int(0), "sorted": .int(1)])
            single = perm == nil && pass.id == key.id ? r[0] : nil
            perm = try perm.map { try g.op("GatherElements", $0, r[1], attributes: ["axis": .int(Int64(axis))], shape: shape) }
                ?? r[1].with(shape: shape)
        }
    }
    return try operands.enumerated().map { i, x in
        if i == 0, let s = single { return s.with(shape: shape) }
        // A complex payload is its (real, imag) storage (docs/complex.md): both parts move with
        // the permutation, spread over the trailing pair axis.
        let order = x.isComplex
            ? try g.op("Expand", g.op("Unsqueeze", perm!, g.int64s([Int64(shape.count)])), g.op("Shape", x))
            : perm!
        return try g.op("GatherElements", x, order, attributes: ["axis": .int(Int64(axis))], shape: eqn.output(i).shape)
    }
}

/// The keys one operand sorts by, least significant first, in a type TopK takes.
func sortPasses(_ key: Value, _ g: GraphBuilder) throws -> [Value] {
    let t = key.dtype
    if t == .u64 { return [try unsignedAsSigned(key, g)] }
    guard let wide = topKType(t) else { throw LoweringError.unsupported("sort keys of type \(t)") }
    let x = try key.cast(to: wide).with(shape: key.shape)
    guard t.isFloat else { return [x] }
    if t != .f64 {
        // One pass: in f64, +inf moves below a new top (1e300, beyond every f32) and NaN takes +inf.
        let d = try key.cast(to: .f64).with(shape: key.shape)
        let inf = try g.scalar(.infinity, .f64)
        let lifted = try g.op("Where", g.op("Equal", d, inf), g.scalar(1e300, .f64), d, shape: d.shape)
        return [try g.op("Where", g.op("IsNaN", d), inf, lifted, shape: d.shape)]
    }
    let nan = try g.op("IsNaN", x, shape: x.shape)
    let value = try g.op("Where", nan, g.scalar(0, wide), x, shape: x.shape)
    return [value, try nan.cast(to: .i32).with(shape: x.shape)]
}

/// u64 reordered as i64 (TopK has no unsigned 64-bit type).
func unsignedAsSigned(_ x: Value, _ g: GraphBuilder) throws -> Value {
    try g.uint64AsOrderedInt64(x)
}

/// ONNX Runtime's TopK covers f32, f64, i32 and i64; narrower types widen without changing order.
func topKType(_ t: DType) -> DType? {
    switch t {
    case .f32, .f64, .i32, .i64: return t
    case .f16, .bf16: return .f32
    case .i8, .i16, .bool: return .i32
    case .u8, .u16, .u32: return .i64
    default: return nil
    }
}

/// top_k: the k largest along `axis` (the last axis before JAX grew the param), ties to the lower
/// index as JAX does.
func lowerTopK(_ eqn: Equation, _ g: GraphBuilder) throws -> [Value] {
    let rank = try eqn.output(0).rank
    var axis = eqn.param("axis").flatMap { $0.isNone ? nil : $0.int } ?? (rank - 1)
    if axis < 0 { axis += rank }
    guard axis >= 0, axis < rank else { throw LoweringError.invalid("top_k axis \(axis) is out of range for rank \(rank)") }
    return try topK(eqn, k: eqn.int("k"), axis: axis, largest: true, g)
}

/// The k largest (or smallest) of the operand along axis, and their indices.
func topK(_ eqn: Equation, k: Int, axis: Int, largest: Bool, _ g: GraphBuilder) throws -> [Value] {
    let x = try eqn.input(0)
    let wide = x.dtype == .u64 ? DType.i64 : topKType(x.dtype)
    guard let wide else { throw LoweringError.unsupported("\(eqn.primitive) on \(x.dtype)") }
    var key = x.dtype == .u64 ? try unsignedAsSigned(x, g) : try x.cast(to: wide)
    // JAX ranks (positive) NaN above everything; TopK's comparisons never pick it. Narrow floats
    // take sort's f64 key (NaN above +inf, exact); f64 ranks NaN as +inf (a row holding both may
    // order those two differently from JAX). Values are gathered from the operand either way.
    if x.dtype.isFloat && x.dtype != .f64 {
        key = try sortPasses(x, g)[0]
    } else if x.dtype == .f64 {
        key = try g.op("Where", g.op("IsNaN", key), g.scalar(.infinity, wide), key)
    }
    let r = try g.node("TopK", [key, g.int64s([k])], outputs: 2,
                       attributes: ["axis": .int(Int64(axis)), "largest": .int(largest ? 1 : 0), "sorted": .int(1)])
    let values = x.dtype.isFloat || x.dtype == .u64
        ? try g.op("GatherElements", x, r[1], attributes: ["axis": .int(Int64(axis))])
        : try r[0].cast(from: wide, to: x.dtype)
    return [values,
            try r[1].cast(to: eqn.output(1).dtype)]
}
