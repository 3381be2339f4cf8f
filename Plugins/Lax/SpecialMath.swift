import PluginKit

/// Elementwise arithmetic in one float dtype, so the special-function decompositions below read
/// like the formulas they implement. Every constant is a scalar of that dtype.
struct FloatMath {
    let g: GraphBuilder
    let t: DType

    func c(_ v: Double) throws -> Value { try g.scalar(v, t) }
    func add(_ a: Value, _ b: Value) throws -> Value { try g.op("Add", a, b) }
    func add(_ a: Value, _ b: Double) throws -> Value { try g.op("Add", a, try c(b)) }
    func sub(_ a: Value, _ b: Value) throws -> Value { try g.op("Sub", a, b) }
    func sub(_ a: Double, _ b: Value) throws -> Value { try g.op("Sub", try c(a), b) }
    func mul(_ a: Value, _ b: Value) throws -> Value { try g.op("Mul", a, b) }
    func mul(_ a: Value, _ b: Double) throws -> Value { try g.op("Mul", a, try c(b)) }
    func div(_ a: Value, _ b: Value) throws -> Value { try g.op("Div", a, b) }
    func div(_ a: Double, _ b: Value) throws -> Value { try g.op("Div", try c(a), b) }
    func neg(_ a: Value) throws -> Value { try g.op("Neg", a) }
    func abs(_ a: Value) throws -> Value { try g.op("Abs", a) }
    func floor(_ a: Value) throws -> Value { try g.op("Floor", a) }
    func log(_ a: Value) throws -> Value { try g.op("Log", a) }
    func exp(_ a: Value) throws -> Value { try g.op("Exp", a) }
    func sqrt(_ a: Value) throws -> Value { try g.op("Sqrt", a) }
    func sin(_ a: Value) throws -> Value { try g.op("Sin", a) }
    func cos(_ a: Value) throws -> Value { try g.op("Cos", a) }
    func pow(_ a: Value, _ b: Value) throws -> Value { try g.op("Pow", a, b) }
    func lt(_ a: Value, _ b: Value) throws -> Value { try g.op("Less", a, b) }
    func lt(_ a: Value, _ b: Double) throws -> Value { try g.op("Less", a, try c(b)) }
    func le(_ a: Value, _ b: Double) throws -> Value { try g.op("LessOrEqual", a, try c(b)) }
    func gt(_ a: Value, _ b: Value) throws -> Value { try g.op("Greater", a, b) }
    func gt(_ a: Value, _ b: Double) throws -> Value { try g.op("Greater", a, try c(b)) }
    func eq(_ a: Value, _ b: Value) throws -> Value { try g.op("Equal", a, b) }
    func eq(_ a: Value, _ b: Double) throws -> Value { try g.op("Equal", a, try c(b)) }
    func and(_ a: Value, _ b: Value) throws -> Value { try g.op("And", a, b) }
    func or(_ a: Value, _ b: Value) throws -> Value { try g.op("Or", a, b) }
    func not(_ a: Value) throws -> Value { try g.op("Not", a) }
    func isInf(_ a: Value) throws -> Value { try g.op("IsInf", a) }
    func isNaN(_ a: Value) throws -> Value { try g.op("IsNaN", a) }
    func isInteger(_ a: Value) throws -> Value { try eq(a, try floor(a)) }
    func select(_ cond: Value, _ a: Value, _ b: Value) throws -> Value { try g.op("Where", cond, a, b) }
    func select(_ cond: Value, _ a: Double, _ b: Value) throws -> Value { try g.op("Where", cond, try c(a), b) }
}

// The Lanczos approximation with g = 7 and nine terms (the classic table, accurate to ~1e-15):
// Gamma(z + 1) = sqrt(2 pi) (z + g + 1/2)^(z + 1/2) e^-(z + g + 1/2) A(z),
// A(z) = c0 + sum_k c_k / (z + k).
private let lanczosG = 7.0
private let lanczosC0 = 0.99999999999980993227684700473478
private let lanczosC: [Double] = [
    676.520368121885098567009190444019, -1259.13921672240287047156078755283,
    771.3234287776530788486528258894, -176.61502916214059906584551354,
    12.507343278686904814458936853, -0.13857109526572011689554707,
    9.984369578019570859563e-6, 1.50563273514931155834e-7,
]

