import PluginKit

// One claim per lowering: the primitive, the ONNX ops it may emit (the host holds you to them),
// and a priority. Built-in packs use 0, so priority 10 makes this lowering win over theirs; theirs
// stays in line behind it and runs whenever this one declines (throw LoweringError.unsupported)
// or the operand's dtype is not in `dtypes`.
let myPack = Pack(name: "MyPack", version: "0.1.0", description: "a pack made from the SDK template", lowerings: [
    Lowering("square", emits: ["Mul"], priority: 10, dtypes: [.f32, .f64], note: "x * x") { eqn, g in
        let x = try eqn.input(0)
        return [try g.op("Mul", x, x)]
    },
])

@_cdecl("jax2onnx_pack")
public func jax2onnxPack() -> UnsafeRawPointer { myPack.descriptor }
