import PluginABI

/// BitwiseAnd, BitwiseOr and BitwiseXor arrive at opset 18. Below it an integer's bits are
/// taken apart into 0/1 planes along a new last axis (BitShift right, Mod 2), combined
/// arithmetically (and = a b, or = a + b - a b, xor = a + b - 2 a b), and put back together
/// (BitShift left, summed). Planes are worked in uint32, whose BitShift, Mod and Mul every
/// opset-13 runtime has; 64-bit values go as two 32-bit halves.
extension GraphBuilder {
    /// `op` (BitwiseAnd, BitwiseOr or BitwiseXor) of two integers of type `t` (broadcasting), at
    /// any opset. Inside a subgraph body, where values carry no readable element type, pass `t`.
    public func bitwise(_ op: String, _ a: Value, _ b: Value, type given: DType? = nil, shape: [Dim]? = nil) throws -> Value {
        guard ["BitwiseAnd", "BitwiseOr", "BitwiseXor"].contains(op) else { throw LoweringError.invalid("bitwise \(op)") }
        let t = given ?? a.dtype
        guard t.isInt else { throw LoweringError.unsupported("\(op) on \(t)") }
        if opset >= 18 { return try self.op(op, a, b, shape: shape) }
        switch t {
        case .u32: return try planeBitwise(op, a, b, width: 32).with(shape: shape)
        case .u64, .i64:
            // Halves of the unsigned view: the low one by Mod 2^32, the high one by BitShift.
            let ua = try castKnown(a, from: t, to: .u64), ub = try castKnown(b, from: t, to: .u64)
            let two32 = try constant([UInt64(1) << 32], dtype: .u64, shape: [])
            func low(_ x: Value) throws -> Value { try self.op("Cast", self.op("Mod", x, two32), attributes: ["to": .int(Int64(DType.u32.rawValue))]) }
            func high(_ x: Value) throws -> Value {
                try self.op("Cast", self.op("BitShift", x, constant([UInt64(32)], dtype: .u64, shape: []), attributes: ["direction": .string("RIGHT")]),
                            attributes: ["to": .int(Int64(DType.u32.rawValue))])
            }
            let lo = try planeBitwise(op, low(ua), low(ub), width: 32), hi = try planeBitwise(op, high(ua), high(ub), width: 32)
            let wideHi = try self.op("BitShift", castKnown(hi, from: .u32, to: .u64), constant([UInt64(32)], dtype: .u64, shape: []),
                                     attributes: ["direction": .string("LEFT")])
            let joined = try self.op("Add", wideHi, castKnown(lo, from: .u32, to: .u64))
            return try castKnown(joined, from: .u64, to: t).with(shape: shape)
        default:
            // 8, 16 and signed 32 bits: the low bits of the uint32 value (a signed value's
            // sign extension only touches bits the result drops).
            let width = [DType.i8: 8, .u8: 8, .i16: 16, .u16: 16, .i32: 32][t] ?? 32
            let r = try planeBitwise(op, castKnown(a, from: t, to: .u32), castKnown(b, from: t, to: .u32), width: width)
            return try castKnown(r, from: .u32, to: t).with(shape: shape)
        }
    }

    /// a | b for values known to share no set bit (a shifted high part and a low part): BitwiseOr
    /// from opset 18, Add below (no carry can occur).
    public func disjointOr(_ a: Value, _ b: Value, shape: [Dim]? = nil) throws -> Value {
        try op(opset >= 18 ? "BitwiseOr" : "Add", a, b, shape: shape)
    }

    /// The ops `bitwise` and `disjointOr` may emit, for claims' `emits:` lists.
    public static let bitwiseOps = ["BitwiseAnd", "BitwiseOr", "BitwiseXor", "Cast", "Unsqueeze", "BitShift", "Mod", "Mul",
                                    "Add", "Sub", "ReduceSum"]

    /// The op on the low `width` bits of two uint32 values, as a uint32.
    private func planeBitwise(_ op: String, _ a: Value, _ b: Value, width: Int) throws -> Value {
        let offsets = try constant((0..<UInt32(width)).map { $0 }, dtype: .u32, shape: [Int64(width)])
        let two = try constant([UInt32(2)], dtype: .u32, shape: [])
        func planes(_ x: Value) throws -> Value {
            let lastAxis = try self.op("Unsqueeze", x, int64s([-1]))
            return try self.op("Mod", self.op("BitShift", lastAxis, offsets, attributes: ["direction": .string("RIGHT")]), two)
        }
        let pa = try planes(a), pb = try planes(b)
        let both = try self.op("Mul", pa, pb)
        let combined: Value
        switch op {
        case "BitwiseAnd": combined = both
        case "BitwiseOr": combined = try self.op("Sub", self.op("Add", pa, pb), both)
        default: combined = try self.op("Sub", self.op("Add", pa, pb), self.op("Add", both, both))
        }
        // Planes back in place; the sum of at most 32 disjoint bits is exact in int64.
        let placed = try self.op("BitShift", combined, offsets, attributes: ["direction": .string("LEFT")])
        let sum = try self.op("ReduceSum", castKnown(placed, from: .u32, to: .i64), int64s([-1]), attributes: ["keepdims": .int(0)])
        return try castKnown(sum, from: .i64, to: .u32)
    }

    /// Cast by the known source type (a subgraph's values have none the pack can read).
    private func castKnown(_ x: Value, from: DType, to: DType) throws -> Value {
        from == to ? x : try op("Cast", x, attributes: ["to": .int(Int64(to.rawValue))], shape: x.shape)
    }
}
