import PluginKit

/// reduce_and / reduce_or / reduce_xor. On bools they are numeric reductions of 0/1: the
/// minimum, the maximum, and the sum's parity. ONNX has no bitwise reductions, so on integers the
/// reduced axes are moved to the front and flattened into one, which is halved log2(K) times by
/// combining its two halves with BitwiseAnd/Or/Xor (opset 18; bit planes below, see PluginKit's
/// `bitwise`).
let logicalReductions: [(prim: String, boolReduce: String, intOp: String)] = [
    ("reduce_and", "ReduceMin", "BitwiseAnd"), ("reduce_or", "ReduceMax", "BitwiseOr"), ("reduce_xor", "ReduceSum", "BitwiseXor"),
]

func logicalReductionLowerings() -> [Lowering] {
    logicalReductions.map { prim, boolReduce, intOp in
        Lowering(prim, emits: [boolReduce, "Cast", "Mod", "Transpose", "Reshape", "Slice", "Concat", "Expand", "Greater", "Min", "Max"]
                    + GraphBuilder.bitwiseOps,
                 dtypes: [.bool] + DType.ints,
                 note: "bools: \(boolReduce) of 0/1\(prim == "reduce_xor" ? " mod 2" : ""); integers: halving tree of \(intOp) (bit planes below opset 18), bit planes over symbolic axes") { eqn, g in
            let x = try eqn.input(0)
            let out = try eqn.output(0)
            let axes = try eqn.ints("axes")
            if axes.isEmpty { return [x] }
            let t = x.dtype
            guard t.isBool || t.isInt else { throw LoweringError.unsupported("\(prim) on \(t)") }
            if t.isBool {
                let bits = try x.cast(to: .i32)
                var r: Value
                if boolReduce == "ReduceSum" || g.opset >= 18 {
                    r = try g.op(boolReduce, bits, g.int64s(axes), attributes: ["keepdims": .int(0)])
                } else {
                    r = try g.op(boolReduce, bits, attributes: ["axes": .ints(axes), "keepdims": .int(0)])
                }
                if boolReduce == "ReduceSum" { r = try g.op("Mod", r, g.scalar(2, .i32)) }
                // r > 0, not a Cast: over an empty axis ReduceMax gives Int32.min, which is
                // false for or (a Cast would make it true); ReduceMin's Int32.max is true for and.
                return [try g.op("Greater", r, g.scalar(0, .i32), shape: out.shape)]
            }
            let op = intOp
            guard let shape = x.shape else { throw LoweringError.unsupported("\(prim) on an operand of unknown rank") }
            let kept = (0..<shape.count).filter { !axes.contains($0) }
            let reduced = axes.map { shape[$0] }
            guard var k = Dim.product(reduced).value.map(Int.init) else {
                return [try bitPlaneReduction(x, axes: axes, boolReduce: boolReduce, out: out, g)]
            }
            // Nothing to combine: every output element is the reduction's identity (all bits set
            // for and, zero for or and xor), as in JAX.
            if k == 0 { return [try identity(of: intOp, t, g).expand(out.shape)] }
            let keptShape = kept.map { shape[$0] }
            var v = try x.transpose(axes + kept).reshape([.known(Int64(k))] + keptShape)
            let zero = try g.int64s([0])
            while k > 1 {
                let h = k / 2
                let a = try g.op("Slice", v, zero, g.int64s([h]), zero, shape: [.known(Int64(h))] + keptShape)
                let b = try g.op("Slice", v, g.int64s([h]), g.int64s([2 * h]), zero, shape: [.known(Int64(h))] + keptShape)
                var c = try g.bitwise(op, a, b, type: t, shape: a.shape)
                if k % 2 == 1 {
                    let rest = try g.op("Slice", v, g.int64s([2 * h]), g.int64s([k]), zero)
                    c = try g.op("Concat", c, rest, attributes: ["axis": .int(0)], shape: [.known(Int64(h + 1))] + keptShape)
                }
                v = c
                k = h + k % 2
            }
            return [try v.reshape(out.shape)]
        }
    }
}

