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

/// Equinox's markers that only matter under vmap. A jaxpr holds them unbatched (vmap rewrites the
/// batched ones into ordinary primitives), where each is its impl: `nonbatchable(x)` is x, and
/// `select_if_vmap(pred, x, y)` is x (an unbatched predicate counts as true).
func equinoxMarkerLowerings() -> [Lowering] {
    [
        Lowering("nonbatchable", emits: [], note: "pass-through: Equinox's no-vmap marker") { eqn, _ in
            [try eqn.input(0)]
        },
        Lowering("select_if_vmap", emits: [], note: "x: Equinox's select, unbatched (the predicate counts as true)") { eqn, _ in
            guard eqn.inputs.count == 3 else { throw LoweringError.invalid("select_if_vmap with \(eqn.inputs.count) operands (pred, x, y expected)") }
            return [try eqn.input(1)]
        },
    ]
}
