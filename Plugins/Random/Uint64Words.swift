import PluginKit

/// uint64 values as XLA's bit generators handle them: two uint32 words, low word first. ONNX
/// Runtime's uint64 Add wraps like C++ unsigned addition, which the counters rely on.
struct Uint64Words {
    let g: GraphBuilder

    func constant(_ x: UInt64) throws -> Value { try g.constant([x], dtype: .u64, shape: []) }

    func shift(_ x: Value, _ by: UInt64, _ direction: String, shape: [Dim]) throws -> Value {
        try g.op("BitShift", x, constant(by), attributes: ["direction": .string(direction)], shape: shape)
    }

    /// lo | hi << 32.
    func join(_ lo: Value, _ hi: Value, shape: [Dim]) throws -> Value {
        try g.disjointOr(lo.cast(to: .u64), shift(hi.cast(to: .u64), 32, "LEFT", shape: shape), shape: shape)
    }

    /// (low word, high word).
    func split(_ x: Value, shape: [Dim]) throws -> (Value, Value) {
        let low = try g.op("Mod", x, constant(1 << 32), shape: shape).cast(to: .u32).with(shape: shape)
        return (low, try shift(x, 32, "RIGHT", shape: shape).cast(to: .u32).with(shape: shape))
    }

    /// The carry out of the wrapping sum a + b (1 or 0): the top bit of the majority of a, b and
    /// the carry into bit 63, which is what differs between the sum and a ^ b there.
    func carry(_ a: Value, _ b: Value, sum: Value, shape: [Dim]) throws -> Value {
        let notSum = try g.bitwise("BitwiseXor", sum, constant(.max), type: .u64, shape: shape)
        let either = try g.bitwise("BitwiseOr", a, b, type: .u64, shape: shape)
        let both = try g.bitwise("BitwiseAnd", a, b, type: .u64, shape: shape)
        let majority = try g.bitwise("BitwiseOr", both, g.bitwise("BitwiseAnd", either, notSum, type: .u64, shape: shape), type: .u64, shape: shape)
        return try shift(majority, 63, "RIGHT", shape: shape)
    }
}
