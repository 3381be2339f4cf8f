/// Softplus and Mish from the way JAX writes them. jax.nn.softplus is logaddexp(x, 0), which
/// lowers to `where(isnan(x), x, relu(x) + log1p(exp(-|x|)))` with log1p spelt out as
/// `u = e + 1; where(e == inf, e, where(u - 1 == 0, e, log(u) * (e / (u - 1))))`; jax.nn.mish is
/// x * tanh(softplus(x)). ONNX Runtime's Softplus and Mish agree with that to an ulp in f32 and
/// f16, keep NaN and the infinities, and have no f64 kernels, so only f32 and f16 are fused.
/// x * sigmoid(x) (jax.nn.silu) becomes Swish from opset 24, in f32 and f16 only: ONNX Runtime's
/// f64 Swish is off by ~1e-10 relative, short of f64 precision.
extension Fusions {
    static let activationFusions: [Fusion] = [softplus, mish, swish]

    /// log1p(e) as the lowering writes it (Kahan's correction, exact for tiny e, e kept at inf).
    static func log1p(_ e: Pattern) -> Pattern {
        let u = op("Add", e, num(1), as: "u")
        let d = op("Sub", u, num(1), as: "d")
        let kahan = op("Mul", op("Log", u), op("Div", e, d))
        return op("Where", op("Equal", e, num(.infinity)), e, op("Where", op("Equal", d, num(0)), e, kahan))
    }

    static let softplusPattern: Pattern = {
        let x = v("x")
        let e = op("Exp", op("Neg", op("Abs", x)), as: "e")
        let relu = Pattern.either([op("Relu", x), op("Max", x, num(0))])
        return op("Where", op("Not", op("Equal", x, x)), x, op("Add", relu, log1p(e)))
    }()

    static func softplusTyped(_ m: Match, _ s: FusionSite) -> Bool {
        (s.r.dtype(m["x"]) == .f32 || s.r.dtype(m["x"]) == .f16) && s.r.sameShape(m["x"], s.out)
    }

    static let softplus = Fusion(name: "softplus", minOpset: 1, pattern: softplusPattern) { m, s in
        softplusTyped(m, s) ? s.emit("Softplus", [m["x"]]) : nil
    }

    static let mish = Fusion(name: "mish", minOpset: 18, pattern: op("Mul", v("x"), op("Tanh", op("Softplus", v("x"))))) { m, s in
        softplusTyped(m, s) ? s.emit("Mish", [m["x"]]) : nil
    }

    static let swish = Fusion(name: "swish", minOpset: 24, pattern: op("Mul", v("x"), op("Sigmoid", v("x")))) { m, s in
        softplusTyped(m, s) ? s.emit("Swish", [m["x"]], [Attribute(name: "alpha", value: .float(1))]) : nil
    }
}
