import PluginKit

/// stack / unstack (jnp.stack and jnp.unstack since JAX 0.10): a new axis made of equal-shaped
/// operands, and the reverse. Unsqueeze+Concat rather than ConcatFromSequence, so shape inference
/// stays exact and every runtime has the kernels.
func stackingLowerings() -> [Lowering] {
    [
        Lowering("stack", emits: ["Unsqueeze", "Concat"]) { eqn, g in
            let axis = try normalizedAxis(eqn.int("axis"), rank: eqn.output(0).rank)
            let parts = try eqn.inputs.map { try $0.unsqueeze([axis]) }
            if parts.count == 1 { return [parts[0]] }
            return [try g.op("Concat", parts.map { Optional($0) }, attributes: ["axis": .int(Int64(axis))],
                             shape: eqn.output(0).shape)]
        },
        Lowering("unstack", emits: ["Split", "Squeeze"]) { eqn, g in
            let x = try eqn.input(0)
            let axis = try normalizedAxis(eqn.int("axis"), rank: x.rank ?? eqn.output(0).rank + 1)
            let n = eqn.outputs.count
            if n == 1 { return [try x.squeeze([axis])] }
            let parts = try g.node("Split", [x, g.int64s([Int64](repeating: 1, count: n))], outputs: n,
                                   attributes: ["axis": .int(Int64(axis))])
            return try zip(parts, eqn.outputs).map { try $0.squeeze([axis]).with(shape: $1.shape) }
        },
    ]
}

func normalizedAxis(_ axis: Int, rank: Int) throws -> Int {
    let a = axis < 0 ? axis + rank : axis
    guard a >= 0 && a < max(rank, 1) else { throw LoweringError.invalid("axis \(axis) out of range for rank \(rank)") }
    return a
}
