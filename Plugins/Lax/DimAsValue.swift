import PluginKit

/// dim_as_value: a dimension used as a number (x.mean() divides by B, fori_loop runs B times).
/// The host computes the dim from the model inputs' shapes; JAX wants it as an i32/i64 scalar.
func dimAsValueLowering() -> Lowering {
    Lowering("dim_as_value", emits: ["Squeeze", "Cast"]) { eqn, g in
        guard let dim = try eqn.require("dim").dim else { throw LoweringError.invalid("dim_as_value: 'dim' is not a dimension") }
        let out = try eqn.output(0)
        if let n = dim.value { return [try g.scalar(Double(n), out.dtype)] }
        return [try g.dimTensor(dim).squeeze([0]).cast(to: out.dtype).with(shape: [])]
    }
}

/// dimension_size(x, dimension=i): x.shape[i] as a number, the form jax.export uses to read a
/// symbolic dimension off an argument. A known size is a constant; a symbolic one is read from
/// the operand's run-time shape.
func dimensionSizeLowering() -> Lowering {
    Lowering("dimension_size", emits: ["Shape", "Gather", "Cast"]) { eqn, g in
        let x = try eqn.input(0), axis = try eqn.int("dimension"), out = try eqn.output(0)
        guard let shape = x.shape, axis >= 0, axis < shape.count else {
            throw LoweringError.invalid("dimension_size: dimension \(axis) of an operand of rank \(x.shape?.count ?? -1)")
        }
        if let n = shape[axis].value { return [try g.scalar(Double(n), out.dtype)] }
        let dims = try g.op("Shape", x, shape: [.known(Int64(shape.count))])
        let size = try g.op("Gather", dims, g.constant([Int64(axis)], dtype: .i64, shape: []), attributes: ["axis": .int(0)], shape: [])
        return [try size.cast(to: out.dtype).with(shape: [])]
    }
}
