import PluginKit

/// eq_to / lt_to / le_to: comparisons in IEEE total order, which jnp.searchsorted, digitize,
/// histogram and interp use. On integers and bools they are eq/lt/le. On floats -0.0 sorts below
/// +0.0 and NaN above +inf, equal to every NaN. ONNX has no bitcast, so a NaN's sign bit cannot
/// be read: every NaN orders as a positive one (JAX puts a negative NaN below -inf).
let totalOrderComparisons: [(prim: String, plain: String)] = [("eq_to", "Equal"), ("lt_to", "Less"), ("le_to", "LessOrEqual")]

func totalOrderLowerings() -> [Lowering] {
    totalOrderComparisons.map { prim, plain in
        Lowering(prim, emits: ["Equal", "Less", "LessOrEqual", "Cast", "IsNaN", "Reciprocal", "And", "Or", "Not"],
                 dtypes: DType.numbers + [.bool],
                 note: "floats: -0.0 < +0.0, NaN above +inf and equal to NaN; every NaN orders as positive (no bitcast in ONNX to read its sign)") { eqn, g in
            var a = try eqn.input(0), b = try eqn.input(1)
            let shape = try eqn.output(0).shape
            guard a.dtype.isFloat else {
                if a.dtype.isBool && plain != "Equal" { a = try a.cast(to: .u8); b = try b.cast(to: .u8) }
                return [try g.op(plain, a, b, shape: shape)]
            }
            // Cast up is exact and keeps order; ONNX Runtime lacks 16-bit Reciprocal and Less kernels.
            if a.dtype != .f32 && a.dtype != .f64 { a = try a.cast(to: .f32); b = try b.cast(to: .f32) }
            let zero = try g.scalar(0, a.dtype)
            func negativeZero(_ x: Value) throws -> Value {
                try g.op("And", g.op("Equal", x, zero), g.op("Less", g.op("Reciprocal", x), zero))
            }
            let aNaN = try g.op("IsNaN", a), bNaN = try g.op("IsNaN", b)
            let aNegZero = try negativeZero(a), bNegZero = try negativeZero(b)
            // Numerically equal, and not the pair (-0.0, +0.0) in either order.
            let same = try g.op("And", g.op("Equal", a, b), g.op("Equal", aNegZero, bNegZero))
            let eq = try g.op("Or", same, g.op("And", aNaN, bNaN))
            if plain == "Equal" { return [eq.with(shape: shape)] }
            // a < b: numerically below (never true for a NaN a), or -0.0 against +0.0; any non-NaN is below NaN.
            let bPositiveZero = try g.op("And", g.op("Equal", b, zero), g.op("Not", bNegZero))
            let below = try g.op("Or", g.op("Less", a, b), g.op("And", aNegZero, bPositiveZero))
            // `below` is false whenever b is NaN (Less and Equal are), so the cases add up.
            let strict = try g.op("Or", below, g.op("And", bNaN, g.op("Not", aNaN)))
            if plain == "Less" { return [strict.with(shape: shape)] }
            return [try g.op("Or", strict, eq, shape: shape)]
        }
    }
}
