import PluginKit

/// Primitives that only annotate values for the compiler or for autodiff (barriers, names,
/// shardings, device placement, varying-axis marks). On one device each output is its input.
let annotationPrimitives = [
    "optimization_barrier", "name", "sharding_constraint", "reshard", "pvary", "device_put",
    "layout_constraint", "shard_alike",
]

func annotationLowerings() -> [Lowering] {
    [
        // dce_sink keeps a value alive against dead-code elimination; it has no results, and an
        // ONNX graph has no effects to keep, so nothing is emitted.
        Lowering("dce_sink", emits: [], note: "dropped: it only marks a value as used for XLA's dead-code elimination") { eqn, _ in
            guard eqn.outputs.isEmpty else { throw LoweringError.invalid("dce_sink with \(eqn.outputs.count) results") }
            return []
        },
        // tie(x, y) is y, ordered after x for the compiler.
        Lowering("tie", emits: [], note: "its second operand: the first only orders computation") { eqn, _ in
            [try eqn.input(1).with(shape: eqn.output(0).shape)]
        },
    ] + annotationPrimitives.map { prim in
        Lowering(prim, emits: [], note: "pass-through: a compiler or sharding annotation, a no-op on one device") { eqn, _ in
            guard eqn.inputs.count == eqn.outputs.count else {
                throw LoweringError.invalid("\(prim) with \(eqn.inputs.count) operands and \(eqn.outputs.count) results")
            }
            return zip(eqn.inputs, eqn.outputs).map { $0.with(shape: $1.shape) }
        }
    }
}