extension FloatMath {
    /// log|Gamma(x)|: Lanczos for x >= 1/2, the reflection formula
    /// log pi - log|sin(pi x)| - lgamma(1 - x) below; poles (non-positive integers) give +inf.
    func lgamma(_ x: Value) throws -> Value {
        let reflect = try lt(x, 0.5)
        let z = try select(reflect, try neg(x), try add(x, -1))
        var series = try c(lanczosC0)
        for (k, ck) in lanczosC.enumerated() {
            series = try add(series, try div(try c(ck), try add(z, Double(k + 1))))
        }
        let tt = try add(z, lanczosG + 0.5)
        let logT = try log(tt)
        // (z + 1/2) log t - t, written as XLA does so the rounding follows JAX's
        let logY = try add(try add(try c(0.91893853320467274178032973640562),  // log sqrt(2 pi)
                                   try mul(try sub(try add(z, 0.5), try div(tt, logT)), logT)),
                           try log(series))
        // log|sin(pi x)| from the distance of |x| to the nearest integer, so large |x| stays exact.
        let ax = try abs(x)
        let frac = try sub(ax, try floor(ax))
        let reduced = try select(try gt(frac, 0.5), try sub(1, frac), frac)
        let logSin = try log(try sin(try mul(reduced, Double.pi)))
        let reflection = try select(try isInf(logSin), try neg(logSin),
                                    try sub(try sub(try c(1.1447298858494002), logSin), logY))  // log pi
        let out = try select(reflect, reflection, logY)
        return try select(try isInf(x), .infinity, out)
    }

    /// digamma = d/dx log Gamma: the derivative of the Lanczos form, reflected below 1/2 with
    /// psi(x) = psi(1 - x) - pi / tan(pi x); NaN at the poles (non-positive integers).
    func digamma(_ x: Value) throws -> Value {
        let reflect = try lt(x, 0.5)
        let z = try select(reflect, try neg(x), try add(x, -1))
        var num = try c(0), den = try c(lanczosC0)
        for (k, ck) in lanczosC.enumerated() {
            let zk = try add(z, Double(k + 1))
            let term = try div(try c(ck), zk)
            num = try sub(num, try div(term, zk))
            den = try add(den, term)
        }
        let tt = try add(z, lanczosG + 0.5)
        let y = try sub(try add(try log(tt), try div(num, den)), try div(try c(lanczosG), tt))
        // pi x reduced by the nearest integer keeps tan accurate for large negative x
        let r = try add(x, try abs(try floor(try add(x, 0.5))))
        let pr = try mul(r, Double.pi)
        let reflection = try sub(y, try div(try mul(try cos(pr), Double.pi), try sin(pr)))
        let out = try select(reflect, reflection, y)
        let pole = try and(try le(x, 0), try isInteger(x))
        return try select(pole, .nan, out)
    }

    /// Hurwitz zeta(s, q) = sum_k (q + k)^-s by Euler-Maclaurin: nine terms summed directly, the
    /// tail as an integral plus twelve Bernoulli corrections.
    func zeta(_ s: Value, _ q: Value) throws -> Value {
        let direct = 9
        var sum = try pow(q, try neg(s))
        for k in 1..<direct { sum = try add(sum, try pow(try add(q, Double(k)), try neg(s))) }
        let a = try add(q, Double(direct))
        let w = try pow(a, try neg(s))                                       // a^-s
        sum = try add(sum, try div(try mul(w, a), try add(s, -1)))           // a^(1-s) / (s - 1)
        sum = try add(sum, try mul(w, 0.5))
        var fac = try div(try mul(s, w), a)                                  // s a^(-s-1)
        let invA2 = try div(1, try mul(a, a))
        for (j, b) in bernoulliOverFactorial.enumerated() {
            sum = try add(sum, try mul(fac, b))
            if j + 1 < bernoulliOverFactorial.count {
                let m = Double(2 * j + 2)                                    // next: (s+2j+1)(s+2j+2) / a^2
                fac = try mul(try mul(fac, try mul(try add(s, m - 1), try add(s, m))), invA2)
            }
        }
        // Domain as JAX defines it: s == 1 is the pole, s < 1 undefined; a non-positive integer q
        // hits a pole of a term, +inf for even s and NaN (no sign) otherwise; any other q <= 0 is
        // undefined unless s is an integer.
        var out = try select(try eq(s, 1), .infinity, sum)
        out = try select(try lt(s, 1), .nan, out)
        let qNonPos = try le(q, 0)
        let evenS = try isInteger(try mul(s, 0.5))
        out = try select(try and(qNonPos, try isInteger(q)), try select(evenS, .infinity, try c(.nan)), out)
        out = try select(try and(qNonPos, try not(try isInteger(s))), .nan, out)
        return out
    }

    /// x^a e^-x / Gamma(a), the common factor of both incomplete gamma expansions.
    private func gammaPrefactor(_ a: Value, _ x: Value) throws -> Value {
        try exp(try sub(try sub(try mul(a, try log(x)), x), try lgamma(a)))
    }

