import PluginKit

/// JAX's rbg and unsafe_rbg PRNGs. Their uint32[4] key data is two threefry keys side by side
/// and, for drawing bits, an rng_bit_generator state: bits come from RNG_DEFAULT (Philox on
/// XLA's CPU) with the key data as the state. JAX batches rng_bit_generator by drawing the whole
/// batch from the batch's first key, the batch dims prepended to the shape, so a batch of keys
/// draws that way here too.
struct RbgKeys {
    let g: GraphBuilder
    let key: Value
    let batch: [Dim]

    init(_ g: GraphBuilder, key: Value) throws {
        self.g = g
        self.key = key
        batch = Array(try checkKeyData(key, words: 4).dropLast())
    }

    /// Philox bits of dims `batch + shape`, drawn from the batch's first key.
    func bits(_ shape: [Dim], dtype: DType) throws -> Value {
        guard let dims = (batch + shape).map(\.value) as? [Int64] else {
            throw LoweringError.unsupported("rbg bits of shape \(batch + shape): rng_bit_generator needs a static shape")
        }
        var first = key
        for _ in batch {
            first = try g.op("Gather", first, g.constant([Int64(0)], dtype: .i64, shape: []), attributes: ["axis": .int(0)],
                             shape: first.shape.map { Array($0.dropFirst()) })
        }
        return try philoxBits(g, state: RngState(g, key: first), dims: dims, dtype: dtype).1
    }

    /// The two threefry keys (words 0, 1 and 2, 3), each of shape batch + [2].
    func halves() throws -> (Value, Value) {
        let axis = Int64(batch.count)
        func words(_ from: Int64) throws -> Value {
            try g.op("Slice", key, g.int64s([from]), g.int64s([from + 2]), g.int64s([axis]), shape: batch + [2])
        }
        return (try words(0), try words(2))
    }

    func joined(_ a: Value, _ b: Value, batch: [Dim]) throws -> Value {
        try g.op("Concat", a, b, attributes: ["axis": .int(Int64(batch.count))], shape: batch + [4])
    }

    /// rbg: each threefry half split as a threefry key is.
    func split(_ shape: [Dim]) throws -> Value {
        let (a, b) = try halves()
        let (a0, a1, out) = try encryptIota(g, key: a, shape: shape)
        let (b0, b1, _) = try encryptIota(g, key: b, shape: shape)
        return try joined(keyData(g, a0, a1, batch: out), keyData(g, b0, b1, batch: out), batch: out)
    }

    /// rbg: each threefry half folded as a threefry key is.
    func foldIn(_ message: Value) throws -> Value {
        let (a, b) = try halves()
        return try joined(threefryFoldIn(g, key: a, message: message), threefryFoldIn(g, key: b, message: message),
                          batch: batch)
    }

    /// unsafe_rbg: ten draws of a key's worth of bits per new key, every tenth kept.
    func unsafeSplit(_ shape: [Dim]) throws -> Value {
        guard case let .known(n) = Dim.product(shape) else {
            throw LoweringError.unsupported("unsafe_rbg split to shape \(shape): rng_bit_generator needs a static shape")
        }
        let drawn = try bits([.known(10 * n), 4], dtype: .u32)
        let axis = Int64(batch.count)
        let kept = try g.op("Slice", drawn, g.int64s([0]), g.int64s([10 * n]), g.int64s([axis]), g.int64s([10]),
                            shape: batch + [.known(n), 4])
        return try kept.reshape(batch + shape + [4])
    }

    /// unsafe_rbg: the key XOR the last of ten key-sized draws from the message's rbg seed.
    func unsafeFoldIn(_ message: Value) throws -> Value {
        guard message.shape == [] else {
            throw LoweringError.unsupported("unsafe_rbg fold_in of a message of shape \(message.shape ?? []) (one message for all keys only)")
        }
        let seed = try keyData(g, g.scalar(0, .u32), message.cast(to: .u32), batch: [])
        let state = try joined(seed, seed, batch: [])
        let drawn = try philoxBits(g, state: RngState(g, key: state), dims: [10, 4], dtype: .u32).1
        let last = try g.op("Slice", drawn, g.int64s([9]), g.int64s([10]), g.int64s([0]), shape: [1, 4]).reshape([4])
        return try g.bitwise("BitwiseXor", key, last, type: .u32, shape: batch + [4])
    }
}
