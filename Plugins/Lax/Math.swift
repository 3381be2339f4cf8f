import PluginKit

/// Elementwise primitives that ONNX has no single op for, composed so they keep JAX's accuracy.
func mathLowerings() -> [Lowering] {
    [
        Lowering("square", emits: ["Mul"], dtypes: DType.numbers) { eqn, g in
            let x = try eqn.input(0)
            return [try g.op("Mul", x, x, shape: eqn.output(0).shape)]
        },
        Lowering("rsqrt", emits: ["Sqrt", "Reciprocal", "Cast"], dtypes: DType.floats) { eqn, g in
            _ = try checkType(eqn, .float)
            return [try computingBF16InF32(eqn.input(0), g) { try g.op("Reciprocal", g.op("Sqrt", $0)) }]
        },
        // log(1 + x) loses every digit of a tiny x; x * log(u) / (u - 1) with u = 1 + x does not
        // (the rounding error of u cancels), and u == 1 means log1p(x) == x to working precision.
        Lowering("log1p", emits: ["Add", "Sub", "Log", "Mul", "Div", "Equal", "Where", "Cast"], dtypes: DType.floats) { eqn, g in
            _ = try checkType(eqn, .float)
            return [try computingBF16InF32(eqn.input(0), g) { try log1p($0, g) }]
        },
        // exp(x) - 1 cancels for small x; (u - 1) * x / log(u) with u = exp(x) is accurate, with
        // u == 1 giving x and u - 1 == -1 giving -1 (large negative x).
        Lowering("expm1", emits: ["Exp", "Sub", "Log", "Mul", "Div", "Equal", "Where", "Cast"], dtypes: DType.floats) { eqn, g in
            _ = try checkType(eqn, .float)
            return [try computingBF16InF32(eqn.input(0), g) { try expm1($0, g) }]
        },
        // Square-and-multiply in the same order as JAX, so float results round identically.
        Lowering("integer_pow", emits: ["Mul", "Reciprocal", "Div", "Expand", "Concat", "Slice"], dtypes: DType.numbers) { eqn, g in
            let y = try eqn.int("y")
            let x = try eqn.input(0)
            let shape = try eqn.output(0).shape
            if y == 0 {
                return [try g.expand(g.scalar(1, x.dtype), shape)]
            }
            var acc: Value?
            var base = x
            var n = y.magnitude
            while n > 0 {
                if n & 1 == 1 { acc = try acc.map { try g.op("Mul", $0, base) } ?? base }
                n >>= 1
                if n > 0 { base = try g.op("Mul", base, base) }
            }
            var result = acc!
            if y < 0 {
                guard x.dtype.isFloat else { throw LoweringError.unsupported("integer_pow with negative exponent on \(x.dtype)") }
                result = try g.op("Reciprocal", result)
            }
            // x ** 1 is x itself; the output still needs its own value for the graph.
            return [result.with(shape: shape)]
        },
        Lowering("clamp", emits: ["Max", "Min", "Cast"], dtypes: DType.numbers + [.bool],
                 note: "16-bit integers clamp in 32 bits, bool in u8 (no such Max/Min in ONNX Runtime)") { eqn, g in
            // lax.clamp(lo, x, hi); widening is exact and keeps the order.
            let t = try eqn.input(1).dtype
            let wide: DType? = t == .i16 ? .i32 : t == .u16 ? .u32 : t == .bool ? .u8 : nil
            let w = { (v: Value) in try wide.map { try v.cast(to: $0) } ?? v }
            let lo = try w(eqn.input(0)), x = try w(eqn.input(1)), hi = try w(eqn.input(2))
            return [try g.op("Min", g.op("Max", x, lo), hi).cast(to: t)]
        },
    ] + moreMathLowerings()
}

func log1p(_ x: Value, _ g: GraphBuilder) throws -> Value {
    let t = x.dtype, one = try g.scalar(1, t)
    let u = try g.op("Add", x, one)
    let d = try g.op("Sub", u, one)
    // x / d first: x * log(u) overflows for x near the type's max, where log1p is finite.
    let ratio = try g.op("Mul", g.op("Log", u), g.op("Div", x, d))
    let r = try g.op("Where", g.op("Equal", d, g.scalar(0, t)), x, ratio)
    // log1p(inf) = inf, where (inf * inf) / inf would be NaN.
    return try g.op("Where", g.op("Equal", x, g.scalar(.infinity, t)), x, r)
}

func expm1(_ x: Value, _ g: GraphBuilder) throws -> Value {
    let t = x.dtype, one = try g.scalar(1, t)
    let u = try g.op("Exp", x)
    let um1 = try g.op("Sub", u, one)
    // x / log(u) first: (u - 1) * x overflows for x near log(max), where expm1 is finite.
    let ratio = try g.op("Mul", um1, g.op("Div", x, g.op("Log", u)))
    let small = try g.op("Where", g.op("Equal", u, one), x, ratio)
    let minusOne = try g.scalar(-1, t)
    let big = try g.op("Where", g.op("Equal", um1, minusOne), minusOne, small)
    // exp overflows to inf for large x, where (inf * x) / inf would be NaN.
    return try g.op("Where", g.op("Equal", u, g.scalar(.infinity, t)), u, big)
}

