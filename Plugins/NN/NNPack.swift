import PluginKit

/// The built-in pack for convolution, pooling windows, cumulative ops, sort and top_k.
let nnPack = Pack(
    name: "NN", version: "0.1.0",
    description: "convolution, pooling windows, cumulative ops, sort and top_k",
    lowerings: [])

@_cdecl("jax2onnx_pack")
public func jax2onnxPack() -> UnsafeRawPointer { nnPack.descriptor }
