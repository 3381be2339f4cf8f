import PluginKit

/// f64 versions of the functions ONNX Runtime's CPU provider only runs in f16/f32 (Tan, Atan,
/// Asin, Acos, Sinh, Cosh, Asinh, Acosh, Atanh, Erf), built from the double kernels it has (Sin,
/// Cos, Exp, Log, Sqrt) with the usual cancellation-free identities.
let doubleMathOps = ["Sin", "Cos", "Div", "Exp", "Log", "Sqrt", "Abs", "Mul", "Add", "Sub", "Where", "Less", "Greater",
                     "Equal", "Neg", "Sign", "Reciprocal", "LessOrEqual", "Min", "Max", "Cast"]

let doubleFallbacks: [String: (Value, GraphBuilder) throws -> Value] = [
    "erf": { x, g in try DoubleErf(x, g).erf(g) },
    "tan": { x, g in try g.op("Div", g.op("Sin", x), g.op("Cos", x)) },
    "atan": { x, g in try atanSeries(x, g) },
    // asin x = atan(x / sqrt(1 - x^2)), with 1 - x^2 as (1 - x)(1 + x) (exact near |x| = 1).
    "asin": { x, g in
        let one = try g.scalar(1, .f64)
        let root = try g.op("Sqrt", g.op("Mul", g.op("Sub", one, x), g.op("Add", one, x)))
        return try atanSeries(g.op("Div", x, root), g)
    },
    // acos x = 2 atan(sqrt((1 - x) / (1 + x))).
    "acos": { x, g in
        let one = try g.scalar(1, .f64)
        let r = try g.op("Sqrt", g.op("Div", g.op("Sub", one, x), g.op("Add", one, x)))
        return try g.op("Mul", g.scalar(2, .f64), atanSeries(r, g))
    },
    // cosh = e^(|x| - ln 2) + e^-|x| / 2: no overflow before cosh itself overflows.
    "cosh": { x, g in
        let a = try g.op("Abs", x)
        return try g.op("Add", halfExp(a, g), g.op("Mul", g.op("Exp", g.op("Neg", a)), g.scalar(0.5, .f64)))
    },
    // sinh: (expm1(|x|) - expm1(-|x|)) / 2 below 1 (no cancellation), exponentials above.
    "sinh": { x, g in
        let a = try g.op("Abs", x)
        let small = try g.op("Mul", g.op("Sub", expm1(a, g), expm1(g.op("Neg", a), g)), g.scalar(0.5, .f64))
        let large = try g.op("Sub", halfExp(a, g), g.op("Mul", g.op("Exp", g.op("Neg", a)), g.scalar(0.5, .f64)))
        let s = try g.op("Where", g.op("Less", a, g.scalar(1, .f64)), small, large)
        return try withSignOf(x, s, g)
    },
    // asinh |x| = log1p(|x| + x^2 / (1 + sqrt(1 + x^2))), or log|x| + ln 2 once x^2 would overflow.
    "asinh": { x, g in
        let a = try g.op("Abs", x), one = try g.scalar(1, .f64)
        let a2 = try g.op("Mul", a, a)
        let small = try log1p(g.op("Add", a, g.op("Div", a2, g.op("Add", one, g.op("Sqrt", g.op("Add", one, a2))))), g)
        let large = try g.op("Add", g.op("Log", a), g.scalar(0.6931471805599453, .f64))
        return try withSignOf(x, g.op("Where", g.op("Less", a, g.scalar(0x1p28, .f64)), small, large), g)
    },
    // acosh x = log1p((x - 1) + sqrt((x - 1)(x + 1))), or log x + ln 2 for large x.
    "acosh": { x, g in
        let one = try g.scalar(1, .f64)
        let xm1 = try g.op("Sub", x, one)
        let small = try log1p(g.op("Add", xm1, g.op("Sqrt", g.op("Mul", xm1, g.op("Add", x, one)))), g)
        let large = try g.op("Add", g.op("Log", x), g.scalar(0.6931471805599453, .f64))
        return try g.op("Where", g.op("Less", x, g.scalar(0x1p28, .f64)), small, large)
    },
    // atanh x = log1p(2x / (1 - x)) / 2 for small x; log((1 + x) / (1 - x)) / 2 near +-1, where
    // both differences are exact; +-1 give +-inf.
    "atanh": { x, g in
        let one = try g.scalar(1, .f64)
        let small = try log1p(g.op("Div", g.op("Add", x, x), g.op("Sub", one, x)), g)
        let large = try g.op("Log", g.op("Div", g.op("Add", one, x), g.op("Sub", one, x)))
        let near = try g.op("Greater", g.op("Abs", x), g.scalar(0.5, .f64))
        let r = try g.op("Mul", g.op("Where", near, large, small), g.scalar(0.5, .f64))
        let edge = try g.op("Equal", g.op("Abs", x), one)
        return try g.op("Where", edge, g.op("Mul", x, g.scalar(.infinity, .f64)), r)
    },
]

