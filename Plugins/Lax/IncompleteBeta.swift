import PluginKit

/// regularized_incomplete_beta(a, b, x) = I_x(a, b), as JAX computes it: the continued fraction
/// of DLMF 8.17.22 by the modified Lentz method, evaluated where it converges fast (x below
/// (a+1)/(a+b+2), else through I_x(a,b) = 1 - I_{1-x}(b,a)), times x^a (1-x)^b / (a B(a,b)).
/// The Lentz steps are an ONNX Loop of at most 200 (f32) or 600 (f64) steps that, like JAX's
/// while_loop, stops once every element's last factor is within eps/2 of 1.
func incompleteBetaLowering() -> Lowering {
    Lowering("regularized_incomplete_beta",
             emits: ["Loop", "Add", "Sub", "Mul", "Div", "Neg", "Abs", "Floor", "Log", "Exp", "Sin", "Less", "Greater",
                     "GreaterOrEqual", "LessOrEqual", "Equal", "And", "Or", "Not", "IsNaN", "IsInf", "Where", "ReduceMax",
                     "Cast", "Expand", "Reshape", "Shape"],
             dtypes: [.f32, .f64], note: "modified Lentz continued fraction in a Loop (200 steps f32, 600 f64) with JAX's stopping test") { eqn, g in
        let t = try checkType(eqn, .float)
        let m = FloatMath(g: g, t: t)
        let shape = try eqn.output(0).shape
        let (a0, b0, x0) = try (g.expand(eqn.input(0), shape), g.expand(eqn.input(1), shape), g.expand(eqn.input(2), shape))
        return [try m.incompleteBeta(a0, b0, x0, shape: shape)]
    }
}

extension FloatMath {
    var eps: Double { t == .f64 ? Double.ulpOfOne : Double(Float.ulpOfOne) }
    var tiny: Double { t == .f64 ? Double.leastNormalMagnitude : Double(Float.leastNormalMagnitude) }

    func incompleteBeta(_ a0: Value, _ b0: Value, _ x0: Value, shape: [Dim]) throws -> Value {
        let aZero = try or(eq(a0, 0), eq(b0, .infinity))
        let bZero = try or(eq(b0, 0), eq(a0, .infinity))
        let xZero = try eq(x0, 0), xOne = try eq(x0, 1)
        let resultZero = try or(and(bZero, not(xOne)), and(aZero, xZero))
        let resultOne = try or(and(aZero, not(xZero)), and(bZero, xOne))
        let outside = try or(or(lt(a0, 0), lt(b0, 0)), or(lt(x0, 0), gt(x0, 1)))
        let resultNaN = try or(outside, or(and(aZero, bZero), or(or(isNaN(a0), isNaN(b0)), isNaN(x0))))

        let direct = try lt(x0, div(add(a0, 1), add(add(a0, b0), 2)))
        let a = try select(direct, a0, b0), b = try select(direct, b0, a0)
        let x = try select(direct, x0, sub(1, x0))

        let fraction = try lentz(a, b, x, shape: shape)
        // a B(a, b) -> 1 as a -> 0 (a Gamma(a) = Gamma(a + 1)), which avoids dividing by a.
        let lbetaSmallA = try sub(lgamma(b), lgamma(add(a, b)))
        let lbeta = try add(lgamma(a), lbetaSmallA)
        let log1mx = try log1p(neg(x), g)
        let smallA = try exp(sub(mul(log1mx, b), lbetaSmallA))
        let general = try div(exp(sub(add(mul(log(x), a), mul(log1mx, b)), lbeta)), a)
        let factor = try select(lt(a, tiny * 2), smallA, general)
        var result = try mul(fraction, factor)
        result = try select(direct, result, sub(1, result))
        result = try select(resultZero, 0, result)
        result = try select(resultOne, 1, result)
        return try select(resultNaN, .nan, result).with(shape: shape)
    }

    /// The continued fraction b0 + a1/(b1 + a2/(b2 + ...)) with partial numerators a_n and
    /// denominators b_n of the incomplete beta function, by the modified Lentz method.
    private func lentz(_ a: Value, _ b: Value, _ x: Value, shape: [Dim]) throws -> Value {
        let small = eps / 2
        func tensor(_ v: Double) throws -> Value { try g.expand(c(v), shape) }
        func guarded(_ v: Value) throws -> Value { try select(lt(abs(v), small), small, v) }
        // Step 0: b_0 = 0, so h = c = small, d = 0.
        let h0 = try tensor(small), d0 = try tensor(0)
        let steps = t == .f64 ? 600 : 200
        let formal: [SubgraphInput] = [.typed(TensorType(.i64, [])), .typed(TensorType(.bool, [])),
                                       .typed(TensorType(t, shape)), .typed(TensorType(t, shape)), .typed(TensorType(t, shape))]
        let body = try g.subgraph(inputs: formal) { args in
            // The Loop counts from 0; the Lentz steps from 1.
            let n = try g.op("Add", args[0], g.scalar(1, .i64)).cast(to: t)
            let (cPrev, dPrev, hPrev) = (args[2], args[3], args[4])
            let numerator = try partialNumerator(n, a, b, x)
            let cNew = try guarded(add(c(1), div(numerator, cPrev)))
            let dNew = try div(c(1), guarded(add(c(1), mul(numerator, dPrev))))
            let delta = try mul(cNew, dNew)
            let hNew = try mul(hPrev, delta).with(shape: shape)
            let unconverged = try g.op("GreaterOrEqual", abs(sub(delta, c(1))), c(small))
            let any = try g.op("ReduceMax", unconverged.cast(to: .i32), attributes: ["keepdims": .int(0)]).cast(to: .bool)
            return [any, cNew.with(shape: shape), dNew.with(shape: shape), hNew]
        }
        let outs = try g.node("Loop", [g.constant([Int64(steps - 1)], dtype: .i64, shape: []), g.constant([true], dtype: .bool, shape: []), h0, d0, h0],
                              outputs: 3, attributes: ["body": .graph(body)])
        return outs[2].with(shape: shape)
    }

    /// a_1 = 1; a_{2m+1} = m (b - m) x / ((a + 2m - 1)(a + 2m)); a_{2m} = -(a + m)(a + b + m) x /
    /// ((a + 2m)(a + 2m + 1)), with a_2 (m = 0) written -(a + b) x / (a + 1).
    private func partialNumerator(_ n: Value, _ a: Value, _ b: Value, _ x: Value) throws -> Value {
        let m = try floor(div(sub(n, c(1)), c(2)))
        let even = try eq(sub(n, mul(floor(div(n, c(2))), c(2))), 0)
        let twoM = try mul(m, 2)
        let zeroNumerator = try div(mul(neg(add(a, b)), x), add(a, 1))
        let evenNumerator = try select(eq(m, 0), zeroNumerator,
                                       div(mul(mul(neg(add(a, m)), add(add(a, b), m)), x),
                                           mul(add(a, twoM), add(add(a, twoM), 1))))
        let oddNumerator = try div(mul(mul(m, sub(b, m)), x), mul(add(add(a, twoM), -1), add(a, twoM)))
        return try select(eq(n, 1), 1, select(even, evenNumerator, oddNumerator))
    }
}
