import PluginKit

/// rng_bit_generator as XLA's CPU compiler expands it: RNG_THREE_FRY with Threefry-2x32,
/// RNG_PHILOX and RNG_DEFAULT (the CPU compiler's default is Philox) with Philox-4x32. JAX's
/// rbg and unsafe_rbg PRNGs draw their bits this way with RNG_DEFAULT.
func rngBitGeneratorLowering() -> Lowering {
    Lowering("rng_bit_generator",
             emits: GraphBuilder.bitwiseOps + ["Gather", "Concat", "Reshape", "Slice", "Expand", "Range"],
             dtypes: [.u8, .u16, .u32, .u64],
             note: "RNG_THREE_FRY, RNG_PHILOX and RNG_DEFAULT (Philox, as on XLA's CPU); uint8/16/32/64 bits of a static shape; uint32[4] or uint64[2] state") { eqn, g in
        let algorithm = eqn.param("algorithm")?.string ?? "?"
        let generate: (GraphBuilder, RngState, [Int64], DType) throws -> (Value, Value)
        if algorithm.hasSuffix("THREE_FRY") {
            generate = threeFryBits
        } else if algorithm.hasSuffix("PHILOX") || algorithm.hasSuffix("DEFAULT") {
            generate = philoxBits
        } else {
            throw LoweringError.unsupported("rng_bit_generator with algorithm \(algorithm) (RNG_DEFAULT, RNG_THREE_FRY or RNG_PHILOX)")
        }
        let bitsType = try eqn.output(1)
        guard [.u8, .u16, .u32, .u64].contains(bitsType.dtype) else {
            throw LoweringError.unsupported("rng_bit_generator of \(bitsType.dtype) bits (uint8, uint16, uint32 or uint64)")
        }
        // XLA fixes the number of blocks, and with it the new state, when it compiles: a shape
        // known only at run time has no such expansion to match.
        guard let dims = bitsType.shape.map(\.value) as? [Int64], case let .known(n) = Dim.product(bitsType.shape), n >= 0, n < (1 << 32) else {
            throw LoweringError.unsupported("rng_bit_generator of shape \(bitsType.shape): static shapes below 2^32 elements only")
        }
        let (newState, bits) = try generate(g, RngState(g, key: eqn.input(0)), dims, bitsType.dtype)
        return [newState, bits]
    }
}
