import PluginKit

/// igamma_grad_a(a, x) = dP(a, x)/da, what grad of gammainc with respect to a needs, as JAX
/// computes it: below the crossover (x <= 1 or x <= a) the power series of P and its derivative
/// in a, above it the continued fraction of Q = 1 - P and its derivative (so the result is minus
/// that), each scaled by x^a e^-x / Gamma(a). Both are ONNX Loops that, like JAX's while_loops,
/// update only the elements that have not converged and stop when none is left (the fraction
/// after at most 2000 steps).
func incompleteGammaGradALowering() -> Lowering {
    Lowering("igamma_grad_a",
             emits: ["Loop", "Add", "Sub", "Mul", "Div", "Neg", "Abs", "Floor", "Log", "Exp", "Sin", "Cos", "Less", "Greater",
                     "LessOrEqual", "Equal", "And", "Or", "Not", "IsNaN", "IsInf", "Where", "ReduceMax", "Cast", "Expand",
                     "Reshape", "Shape"],
             dtypes: [.f32, .f64], note: "JAX's series and continued fraction with their derivatives, in masked Loops") { eqn, g in
        let t = try checkType(eqn, .float)
        let shape = try eqn.output(0).shape
        let m = FloatMath(g: g, t: t)
        return [try m.igammaGradA(g.expand(eqn.input(0), shape), g.expand(eqn.input(1), shape), shape: shape)]
    }
}

extension FloatMath {
    func igammaGradA(_ a: Value, _ x: Value, shape: [Dim]) throws -> Value {
        let isNaN = try or(self.isNaN(a), self.isNaN(x))
        let xZero = try eq(x, 0)
        let domainError = try or(lt(x, 0), le(a, 0))
        let useFraction = try and(gt(x, 1), gt(x, a))
        let logAx = try sub(sub(mul(a, log(x)), x), lgamma(a))
        // log of the largest finite value: below -that, x^a e^-x / Gamma(a) underflows to 0.
        let logMax = t == .f64 ? 709.782712893384 : 88.72283905206835
        let underflow = try lt(logAx, -logMax)
        let ax = try exp(logAx)
        let enabled = try not(or(or(or(xZero, domainError), underflow), isNaN))
        let series = try seriesDerivative(ax, x, a, enabled: and(enabled, not(useFraction)), shape: shape)
        let fraction = try fractionDerivative(ax, x, a, enabled: and(enabled, useFraction), shape: shape)
        var out = try select(useFraction, neg(fraction), series)
        out = try select(xZero, 0, out)
        return try select(or(domainError, isNaN), .nan, out).with(shape: shape)
    }

    /// A Loop over `values` (each of `shape`) that runs while any element is `enabled`; the body
    /// gets the iteration number (from 1), the mask and the values and returns the next mask and
    /// values, of which only the enabled elements are kept.
    private func maskedLoop(_ enabled: Value, _ values: [Value], shape: [Dim], maxSteps: Int64?,
                            _ body: (Value, Value, [Value]) throws -> (Value, [Value])) throws -> [Value] {
        func any(_ p: Value) throws -> Value {
            try g.op("ReduceMax", p.cast(to: .i32), attributes: ["keepdims": .int(0)]).cast(to: .bool).with(shape: [])
        }
        let formal: [SubgraphInput] = [.typed(TensorType(.i64, [])), .typed(TensorType(.bool, [])), .typed(TensorType(.bool, shape))]
            + values.map { _ in .typed(TensorType(t, shape)) }
        let sub = try g.subgraph(inputs: formal) { args in
            let step = try g.op("Add", args[0], g.scalar(1, .i64)).cast(to: t)
            let mask = args[2], old = Array(args.dropFirst(3))
            let (nextMask, new) = try body(step, mask, old)
            let kept = try zip(new, old).map { try select(mask, $0, $1).with(shape: shape) }
            return [try any(nextMask), nextMask] + kept
        }
        let trip = try maxSteps.map { try g.constant([$0], dtype: .i64, shape: []) }
        let outs = try g.node("Loop", [trip, any(enabled), enabled] + values, outputs: values.count + 1,
                              attributes: ["body": .graph(sub)])
        return outs.dropFirst().map { $0.with(shape: shape) }
    }

