import PluginKit

/// The built-in pack for convolution, pooling windows, cumulative ops, sort and top_k.
let nnPack = Pack(
    name: "NN", version: "0.1.0",
    description: "convolution, pooling windows, cumulative ops, sort and top_k",
    lowerings: [
        Lowering("conv_general_dilated", emits: ["Conv", "Transpose", "Cast", "Pad", "Slice", "Reshape", "Unsqueeze"],
                 dtypes: DType.floats,
                 note: "any dimension numbers; lhs dilation inserts zeros; batch groups fold into channel groups; f16/bf16 computed in f32",
                 lower: lowerConvolution),
    ])

@_cdecl("jax2onnx_pack")
public func jax2onnxPack() -> UnsafeRawPointer { nnPack.descriptor }
