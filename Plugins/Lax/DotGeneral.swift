import PluginKit

/// dot_general as MatMul: operands laid out as [batch, free, contract] x [batch, contract, free],
/// flattened to one M, K and N, multiplied, and reshaped to JAX's [batch, lhs free, rhs free].
/// Transposes and reshapes that would do nothing vanish, so a plain x @ W is a single MatMul.
func lowerDotGeneral(_ eqn: Equation, _ g: GraphBuilder) throws -> [Value] {
    [try dotGeneral(g, eqn.input(0), eqn.input(1), eqn.require("dimension_numbers"), out: eqn.output(0))]
}

/// lhs . rhs contracted and batched as `dn` says, in the dtype and shape of `out`.
func dotGeneral(_ g: GraphBuilder, _ lhsIn: Value, _ rhsIn: Value, _ dn: Param, out: TensorType) throws -> Value {
    guard let lc = dn[0]?[0]?.ints, let rc = dn[0]?[1]?.ints, let lb = dn[1]?[0]?.ints, let rb = dn[1]?[1]?.ints else {
        throw LoweringError.invalid("dimension_numbers is not ((lhs_contract, rhs_contract), (lhs_batch, rhs_batch))")
    }
    // MatMul has no 8- or 16-bit integer kernel; products and sums wrap the same modulo 2^8 or
    // 2^16 when computed in 32 bits and narrowed at the end.
    let narrow: [DType: DType] = [.i8: .i32, .i16: .i32, .u8: .u32, .u16: .u32]
    let work = narrow[out.dtype] ?? out.dtype
    guard [DType.f16, .f32, .f64, .bf16, .i32, .i64, .u32, .u64].contains(work) else {
        throw LoweringError.unsupported("dot_general producing \(out.dtype) (MatMul has no such type)")
    }
    func finish(_ v: Value) throws -> Value { work == out.dtype ? v : try v.cast(to: out.dtype).with(shape: out.shape) }
    // preferred_element_type: multiply in the output type, as XLA accumulates in it.
    let lhs = try lhsIn.cast(to: work).with(shape: lhsIn.shape)
    let rhs = try rhsIn.cast(to: work).with(shape: rhsIn.shape)
    guard let ls = lhs.shape, let rs = rhs.shape else { throw LoweringError.invalid("dot_general operands without shapes") }
    // Each side's contracting and batch axes: in range, none twice, paired one to one.
    try checkDimensions(lc + lb, rank: ls.count)
    try checkDimensions(rc + rb, rank: rs.count)
    guard lc.count == rc.count, lb.count == rb.count else {
        throw LoweringError.invalid("dot_general pairs \(lc.count) lhs with \(rc.count) rhs contracting axes and \(lb.count) with \(rb.count) batch axes")
    }
    // Paired axes must be one size. JAX checks this when it traces, so only a damaged bundle
    // pairs two different numbers, or a number with a symbol (which JAX cannot prove equal).
    for (l, r) in zip(lc + lb, rc + rb) where ls[l] != rs[r] && (ls[l].value != nil || rs[r].value != nil) {
        throw LoweringError.invalid("dot_general pairs lhs axis \(l) of size \(ls[l]) with rhs axis \(r) of size \(rs[r])")
    }
    let lfree = (0..<ls.count).filter { !lc.contains($0) && !lb.contains($0) }
    let rfree = (0..<rs.count).filter { !rc.contains($0) && !rb.contains($0) }
    // A sum over nothing is zero. ONNX Runtime's MatMul with K = 0 fills its output as int64
    // whatever the type, and fails on uint64 ("Tensor type mismatch").
    if lc.contains(where: { ls[$0] == .known(0) }) {
        let ones = [Dim](repeating: .known(1), count: out.shape.count)
        return try g.scalar(0, out.dtype).reshape(ones).expand(out.shape)
    }

    // MatMul broadcasts leading dims of its left operand: [..., M, K] @ [K, N] needs no reshapes.
    if lb.isEmpty, lc == [ls.count - 1], rc == [0], rs.count <= 2 {
        return try finish(g.op("MatMul", lhs, rhs, shape: out.shape))
    }
    let batch = lb.map { ls[$0] }
    let m = Dim.product(lfree.map { ls[$0] }), k = Dim.product(lc.map { ls[$0] }), n = Dim.product(rfree.map { rs[$0] })
    let a = try lhs.transpose(lb + lfree + lc).reshape(batch + [m, k])
    let b = try rhs.transpose(rb + rc + rfree).reshape(batch + [k, n])
    return try finish(g.op("MatMul", a, b, shape: batch + [m, n]).reshape(out.shape))
}
