import PluginKit

/// The built-in pack for jax.lax: elementwise math, comparisons and logic, shapes and layout,
/// reductions, and dot_general.
let laxPack = Pack(
    name: "Lax", version: "0.1.0",
    description: "jax.lax elementwise, shape, reduction and dot_general lowerings",
    options: [PackOption("strict_nan", .bool, default: "false",
                         help: "max and min reductions propagate NaN as JAX does: a NaN count per reduction and a Where (ONNX Runtime's ReduceMax/ReduceMin skip NaN; off, softmax still fuses)"),
              PackOption("exact_logistic", .bool, default: "false",
                         help: "logistic keeps its relative precision for large negative inputs, as JAX's does: exp(-|x|) composed in six nodes (ONNX Runtime's Sigmoid is off by more than 1e-3 relative below x = -8 and gives 0 below -18, which log or a ratio downstream turns into -inf or NaN; off, one Sigmoid, which the optimizer fuses into SiLU)")],
    lowerings: elementwiseLowerings() + mathLowerings() + integerDivisionLowerings() + bitwiseLowerings()
        + conversionLowerings() + shapeLowerings() + reductionLowerings() + specialLowerings() + [
        Lowering("dot_general", emits: ["MatMul", "Transpose", "Reshape", "Cast", "Expand", "Slice"],
                 note: "MatMul (never Einsum); preferred_element_type via Cast; 8- and 16-bit integers multiply in 32 bits", lower: lowerDotGeneral),
        dimAsValueLowering(), dimensionSizeLowering(), scaledDotLowering(), incompleteBetaLowering(), incompleteGammaGradALowering(), emptyLowering(), empty2Lowering(), genericReduceLowering(), mulHighLowering(), raggedDotLowering(),
    ] + stackingLowerings() + totalOrderLowerings() + linearityLowerings() + annotationLowerings() + unvmapLowerings() + equinoxMarkerLowerings())

@_cdecl("jax2onnx_pack")
public func jax2onnxPack() -> UnsafeRawPointer { laxPack.descriptor }
