import PluginKit

/// IEEE binary layouts and exact arithmetic between a float and its bit pattern. ONNX has no
/// bitcast, so the pattern is computed: the exponent from log2 (corrected by one exact power
/// of two either way) and the mantissa by exact scaling. Every step is exact in the compute
/// type; f16 and bf16 are worked in f32, which holds them exactly.
struct FloatLayout {
    let mantissaBits: Int
    let exponentBits: Int
    /// The unsigned integer type of the same width, and the float type the arithmetic runs in.
    let bits: DType
    let compute: DType

    var bias: Int { (1 << (exponentBits - 1)) - 1 }
    var maxExponent: UInt64 { (1 << UInt64(exponentBits)) - 1 }

    static func of(_ t: DType) -> FloatLayout? {
        switch t {
        case .f32: return FloatLayout(mantissaBits: 23, exponentBits: 8, bits: .u32, compute: .f32)
        case .f64: return FloatLayout(mantissaBits: 52, exponentBits: 11, bits: .u64, compute: .f64)
        case .f16: return FloatLayout(mantissaBits: 10, exponentBits: 5, bits: .u16, compute: .f32)
        case .bf16: return FloatLayout(mantissaBits: 7, exponentBits: 8, bits: .u16, compute: .f32)
        default: return nil
        }
    }

    func pow2(_ k: Int, _ g: GraphBuilder) throws -> Value { try g.scalar(Double(sign: .plus, exponent: k, significand: 1), compute) }

    /// The value of the bit pattern u (of type `bits`), in the compute type.
    func decode(_ u: Value, _ g: GraphBuilder) throws -> Value {
        let m = try g.op("Mod", u, intConstant([1 << UInt64(mantissaBits)], bits, g))
        let shifted = try g.op("BitShift", u, intConstant([UInt64(mantissaBits)], bits, g), attributes: ["direction": .string("RIGHT")])
        let e = try g.op("Mod", shifted, intConstant([1 << UInt64(exponentBits)], bits, g))
        let mf = try m.cast(to: compute), ef = try e.cast(to: compute)
        // (2^mb + m) * 2^(e - bias - mb) for normal numbers, m * 2^(1 - bias - mb) for subnormal ones.
        let scale = try g.op("Pow", g.scalar(2, compute), g.op("Sub", ef, g.scalar(Double(bias + mantissaBits), compute)))
        let normal = try g.op("Mul", g.op("Add", mf, pow2(mantissaBits, g)), scale)
        let subnormal = try g.op("Mul", mf, pow2(1 - bias - mantissaBits, g))
        let zeroE = try g.op("Equal", e, intConstant([0], bits, g))
        let special = try g.op("Equal", e, intConstant([maxExponent], bits, g))
        let infOrNaN = try g.op("Where", g.op("Equal", m, intConstant([0], bits, g)),
                                g.scalar(.infinity, compute), g.scalar(.nan, compute))
        let magnitude = try g.op("Where", special, infOrNaN, g.op("Where", zeroE, subnormal, normal))
        let top = try g.op("BitShift", u, intConstant([UInt64(bitWidth(bits) - 1)], bits, g), attributes: ["direction": .string("RIGHT")])
        let negative = try g.op("Equal", top, intConstant([1], bits, g))
        return try g.op("Where", negative, g.op("Neg", magnitude), magnitude)
    }

    /// The bit pattern (type `bits`) of x, given in the compute type. NaN becomes the positive
    /// quiet NaN: its payload is not observable through arithmetic.
    func encode(_ x: Value, _ g: GraphBuilder) throws -> Value {
        let a = try g.op("Abs", x)
        let zero = try g.scalar(0, compute), one = try g.scalar(1, compute)
        // The sign bit, -0 included (1 / -0 = -inf).
        let negative = try g.op("Or", g.op("Less", x, zero), g.op("Less", g.op("Reciprocal", x), zero))
        let isNaN = try g.op("IsNaN", x)
        let isInf = try g.op("IsInf", x)
        let isSub = try g.op("Less", a, pow2(1 - bias, g))
        let safe = try g.op("Where", g.op("Or", g.op("Or", isNaN, isInf), isSub), one, a)
        let guess = try g.op("Floor", g.op("Div", g.op("Log", safe), g.scalar(0.6931471805599453, compute)))
        let p = try g.op("Pow", g.scalar(2, compute), guess)
        let tooBig = try g.op("Greater", p, safe).cast(to: compute)
        let tooSmall = try g.op("LessOrEqual", g.op("Add", p, p), safe).cast(to: compute)
        let exponent = try g.op("Add", g.op("Sub", guess, tooBig), tooSmall)
        let frac = try g.op("Div", safe, g.op("Pow", g.scalar(2, compute), exponent))
        let normalM = try g.op("Mul", g.op("Sub", frac, one), pow2(mantissaBits, g))
        // a * 2^(bias - 1 + mb) in two exact steps (the product may not fit the type).
        let subM = try g.op("Mul", g.op("Mul", a, pow2(bias - 1, g)), pow2(mantissaBits, g))
        let normalE = try g.op("Add", exponent, g.scalar(Double(bias), compute))
        var mant = try g.op("Where", isSub, subM, normalM).cast(to: bits)
        var expo = try g.op("Where", isSub, zero, normalE).cast(to: bits)
        let special = try g.op("Or", isNaN, isInf)
        mant = try pick(isNaN, intConstant([1 << UInt64(mantissaBits - 1)], bits, g), pick(isInf, intConstant([0], bits, g), mant, g), g)
        expo = try pick(special, intConstant([maxExponent], bits, g), expo, g)
        let shifted = try g.op("BitShift", expo, intConstant([UInt64(mantissaBits)], bits, g), attributes: ["direction": .string("LEFT")])
        let unsignedBits = try g.op("Add", shifted, mant)
        let signBit = try intConstant([1 << UInt64(bitWidth(bits) - 1)], bits, g)
        return try g.op("Add", unsignedBits, g.op("Mul", signBit, g.op("And", negative, g.op("Not", isNaN)).cast(to: bits)))
    }
}
