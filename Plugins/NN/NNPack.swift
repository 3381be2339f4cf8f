import PluginKit

/// The built-in pack for convolution, pooling windows, cumulative ops, sort and top_k.
let nnPack = Pack(
    name: "NN", version: "0.1.0",
    description: "convolution, pooling windows, cumulative ops, sort and top_k",
    options: [PackOption("strict_nan", .bool, default: "false",
                         help: "max/min pooling propagates NaN as JAX does: a second pool over the NaN mask and a Where per pool (ONNX Runtime's MaxPool skips a NaN unless it is first in its window)")],
    lowerings: [
        Lowering("conv_general_dilated", emits: ["Conv", "ConvTranspose", "MatMul", "Concat", "Transpose", "Cast", "Pad", "Slice",
                                                 "Reshape", "Unsqueeze", "Expand", "Gather", "Add", "Sub"],
                 dtypes: DType.numbers + [.c64, .c128],
                 note: "any dimension numbers; lhs dilation: ConvTranspose when padding fits the kernel, else explicit zeros; batch groups fold into channel groups; f16/bf16 computed in f32; f64 and integers: MatMul over unfolded windows; complex: four real convolutions of the (real, imag) parts",
                 lower: lowerConvolution),
    ] + windowLowerings() + cumulativeLowerings() + logicalReductionLowerings() + [
        Lowering("sort", emits: ["TopK", "GatherElements", "IsNaN", "Equal", "Where", "Cast", "BitwiseXor", "Add", "Unsqueeze", "Expand", "Shape"],
                 dtypes: DType.floats + [.bool] + DType.ints,
                 note: "stable TopK passes, least significant key first; NaN last; -0.0 ties +0.0; u64 keys as i64 with the top bit flipped",
                 lower: lowerSort),
        Lowering("top_k", emits: ["TopK", "Cast", "IsNaN", "Equal", "Where", "GatherElements", "BitwiseXor", "Add"], dtypes: DType.floats + DType.ints,
                 note: "ties to the lower index; NaN ranks largest (f64: as +inf); u64 as i64 with the top bit flipped", lower: lowerTopK),
        Lowering("reduce_precision", emits: ["Cast", "Abs", "Log", "Mul", "Floor", "Max", "Min", "Pow", "Less", "Sub",
                                             "Where", "Add", "GreaterOrEqual", "Div", "Round", "IsInf", "IsNaN", "Or", "And", "Equal"],
                 dtypes: DType.floats,
                 note: "any (exponent, mantissa) bits: XLA's round-to-nearest-even and range clamp in arithmetic; bfloat16 via Cast",
                 lower: lowerReducePrecision),
        approxTopKLowering(),
    ] + selectAndScatterLowerings())

func windowLowerings() -> [Lowering] {
    let layout = ["Transpose", "Reshape", "Unsqueeze", "Squeeze", "Pad", "Slice", "Concat", "Cast", "Expand"]
    let ops: [WindowReduction: [String]] = [
        .max: ["MaxPool", "IsNaN", "IsInf", "Not", "Greater", "Where", "Max"] + layout,
        .min: ["MaxPool", "Neg", "IsNaN", "IsInf", "Not", "Greater", "Where", "Min"] + layout,
        .sum: ["Conv", "Add"] + layout,
    ]
    let types = DType.floats + DType.ints
    return [Lowering("reduce_window", emits: Array(Set(ops.values.joined())).sorted() + ["Mul"], dtypes: types + [.bool],
                     note: "one operand; a body that is a single max/min/add/mul (and/or on bools), combined once with the init value",
                     lower: lowerGenericReduceWindow)]
        + [WindowReduction.max, .min, .sum].map { r in
            Lowering("reduce_window_\(r.rawValue)", emits: ops[r]!, dtypes: r == .sum ? types : types + [.bool],
                     note: "floats: \(r == .sum ? "Conv with ones" : "MaxPool (plus a pooled NaN mask: NaN propagates)") over the window axes; base dilation, >3 window axes, ints: strided slices",
                     lower: lowerReduceWindow(r))
        }
}

@_cdecl("jax2onnx_pack")
public func jax2onnxPack() -> UnsafeRawPointer { nnPack.descriptor }
