import PluginKit

/// Threefry-2x32 with 20 rounds, the block cipher under every JAX threefry key: uint32 arithmetic
/// that wraps (ONNX Runtime's uint32 Add is C++ unsigned addition), rotations as two BitShifts
/// joined by BitwiseOr (Add below opset 18: the parts share no bit), and BitwiseXor for the
/// mixing (bit planes below opset 18, see PluginKit's `bitwise`).
struct Threefry {
    let g: GraphBuilder
    let shape: [Dim]?

    static let rotations: [[UInt32]] = [[13, 15, 26, 6], [17, 29, 16, 24]]
    static let parity: UInt32 = 0x1BD1_1BDA

    func u32(_ x: UInt32) throws -> Value { try g.scalar(Double(x), .u32) }
    func add(_ a: Value, _ b: Value) throws -> Value { try g.op("Add", a, b, shape: shape) }
    func xor(_ a: Value, _ b: Value) throws -> Value { try g.bitwise("BitwiseXor", a, b, type: .u32, shape: shape) }

    func rotl(_ x: Value, _ r: UInt32) throws -> Value {
        let hi = try g.op("BitShift", x, u32(r), attributes: ["direction": .string("LEFT")], shape: shape)
        let lo = try g.op("BitShift", x, u32(32 - r), attributes: ["direction": .string("RIGHT")], shape: shape)
        return try g.disjointOr(hi, lo, shape: shape)
    }

    /// Encrypts the counter pair (x0, x1) under the key (k0, k1); all four broadcast together.
    func callAsFunction(key k0: Value, _ k1: Value, counter x0: Value, _ x1: Value) throws -> (Value, Value) {
        let k2 = try xor(xor(k0, k1), u32(Threefry.parity))
        let ks = [k0, k1, k2]
        var a = try add(x0, k0), b = try add(x1, k1)
        for block in 0..<5 {
            for r in Threefry.rotations[block % 2] {
                a = try add(a, b)
                b = try xor(rotl(b, r), a)
            }
            // Key injection after each block of four rounds, with the block number added.
            let i = block + 1
            a = try add(a, ks[i % 3])
            b = try add(b, g.op("Add", ks[(i + 1) % 3], u32(UInt32(i))))
        }
        return (a, b)
    }
}

func threefryLowerings() -> [Lowering] {
    [Lowering("threefry2x32", emits: ["Add"] + GraphBuilder.bitwiseOps, dtypes: [.u32],
              note: "20-round Threefry-2x32 in uint32 arithmetic") { eqn, g in
        let shape = try eqn.output(0).shape
        let (a, b) = try Threefry(g: g, shape: shape)(key: eqn.input(0), eqn.input(1), counter: eqn.input(2), eqn.input(3))
        return [try g.expand(a, shape), try g.expand(b, shape)]
    }]
}
