import PluginKit

/// scaled_dot: (lhs * lhs_scale) . (rhs * rhs_scale), each scale holding one factor per block of
/// its operand's contracting axis. As JAX computes it: each scale is repeated over its block,
/// operand and scale are rounded to bfloat16 and multiplied in bfloat16 (a float32 product of
/// two bfloat16 values is exact, so multiplying in float32 and rounding once gives the same
/// bits), then dot_general accumulates in preferred_element_type.
func scaledDotLowering() -> Lowering {
    Lowering("scaled_dot", emits: ["Cast", "Mul", "Unsqueeze", "Expand", "Reshape", "MatMul", "Transpose"],
             dtypes: [.f16, .bf16, .f32, .f64], note: "operands and block scales rounded to bfloat16 as JAX does; float operands only (no float8 types in ONNX Runtime's Cast here)") { eqn, g in
        let dn = try eqn.require("dimension_numbers")
        guard let lc = dn[0]?[0]?.ints, let rc = dn[0]?[1]?.ints else {
            throw LoweringError.invalid("scaled_dot: dimension_numbers is not ((lhs_contract, rhs_contract), (lhs_batch, rhs_batch))")
        }
        let lhs = try scaledOperand(g, eqn.input(0), scale: eqn.input(2), contracting: lc)
        let rhs = try scaledOperand(g, eqn.input(1), scale: eqn.input(3), contracting: rc)
        return [try dotGeneral(g, lhs, rhs, dn, out: eqn.output(0))]
    }
}

/// The operand times its scale repeated over each contracting block, as a bfloat16 tensor.
private func scaledOperand(_ g: GraphBuilder, _ x: Value, scale: Value, contracting: [Int]) throws -> Value {
    guard let xs = x.shape, var ss = scale.shape, xs.count == ss.count else {
        throw LoweringError.invalid("scaled_dot: a scale of rank \(scale.rank ?? -1) for an operand of rank \(x.rank ?? -1)")
    }
    var s = scale
    for axis in contracting where axis >= 0 && axis < xs.count && ss[axis] != xs[axis] {
        guard let n = xs[axis].value, let blocks = ss[axis].value, blocks > 0, n % blocks == 0 else {
            throw LoweringError.unsupported("scaled_dot: \(ss[axis]) scales for a contracting axis of \(xs[axis])")
        }
        var wide = ss
        wide.insert(.known(n / blocks), at: axis + 1)
        s = try g.expand(s.unsqueeze([axis + 1]), wide)
        ss[axis] = xs[axis]
        s = try s.reshape(ss)
    }
    func bf16(_ v: Value) throws -> Value { try v.cast(to: .bf16).cast(to: .f32).with(shape: v.shape) }
    return try g.op("Mul", bf16(x), bf16(s), shape: xs).cast(to: .bf16).with(shape: xs)
}
