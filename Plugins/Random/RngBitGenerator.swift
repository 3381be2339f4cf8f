import PluginKit

/// rng_bit_generator with RNG_THREE_FRY, as XLA computes it: the uint32[4] key is two 64-bit
/// words, the Threefry-2x32 key (words 0, 1) and a 64-bit counter (words 2, 3). Each block
/// encrypts the counter plus its index (low word first) and gives two words of bits; the new key
/// is the old one with the counter advanced past the blocks used. RNG_DEFAULT (Philox on
/// XLA's CPU) and RNG_PHILOX start from a scrambled key this lowering does not reproduce, so
/// they decline rather than give other bits.
func rngBitGeneratorLowering() -> Lowering {
    Lowering("rng_bit_generator",
             emits: GraphBuilder.bitwiseOps + ["Gather", "Concat", "Reshape", "Slice", "Expand"],
             dtypes: [.u32],
             note: "algorithm=RNG_THREE_FRY, uint32 bits of a static shape; RNG_DEFAULT and RNG_PHILOX decline") { eqn, g in
        let algorithm = eqn.param("algorithm")?.string ?? "?"
        guard algorithm.hasSuffix("THREE_FRY") else {
            throw LoweringError.unsupported("rng_bit_generator with \(algorithm): only algorithm=RNG_THREE_FRY is lowered (XLA's Philox scrambles its key in a way this lowering does not reproduce)")
        }
        let key = try eqn.input(0), bitsType = try eqn.output(1)
        guard key.dtype == .u32, key.shape == [.known(4)] else {
            throw LoweringError.unsupported("rng_bit_generator with a \(key.dtype) key of shape \(key.shape ?? []) (uint32[4] only)")
        }
        guard bitsType.dtype == .u32 else { throw LoweringError.unsupported("rng_bit_generator of \(bitsType.dtype) bits (uint32 only)") }
        guard let dims = bitsType.shape.map(\.value) as? [Int64], case let .known(n) = Dim.product(bitsType.shape), n >= 0, n < (1 << 32) else {
            throw LoweringError.unsupported("rng_bit_generator of shape \(bitsType.shape): static shapes below 2^32 elements only")
        }
        // XLA splits one axis in half (the first even one, else the largest) and encrypts one
        // counter per element of the halved shape; the two output words of a block sit side by
        // side along that axis (words 2i and 2i + 1 of it), and an odd axis drops its last word.
        let split = splitAxis(dims)
        var half = dims.isEmpty ? [Int64(1)] : dims
        half[split] = (half[split] + 1) / 2
        let blocks = half.reduce(1, *)
        func word(_ i: Int64) throws -> Value {
            try g.op("Gather", key, g.constant([i], dtype: .i64, shape: []), attributes: ["axis": .int(0)], shape: [])
        }
        func u64(_ x: UInt64) throws -> Value { try g.constant([x], dtype: .u64, shape: []) }
        func shift(_ x: Value, _ by: UInt64, _ direction: String, shape: [Dim]) throws -> Value {
            try g.op("BitShift", x, u64(by), attributes: ["direction": .string(direction)], shape: shape)
        }
        func halves(_ x: Value, shape: [Dim]) throws -> (Value, Value) {
            // The low word: x mod 2^32 (what a cast to uint32 keeps, said without relying on it).
            let low = try g.op("Mod", x, u64(1 << 32), shape: shape).cast(to: .u32).with(shape: shape)
            return (low, try shift(x, 32, "RIGHT", shape: shape).cast(to: .u32).with(shape: shape))
        }
        let (k0, k1) = (try word(0), try word(1))
        let counter = try g.disjointOr(word(2).cast(to: .u64), shift(word(3).cast(to: .u64), 32, "LEFT", shape: []), shape: [])
        let steps = try g.constant((0..<UInt64(blocks)).map { $0 }, dtype: .u64, shape: [blocks])
        let (lo, hi) = try halves(g.op("Add", counter, steps, shape: [.known(blocks)]), shape: [.known(blocks)])
        let halfShape = half.map { Dim.known($0) }
        let (a, b) = try Threefry(g: g, shape: [.known(blocks)])(key: k0, k1, counter: lo, hi)
        var pairShape = halfShape
        pairShape.insert(2, at: split + 1)
        let pairs = try g.op("Concat", a.reshape(halfShape).unsqueeze([split + 1]), b.reshape(halfShape).unsqueeze([split + 1]),
                             attributes: ["axis": .int(Int64(split + 1))], shape: pairShape)
        var joined = halfShape
        joined[split] = .known(2 * half[split])
        var bits = try pairs.reshape(joined)
        if dims.isEmpty {
            bits = try bits.reshape([.known(2)])
            bits = try g.op("Slice", bits, g.int64s([0]), g.int64s([1]), g.int64s([0]), shape: [1])
        } else if 2 * half[split] != dims[split] {
            bits = try g.op("Slice", bits, g.int64s([0]), g.int64s([dims[split]]), g.int64s([split]), shape: dims.map { .known($0) })
        }
        let (next0, next1) = try halves(g.op("Add", counter, u64(UInt64(blocks)), shape: []), shape: [])
        let newKey = try g.op("Concat", [k0, k1, next0, next1].map { try $0.unsqueeze([0]) }, attributes: ["axis": .int(0)], shape: [4])
        return [newKey, try bits.reshape(dims.map { .known($0) })]
    }
}

/// The axis XLA's ThreeFry halves: the first even-sized one, or, with none even, the largest
/// (the first of equals).
private func splitAxis(_ dims: [Int64]) -> Int {
    guard !dims.isEmpty else { return 0 }
    if let even = dims.indices.first(where: { dims[$0] % 2 == 0 }) { return even }
    return dims.indices.max(by: { dims[$0] < dims[$1] || (dims[$0] == dims[$1] && $0 > $1) })!
}
