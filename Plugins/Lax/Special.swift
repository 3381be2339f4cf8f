import PluginKit

/// The special functions ONNX has no operator for, decomposed into series, recurrences and
/// polynomial approximations; branches are chosen per element with Where.
func specialLowerings() -> [Lowering] {
    let unaryEmits = ["Add", "Sub", "Mul", "Div", "Neg", "Abs", "Floor", "Log", "Sin", "Less",
                      "Greater", "IsInf", "Where"]
    func unary(_ prim: String, emits: [String], note: String, dtypes: [DType] = [.f32, .f64],
               _ f: @escaping (FloatMath, Value) throws -> Value) -> Lowering {
        Lowering(prim, emits: emits, dtypes: dtypes, note: note) { eqn, g in
            let t = try checkType(eqn, .float)
            return [try f(FloatMath(g: g, t: t), eqn.input(0))]
        }
    }
    func binary(_ prim: String, emits: [String], note: String,
                _ f: @escaping (FloatMath, Value, Value) throws -> Value) -> Lowering {
        Lowering(prim, emits: emits, dtypes: [.f32, .f64], note: note) { eqn, g in
            let t = try checkType(eqn, .float)
            return [try f(FloatMath(g: g, t: t), eqn.input(0), eqn.input(1))]
        }
    }
    let gammaEmits = unaryEmits + ["Exp", "LessOrEqual", "Equal", "And", "Or", "Not", "IsNaN"]
    let zetaEmits = gammaEmits + ["Pow"]
    return [
        unary("lgamma", emits: unaryEmits, note: "Lanczos (g = 7) with reflection") { m, x in try m.lgamma(x) },
        unary("digamma", emits: unaryEmits + ["Cos", "LessOrEqual", "Equal", "And"],
              note: "derivative of the Lanczos form, reflection") { m, x in try m.digamma(x) },
        binary("igamma", emits: gammaEmits, note: "series (64 terms) / continued fraction (40 steps)") { m, a, x in
            try m.igamma(a, x)
        },
        binary("igammac", emits: gammaEmits, note: "series (64 terms) / continued fraction (40 steps)") { m, a, x in
            try m.igammac(a, x)
        },
        binary("zeta", emits: zetaEmits, note: "Hurwitz zeta by Euler-Maclaurin") { m, s, q in try m.zeta(s, q) },
        binary("polygamma", emits: zetaEmits + ["Cos"], note: "(-1)^(n+1) n! zeta(n+1, x); digamma at n = 0") { m, n, x in
            try m.polygamma(n, x)
        },
        unary("bessel_i0e", emits: ["Abs", "Mul", "Add", "Sub", "Div", "Sqrt", "LessOrEqual", "Where"],
              note: "Chebyshev series on [0, 8] and in 16/|x| beyond") { m, x in try m.besselI0e(x) },
        unary("bessel_i1e", emits: ["Abs", "Mul", "Add", "Sub", "Div", "Sqrt", "Neg", "Less", "LessOrEqual", "Where"],
              note: "Chebyshev series on [0, 8] and in 16/|x| beyond") { m, x in try m.besselI1e(x) },
        unary("erf_inv", emits: ["Mul", "Add", "Sub", "Neg", "Log", "Sqrt", "Less", "Abs", "Equal", "Where"],
              note: "Giles' single-precision polynomials in log(1 - x^2); f32 only",
              dtypes: [.f32]) { m, x in try m.erfInv(x) },
    ]
}

extension FloatMath {
    /// e^-|x| I0(x): a Chebyshev series in t = |x|/4 - 1 on [0, 8], and sqrt(|x|) e^-|x| I0(x)
    /// as a series in t = 16/|x| - 1 above (it tends to 1/sqrt(2 pi)).
    func besselI0e(_ x: Value) throws -> Value {
        let ax = try abs(x)
        let wide = x.dtype == .f64
        let near = try g.chebyshev(add(mul(ax, 0.25), -1), wide ? i0eBelow8F64 : i0eBelow8)
        let far = try div(g.chebyshev(add(div(16, ax), -1), wide ? i0eAbove8F64 : i0eAbove8), sqrt(ax))
        return try select(le(ax, 8), near, far)
    }

    /// e^-|x| I1(x), odd in x: |x| times a series on [0, 8], a series in 16/|x| over sqrt(|x|) above.
    func besselI1e(_ x: Value) throws -> Value {
        let ax = try abs(x)
        let wide = x.dtype == .f64
        let near = try mul(g.chebyshev(add(mul(ax, 0.25), -1), wide ? i1eBelow8F64 : i1eBelow8), x)
        let far = try div(g.chebyshev(add(div(16, ax), -1), wide ? i1eAbove8F64 : i1eAbove8), sqrt(ax))
        let signedFar = try select(lt(x, 0), neg(far), far)
        return try select(le(ax, 8), near, signedFar)
    }

    /// erfinv(x): PluginKit's Giles polynomials (shared with the Random pack's normal draws).
    func erfInv(_ x: Value) throws -> Value { try g.erfInv(x) }
}

