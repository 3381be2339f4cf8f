import PluginKit

/// A threefry key array of JAX shape K lives in the graph as its key data, uint32[K..., 2]: the
/// same form `jax.random.key_data` gives, so wrapping and unwrapping are the identity.
func checkKeyData(_ key: Value) throws -> [Dim] {
    guard let s = key.shape, s.last == .known(2), key.dtype == .u32 else {
        throw LoweringError.unsupported("only threefry keys (uint32[..., 2] key data) are supported, got \(key.dtype)\(key.shape.map { "\($0)" } ?? "")")
    }
    return s
}

/// Keys of another PRNG (philox, rbg) have key data of the same form but other bits; the
/// equations that make keys name their impl, so those refuse anything but threefry rather than
/// draw threefry numbers from a philox key.
func requireThreefry(_ eqn: Equation) throws {
    guard let impl = eqn.param("impl") else { return }
    let name = impl["name"]?.string ?? impl.string ?? "?"
    guard name == "threefry2x32" || name == "fry" else {
        throw LoweringError.unsupported("keys of the \(name) PRNG: only threefry2x32 keys (JAX's default) are lowered")
    }
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
        Lowering("random_wrap", emits: ["Identity"], dtypes: [.u32], note: "threefry key data stays uint32[..., 2]") { eqn, g in
            try requireThreefry(eqn)
            _ = try checkKeyData(eqn.input(0))
            return [try eqn.input(0)]
        },
        Lowering("random_unwrap", emits: ["Identity"], dtypes: [.u32], note: "threefry key data stays uint32[..., 2]") { eqn, g in
            [try eqn.input(0)]
        },
        // jax.random.clone only tells the key-reuse checker a copy is intended; the key is the same.
        Lowering("random_clone", emits: [], dtypes: [.u32], note: "the same key") { eqn, _ in [try eqn.input(0)] },
        // JAX's threefry seed: a 32-bit seed is the low word (high word 0), a 64-bit one is split.
        Lowering("random_seed", emits: ["Cast", "BitShift", "Concat", "Unsqueeze", "Expand", "Slice"],
                 dtypes: [.i8, .i16, .i32, .i64, .u8, .u16, .u32, .u64], note: "threefry keys only") { eqn, g in
            try requireThreefry(eqn)
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
            return [try keyData(g, hi, lo, batch: batch)]
        },
    ]
}
