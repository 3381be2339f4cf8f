import PluginKit

/// mulhi: the high half of the double-width product of two integers (used by integer division by
/// constants and some hash-based RNGs). The product is exact in 64 bits for operands up to 32
/// bits; the high half is a logical shift for unsigned types and a floor division for signed ones.
func mulHighLowering() -> Lowering {
    Lowering("mulhi", emits: ["Cast", "Mul", "BitShift", "Mod", "Sub", "Div"],
             dtypes: [.i8, .i16, .i32, .u8, .u16, .u32], note: "in 64 bits; 64-bit operands decline") { eqn, g in
        let a = try eqn.input(0), b = try eqn.input(1)
        let t = a.dtype
        let width = UInt64(bitWidth(t))
        guard t.isInt, width <= 32 else { throw LoweringError.unsupported("mulhi on \(t) (only integers up to 32 bits)") }
        let wide: DType = t.isUnsignedInt ? .u64 : .i64
        let product = try g.op("Mul", a.cast(to: wide), b.cast(to: wide))
        let high: Value
        if t.isUnsignedInt {
            high = try g.op("BitShift", product, intConstant([width], .u64, g), attributes: ["direction": .string("RIGHT")])
        } else {
            let scale = try g.constant([Int64(1) << Int64(width)], dtype: .i64, shape: [])
            // Mod with fmod=0 takes the divisor's sign, so product - mod is the floor multiple.
            let floored = try g.op("Sub", product, g.op("Mod", product, scale, attributes: ["fmod": .int(0)]))
            high = try g.op("Div", floored, scale)
        }
        return [try high.cast(to: t)]
    }
}