    /// P's series sum_n x^n / (a+1)...(a+n) and its derivative in a, times ax / a.
    private func seriesDerivative(_ ax: Value, _ x: Value, _ a: Value, enabled: Value, shape: [Dim]) throws -> Value {
        func full(_ v: Double) throws -> Value { try g.expand(c(v), shape) }
        let outs = try maskedLoop(enabled, [a, full(1), full(1), full(0), full(0)], shape: shape, maxSteps: nil) { _, mask, v in
            let (r0, c0, ans0, dc0, dans0) = (v[0], v[1], v[2], v[3], v[4])
            let r = try add(r0, 1)
            let dc = try sub(mul(dc0, div(x, r)), div(mul(c0, x), mul(r, r)))
            let dans = try add(dans0, dc)
            let cNext = try mul(c0, div(x, r))
            let ans = try add(ans0, cNext)
            let going = try and(mask, gt(abs(div(dc, dans)), eps))
            return (going, [r, cNext, ans, dc, dans])
        }
        let (ans, dans) = (outs[2], outs[4])
        let dLogAx = try sub(log(x), digamma(add(a, 1)))
        return try div(mul(ax, add(mul(ans, dLogAx), dans)), a)
    }

    /// Q's continued fraction (its convergents p_k / q_k) and its derivative in a, times ax.
    private func fractionDerivative(_ ax: Value, _ x: Value, _ a: Value, enabled: Value, shape: [Dim]) throws -> Value {
        func full(_ v: Double) throws -> Value { try g.expand(c(v), shape) }
        let y0 = try sub(1, a)
        let z0 = try add(add(x, y0), 1)
        let pkm1 = try add(x, 1), qkm1 = try mul(z0, x)
        let ans0 = try div(pkm1, qkm1)
        let dqkm1 = try neg(x)
        let dans0 = try div(sub(full(0), mul(ans0, dqkm1)), qkm1)
        // y, z, pkm1, qkm1, pkm2, qkm2, dpkm2, dqkm2, dpkm1, dqkm1, ans, dans
        let initial = try [y0, z0, pkm1, qkm1, full(1), g.expand(x, shape), full(0), full(0), full(0), dqkm1, ans0, dans0]
        let outs = try maskedLoop(enabled, initial, shape: shape, maxSteps: 2000) { step, mask, v in
            let y = try add(v[0], 1), z = try add(v[1], 2)
            let (pkm1, qkm1, pkm2, qkm2) = (v[2], v[3], v[4], v[5])
            let (dpkm2, dqkm2, dpkm1, dqkm1) = (v[6], v[7], v[8], v[9])
            let yc = try mul(y, step)
            let pk = try sub(mul(pkm1, z), mul(pkm2, yc))
            let qk = try sub(mul(qkm1, z), mul(qkm2, yc))
            let nonzero = try not(eq(qk, 0))
            let ans = try select(nonzero, div(pk, qk), v[10])
            let dpk = try add(sub(sub(mul(dpkm1, z), pkm1), mul(dpkm2, yc)), mul(pkm2, step))
            let dqk = try add(sub(sub(mul(dqkm1, z), qkm1), mul(dqkm2, yc)), mul(qkm2, step))
            let dans = try select(nonzero, div(sub(dpk, mul(ans, dqk)), qk), v[11])
            let change = try select(nonzero, abs(sub(dans, v[11])), c(1))
            // Convergents grow without bound: rescale them (and their derivatives) by eps.
            let rescale = try gt(abs(pk), 1 / eps)
            func scaled(_ w: Value) throws -> Value { try select(rescale, mul(w, eps), w) }
            let next = try [y, z, scaled(pk), scaled(qk), scaled(pkm1), scaled(qkm1),
                            scaled(dpkm1), scaled(dqkm1), scaled(dpk), scaled(dqk), ans, dans]
            return (try and(mask, gt(change, eps)), next)
        }
        let (ans, dans) = (outs[10], outs[11])
        let dLogAx = try sub(log(x), digamma(a))
        return try mul(ax, add(mul(ans, dLogAx), dans))
    }
}
