import PluginKit

/// ragged_dot_general in lax.ragged_dot's form (mixture-of-experts layers): lhs [m, k] rows are
/// split into consecutive groups by group_sizes [g], and group i multiplies rhs[i] [k, n]. Each
/// row finds its group (how many cumulative group ends lie at or below it), gathers that
/// group's matrix, and multiplies as a batch of [1, k] x [k, n]; rows past the last group are 0,
/// as in JAX.
func raggedDotLowering() -> Lowering {
    Lowering("ragged_dot_general", emits: ["CumSum", "Cast", "Unsqueeze", "GreaterOrEqual", "ReduceSum", "Min", "Gather",
                                           "MatMul", "Squeeze", "Less", "Where", "Range", "Sub"],
             note: "lax.ragged_dot's form: lhs [m, k] ragged on m, rhs [g, k, n] grouped on g; per-row Gather of its group's matrix") { eqn, g in
        let dn = try eqn.require("ragged_dot_dimension_numbers")
        let dot = dn["dot_dimension_numbers"]
        guard dot?[0]?[0]?.ints == [1], dot?[0]?[1]?.ints == [1], dot?[1]?[0]?.ints == [], dot?[1]?[1]?.ints == [],
              dn["lhs_ragged_dimensions"]?.ints == [0], dn["rhs_group_dimensions"]?.ints == [0] else {
            throw LoweringError.unsupported("ragged_dot_general other than lax.ragged_dot's [m, k] x [g, k, n] form")
        }
        if let offset = eqn.param("group_offset"), !offset.isNone {
            throw LoweringError.unsupported("ragged_dot_general with a group_offset")
        }
        let out = try eqn.output(0)
        let lhs = try eqn.input(0).cast(to: out.dtype), rhs = try eqn.input(1).cast(to: out.dtype)
        guard let ls = try eqn.input(0).shape, let rs = try eqn.input(1).shape, ls.count == 2, rs.count == 3 else {
            throw LoweringError.invalid("ragged_dot_general operands are not [m, k] and [g, k, n]")
        }
        let m = ls[0], groups = rs[0]
        let ends = try g.op("CumSum", eqn.input(2).cast(to: .i64), g.scalar(0, .i64))
        let rows = try g.op("Range", g.scalar(0, .i64), g.dimTensor(m).squeeze([0]), g.scalar(1, .i64), shape: [m])
        let passed = try g.op("GreaterOrEqual", rows.unsqueeze([1]), ends.unsqueeze([0])).cast(to: .i64)
        let group = try g.op("ReduceSum", passed, g.int64s([1]), attributes: ["keepdims": .int(0)], shape: [m])
        let last = try g.op("Sub", g.dimTensor(groups).squeeze([0]), g.scalar(1, .i64))
        let weights = try g.op("Gather", rhs, g.op("Min", group, last), attributes: ["axis": .int(0)], shape: [m, rs[1], rs[2]])
        let product = try g.op("MatMul", lhs.unsqueeze([1]), weights).squeeze([1])
        let inGroup = try g.op("Less", group, g.dimTensor(groups).squeeze([0])).unsqueeze([1])
        return [try g.op("Where", inGroup, product, g.scalar(0, out.dtype), shape: out.shape)]
    }
}
