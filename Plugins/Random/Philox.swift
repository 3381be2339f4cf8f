import PluginKit

/// Philox-4x32 and Philox-2x32 with 10 rounds (Random123), the block ciphers under JAX's philox
/// PRNG impls: each round multiplies counter words by a constant (the 64-bit product's low and
/// high halves), XORs in the key, and bumps the key by a Weyl constant. The product is exact in
/// uint64; its halves are a truncating Cast and a right shift.
struct Philox {
    let g: GraphBuilder
    let shape: [Dim]

    func u32(_ x: UInt32) throws -> Value { try g.scalar(Double(x), .u32) }
    func xor(_ a: Value, _ b: Value) throws -> Value { try g.bitwise("BitwiseXor", a, b, type: .u32, shape: shape) }

    /// (low, high) words of m * x.
    func mulHiLo(_ m: UInt32, _ x: Value) throws -> (Value, Value) {
        let product = try g.op("Mul", g.scalar(Double(m), .u64), x.cast(to: .u64), shape: shape)
        let high = try g.op("BitShift", product, g.scalar(32, .u64), attributes: ["direction": .string("RIGHT")], shape: shape)
        return (try product.cast(to: .u32).with(shape: shape), try high.cast(to: .u32).with(shape: shape))
    }

    func fourByThirtyTwo(key: (Value, Value), counter: (Value, Value, Value, Value)) throws -> [Value] {
        var (k0, k1) = key
        var (x0, x1, x2, x3) = counter
        for round in 0..<10 {
            if round > 0 {
                k0 = try g.op("Add", k0, u32(0x9E37_79B9))
                k1 = try g.op("Add", k1, u32(0xBB67_AE85))
            }
            let (lo0, hi0) = try mulHiLo(0xD251_1F53, x0)
            let (lo1, hi1) = try mulHiLo(0xCD9E_8D57, x2)
            (x0, x1, x2, x3) = (try xor(xor(hi1, x1), k0), lo1, try xor(xor(hi0, x3), k1), lo0)
        }
        return try [x0, x1, x2, x3].map { try g.expand($0, shape) }
    }

    func twoByThirtyTwo(key: Value, counter: (Value, Value)) throws -> [Value] {
        var k0 = key
        var (x0, x1) = counter
        for round in 0..<10 {
            if round > 0 { k0 = try g.op("Add", k0, u32(0x9E37_79B9)) }
            let (lo, hi) = try mulHiLo(0xD256_D193, x0)
            (x0, x1) = (try xor(xor(hi, x1), k0), lo)
        }
        return try [x0, x1].map { try g.expand($0, shape) }
    }
}

func philoxLowerings() -> [Lowering] {
    let emits = ["Add", "Mul", "Cast", "BitShift", "Expand"] + GraphBuilder.bitwiseOps
    return [
        Lowering("philox4x32", emits: emits, dtypes: [.u32], note: "10-round Philox-4x32 in uint64 products") { eqn, g in
            let shape = try eqn.output(0).shape
            let i = try (0..<6).map { try eqn.input($0) }
            return try Philox(g: g, shape: shape).fourByThirtyTwo(key: (i[0], i[1]), counter: (i[2], i[3], i[4], i[5]))
        },
        Lowering("philox2x32", emits: emits, dtypes: [.u32], note: "10-round Philox-2x32 in uint64 products") { eqn, g in
            let shape = try eqn.output(0).shape
            let i = try (0..<3).map { try eqn.input($0) }
            return try Philox(g: g, shape: shape).twoByThirtyTwo(key: i[0], counter: (i[1], i[2]))
        },
    ]
}
