import PluginKit

/// rng_bit_generator's state, two uint64 words as XLA reads them. JAX passes it as uint32[4],
/// which its lowering bitcasts to uint64[2] (words 0, 1 form the first, low word first), or
/// with x64 as uint64[2] itself; the new state leaves in the form the old one came.
struct RngState {
    let first: Value
    let second: Value
    let asU32: Bool
    let words: Uint64Words

    init(_ g: GraphBuilder, key: Value) throws {
        words = Uint64Words(g: g)
        func element(_ i: Int64) throws -> Value {
            try g.op("Gather", key, g.constant([i], dtype: .i64, shape: []), attributes: ["axis": .int(0)], shape: [])
        }
        switch (key.dtype, key.shape) {
        case (.u32, [.known(4)]?):
            asU32 = true
            first = try words.join(element(0), element(1), shape: [])
            second = try words.join(element(2), element(3), shape: [])
        case (.u64, [.known(2)]?):
            asU32 = false
            (first, second) = (try element(0), try element(1))
        default:
            throw LoweringError.unsupported("rng_bit_generator with a \(key.dtype) key of shape \(key.shape ?? []) (uint32[4] or uint64[2] only)")
        }
    }

    /// A state of the input's form from two uint64 scalars.
    func state(_ a: Value, _ b: Value) throws -> Value {
        let parts = try asU32 ? [words.split(a, shape: []), words.split(b, shape: [])].flatMap { [$0.0, $0.1] } : [a, b]
        let g = words.g
        return try g.op("Concat", parts.map { try $0.unsqueeze([0]) }, attributes: ["axis": .int(0)],
                        shape: [.known(Int64(parts.count))])
    }
}
