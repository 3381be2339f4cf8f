import PluginKit

/// The built-in pack for nested programs and control flow.
let controlPack = Pack(
    name: "Control", version: "0.2.0",
    description: "nested programs (jit, custom_jvp/vjp, checkpoint) and control flow (cond, while, scan)",
    lowerings: callLowerings() + [condLowering(), whileLowering(), scanLowering()] + singleDeviceLowerings()
        + debugOutputLowerings())

@_cdecl("jax2onnx_pack")
public func jax2onnxPack() -> UnsafeRawPointer { controlPack.descriptor }
