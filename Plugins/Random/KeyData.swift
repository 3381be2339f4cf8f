import PluginKit

/// A key array of JAX shape K lives in the graph as its key data, uint32[K..., 2] for threefry
/// (`words` 4 for rbg): the form `jax.random.key_data` gives, so wrapping and unwrapping are the
/// identity.
func checkKeyData(_ key: Value, words: Int64 = 2) throws -> [Dim] {
    guard let s = key.shape, s.last == .known(words), key.dtype == .u32 else {
        let form = words == 2 ? "threefry keys (uint32[..., 2] key data)" : "keys of uint32[..., \(words)] key data"
        throw LoweringError.unsupported("only \(form) are supported, got \(key.dtype)\(key.shape.map { "\($0)" } ?? "")")
    }
    return s
}

/// The PRNG of the equation's keys: the impl it names (random_seed, random_wrap) or the one the
/// tracer records for its key operand (`key_impl`); nil from a bundle that records neither.
func keyImpl(_ eqn: Equation) -> String? {
    if let impl = eqn.param("impl") { return impl["name"]?.string ?? impl.string ?? "?" }
    return eqn.param("key_impl")?.string
}

/// JAX's rbg and unsafe_rbg PRNGs: uint32[4] key data, bits from rng_bit_generator.
func isRbg(_ impl: String?) -> Bool { impl == "rbg" || impl == "unsafe_rbg" }

/// Keys of another PRNG (philox) have key data of the same form but other bits, so anything but
/// threefry is refused rather than drawn as threefry numbers; a bundle that names no PRNG is
/// taken for threefry, as bundles from before `key_impl` were.
func requireThreefry(_ eqn: Equation, allowRbg: Bool = false) throws {
    guard let name = keyImpl(eqn), name != "threefry2x32", name != "fry", !(allowRbg && isRbg(name)) else { return }
    let also = allowRbg ? ", rbg and unsafe_rbg" : ""
    throw LoweringError.unsupported("keys of the \(name) PRNG: only threefry2x32 keys (JAX's default)\(also) are lowered here")
}

func keyHalves(_ g: GraphBuilder, _ key: Value) throws -> (Value, Value) {
    let s = try checkKeyData(key)
    let batch = Array(s.dropLast())
    let axis: KeyValuePairs<String, Attr> = ["axis": .int(Int64(s.count - 1))]
    return (try g.op("Gather", key, g.constant([Int64(0)], dtype: .i64, shape: []), attributes: axis, shape: batch),
            try g.op("Gather", key, g.constant([Int64(1)], dtype: .i64, shape: []), attributes: axis, shape: batch))
}

/// The key data of keys of shape `batch` from their two halves (each broadcastable to `batch`).
func keyData(_ g: GraphBuilder, _ k0: Value, _ k1: Value, batch: [Dim]) throws -> Value {
    let axis = batch.count
    return try g.op("Concat", g.unsqueeze(g.expand(k0, batch), [axis]), g.unsqueeze(g.expand(k1, batch), [axis]),
                    attributes: ["axis": .int(Int64(axis))], shape: batch + [2])
}

func keyDataLowerings() -> [Lowering] {
    [
        Lowering("random_wrap", emits: ["Identity"], dtypes: [.u32], note: "threefry key data stays uint32[..., 2], rbg and unsafe_rbg key data uint32[..., 4]") { eqn, g in
            try requireThreefry(eqn, allowRbg: true)
            _ = try checkKeyData(eqn.input(0), words: isRbg(keyImpl(eqn)) ? 4 : 2)
            return [try eqn.input(0)]
        },
        Lowering("random_unwrap", emits: ["Identity"], dtypes: [.u32], note: "the key data as it is: uint32[..., 2] (threefry), uint32[..., 4] (rbg, unsafe_rbg)") { eqn, g in
            [try eqn.input(0)]
        },
        // jax.random.clone only tells the key-reuse checker a copy is intended; the key is the same.
        Lowering("random_clone", emits: [], dtypes: [.u32], note: "the same key") { eqn, _ in [try eqn.input(0)] },
        // JAX's threefry seed: a 32-bit seed is the low word (high word 0), a 64-bit one is split.
        // rbg and unsafe_rbg seed both halves of their key with it.
        Lowering("random_seed", emits: ["Cast", "BitShift", "Concat", "Unsqueeze", "Expand", "Slice"],
                 dtypes: [.i8, .i16, .i32, .i64, .u8, .u16, .u32, .u64], note: "threefry, rbg and unsafe_rbg keys") { eqn, g in
            try requireThreefry(eqn, allowRbg: true)
            let seed = try eqn.input(0)
            let batch = seed.shape ?? []
            let lo = try seed.cast(to: .u32)
            let hi: Value
            if seed.dtype == .i64 || seed.dtype == .u64 {
                let wide = try seed.cast(to: .u64)
                let shifted = try g.op("BitShift", wide, g.scalar(32, .u64), attributes: ["direction": .string("RIGHT")], shape: batch)
                hi = try shifted.cast(to: .u32)
            } else {
                hi = try g.scalar(0, .u32)
            }
            let key = try keyData(g, hi, lo, batch: batch)
            guard isRbg(keyImpl(eqn)) else { return [key] }
            return [try g.op("Concat", key, key, attributes: ["axis": .int(Int64(batch.count))], shape: batch + [4])]
        },
    ]
}
