import PluginKit

/// reduce_precision(exponent_bits e, mantissa_bits m) as XLA defines it on the bits: round the
/// mantissa to m bits, nearest even (a carry may bump the exponent), then send exponents above
/// the narrow format's range to a signed infinity and those at or below its smallest normal to a
/// signed zero; NaN stays NaN. ONNX has no bitcast before opset 26, so the same rounding is done
/// in arithmetic: with E = floor(log2|x|) (at least the operand format's smallest normal
/// exponent, which is where the bit-level rounding of subnormals lands too), x is rounded to a
/// multiple of 2^(E - m) by Round (half to even). bfloat16 (8, 7) of a 32-bit or narrower float
/// is a Cast round trip, which rounds identically. Results match XLA bit for bit.
func lowerReducePrecision(_ eqn: Equation, _ g: GraphBuilder) throws -> [Value] {
    let x = try eqn.input(0)
    let e = try eqn.int("exponent_bits"), m = try eqn.int("mantissa_bits")
    let t = x.dtype
    // (exponent bits, mantissa bits, smallest normal exponent) of the operand's format.
    let formats: [DType: (Int, Int, Int)] = [.f64: (11, 52, -1022), .f32: (8, 23, -126), .f16: (5, 10, -14), .bf16: (8, 7, -126)]
    guard let (te, tm, minExp) = formats[t] else { throw LoweringError.unsupported("reduce_precision on \(t)") }
    guard e >= 1, m >= 0 else { throw LoweringError.invalid("reduce_precision to \(e) exponent and \(m) mantissa bits") }
    if e >= te && m >= tm { return [x] }
    let shape = try eqn.output(0).shape
    if e == 8 && m == 7 && t != .f64 {
        return [try x.cast(to: .f32).cast(to: .bf16).cast(from: .bf16, to: t).with(shape: shape)]
    }
    // Always in f64: the ulp 2^(E - m) of a value near f32's smallest normal is an f32 denormal,
    // which a runtime that flushes denormals (ONNX Runtime's set_denormal_as_zero, XLA:CPU's
    // mode) makes 0, and x / 0 NaN. In f64 it is a normal number for every narrower format.
    let wide = DType.f64
    let xw = try x.cast(to: wide)
    func c(_ v: Double) throws -> Value { try g.scalar(v, wide) }
    // The magnitude is rounded (half-to-even is symmetric) and the sign put back by a multiply:
    // ONNX Runtime's Where returns +0.0 when it selects -0.0, so zeros must not pass through it.
    let a = try g.op("Abs", xw)
    var y = a
    if m < tm {
        // E = floor(log2 |x|), corrected by one either way where Log's rounding misses a binade.
        var ex = try g.op("Floor", g.op("Mul", g.op("Log", a), c(1 / 0.6931471805599453)))
        ex = try g.op("Max", ex, c(Double(minExp)))
        ex = try g.op("Min", ex, c(Double(te == 11 ? 1023 : 127)))
        let two = try c(2)
        let p = try g.op("Pow", two, ex)
        ex = try g.op("Where", g.op("Less", a, p), g.op("Sub", ex, c(1)), ex)
        ex = try g.op("Max", ex, c(Double(minExp)))
        let p2 = try g.op("Pow", two, g.op("Add", ex, c(1)))
        ex = try g.op("Where", g.op("GreaterOrEqual", a, p2), g.op("Add", ex, c(1)), ex)
        let ulp = try g.op("Pow", two, g.op("Sub", ex, c(Double(m))))
        y = try g.op("Mul", g.op("Round", g.op("Div", a, ulp)), ulp)
    }
    if e < te {
        let bias = (1 << (e - 1)) - 1
        let overflow = try g.op("GreaterOrEqual", y, c(Double(sign: .plus, exponent: bias + 1, significand: 1)))
        y = try g.op("Where", overflow, c(.infinity), y)
        y = try g.op("Where", g.op("Less", y, c(Double(sign: .plus, exponent: 1 - bias, significand: 1))), c(0), y)
    }
    // Infinities and NaN pass through (the arithmetic above turns them into NaN).
    let special = try g.op("Or", g.op("IsInf", xw), g.op("IsNaN", xw))
    y = try g.op("Where", special, a, y)
    // -1 for negative numbers and -0.0 (1 / -0.0 is -inf), else 1.
    let zero = try c(0)
    let negative = try g.op("Or", g.op("Less", xw, zero),
                            g.op("And", g.op("Equal", xw, zero), g.op("Less", g.op("Div", c(1), xw), zero)))
    let sign = try g.op("Where", negative, c(-1), c(1))
    return [try g.op("Mul", sign, y).cast(from: wide, to: t).with(shape: shape)]
}
