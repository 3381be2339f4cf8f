import PluginKit

/// Complex arithmetic and math on (real, imag) storage. Add, sub and neg act on the pairs as they
/// are; the rest work on the parts and pair the result.
func arithmeticLowerings() -> [Lowering] {
    func claim(_ prim: String, _ ops: [String] = [], dtypes: [DType] = complexTypes, note: String? = nil,
               _ lower: @escaping LowerFunction) -> Lowering {
        Lowering(prim, emits: pairOps + ops, priority: 10, dtypes: dtypes, note: note, lower: lower)
    }
    return [
        claim("add") { e, g in [try g.add(e.input(0), e.input(1))] },
        claim("sub") { e, g in [try g.sub(e.input(0), e.input(1))] },
        claim("neg") { e, g in [try g.op("Neg", e.input(0))] },
        // lax.conj of a real array is that array as complex (no other pack claims conj).
        claim("conj", dtypes: complexTypes + [.f32, .f64], note: "of a real array: a zero imaginary part") { e, g in
            let z = try e.input(0)
            guard z.isComplex else { return [try g.withZeroImag(z)] }  // conj of a real is that real, as complex
            return [try g.pair(g.re(z), g.op("Neg", g.im(z)), shape: z.jaxShape)]
        },
        claim("real") { e, g in [try g.re(e.input(0))] },
        claim("imag") { e, g in [try g.im(e.input(0))] },
        claim("abs", note: "|z| = sqrt(re² + im²)") { e, g in
            let z = try e.input(0)
            return [try g.magnitude(g.re(z), g.im(z))]
        },
        claim("mul") { e, g in
            let (x, y) = (try e.input(0), try e.input(1))
            let (a, b) = try g.complexMul((g.re(x), g.im(x)), (g.re(y), g.im(y)))
            return [try g.pair(a, b)]
        },
        claim("square") { e, g in
            let z = try e.input(0)
            let (a, b) = try g.complexMul((g.re(z), g.im(z)), (g.re(z), g.im(z)))
            return [try g.pair(a, b)]
        },
        claim("div") { e, g in [try complexDiv(e.input(0), e.input(1), g)] },
        claim("sign", note: "z / |z|, 0 at 0") { e, g in
            let z = try e.input(0)
            let (a, b) = (try g.re(z), try g.im(z))
            let t = z.dtype.part
            let r = try g.magnitude(a, b)
            let zero = try g.op("Equal", r, g.scalar(0, t))
            let safe = try g.op("Where", zero, g.scalar(1, t), r)
            return [try g.pair(g.div(a, safe), g.div(b, safe))]
        },
        claim("exp", ["Exp", "Cos", "Sin"]) { e, g in
            let z = try e.input(0)
            return [try complexExp(g.re(z), g.im(z), g)]
        },
        claim("log", ["Log"], note: "angle via f32 Atan for complex128") { e, g in
            let z = try e.input(0)
            let (a, b) = try complexLog(z, g)
            return [try g.pair(a, b)]
        },
        claim("sqrt", ["Sign"]) { e, g in
            let z = try e.input(0)
            let t = z.dtype.part
            let (a, b) = (try g.re(z), try g.im(z))
            let r = try g.magnitude(a, b)
            let half = try g.scalar(0.5, t)
            let re = try g.op("Sqrt", g.mul(g.add(r, a), half))
            let imMag = try g.op("Sqrt", g.op("Max", g.mul(g.sub(r, a), half), g.scalar(0, t)))
            let negative = try g.op("Less", b, g.scalar(0, t))
            return [try g.pair(re, g.op("Where", negative, g.op("Neg", imMag), imMag))]
        },
        claim("pow", ["Exp", "Cos", "Sin", "Log"], note: "exp(w log z)") { e, g in
            let (z, w) = (try e.input(0), try e.input(1))
            let (la, lb) = try complexLog(z, g)
            let (a, b): (Value, Value)
            if w.isComplex {
                (a, b) = try g.complexMul((la, lb), (g.re(w), g.im(w)))
            } else {
                let wr = try w.cast(to: z.dtype.part)
                (a, b) = (try g.mul(la, wr), try g.mul(lb, wr))
            }
            return [try complexExp(a, b, g)]
        },
        claim("integer_pow", ["Exp", "Cos", "Sin", "Log"], note: "repeated squaring") { e, g in
            let z = try e.input(0)
            let y = try e.int("y")
            let t = z.dtype.part
            var result: (Value, Value)? = nil
            var base = (try g.re(z), try g.im(z))
            var n = abs(y)
            while n > 0 {
                if n & 1 == 1 { result = try result.map { try g.complexMul($0, base) } ?? base }
                n >>= 1
                if n > 0 { base = try g.complexMul(base, base) }
            }
            guard let (a, b) = result else {
                let one = try g.onesLike(g.re(z), t)
                return [try g.pair(one, g.sub(one, one))]
            }
            if y > 0 { return [try g.pair(a, b)] }
            let one = try g.onesLike(a, t)
            return [try complexDiv(g.pair(one, g.sub(one, one)), g.pair(a, b), g)]
        },
    ]
}

/// x / y = (x · conj y) / |y|².
func complexDiv(_ x: Value, _ y: Value, _ g: GraphBuilder) throws -> Value {
    let (a, b) = (try g.re(x), try g.im(x))
    let (c, d) = (try g.re(y), try g.im(y))
    let denom = try g.add(g.mul(c, c), g.mul(d, d))
    let re = try g.add(g.mul(a, c), g.mul(b, d))
    let im = try g.sub(g.mul(b, c), g.mul(a, d))
    return try g.pair(g.div(re, denom), g.div(im, denom))
}

/// e^(a + bi) = e^a (cos b + i sin b).
func complexExp(_ a: Value, _ b: Value, _ g: GraphBuilder) throws -> Value {
    let m = try g.op("Exp", a)
    return try g.pair(g.mul(m, g.op("Cos", b)), g.mul(m, g.op("Sin", b)))
}

/// log z = log|z| + i arg z (the principal branch).
func complexLog(_ z: Value, _ g: GraphBuilder) throws -> (Value, Value) {
    let (a, b) = (try g.re(z), try g.im(z))
    return (try g.op("Log", g.magnitude(a, b)), try g.atan2(b, a, z.dtype.part))
}
