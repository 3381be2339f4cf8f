import PluginKit

/// The built-in pack for complex values and `fft`. Its claims take complex64/complex128 operands
/// (the host's dtype filter) at priority 10, above the real lowerings of the other packs.
let complexPack = Pack(
    name: "Complex", version: "0.1.0",
    description: "complex arithmetic on (real, imag) float pairs, and fft",
    lowerings: arithmeticLowerings() + dataMovementLowerings() + reductionLowerings() + conversionLowerings() + [
        Lowering("dot_general", emits: ["Einsum", "Cast"], priority: 10,
                 note: "complex × complex and complex × real, as Einsum on the pairs", lower: lowerComplexDot),
        complexGatherLowering(),
        fftLowering(),
    ])

@_cdecl("jax2onnx_pack")
public func jax2onnxPack() -> UnsafeRawPointer { complexPack.descriptor }