// Chebyshev coefficients fitted (300 Chebyshev nodes, double precision) to the scaled Bessel
// functions; relative error below 1e-7 on each interval: float32 and narrower.
private let i0eBelow8: [Double] = [
    0.3383976372047379, -0.3046826723431984, 0.1716209015222087, -0.09490109704804764,
    0.04930528423967078, -0.02373741480589954, 0.01054646039459502, -0.004324309995050572,
    0.0016394756169412488, -0.0005763755745385003, 0.0001885028850957401, -5.754195010082272e-05,
    1.644844807057803e-05, -4.416738358372034e-06, 1.1173875388763883e-06, -2.6707938530163174e-07,
    6.046995005751918e-08,
]
private let i0eAbove8: [Double] = [
    0.4022452055070543, 0.0033691164782556886, 6.889758346915933e-05, 2.891370520829518e-06,
    2.0489185893179815e-07, 2.266668989821731e-08, 3.3962320148314416e-09, 4.940602282699978e-10,
    1.1889135869943886e-11, -3.1499174173017235e-11, -1.3215815164831954e-11, -1.7941857237697979e-12,
    7.180092671115425e-13,
]
private let i1eBelow8: [Double] = [
    0.1262935932218168, -0.17641651835783395, 0.10264365868984711, -0.052945981208095,
    0.024726449030626527, -0.010564084894626262, 0.004156422944312901, -0.001513572450631271,
    0.0005122859561685285, -0.00016176081582588593, 4.7815651075481704e-05, -1.3273163656026324e-05,
    3.4702513080673027e-06, -8.56872026415895e-07, 2.0032947522921203e-07, -4.445059122462585e-08,
    9.381537317624932e-09,
]
private let i1eAbove8: [Double] = [
    0.38928811750914, -0.009761097491361479, -0.00011058893876262561, -3.882564808882581e-06,
    -2.5122362379130205e-07, -2.6314688468806287e-08, -3.835380384238231e-09, -5.589743541463023e-10,
    -1.8974959186339552e-11, 3.25260383500228e-11, 1.4125805266424554e-11, 2.03562830306897e-12,
    -7.198599298468238e-13,
]

// The same functions to double precision for float64 (fitted at 40 digits; the series stop where
// a term falls below 2e-17 of the leading one).
private let i0eBelow8F64: [Double] = [
    0.33839763720473803, -0.3046826723431984, 0.17162090152220877, -0.09490109704804764,
    0.04930528423967071, -0.02373741480589947, 0.010546460394594998, -0.004324309995050576,
    0.0016394756169413357, -0.0005763755745385824, 0.00018850288509584165, -5.754195010082104e-05,
    1.6448448070728896e-05, -4.4167383584587505e-06, 1.1173875391201037e-06,
    -2.670793853940612e-07, 6.046995022541919e-08, -1.300025009986248e-08, 2.6598237246823866e-09,
    -5.189795601635263e-10, 9.675809035373237e-11, -1.726826291441556e-11, 2.95505266312964e-12,
    -4.856446783111929e-13, 7.676185498604936e-14, -1.1685332877993451e-14, 1.715391285555133e-15,
    -2.431279846547955e-16, 3.3307945188222384e-17,
]
private let i0eAbove8F64: [Double] = [
    0.4022452055070544, 0.0033691164782556943, 6.889758346916825e-05, 2.8913705208347567e-06,
    2.0489185894690638e-07, 2.266668990498178e-08, 3.3962320257083865e-09, 4.94060238822497e-10,
    1.1889147107846439e-11, -3.1499165279632416e-11, -1.3215811840447713e-11,
    -1.7941785315068062e-12, 7.180124451383666e-13, 3.8527783827421426e-13, 1.54008621752141e-14,
    -4.150569347287222e-14, -9.554846698828307e-15, 3.8116806693526224e-15, 1.7725601330565263e-15,
    -3.425485619677219e-16, -2.8276239805165836e-16, 3.461222867697461e-17, 4.46562142029676e-17,
]
private let i1eBelow8F64: [Double] = [
    0.12629359322181682, -0.17641651835783406, 0.1026436586898471, -0.05294598120809499,
    0.024726449030626516, -0.010564084894626197, 0.004156422944312888, -0.0015135724506312532,
    0.0005122859561685758, -0.00016176081582589674, 4.781565107550054e-05, -1.3273163656039436e-05,
    3.4702513081376785e-06, -8.568720264695455e-07, 2.0032947535521353e-07, -4.445059128796328e-08,
    9.381537386495773e-09, -1.8872497517228294e-09, 3.625590281552117e-10, -6.663489723502027e-11,
    1.1736186298890901e-11, -1.9839743977649436e-12, 3.223793365945575e-13, -5.042185504727912e-14,
    7.600684294735408e-15, -1.1055969477353862e-15, 1.5536319577362005e-16, -2.111421214358166e-17,
    2.7779141127610464e-18,
]
private let i1eAbove8F64: [Double] = [
    0.38928811750914005, -0.009761097491361469, -0.00011058893876262371, -3.882564808877691e-06,
    -2.512236237870209e-07, -2.6314688468895196e-08, -3.835380385964237e-09,
    -5.589743462196584e-10, -1.8974958123505413e-11, 3.2526035830154884e-11,
    1.4125807436613782e-11, 2.0356285441470896e-12, -7.198551776245908e-13,
    -4.0835511110921974e-13, -2.1015418427726643e-14, 4.272440016711951e-14,
    1.0420276984128802e-14, -3.8144030724370075e-15, -1.8803547755107825e-15,
    3.3082023109209285e-16, 2.96262899764595e-16, -3.209525921993424e-17, -4.6503053684893586e-17,
]