    /// P(a, x) by its power series sum x^n / (a+1)...(a+n); used where x <= max(a, 1), where the
    /// terms shrink at least as fast as exp(-n^2 / 2a): 64 terms reach f32 precision for a <= 100.
    func igammaSeries(_ a: Value, _ x: Value, prefactor: Value, terms: Int = 64) throws -> Value {
        var r = a, term = try c(1), sum = try c(1)
        for _ in 0..<terms {
            r = try add(r, 1)
            term = try mul(term, try div(x, r))
            sum = try add(sum, term)
        }
        return try div(try mul(sum, prefactor), a)
    }

    /// Q(a, x) by Legendre's continued fraction (modified Lentz evaluation); used where
    /// x > max(a, 1), where 40 steps converge to f32 precision for a <= 100.
    func igammacFraction(_ a: Value, _ x: Value, prefactor: Value, steps: Int = 40) throws -> Value {
        var b = try sub(try add(x, 1), a)
        var cc: Value? = nil              // 1/tiny: the first step reduces c to b
        var d = try div(1, b)
        var h = d
        for i in 1...steps {
            let fi = Double(i)
            let an = try mul(try add(a, -fi), fi)           // -i (i - a)
            b = try add(b, 2)
            d = try add(try mul(an, d), b)
            let cNext = try cc.map { try add(b, try div(an, $0)) } ?? b
            d = try div(1, d)
            h = try mul(h, try mul(d, cNext))
            cc = cNext
        }
        return try mul(h, prefactor)
    }

    /// The regularized lower incomplete gamma P(a, x) (lax.igamma).
    func igamma(_ a: Value, _ x: Value) throws -> Value {
        let useFraction = try and(try gt(x, 1), try gt(x, a))
        let pre = try gammaPrefactor(a, x)
        var out = try select(useFraction, try sub(1, try igammacFraction(a, x, prefactor: pre)),
                             try igammaSeries(a, x, prefactor: pre))
        out = try select(try eq(x, 0), 0, out)
        out = try select(try or(try isInf(x), try eq(a, 0)), 1, out)
        return try select(try gammaDomainError(a, x), .nan, out)
    }

    /// The regularized upper incomplete gamma Q(a, x) = 1 - P(a, x) (lax.igammac).
    func igammac(_ a: Value, _ x: Value) throws -> Value {
        let useSeries = try or(try lt(x, 1), try lt(x, a))
        let pre = try gammaPrefactor(a, x)
        var out = try select(useSeries, try sub(1, try igammaSeries(a, x, prefactor: pre)),
                             try igammacFraction(a, x, prefactor: pre))
        out = try select(try eq(x, 0), 1, out)
        out = try select(try or(try isInf(x), try eq(a, 0)), 0, out)
        return try select(try gammaDomainError(a, x), .nan, out)
    }

    /// Where JAX's incomplete gammas are NaN: negative a or x, a = x = 0, infinite a, NaN inputs.
    /// (a = 0 with x > 0 is the limit P = 1, Q = 0.)
    private func gammaDomainError(_ a: Value, _ x: Value) throws -> Value {
        let negative = try or(try lt(x, 0), try lt(a, 0))
        let bothZero = try and(try eq(a, 0), try eq(x, 0))
        let notNumber = try or(try isInf(a), try or(try isNaN(a), try isNaN(x)))
        return try or(try or(negative, bothZero), notNumber)
    }

    /// polygamma(n, x) = (-1)^(n+1) n! zeta(n + 1, x), digamma for n = 0, NaN unless n is a
    /// non-negative integer.
    func polygamma(_ n: Value, _ x: Value) throws -> Value {
        let n1 = try add(n, 1)
        let half = try mul(n, 0.5)
        let odd = try not(try isInteger(half))
        let sign = try select(odd, try c(1), try c(-1))
        let factorial = try exp(try lgamma(n1))
        var out = try mul(try mul(sign, factorial), try zeta(n1, x))
        out = try select(try eq(n, 0), try digamma(x), out)
        let bad = try or(try not(try isInteger(n)), try lt(n, 0))
        return try select(bad, .nan, out)
    }
}

// B_2j / (2j)! for j = 1...12, the Euler-Maclaurin correction weights.
private let bernoulliOverFactorial: [Double] = [
    1.0 / 12, -1.0 / 720, 1.0 / 30240, -1.0 / 1209600, 1.0 / 47900160,
    -691.0 / 1307674368000, 1.0 / 74724249600, -3617.0 / 10670622842880000,
    43867.0 / 5109094217170944000, -174611.0 / 802857662698291200000,
    77683.0 / 14101100039391805440000, -236364091.0 / 1693824136731743669452800000,
]
