import PluginKit

/// The built-in pack for gather, scatter, dynamic slicing and one-hot style indexing.
let indexingPack = Pack(
    name: "Indexing", version: "0.1.0",
    description: "gather, scatter, dynamic slicing and one-hot style indexing",
    lowerings: [dynamicSliceLowering(), dynamicUpdateSliceLowering(), gatherLowering()] + scatterLowerings())

@_cdecl("jax2onnx_pack")
public func jax2onnxPack() -> UnsafeRawPointer { indexingPack.descriptor }
