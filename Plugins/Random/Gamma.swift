import PluginKit

/// random_gamma(key, a): JAX's own algorithm, draw for draw. Each element of `a` gets its own key
/// (the key split into one subkey per element, as JAX's impl does), then runs Marsaglia and
/// Tsang's rejection sampler: an outer loop draws (x, U) until U accepts x, and each of its
/// rounds has an inner loop that redraws the normal x until v = (1 + c x)^3 is positive. JAX maps
/// this over the elements; here every element runs at once and both loops are ONNX Loops that
/// go on while any element is still rejected, updating only the rejected ones (what vmap of
/// the while_loop computes). The draws are JAX's threefry bits turned into floats exactly as
/// jax.random.uniform and normal do, so a model reproduces JAX's samples: they match to float
/// rounding unless a rounding difference flips an accept/reject test right at its boundary.
func gammaLowering() -> Lowering {
    Lowering("random_gamma",
             emits: ["Loop", "Where", "ReduceMax", "Cast", "Add", "Sub", "Mul", "Div", "Neg", "Sqrt", "Log", "Pow", "Max",
                     "Abs", "Less", "Equal", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Gather", "Expand", "Range",
                     "Squeeze", "Reshape"] + GraphBuilder.bitwiseOps,
             dtypes: [.u32],
             note: "float32 draws from threefry keys: JAX's Marsaglia-Tsang sampler on its stream, two nested Loops over all elements at once") { eqn, g in
        let key = try eqn.input(0), alpha = try eqn.input(1), out = try eqn.output(0)
        guard out.dtype == .f32, alpha.dtype == .f32 else {
            throw LoweringError.unsupported("random_gamma of \(out.dtype) (float32 only)")
        }
        try requireThreefry(eqn)
        let keyBatch = try checkKeyData(key).dropLast()
        let shape = out.shape
        guard shape.count >= keyBatch.count, Array(shape.prefix(keyBatch.count)) == Array(keyBatch) else {
            throw LoweringError.invalid("random_gamma: keys of shape \(Array(keyBatch)) for draws of shape \(shape)")
        }
        // One key per element: each key split into as many subkeys as it has elements.
        let (k0, k1, _) = try encryptIota(g, key: key, shape: Array(shape.dropFirst(keyBatch.count)))
        let logSpace = eqn.param("log_space")?.bool ?? false
        return [try GammaSampler(g: g, shape: shape).sample(key: (k0, k1), alpha: alpha, logSpace: logSpace)]
    }
}

/// One threefry key per element, as its two uint32 words.
typealias KeyPair = (Value, Value)

struct GammaSampler {
    let g: GraphBuilder
    let shape: [Dim]

    func f(_ x: Float) throws -> Value { try g.scalar(Double(x), .f32) }
    func op(_ name: String, _ inputs: Value...) throws -> Value { try g.op(name, inputs, shape: shape) }

    /// jax.random.split(key, n): key i encrypts the counter (0, i).
    func split(_ key: KeyPair, _ n: Int) throws -> [KeyPair] {
        try (0..<n).map { i in
            let (a, b) = try Threefry(g: g, shape: shape)(key: key.0, key.1, counter: g.scalar(0, .u32), g.scalar(Double(i), .u32))
            return (try g.expand(a, shape), try g.expand(b, shape))
        }
    }

    /// jax.random.uniform(key, (), float32, lo, hi): the top 23 bits of one 32-bit draw as the
    /// mantissa of a float in [1, 2), minus 1. That float is m * 2^-23 for the 23-bit integer m,
    /// which a cast and a power-of-two scale give exactly, without a bitcast.
    func uniform(_ key: KeyPair, _ lo: Float = 0, _ hi: Float = 1) throws -> Value {
        let (a, b) = try Threefry(g: g, shape: shape)(key: key.0, key.1, counter: g.scalar(0, .u32), g.scalar(0, .u32))
        let bits = try g.bitwise("BitwiseXor", a, b, type: .u32, shape: shape)
        let mantissa = try g.op("BitShift", bits, g.scalar(9, .u32), attributes: ["direction": .string("RIGHT")], shape: shape)
        let unit = try op("Mul", mantissa.cast(to: .f32), f(0x1p-23))
        if lo == 0 && hi == 1 { return try op("Max", f(0), unit) }
        return try op("Max", f(lo), op("Add", op("Mul", unit, f(hi - lo)), f(lo)))
    }

    /// jax.random.normal(key, (), float32): sqrt(2) erfinv(u), u uniform in (-1, 1).
    func normal(_ key: KeyPair) throws -> Value {
        let u = try uniform(key, Float(-1).nextUp, 1)
        return try op("Mul", f(Float(2).squareRoot()), g.erfInv(u))
    }

