import PluginKit

/// reduce_precision rounds to a narrower float format and back. ONNX has no bitcast before opset
/// 26, so the bit-level emulation is out of reach; the formats JAX users hit are real ONNX types:
/// (8, 7) is bfloat16 and (5, 10) is float16, where a round trip through Cast rounds to nearest
/// even exactly as XLA does. XLA flushes results below the narrow format's smallest normal to a
/// signed zero, which Cast (keeping subnormals) does not, so those are zeroed explicitly.
/// Formats at least as wide as the operand's are the identity; other formats decline.
func lowerReducePrecision(_ eqn: Equation, _ g: GraphBuilder) throws -> [Value] {
    let x = eqn.input(0)
    let e = try eqn.int("exponent_bits"), m = try eqn.int("mantissa_bits")
    let t = x.dtype
    let own: [DType: (Int, Int)] = [.f64: (11, 52), .f32: (8, 23), .f16: (5, 10), .bf16: (8, 7)]
    guard let (te, tm) = own[t] else { throw LoweringError.unsupported("reduce_precision on \(t)") }
    if e >= te && m >= tm { return [x] }
    let narrow: DType, minNormal: Double
    switch (e, m) {
    case (8, 7): narrow = .bf16; minNormal = 0x1p-126
    case (5, 10): narrow = .f16; minNormal = 0x1p-14
    default:
        throw LoweringError.unsupported("reduce_precision to \(e) exponent and \(m) mantissa bits (only bfloat16 (8, 7) and float16 (5, 10) map to ONNX types)")
    }
    // f16 and bf16 do not hold each other: go through f32, which holds both exactly.
    let wide = t == .f64 ? DType.f64 : .f32
    let xw = try x.cast(to: wide)
    let y = try xw.cast(to: narrow).cast(to: wide)
    var result = y
    if narrow == .f16 || t == .f64 {
        let tiny = try g.op("Less", try g.op("Abs", y), try g.scalar(minNormal, wide))
        let signedZero = try g.op("Mul", xw, try g.scalar(0, wide))
        result = try g.op("Where", tiny, signedZero, y)
    }
    return [try result.cast(from: wide, to: t).with(shape: eqn.output(0).shape)]
}
