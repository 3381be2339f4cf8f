import PluginKit

let allTypes: [DType] = DType.numbers + [.bool]

/// convert_element_type and bitcast_convert_type between bool, every integer and float width.
func conversionLowerings() -> [Lowering] {
    [
        Lowering("convert_element_type", emits: uniqueOps(["Cast", "Greater", "Less", "And", "GreaterOrEqual", "LessOrEqual"], pickOps),
                 dtypes: allTypes,
                 note: "float to int saturates like XLA (NaN -> 0, out of range -> MIN/MAX; ONNX Cast leaves these undefined); else Cast") { eqn, g in
            let x = try eqn.input(0), to = try eqn.output(0).dtype
            guard (x.dtype.isFloat || x.dtype.isInt || x.dtype.isBool) && (to.isFloat || to.isInt || to.isBool) else {
                throw LoweringError.unsupported("convert_element_type from \(x.dtype) to \(to)")
            }
            if x.dtype.isFloat && to.isInt { return [try saturatingFloatToInt(x, to, g)] }
            return [try x.cast(to: to)]
        },
        Lowering("bitcast_convert_type", emits: uniqueOps(floatBitsOps, bitPlaneOps),
                 dtypes: allTypes.filter { $0 != .bool },
                 note: "no ONNX bitcast: integers by Cast/BitShift, floats by exact arithmetic on the IEEE fields; NaN payloads are not kept") { eqn, g in
            [try lowerBitcast(eqn, g)]
        },
    ]
}

/// Truncation toward zero for in-range values; NaN gives 0 and values past the ends give the
/// type's MIN or MAX, as XLA does. The bounds 2^(w-1) (2^w unsigned) are exact powers of two
/// (inf in f16 for wide targets, which no finite f16 reaches).
func saturatingFloatToInt(_ x0: Value, _ to: DType, _ g: GraphBuilder) throws -> Value {
    let x = x0.dtype == .bf16 ? try x0.cast(to: .f32) : x0
    let t = x.dtype, w = bitWidth(to)
    let hiExp = to.isSignedInt ? w - 1 : w
    let hi = try g.scalar(Double(sign: .plus, exponent: hiExp, significand: 1), t)
    let lo = to.isSignedInt ? try g.scalar(-Double(sign: .plus, exponent: hiExp, significand: 1), t) : try g.scalar(0, t)
    let inside = try g.op("And", g.op("Greater", x, lo), g.op("Less", x, hi))
    let truncated = try g.op("Where", inside, x, g.scalar(0, t)).cast(to: to)
    let maxBits: UInt64 = to.isSignedInt ? UInt64.max >> (65 - w) : UInt64.max >> (64 - w)
    let minBits: UInt64 = to.isSignedInt ? ~maxBits : 0
    let low = try pick(g.op("LessOrEqual", x, lo), intConstant([minBits], to, g), truncated, g)
    return try pick(g.op("GreaterOrEqual", x, hi), intConstant([maxBits], to, g), low, g)
}

/// XLA's bitcast: same width reinterprets; a narrower target adds a last axis of the width ratio
/// (least significant part first, as on little-endian hosts), a wider one consumes it.
func lowerBitcast(_ eqn: Equation, _ g: GraphBuilder) throws -> Value {
    let x = try eqn.input(0), from = x.dtype, to = try eqn.output(0).dtype
    let shape = try eqn.output(0).shape
    guard (from.isFloat || from.isInt) && (to.isFloat || to.isInt) else {
        throw LoweringError.unsupported("bitcast_convert_type from \(from) to \(to)")
    }
    // The source as its unsigned bit pattern.
    let u: Value
    if let layout = FloatLayout.of(from) {
        u = try layout.encode(x.cast(to: layout.compute), g).with(shape: x.shape)
    } else {
        u = try x.cast(to: unsignedView(from))
    }
    let wf = bitWidth(from), wt = bitWidth(to), ut = unsignedView(to)
    var v: Value
    if wf == wt {
        v = u
    } else if wf > wt {
        let uType = FloatLayout.of(from)?.bits ?? unsignedView(from)
        let parts = try intConstant((0..<(wf / wt)).map { UInt64($0 * wt) }, uType, g, shape: [Int64(wf / wt)])
        v = try g.op("BitShift", appendAxis(u), parts, attributes: ["direction": .string("RIGHT")]).cast(to: ut)
    } else {
        v = try joinFields(u, fieldBits: wf, count: wt / wf, into: ut, g)
    }
    if let layout = FloatLayout.of(to) {
        return try layout.decode(v, g).cast(to: to).with(shape: shape)
    }
    return try v.cast(to: to).with(shape: shape)
}
