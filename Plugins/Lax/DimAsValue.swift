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
