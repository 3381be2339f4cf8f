import PluginKit

/// What jvp and transpose leave in a program: add_any sums two cotangents. (Symbolic zeros are
/// instantiated as broadcast_in_dim; zeros_like has no abstract evaluation, so no jaxpr holds it.)
func linearityLowerings() -> [Lowering] {
    [
        Lowering("add_any", emits: ["Add", "Or"], note: "the sum of two cotangents; bools (float0 tangents) combine with Or") { eqn, g in
            let op = try eqn.input(0).dtype.isBool ? "Or" : "Add"
            return [try g.op(op, eqn.input(0), eqn.input(1), shape: eqn.output(0).shape)]
        },
    ]
}
