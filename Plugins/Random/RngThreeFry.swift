import PluginKit

/// rng_bit_generator with RNG_THREE_FRY, as XLA computes it: of the state (s0, s1), s0 is the
/// Threefry-2x32 key (its two words) and s1 a 64-bit counter. Each block encrypts the counter
/// plus its index (low word first). uint32 bits: XLA halves one axis (the first even one, else
/// the largest) and encrypts one counter per element of the halved shape; the two output words
/// of a block sit side by side along that axis, and an odd axis drops its last word. uint64 bits:
/// one block per element, its words joined low first. uint8 and uint16: uint32 bits truncated.
/// The new state is s0 with the counter advanced past the blocks used.
func threeFryBits(_ g: GraphBuilder, state: RngState, dims: [Int64], dtype: DType) throws -> (Value, Value) {
    let w = state.words
    let wide = dtype == .u64
    let split = splitAxis(dims)
    var half = dims.isEmpty ? [Int64(1)] : dims
    if !wide { half[split] = (half[split] + 1) / 2 }
    let blocks = half.reduce(1, *)
    let flat: [Dim] = [.known(blocks)]
    let steps = try g.op("Range", g.scalar(0, .i64), g.scalar(Double(blocks), .i64), g.scalar(1, .i64), shape: flat)
        .cast(to: .u64)
    let (lo, hi) = try w.split(g.op("Add", state.second, steps, shape: flat), shape: flat)
    let (k0, k1) = try w.split(state.first, shape: [])
    let (a, b) = try Threefry(g: g, shape: flat)(key: k0, k1, counter: lo, hi)
    let next = try state.state(state.first, g.op("Add", state.second, w.constant(UInt64(blocks)), shape: []))
    let out = dims.map { Dim.known($0) }
    if wide { return (next, try w.join(a, b, shape: flat).reshape(out)) }

    let halfShape = half.map { Dim.known($0) }
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
        bits = try g.op("Slice", bits, g.int64s([0]), g.int64s([dims[split]]), g.int64s([split]), shape: out)
    }
    if dtype != .u32 { bits = try bits.cast(to: dtype) }
    return (next, try bits.reshape(out))
}

/// The axis XLA's ThreeFry halves: the first even-sized one, or, with none even, the largest
/// (the first of equals).
private func splitAxis(_ dims: [Int64]) -> Int {
    guard !dims.isEmpty else { return 0 }
    if let even = dims.indices.first(where: { dims[$0] % 2 == 0 }) { return even }
    return dims.indices.max(by: { dims[$0] < dims[$1] || (dims[$0] == dims[$1] && $0 > $1) })!
}
