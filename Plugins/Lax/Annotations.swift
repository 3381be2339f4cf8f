import PluginKit

/// Primitives that only annotate values for the compiler or for autodiff (barriers, names,
/// shardings, device placement, varying-axis marks). On one device each output is its input.
let annotationPrimitives = [
    "optimization_barrier", "name", "sharding_constraint", "reshard", "pvary", "device_put",
    "layout_constraint", "shard_alike",
]

func annotationLowerings() -> [Lowering] {
    annotationPrimitives.map { prim in
        Lowering(prim, emits: [], note: "pass-through: a compiler or sharding annotation, a no-op on one device") { eqn, _ in
            guard eqn.inputs.count == eqn.outputs.count else {
                throw LoweringError.invalid("\(prim) with \(eqn.inputs.count) operands and \(eqn.outputs.count) results")
            }
            return zip(eqn.inputs, eqn.outputs).map { $0.with(shape: $1.shape) }
        }
    }
}
