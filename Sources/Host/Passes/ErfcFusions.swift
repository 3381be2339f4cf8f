/// Exact gelu written with erfc, `x * erfc(-x / sqrt 2) / 2` (jax.nn.gelu(approximate=False) in
/// recent JAX). The math pack lowers erfc as the Numerical Recipes rational approximation
/// (fractional error below 1.2e-7): with a = |z| and t = 1 / (1 + a / 2),
/// `r = t * exp(-a^2 + P(t))`, `erfc(z) = where(z < 0, 2 - r, r)`. That whole subgraph, read at
/// z = -x / sqrt 2 and halved, is the gelu ONNX computes as `0.5 x (1 + erf(x / sqrt 2))`; a
/// standalone erfc is left alone, since 1 - erf loses its relative precision in the tail.
extension Fusions {
    /// P(t) in Horner form, highest coefficient innermost.
    static let erfcCoefficients: [Double] = [-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806,
                                             0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277]

    static func erfcPattern(_ z: Pattern) -> Pattern {
        let a = op("Abs", z, as: "erfc.abs")
        let t = op("Div", num(1), op("Add", num(1), op("Mul", a, num(0.5))), as: "erfc.t")
        let t2 = Pattern.either([t, op("Reciprocal", op("Add", num(1), op("Mul", a, num(0.5))), as: "erfc.t")])
        var poly = num(erfcCoefficients.last!)
        for c in erfcCoefficients.dropLast().reversed() { poly = op("Add", num(c), op("Mul", t2, poly)) }
        let r = op("Mul", t2, op("Exp", op("Sub", poly, op("Mul", a, a))), as: "erfc.r")
        return op("Where", op("Less", z, num(0)), op("Sub", num(2), r), r)
    }

    /// -x / sqrt 2 in the spellings the lowering produces; named, as erfc reads it twice.
    static let minusXOverRoot2 = Pattern.either([
        op("Mul", op("Neg", v("x")), num(0.7071067811865476), as: "erfc.z"),
        op("Neg", op("Mul", v("x"), num(0.7071067811865476)), as: "erfc.z"),
        op("Mul", v("x"), num(-0.7071067811865476), as: "erfc.z"),
        op("Div", op("Neg", v("x")), num(1.4142135623730951), as: "erfc.z"),
    ])

    static let geluErfcs: [Fusion] = {
        let e = erfcPattern(minusXOverRoot2)
        return [
            op("Mul", op("Mul", num(0.5), v("x")), e),
            op("Mul", v("x"), op("Mul", e, num(0.5))),
            op("Mul", op("Mul", v("x"), e), num(0.5)),
        ].map { Fusion(name: "gelu-erfc", minOpset: 20, pattern: $0) { m, s in gelu(m, s, "none") } }
    }()
}
