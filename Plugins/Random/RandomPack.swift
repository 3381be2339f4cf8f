import PluginKit

/// The built-in pack for counter-based random numbers (threefry, Philox) and PRNG key plumbing.
let randomPack = Pack(
    name: "Random", version: "0.1.0",
    description: "counter-based random numbers (threefry, Philox) and PRNG key plumbing",
    lowerings: threefryLowerings() + keyDataLowerings() + randomBitsLowerings() + philoxLowerings()
        + [iota2x32Lowering(), gammaLowering(), threefry4x32Lowering(), rngBitGeneratorLowering(), rngUniformLowering()])

@_cdecl("jax2onnx_pack")
public func jax2onnxPack() -> UnsafeRawPointer { randomPack.descriptor }