/// f16/f32/f64 and bf16 (computed in f32): the float types these composites take.
func floatInput(_ eqn: Equation) throws -> Value {
    let x = try eqn.input(0)
    guard x.dtype.isFloat else { throw LoweringError.unsupported("\(eqn.primitive) on \(x.dtype) is not supported") }
    return x
}

/// The sign bit of x: true for negatives and -0 (1 / -0 = -inf).
func signBit(_ x: Value, _ g: GraphBuilder) throws -> Value {
    let zero = try g.scalar(0, x.dtype)
    return try g.op("Or", g.op("Less", x, zero), g.op("Less", g.op("Reciprocal", x), zero))
}

/// magnitude (>= 0) with x's sign, -0.0 included: x + 1/x has x's sign for every x (±0 gives
/// ±inf), so its Sign is ±1. Not a Where on the sign bit: ONNX Runtime's Where turns a -0.0 taken
/// from its X input into +0.0, and its optimizer swaps a Where's inputs to drop a Not.
func withSignOf(_ x: Value, _ magnitude: Value, _ g: GraphBuilder) throws -> Value {
    let sign = try g.op("Sign", g.op("Add", x, g.op("Reciprocal", x)))
    return try g.op("Mul", magnitude, sign)
}

func moreMathLowerings() -> [Lowering] {
    [
        // atan(|y| / |x|) in [0, pi/2], reflected to pi - a when x has its sign bit, then given
        // y's sign: the quadrants, signed zeros and infinities come out as in C's atan2.
        Lowering("atan2", emits: uniqueOps(["Abs", "Div", "Atan", "Sub", "Where", "Neg", "Less", "Reciprocal", "Or", "And", "Equal", "Cast", "Mul", "Sign", "Add"], doubleMathOps),
                 dtypes: DType.floats, note: "f64: Atan from its series (ONNX Runtime has no double Atan)") { eqn, g in
            let y0 = try floatInput(eqn), x0 = try eqn.input(1)
            let wide = y0.dtype == .bf16
            let y = wide ? try y0.cast(to: .f32) : y0, x = wide ? try x0.cast(to: .f32) : x0
            let t = y.dtype
            let ay = try g.op("Abs", y), ax = try g.op("Abs", x)
            var a = try arctangent(g.op("Div", ay, ax), g)
            let zero = try g.scalar(0, t)
            let bothZero = try g.op("And", g.op("Equal", ay, zero), g.op("Equal", ax, zero))
            let inf = try g.scalar(.infinity, t)
            let bothInf = try g.op("And", g.op("Equal", ay, inf), g.op("Equal", ax, inf))
            a = try g.op("Where", bothZero, zero, g.op("Where", bothInf, g.scalar(Double.pi / 4, t), a))
            a = try g.op("Where", signBit(x, g), g.op("Sub", g.scalar(Double.pi, t), a), a)
            let r = try withSignOf(y, a, g)
            return [try r.cast(to: y0.dtype)]
        },
        Lowering("cbrt", emits: ["Abs", "Pow", "Sign", "Mul", "Cast"], dtypes: DType.floats) { eqn, g in
            [try computingBF16InF32(floatInput(eqn), g) { x in
                let t = x.dtype
                let third = t == .f64 ? try g.scalar(1.0 / 3.0, t) : try g.constant([Float(1.0 / 3.0)], dtype: .f32, shape: []).cast(to: t)
                return try g.op("Mul", g.op("Sign", x), g.op("Pow", g.op("Abs", x), third))
            }]
        },
        // TO_NEAREST_EVEN is ONNX Round. AWAY_FROM_ZERO cannot be floor(|x| + 0.5): that sum
        // rounds up for the float just below 0.5. floor(|x|) plus whether the exact fraction
        // |x| - floor(|x|) reaches one half is exact.
        Lowering("round", emits: ["Round", "Abs", "Floor", "Sub", "GreaterOrEqual", "Cast", "Add", "Sign", "Reciprocal", "Mul"],
                 dtypes: DType.floats, note: "both rounding methods") { eqn, g in
            let x0 = try floatInput(eqn)
            let p = try eqn.require("rounding_method")
            let method = p.string ?? ""
            let even = method.contains("EVEN") || (!method.contains("AWAY") && p.int == 1)
            return [try computingBF16InF32(x0, g) { x in
                if even { return try g.op("Round", x) }
                let t = x.dtype
                let a = try g.op("Abs", x)
                let whole = try g.op("Floor", a)
                let up = try g.op("GreaterOrEqual", g.op("Sub", a, whole), g.scalar(0.5, t)).cast(to: t)
                let r = try g.op("Add", whole, up)
                return try withSignOf(x, r, g)
            }]
        },
        // x - x is exactly 0 for finite x and NaN for infinities and NaN.
        Lowering("is_finite", emits: ["Sub", "Equal", "Cast"], dtypes: DType.floats) { eqn, g in
            var x = try floatInput(eqn)
            if x.dtype == .bf16 { x = try x.cast(to: .f32) }
            return [try g.op("Equal", g.op("Sub", x, x), g.scalar(0, x.dtype), shape: eqn.output(0).shape)]
        },
        // XLA computes exp2 as exp(x * ln 2) with the product rounded to x's type, which in f16
        // and bf16 moves results by several ulps from 2^x; the same formula reproduces them.
        Lowering("exp2", emits: ["Mul", "Exp", "Cast"], dtypes: DType.floats, note: "exp(x * ln 2), rounded per step as XLA does; XLA flushes results below ~2^-126 to 0, ONNX Runtime keeps them") { eqn, g in
            let x = try floatInput(eqn)
            guard x.dtype == .bf16 else {
                return [try g.op("Exp", g.op("Mul", x, g.scalar(0.6931471805599453, x.dtype)), shape: eqn.output(0).shape)]
            }
            let product = try g.op("Mul", x.cast(to: .f32), g.scalar(0.69140625, .f32)).cast(to: .bf16)  // ln 2 in bf16
            return [try g.op("Exp", product.cast(to: .f32)).cast(to: .bf16)]
        },
        // 1 - erf(x) keeps no digits once erf(x) rounds to 1 (x > 4 or so in f32). The Chebyshev
        // fit erfc(z) = t exp(-z^2 + P(t)), t = 1 / (1 + z/2), z >= 0 (Numerical Recipes, 2nd ed.,
        // section 6.2) has relative error below 1.2e-7 everywhere; erfc(-z) = 2 - erfc(z).
        Lowering("erfc", emits: uniqueOps(["Abs", "Div", "Add", "Mul", "Sub", "Neg", "Exp", "Where", "Less", "Cast"], doubleErfOps),
                 dtypes: [.f16, .bf16, .f32, .f64], note: "f16/bf16/f32: relative error below 1.2e-7; f64: series and continued fraction, about 1e-15") { eqn, g in
            if try eqn.input(0).dtype == .f64 { return [try DoubleErf(eqn.input(0), g).erfc(g)] }
            return [try computingBF16InF32(floatInput(eqn), g) { x in
                let t = x.dtype
                let z = try g.op("Abs", x)
                let tt = try g.op("Div", g.scalar(1, t), g.op("Add", g.scalar(1, t), g.op("Mul", z, g.scalar(0.5, t))))
                let coefficients = [-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806,
                                    0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277]
                var poly = try g.scalar(coefficients.last!, t)
                for c in coefficients.dropLast().reversed() {
                    poly = try g.op("Add", g.scalar(c, t), g.op("Mul", tt, poly))
                }
                let e = try g.op("Mul", tt, g.op("Exp", g.op("Sub", poly, g.op("Mul", z, z))))
                return try g.op("Where", g.op("Less", x, g.scalar(0, t)), g.op("Sub", g.scalar(2, t), e), e)
            }]
        },
        // One step of the bit pattern toward y (away from zero when y is farther out).
        Lowering("nextafter", emits: uniqueOps(["Sign"], floatBitsOps, pickOps),
                 dtypes: DType.floats, note: "through the exact bit pattern (see bitcast_convert_type)") { eqn, g in
            let x0 = try floatInput(eqn), t0 = x0.dtype
            guard let layout = FloatLayout.of(t0) else { throw LoweringError.unsupported("nextafter on \(t0)") }
            let ct = layout.compute
            let x = try x0.cast(to: ct), y = try eqn.input(1).cast(to: ct)
            let zero = try g.scalar(0, ct)
            let up = try g.op("Equal", g.op("Greater", y, x), g.op("Greater", x, zero))
            let bits = try layout.encode(x, g)
            let one = try intConstant([1], layout.bits, g)
            let stepped = try layout.decode(pick(up, g.op("Add", bits, one), g.op("Sub", bits, one), g), g)
            let tiny = try g.op("Mul", g.op("Sign", y), layout.pow2(1 - layout.bias - layout.mantissaBits, g))
            var r = try g.op("Where", g.op("Equal", x, zero), tiny, stepped)
            r = try g.op("Where", g.op("Equal", x, y), y, r)
            r = try g.op("Where", g.op("Or", g.op("IsNaN", x), g.op("IsNaN", y)), g.op("Add", x, y), r)
            return [try r.cast(to: t0)]
        },
    ]
}
