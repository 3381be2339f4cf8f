import PluginKit

/// Equinox's unvmap_max / unvmap_any / unvmap_all: one value for the whole (possibly vmapped)
/// operand, as its while loops and error checks need. After tracing the operand carries the
/// batch axes, so the primitive is a reduction over every axis.
func unvmapLowerings() -> [Lowering] {
    [("unvmap_max", "reduce_max", "ReduceMax"), ("unvmap_any", "reduce_max", "ReduceMax"), ("unvmap_all", "reduce_min", "ReduceMin")].map { prim, reduction, op in
        Lowering(prim, emits: [op, "Cast"], note: "\(op) over every axis") { eqn, g in
            let x = try eqn.input(0)
            guard let rank = x.rank else { throw LoweringError.invalid("\(prim) operand without a shape") }
            let operand = x.dtype.isBool ? try x.cast(to: .i32) : x
            let r = try reduce(reduction, op, operand, axes: Array(0..<rank), g)
            return [try r.cast(to: eqn.output(0).dtype)]
        }
    }
}