    /// True where any element holds, as the scalar a Loop's condition must be.
    func any(_ mask: Value) throws -> Value {
        try g.op("ReduceMax", mask.cast(to: .i32), attributes: ["keepdims": .int(0)]).cast(to: .bool).with(shape: [])
    }

    /// A Loop that runs `body` while `pending(carry)` holds for any element; the body sees the
    /// carry and returns the next one, and only pending elements take the new values.
    func loop(_ initial: [Value], _ types: [DType], pending: ([Value]) throws -> Value,
              _ body: ([Value]) throws -> [Value]) throws -> [Value] {
        let formal: [SubgraphInput] = [.typed(TensorType(.i64, [])), .typed(TensorType(.bool, []))]
            + types.map { .typed(TensorType($0, shape)) }
        let sub = try g.subgraph(inputs: formal) { args in
            let old = Array(args.dropFirst(2))
            let mask = try pending(old)
            let new = try body(old)
            let kept = try zip(new, old).map { try op("Where", mask, $0, $1) }
            return [try any(pending(kept))] + kept
        }
        let outs = try g.node("Loop", [nil, any(pending(initial))] + initial, outputs: initial.count,
                              attributes: ["body": .graph(sub)])
        return outs.map { $0.with(shape: shape) }
    }

    func sample(key: KeyPair, alpha: Value, logSpace: Bool) throws -> Value {
        // alpha < 1 draws Gamma(alpha + 1) and scales it by U^(1/alpha) afterwards.
        let boost = try op("GreaterOrEqual", alpha, f(1))
        let a = try op("Where", boost, alpha, op("Add", alpha, f(1)))
        let d = try op("Sub", a, f(1.0 / 3.0))
        let c = try op("Div", f(1.0 / 3.0), op("Sqrt", d))

        let first = try split(key, 2)
        let (carryKey, boostKey) = (first[0], first[1])

        // Rejected while U >= 1 - 0.0331 X^2 and log U >= X/2 + d (1 - V + log V); the initial
        // carry (X, V, U) = (0, 1, 2) is rejected, so every element draws at least once.
        func rejected(_ s: [Value]) throws -> Value {
            let (X, V, U) = (s[2], s[3], s[4])
            let squeeze = try op("GreaterOrEqual", U, op("Sub", f(1), op("Mul", f(0.0331), op("Mul", X, X))))
            let bound = try op("Add", op("Mul", X, f(0.5)), op("Mul", d, op("Add", op("Sub", f(1), V), op("Log", V))))
            return try op("And", squeeze, op("GreaterOrEqual", op("Log", U), bound))
        }
        let zero = try g.expand(f(0), shape), one = try g.expand(f(1), shape)
        let initial = [carryKey.0, carryKey.1, zero, one, try g.expand(f(2), shape)]
        let accepted = try loop(initial, [.u32, .u32, .f32, .f32, .f32], pending: rejected) { s in
            let keys = try split((s[0], s[1]), 3)
            let (next, xKey, uKey) = (keys[0], keys[1], keys[2])
            // Redraw the normal x until v = 1 + c x is positive.
            let xv = try loop([xKey.0, xKey.1, zero, try g.expand(f(-1), shape)], [.u32, .u32, .f32, .f32],
                              pending: { t in try op("LessOrEqual", t[3], f(0)) }) { t in
                let pair = try split((t[0], t[1]), 2)
                let x = try normal(pair[1])
                return [pair[0].0, pair[0].1, x, try op("Add", f(1), op("Mul", x, c))]
            }
            let (x, v) = (xv[2], xv[3])
            return [next.0, next.1, try op("Mul", x, x), try op("Mul", op("Mul", v, v), v), try uniform(uKey)]
        }
        let V = accepted[3]
        let invAlpha = try op("Div", f(1), alpha)
        if logSpace {
            // -exponential(u) = log1p(-u) = log(1 - u), exact here since 1 - u is.
            let logU = try op("Log", op("Sub", f(1), uniform(boostKey)))
            let skip = try op("Or", boost, op("Equal", logU, f(0)))
            let logBoost = try op("Where", skip, f(0), op("Mul", logU, invAlpha))
            return try op("Add", op("Add", op("Log", d), op("Log", V)), logBoost)
        }
        let u = try op("Sub", f(1), uniform(boostKey))
        let scale = try op("Where", boost, f(1), op("Pow", u, invAlpha))
        return try op("Mul", op("Mul", d, V), scale)
    }
}