func halfExp(_ a: Value, _ g: GraphBuilder) throws -> Value {
    try g.op("Exp", g.op("Sub", a, g.scalar(0.6931471805599453, .f64)))
}


/// Atan for any float type: the ONNX op, or the series below for f64.
func arctangent(_ x: Value, _ g: GraphBuilder) throws -> Value {
    x.dtype == .f64 ? try atanSeries(x, g) : try g.op("Atan", x)
}

/// atan in f64: |x| > 1 reflects to pi/2 - atan(1/|x|); two half-angle steps
/// t -> t / (1 + sqrt(1 + t^2)) bring the argument below tan(pi/16) < 0.2, where the Taylor
/// series to t^25 is below 1e-19 relative.
func atanSeries(_ x: Value, _ g: GraphBuilder) throws -> Value {
    let one = try g.scalar(1, .f64)
    let a = try g.op("Abs", x)
    let big = try g.op("Greater", a, one)
    var t = try g.op("Where", big, g.op("Reciprocal", a), a)
    for _ in 0..<2 {
        t = try g.op("Div", t, g.op("Add", one, g.op("Sqrt", g.op("Add", one, g.op("Mul", t, t)))))
    }
    let t2 = try g.op("Mul", t, t)
    var poly = try g.scalar(1.0 / 25.0, .f64)
    for n in stride(from: 11, through: 0, by: -1) {
        let c = (n % 2 == 0 ? 1.0 : -1.0) / Double(2 * n + 1)
        poly = try g.op("Add", g.scalar(c, .f64), g.op("Mul", t2, poly))
    }
    let reduced = try g.op("Mul", g.scalar(4, .f64), g.op("Mul", t, poly))
    let r = try g.op("Where", big, g.op("Sub", g.scalar(Double.pi / 2, .f64), reduced), reduced)
    return try withSignOf(x, r, g)
}

/// erf and erfc in f64 to about 1e-15: the Taylor series of erf up to |x| = 2 (47 terms, the
/// largest below 2 in size, so little cancellation), and beyond 2 the continued fraction
/// erfc(x) = e^(-x^2) / sqrt(pi) / (x + (1/2) / (x + 1 / (x + (3/2) / (x + ...)))), 60 levels,
/// with e^(-x^2) split as e^(-h^2) e^(-(x - h)(x + h)) for h = x rounded to f32 (h^2 is exact).
/// Both are evaluated for every element on clamped arguments and the right one is picked.
struct DoubleErf {
    let small: Value      // erf(min(|x|, 2))
    let tail: Value       // erfc(clamp(|x|, 2, 40)); erfc underflows to 0 long before 40
    let useSmall: Value   // |x| <= 2
    let negative: Value

    init(_ x: Value, _ g: GraphBuilder) throws {
        let a = try g.op("Abs", x)
        let two = try g.scalar(2, .f64)
        useSmall = try g.op("LessOrEqual", a, two)
        negative = try g.op("Less", x, g.scalar(0, .f64))
        let s = try g.op("Min", a, two)
        let s2 = try g.op("Mul", s, s)
        var poly = try g.scalar(0, .f64)
        var factorial = 1.0
        var coefficients: [Double] = []
        for n in 0...46 {
            if n > 0 { factorial *= Double(n) }
            coefficients.append((n % 2 == 0 ? 1.0 : -1.0) / (factorial * Double(2 * n + 1)))
        }
        for c in coefficients.reversed() { poly = try g.op("Add", g.scalar(c, .f64), g.op("Mul", s2, poly)) }
        small = try g.op("Mul", g.op("Mul", s, poly), g.scalar(2 / Double.pi.squareRoot(), .f64))

        let c = try g.op("Min", g.op("Max", a, two), g.scalar(40, .f64))
        var f = c
        for k in stride(from: 60, through: 1, by: -1) {
            f = try g.op("Add", c, g.op("Div", g.scalar(Double(k) / 2, .f64), f))
        }
        let h = try c.cast(to: .f32).cast(to: .f64)
        let e = try g.op("Mul", g.op("Exp", g.op("Neg", g.op("Mul", h, h))),
                         g.op("Exp", g.op("Neg", g.op("Mul", g.op("Sub", c, h), g.op("Add", c, h)))))
        tail = try g.op("Div", g.op("Mul", e, g.scalar(1 / Double.pi.squareRoot(), .f64)), f)
    }

    func erf(_ g: GraphBuilder) throws -> Value {
        let m = try g.op("Where", useSmall, small, g.op("Sub", g.scalar(1, .f64), tail))
        return try g.op("Where", negative, g.op("Neg", m), m)
    }

    func erfc(_ g: GraphBuilder) throws -> Value {
        let positive = try g.op("Where", useSmall, g.op("Sub", g.scalar(1, .f64), small), tail)
        return try g.op("Where", negative, g.op("Sub", g.scalar(2, .f64), positive), positive)
    }
}

let doubleErfOps = ["Abs", "LessOrEqual", "Less", "Min", "Max", "Mul", "Add", "Div", "Sub", "Neg", "Exp", "Cast", "Where"]
