import PluginKit

/// rng_bit_generator with RNG_PHILOX, which is also what XLA's CPU compiler makes of
/// RNG_DEFAULT. Of the state (s0, s1), s0 is the Philox-4x32 key (its two words) and the 128-bit
/// counter has s1 as its low half and s0 as its high half. Block i encrypts counter + i and gives
/// four uint32 words, laid out block after block; uint64 bits join words (0, 1) and (2, 3) of a
/// block, low word first; uint8 and uint16 bits are uint32 bits truncated. The new state is s0
/// with the counter's low half advanced past the blocks used (its carry is dropped, as XLA
/// drops it).
func philoxBits(_ g: GraphBuilder, state: RngState, dims: [Int64], dtype: DType) throws -> (Value, Value) {
    let n = dims.reduce(1, *)
    let wide = dtype == .u64
    let blocks = wide ? (n + 1) / 2 : (n + 3) / 4
    let lanes: Int64 = wide ? 2 : 4
    let w = state.words
    let blockShape: [Dim] = [.known(blocks)]
    let steps = try g.op("Range", g.scalar(0, .i64), g.scalar(Double(blocks), .i64), g.scalar(1, .i64), shape: blockShape)
        .cast(to: .u64)
    let low = try g.op("Add", state.second, steps, shape: blockShape)
    let high = try g.op("Add", state.first, w.carry(state.second, steps, sum: low, shape: blockShape), shape: blockShape)
    let (x0, x1) = try w.split(low, shape: blockShape), (x2, x3) = try w.split(high, shape: blockShape)
    let out = try Philox(g: g, shape: blockShape).fourByThirtyTwo(key: w.split(state.first, shape: []),
                                                                  counter: (x0, x1, x2, x3))
    let words = wide ? [try w.join(out[0], out[1], shape: blockShape), try w.join(out[2], out[3], shape: blockShape)] : out
    var bits = try g.op("Concat", words.map { try $0.unsqueeze([1]) }, attributes: ["axis": .int(1)],
                        shape: [.known(blocks), .known(lanes)]).reshape([.known(blocks * lanes)])
    if blocks * lanes != n {
        bits = try g.op("Slice", bits, g.int64s([0]), g.int64s([n]), g.int64s([0]), shape: [.known(n)])
    }
    if dtype == .u8 || dtype == .u16 { bits = try bits.cast(to: dtype) }
    let next = try g.op("Add", state.second, w.constant(UInt64(blocks)), shape: [])
    return (try state.state(state.first, next), try bits.reshape(dims.map { .known($0) }))
}
