/// Polynomial and Chebyshev series evaluation, the building blocks of the rational and series
/// approximations special functions are made of. Coefficients are plain numbers baked into the
/// graph as scalars of `x`'s dtype, so the same series serves f32 and f64.
extension GraphBuilder {
    /// c[0] + c[1] x + ... + c[n] x^n by Horner's rule (n Mul and n Add nodes).
    public func polynomial(_ x: Value, _ coefficients: [Double]) throws -> Value {
        guard !coefficients.isEmpty else { throw LoweringError.invalid("a polynomial needs at least one coefficient") }
        let t = x.dtype
        var acc = try scalar(coefficients.last!, t)
        for c in coefficients.dropLast().reversed() {
            acc = try op("Add", op("Mul", acc, x), scalar(c, t))
        }
        return acc
    }

    /// c[0] T0(t) + c[1] T1(t) + ... + c[n] Tn(t) for t in [-1, 1], by Clenshaw's recurrence
    /// (stable where the equivalent power series would cancel).
    public func chebyshev(_ t: Value, _ coefficients: [Double]) throws -> Value {
        guard coefficients.count >= 2 else { throw LoweringError.invalid("a Chebyshev series needs at least two coefficients") }
        let dt = t.dtype
        let twoT = try op("Add", t, t)
        var b1 = try scalar(coefficients.last!, dt)
        var b2: Value? = nil
        for c in coefficients.dropFirst().dropLast().reversed() {
            var next = try op("Add", op("Mul", twoT, b1), scalar(c, dt))
            if let b2 { next = try op("Sub", next, b2) }
            b2 = b1; b1 = next
        }
        // c0 + t b1 - b2
        var out = try op("Add", op("Mul", t, b1), scalar(coefficients[0], dt))
        if let b2 { out = try op("Sub", out, b2) }
        return out
    }
}
