import PluginKit

/// Elementwise arithmetic in one float dtype, so the special-function decompositions below read
/// like the formulas they implement. Every constant is a scalar of that dtype.
struct FloatMath {
    let g: GraphBuilder
    let t: DType

    func c(_ v: Double) throws -> Value { try g.scalar(v, t) }
    func add(_ a: Value, _ b: Value) throws -> Value { try g.op("Add", a, b) }
    func add(_ a: Value, _ b: Double) throws -> Value { try g.op("Add", a, c(b)) }
    func sub(_ a: Value, _ b: Value) throws -> Value { try g.op("Sub", a, b) }
    func sub(_ a: Double, _ b: Value) throws -> Value { try g.op("Sub", c(a), b) }
    func mul(_ a: Value, _ b: Value) throws -> Value { try g.op("Mul", a, b) }
    func mul(_ a: Value, _ b: Double) throws -> Value { try g.op("Mul", a, c(b)) }
    func div(_ a: Value, _ b: Value) throws -> Value { try g.op("Div", a, b) }
    func div(_ a: Double, _ b: Value) throws -> Value { try g.op("Div", c(a), b) }
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
    func lt(_ a: Value, _ b: Double) throws -> Value { try g.op("Less", a, c(b)) }
    func le(_ a: Value, _ b: Double) throws -> Value { try g.op("LessOrEqual", a, c(b)) }
    func gt(_ a: Value, _ b: Value) throws -> Value { try g.op("Greater", a, b) }
    func gt(_ a: Value, _ b: Double) throws -> Value { try g.op("Greater", a, c(b)) }
    func eq(_ a: Value, _ b: Value) throws -> Value { try g.op("Equal", a, b) }
    func eq(_ a: Value, _ b: Double) throws -> Value { try g.op("Equal", a, c(b)) }
    func and(_ a: Value, _ b: Value) throws -> Value { try g.op("And", a, b) }
    func or(_ a: Value, _ b: Value) throws -> Value { try g.op("Or", a, b) }
    func not(_ a: Value) throws -> Value { try g.op("Not", a) }
    func isInf(_ a: Value) throws -> Value { try g.op("IsInf", a) }
    func isNaN(_ a: Value) throws -> Value { try g.op("IsNaN", a) }
    func isInteger(_ a: Value) throws -> Value { try eq(a, floor(a)) }
    func select(_ cond: Value, _ a: Value, _ b: Value) throws -> Value { try g.op("Where", cond, a, b) }
    func select(_ cond: Value, _ a: Double, _ b: Value) throws -> Value { try g.op("Where", cond, c(a), b) }
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
        let z = try select(reflect, neg(x), add(x, -1))
        var series = try c(lanczosC0)
        for (k, ck) in lanczosC.enumerated() {
            series = try add(series, div(c(ck), add(z, Double(k + 1))))
        }
        let tt = try add(z, lanczosG + 0.5)
        let logT = try log(tt)
        // (z + 1/2) log t - t, written as XLA does so the rounding follows JAX's
        let logY = try add(add(c(0.91893853320467274178032973640562),  // log sqrt(2 pi)
                                   mul(sub(add(z, 0.5), div(tt, logT)), logT)),
                           log(series))
        // log|sin(pi x)| from the distance of |x| to the nearest integer, so large |x| stays exact.
        let ax = try abs(x)
        let frac = try sub(ax, floor(ax))
        let reduced = try select(gt(frac, 0.5), sub(1, frac), frac)
        let logSin = try log(sin(mul(reduced, Double.pi)))
        let reflection = try select(isInf(logSin), neg(logSin),
                                    sub(sub(c(1.1447298858494002), logSin), logY))  // log pi
        let out = try select(reflect, reflection, logY)
        return try select(isInf(x), .infinity, out)
    }

    /// digamma = d/dx log Gamma: the derivative of the Lanczos form, reflected below 1/2 with
    /// psi(x) = psi(1 - x) - pi / tan(pi x); NaN at the poles (non-positive integers).
    func digamma(_ x: Value) throws -> Value {
        let reflect = try lt(x, 0.5)
        let z = try select(reflect, neg(x), add(x, -1))
        var num = try c(0), den = try c(lanczosC0)
        for (k, ck) in lanczosC.enumerated() {
            let zk = try add(z, Double(k + 1))
            let term = try div(c(ck), zk)
            num = try sub(num, div(term, zk))
            den = try add(den, term)
        }
        let tt = try add(z, lanczosG + 0.5)
        let y = try sub(add(log(tt), div(num, den)), div(c(lanczosG), tt))
        // pi x reduced by the nearest integer keeps tan accurate for large negative x
        let r = try add(x, abs(floor(add(x, 0.5))))
        let pr = try mul(r, Double.pi)
        let reflection = try sub(y, div(mul(cos(pr), Double.pi), sin(pr)))
        let out = try select(reflect, reflection, y)
        let pole = try and(le(x, 0), isInteger(x))
        return try select(pole, .nan, out)
    }

    /// Hurwitz zeta(s, q) = sum_k (q + k)^-s by Euler-Maclaurin: nine terms summed directly, the
    /// tail as an integral plus twelve Bernoulli corrections.
    func zeta(_ s: Value, _ q: Value) throws -> Value {
        let direct = 9
        var sum = try pow(q, neg(s))
        for k in 1..<direct { sum = try add(sum, pow(add(q, Double(k)), neg(s))) }
        let a = try add(q, Double(direct))
        let w = try pow(a, neg(s))                                       // a^-s
        sum = try add(sum, div(mul(w, a), add(s, -1)))           // a^(1-s) / (s - 1)
        sum = try add(sum, mul(w, 0.5))
        var fac = try div(mul(s, w), a)                                  // s a^(-s-1)
        let invA2 = try div(1, mul(a, a))
        for (j, b) in bernoulliOverFactorial.enumerated() {
            sum = try add(sum, mul(fac, b))
            if j + 1 < bernoulliOverFactorial.count {
                let m = Double(2 * j + 2)                                    // next: (s+2j+1)(s+2j+2) / a^2
                fac = try mul(mul(fac, mul(add(s, m - 1), add(s, m))), invA2)
            }
        }
        // Domain as JAX defines it, later rules winning: s < 1 and s = +inf are undefined; a
        // non-positive integer q (-inf too) hits a pole of a term, +inf for a finite even s and
        // NaN (no sign) otherwise; any other q <= 0 is undefined unless s is an integer; s == 1 is
        // the pole, even at a NaN q.
        var out = try select(lt(s, 1), .nan, sum)
        out = try select(eq(s, .infinity), .nan, out)
        let qNonPos = try le(q, 0)
        let evenS = try and(isInteger(mul(s, 0.5)), lt(g.op("Abs", s), c(.infinity)))
        out = try select(and(qNonPos, isInteger(q)), select(evenS, .infinity, c(.nan)), out)
        out = try select(and(qNonPos, not(isInteger(s))), .nan, out)
        out = try select(eq(s, 1), .infinity, out)
        return out
    }

    /// x^a e^-x / Gamma(a), the common factor of both incomplete gamma expansions.
    /// Below the smallest normal it is 0, as XLA computes it: its CPU and GPU backends flush
    /// denormal results, so P(a, x) for a near the smallest normal is 0 there, not ~1.
    private func gammaPrefactor(_ a: Value, _ x: Value) throws -> Value {
        let p = try exp(sub(sub(mul(a, log(x)), x), lgamma(a)))
        let tiny: Double = t == .f64 ? 2.2250738585072014e-308 : t == .f16 ? 6.103515625e-05 : 1.1754943508222875e-38
        return try select(lt(p, tiny), 0, p)
    }

    /// P(a, x) by its power series sum x^n / (a+1)...(a+n); used where x <= max(a, 1), where the
    /// terms shrink at least as fast as exp(-n^2 / 2a): 64 terms reach f32 precision for a <= 100.
    func igammaSeries(_ a: Value, _ x: Value, prefactor: Value, terms: Int = 64) throws -> Value {
        var r = a, term = try c(1), sum = try c(1)
        for _ in 0..<terms {
            r = try add(r, 1)
            term = try mul(term, div(x, r))
            sum = try add(sum, term)
        }
        return try div(mul(sum, prefactor), a)
    }

    /// Q(a, x) by Legendre's continued fraction (modified Lentz evaluation); used where
    /// x > max(a, 1), where 40 steps converge to f32 precision for a <= 100.
    func igammacFraction(_ a: Value, _ x: Value, prefactor: Value, steps: Int = 40) throws -> Value {
        var b = try sub(add(x, 1), a)
        var cc: Value? = nil              // 1/tiny: the first step reduces c to b
        var d = try div(1, b)
        var h = d
        for i in 1...steps {
            let fi = Double(i)
            let an = try mul(add(a, -fi), fi)           // -i (i - a)
            b = try add(b, 2)
            d = try add(mul(an, d), b)
            let cNext = try cc.map { try add(b, div(an, $0)) } ?? b
            d = try div(1, d)
            h = try mul(h, mul(d, cNext))
            cc = cNext
        }
        return try mul(h, prefactor)
    }

    /// The regularized lower incomplete gamma P(a, x) (lax.igamma).
    func igamma(_ a: Value, _ x: Value) throws -> Value {
        let useFraction = try and(not(lt(x, 1)), gt(x, a))
        let pre = try gammaPrefactor(a, x)
        var out = try select(useFraction, sub(1, igammacFraction(a, x, prefactor: pre)),
                             igammaSeries(a, x, prefactor: pre))
        // No shortcut for a = 0 or a = +inf: like JAX, they go through the expansions, whose
        // prefactor is 0 there (P = 0/0 = NaN for a = 0, x < 1; 1 for a = 0, x > 1; 0 for
        // a = +inf, x < 1; NaN for a = +inf, x >= 1).
        out = try select(eq(x, 0), 0, out)
        out = try select(isInf(x), 1, out)
        return try select(gammaDomainError(a, x), .nan, out)
    }

    /// The regularized upper incomplete gamma Q(a, x) = 1 - P(a, x) (lax.igammac).
    func igammac(_ a: Value, _ x: Value) throws -> Value {
        let useSeries = try or(lt(x, 1), lt(x, a))
        let pre = try gammaPrefactor(a, x)
        var out = try select(useSeries, sub(1, igammaSeries(a, x, prefactor: pre)),
                             igammacFraction(a, x, prefactor: pre))
        out = try select(eq(x, 0), 1, out)
        out = try select(or(isInf(x), eq(a, 0)), 0, out)
        return try select(gammaDomainError(a, x), .nan, out)
    }

    /// Where JAX's incomplete gammas are NaN whatever the expansions give: negative a or x,
    /// a = x = 0, NaN inputs. (+inf a is not an error there: see igamma.)
    private func gammaDomainError(_ a: Value, _ x: Value) throws -> Value {
        let negative = try or(lt(x, 0), lt(a, 0))
        let bothZero = try and(eq(a, 0), eq(x, 0))
        let notNumber = try or(isNaN(a), isNaN(x))
        return try or(or(negative, bothZero), notNumber)
    }

    /// polygamma(n, x) = (-1)^(n+1) n! zeta(n + 1, x), digamma for n = 0, NaN unless n is a
    /// non-negative integer.
    func polygamma(_ n: Value, _ x: Value) throws -> Value {
        let n1 = try add(n, 1)
        let half = try mul(n, 0.5)
        let odd = try not(isInteger(half))
        let sign = try select(odd, c(1), c(-1))
        let factorial = try exp(lgamma(n1))
        var out = try mul(mul(sign, factorial), zeta(n1, x))
        out = try select(eq(n, 0), digamma(x), out)
        let bad = try or(not(isInteger(n)), lt(n, 0))
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