/// An integer and/or/xor over axes whose length is known only at run time: each bit is a 0/1
/// plane, reduced as bools are (min, max, sum mod 2), and the planes are weighted back by their
/// powers of two. Graph size depends on the bit width, not on the axes' length; an empty axis
/// gives the identity (ReduceMin's int64 max clamps to 1, ReduceMax's min to 0).
private func bitPlaneReduction(_ x: Value, axes: [Int], boolReduce: String, out: TensorType, _ g: GraphBuilder) throws -> Value {
    let unsignedOf: [DType: DType] = [.i8: .u8, .i16: .u16, .i32: .u32, .i64: .u64, .u8: .u8, .u16: .u16, .u32: .u32, .u64: .u64]
    let width: [DType: Int] = [.u8: 8, .u16: 16, .u32: 32, .u64: 64]
    guard let u = unsignedOf[x.dtype], let w = width[u], let shape = x.shape else {
        throw LoweringError.unsupported("\(boolReduce) bit planes of \(x.dtype)")
    }
    let shifts: Value
    switch u {
    case .u8: shifts = try g.constant((0..<w).map { UInt8($0) }, dtype: u)
    case .u16: shifts = try g.constant((0..<w).map { UInt16($0) }, dtype: u)
    case .u32: shifts = try g.constant((0..<w).map { UInt32($0) }, dtype: u)
    default: shifts = try g.constant((0..<w).map { UInt64($0) }, dtype: u)
    }
    let planesShape = shape + [.known(Int64(w))]
    let bits = try x.cast(to: u).unsqueeze([shape.count])
    let shifted = try g.op("BitShift", bits, shifts, attributes: ["direction": .string("RIGHT")], shape: planesShape)
    let planes = try g.bitwise("BitwiseAnd", shifted, g.scalar(1, u), type: u, shape: planesShape).cast(to: .i64)
    let keptShape = (0..<shape.count).filter { !axes.contains($0) }.map { shape[$0] } + [.known(Int64(w))]
    var r: Value
    if boolReduce == "ReduceSum" || g.opset >= 18 {
        r = try g.op(boolReduce, planes, g.int64s(axes), attributes: ["keepdims": .int(0)], shape: keptShape)
    } else {
        r = try g.op(boolReduce, planes, attributes: ["axes": .ints(axes), "keepdims": .int(0)], shape: keptShape)
    }
    switch boolReduce {
    case "ReduceMin": r = try g.op("Min", r, g.scalar(1, .i64), shape: keptShape)
    case "ReduceMax": r = try g.op("Max", r, g.scalar(0, .i64), shape: keptShape)
    default: r = try g.op("Mod", r, g.scalar(2, .i64), shape: keptShape)
    }
    // 2^63 wraps to Int64.min: the same bit pattern, and the sum wraps modulo 2^64 like the bits.
    let powers = try g.constant((0..<w).map { Int64(bitPattern: UInt64(1) << UInt64($0)) }, dtype: .i64)
    let weighted = try g.op("Mul", r, powers, shape: keptShape)
    let value = try g.op("ReduceSum", weighted, g.int64s([keptShape.count - 1]), attributes: ["keepdims": .int(0)], shape: out.shape)
    return try value.cast(to: out.dtype)
}

private func identity(of intOp: String, _ t: DType, _ g: GraphBuilder) throws -> Value {
    guard intOp == "BitwiseAnd" else { return try g.scalar(0, t) }
    if t == .u64 { return try g.constant([UInt64.max], dtype: .u64, shape: []) }
    if t.isSignedInt { return try g.scalar(-1, t) }
    let width: [DType: Double] = [.u8: 8, .u16: 16, .u32: 32]
    guard let bits = width[t] else { throw LoweringError.unsupported("reduce_and on \(t)") }
    return try g.scalar(Double((1 << Int(bits)) - 1), t)
}
