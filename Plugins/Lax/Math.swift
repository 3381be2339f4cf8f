import PluginKit

/// Elementwise primitives that ONNX has no single op for, composed so they keep JAX's accuracy.
func mathLowerings() -> [Lowering] {
    [
        Lowering("square", emits: ["Mul"]) { eqn, g in
            let x = eqn.input(0)
            return [try g.op("Mul", x, x, shape: eqn.output(0).shape)]
        },
        Lowering("rsqrt", emits: ["Sqrt", "Reciprocal"]) { eqn, g in
            _ = try checkType(eqn, .float)
            return [try g.op("Reciprocal", try g.op("Sqrt", eqn.input(0)), shape: eqn.output(0).shape)]
        },
        // log(1 + x) loses every digit of a tiny x; x * log(u) / (u - 1) with u = 1 + x does not
        // (the rounding error of u cancels), and u == 1 means log1p(x) == x to working precision.
        Lowering("log1p", emits: ["Add", "Sub", "Log", "Mul", "Div", "Equal", "Where"]) { eqn, g in
            let t = try checkType(eqn, .float)
            let x = eqn.input(0), one = try g.scalar(1, t)
            let u = try g.op("Add", x, one)
            let d = try g.op("Sub", u, one)
            let ratio = try g.op("Div", try g.op("Mul", x, try g.op("Log", u)), d)
            return [try g.op("Where", try g.op("Equal", d, try g.scalar(0, t)), x, ratio, shape: eqn.output(0).shape)]
        },
        // exp(x) - 1 cancels for small x; (u - 1) * x / log(u) with u = exp(x) is accurate, with
        // u == 1 giving x and u - 1 == -1 giving -1 (large negative x).
        Lowering("expm1", emits: ["Exp", "Sub", "Log", "Mul", "Div", "Equal", "Where"]) { eqn, g in
            let t = try checkType(eqn, .float)
            let x = eqn.input(0), one = try g.scalar(1, t)
            let u = try g.op("Exp", x)
            let um1 = try g.op("Sub", u, one)
            let ratio = try g.op("Div", try g.op("Mul", um1, x), try g.op("Log", u))
            let small = try g.op("Where", try g.op("Equal", u, one), x, ratio)
            let minusOne = try g.scalar(-1, t)
            let big = try g.op("Where", try g.op("Equal", um1, minusOne), minusOne, small)
            // exp overflows to inf for large x, where (inf * x) / inf would be NaN.
            return [try g.op("Where", try g.op("Equal", u, try g.scalar(.infinity, t)), u, big, shape: eqn.output(0).shape)]
        },
        // Square-and-multiply in the same order as JAX, so float results round identically.
        Lowering("integer_pow", emits: ["Mul", "Reciprocal", "Div", "Expand", "Concat"]) { eqn, g in
            let y = try eqn.int("y")
            let x = eqn.input(0)
            let shape = eqn.output(0).shape
            if y == 0 {
                return [try g.expand(try g.scalar(1, x.dtype), shape)]
            }
            var acc: Value?
            var base = x
            var n = abs(y)
            while n > 0 {
                if n & 1 == 1 { acc = try acc.map { try g.op("Mul", $0, base) } ?? base }
                n >>= 1
                if n > 0 { base = try g.op("Mul", base, base) }
            }
            var result = acc!
            if y < 0 {
                guard x.dtype.isFloat else { throw LoweringError.unsupported("integer_pow with negative exponent on \(x.dtype)") }
                result = try g.op("Reciprocal", result)
            }
            // x ** 1 is x itself; the output still needs its own value for the graph.
            return [result.with(shape: shape)]
        },
        Lowering("clamp", emits: ["Max", "Min"]) { eqn, g in
            // lax.clamp(lo, x, hi)
            let lo = eqn.input(0), x = eqn.input(1), hi = eqn.input(2)
            return [try g.op("Min", try g.op("Max", x, lo), hi, shape: eqn.output(0).shape)]
        },
    ]
}
