/// The inverse error function, which ONNX lacks: JAX's normal draws are sqrt(2) erfinv(u), so
/// both the erf_inv primitive and draws computed inside a pack (gamma) need it.
extension GraphBuilder {
    /// erfinv(x) = x p(w), w = -log(1 - x^2): Giles' single-precision polynomials in w - 2.5
    /// (w < 5) and sqrt(w) - 3 (tails), as XLA evaluates it; +-1 map to +-inf.
    public func erfInv(_ x: Value) throws -> Value {
        let t = x.dtype
        let w = try op("Neg", op("Log", op("Sub", scalar(1, t), op("Mul", x, x))))
        let central = try polynomial(op("Add", w, scalar(-2.5, t)), erfInvCentral)
        let tail = try polynomial(op("Add", op("Sqrt", w), scalar(-3, t)), erfInvTail)
        let p = try op("Where", op("Less", w, scalar(5, t)), central, tail)
        let out = try op("Mul", p, x)
        return try op("Where", op("Equal", op("Abs", x), scalar(1, t)), op("Mul", x, scalar(.infinity, t)), out, shape: x.shape)
    }
}

// Giles, "Approximating the erfinv function" (GPU Computing Gems, 2011), single precision;
// lowest degree first.
private let erfInvCentral: [Double] = [
    1.50140941, 0.246640727, -0.00417768164, -0.00125372503, 0.00021858087,
    -4.39150654e-06, -3.5233877e-06, 3.43273939e-07, 2.81022636e-08,
]
private let erfInvTail: [Double] = [
    2.83297682, 1.00167406, 0.00943887047, -0.0076224613, 0.00573950773,
    -0.00367342844, 0.00134934322, 0.000100950558, -0.000200214257,
]
