import PluginKit

/// lax.div and lax.rem: truncating division and C-style remainder (the sign of the dividend).
/// XLA defines the cases C leaves undefined, and ONNX Runtime would trap on them, so integer
/// divisors are made safe first: x / 0 is -1 (all bits set), x rem 0 is x, and MIN / -1 is MIN
/// with MIN rem -1 = 0 (two's-complement wrap-around).
func integerDivisionLowerings() -> [Lowering] {
    [
        Lowering("div", emits: ["Div", "Equal", "Or"] + pickOps, dtypes: DType.numbers,
                 note: "integers: toward zero; x/0 = -1 (all bits set) and MIN/-1 = MIN as in XLA") { eqn, g in
            let a = try eqn.input(0), b = try eqn.input(1), t = a.dtype
            let shape = try eqn.output(0).shape
            guard t.isInt else {
                _ = try checkType(eqn, .float)
                return [try g.op("Div", a, b, shape: shape)]
            }
            let zero = try g.op("Equal", b, g.scalar(0, t))
            let one = try g.scalar(1, t)
            if t.isUnsignedInt {
                let q = try g.op("Div", a, pick(zero, one, b, g))
                return [try pick(zero, intConstant([~0], t, g), q, g).with(shape: shape)]
            }
            let minusOne = try g.op("Equal", b, g.scalar(-1, t))
            let q = try g.op("Div", a, pick(g.op("Or", zero, minusOne), one, b, g))
            // x / -1 is 0 - x, which wraps MIN to MIN instead of trapping.
            let negated = try g.op("Sub", g.scalar(0, t), a)
            return [try pick(zero, g.scalar(-1, t), pick(minusOne, negated, q, g), g).with(shape: shape)]
        },
        Lowering("rem", emits: ["Mod", "Equal", "Or"] + pickOps, dtypes: [.f16, .bf16, .f32, .f64] + DType.ints,
                 note: "Mod(fmod=1): the sign of the dividend; integers: x rem 0 = x, MIN rem -1 = 0 as in XLA") { eqn, g in
            let a = try eqn.input(0), b = try eqn.input(1), t = a.dtype
            let shape = try eqn.output(0).shape
            guard t.isInt else {
                _ = try checkType(eqn, .float)
                if t == .bf16 {
                    return [try g.op("Mod", a.cast(to: .f32), b.cast(to: .f32), attributes: ["fmod": .int(1)]).cast(to: .bf16).with(shape: shape)]
                }
                return [try g.op("Mod", a, b, attributes: ["fmod": .int(1)], shape: shape)]
            }
            let zero = try g.op("Equal", b, g.scalar(0, t))
            // x rem 1 = x rem -1 = 0, so -1 can become 1 and MIN rem -1 does not trap.
            let unsafe = t.isSignedInt ? try g.op("Or", zero, g.op("Equal", b, g.scalar(-1, t))) : zero
            let r = try g.op("Mod", a, pick(unsafe, g.scalar(1, t), b, g), attributes: ["fmod": .int(1)])
            return [try pick(zero, a, r, g).with(shape: shape)]
        },
    ]
}
