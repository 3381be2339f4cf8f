import PluginKit

/// Which element types an elementwise lowering accepts; anything else declines with a reason.
enum Accepts {
    case float, signedOrFloat, numeric, boolOnly

    func allows(_ t: DType) -> Bool {
        switch self {
        case .float: return t.isFloat
        case .signedOrFloat: return t.isFloat || t.isSignedInt
        case .numeric: return t.isFloat || t.isInt
        case .boolOnly: return t.isBool
        }
    }
}

/// ONNX Runtime's CPU provider has no f64 kernel for these (nor any bf16 math kernel).
let noDoubleKernel: Set<String> = ["Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh", "Erf"]

/// Primitives that are one ONNX op on the same operands, elementwise.
let unaryOps: [(prim: String, op: String, accepts: Accepts)] = [
    ("neg", "Neg", .numeric), ("abs", "Abs", .signedOrFloat), ("sign", "Sign", .numeric),
    ("exp", "Exp", .float), ("log", "Log", .float), ("tanh", "Tanh", .float), ("logistic", "Sigmoid", .float),
    ("sin", "Sin", .float), ("cos", "Cos", .float), ("tan", "Tan", .float),
    ("asin", "Asin", .float), ("acos", "Acos", .float), ("atan", "Atan", .float),
    ("sinh", "Sinh", .float), ("cosh", "Cosh", .float), ("asinh", "Asinh", .float), ("acosh", "Acosh", .float),
    ("atanh", "Atanh", .float), ("sqrt", "Sqrt", .float), ("erf", "Erf", .float),
    ("floor", "Floor", .float), ("ceil", "Ceil", .float),
]

let binaryOps: [(prim: String, op: String, accepts: Accepts)] = [
    ("add", "Add", .numeric), ("sub", "Sub", .numeric), ("mul", "Mul", .numeric), ("pow", "Pow", .float),
]

let comparisonOps: [(prim: String, op: String)] = [
    ("eq", "Equal"), ("lt", "Less"), ("le", "LessOrEqual"), ("gt", "Greater"), ("ge", "GreaterOrEqual"),
]

/// Logical on bool, bitwise on integers: one JAX primitive, two ONNX ops.
let logicalOps: [(prim: String, boolOp: String, intOp: String)] = [
    ("and", "And", "BitwiseAnd"), ("or", "Or", "BitwiseOr"), ("xor", "Xor", "BitwiseXor"),
]

func checkType(_ eqn: Equation, _ accepts: Accepts) throws -> DType {
    let t = try eqn.input(0).dtype
    guard accepts.allows(t) else { throw LoweringError.unsupported("\(eqn.primitive) on \(t) is not supported") }
    return t
}

/// The dtypes a unary op lowering declares: what JAX allows and ONNX Runtime can run.
func unaryDTypes(_ prim: String, _ op: String, _ accepts: Accepts) -> [DType] {
    let floats: [DType] = noDoubleKernel.contains(op) && doubleFallbacks[prim] == nil ? [.f16, .bf16, .f32] : DType.floats
    switch accepts {
    case .float: return floats
    case .signedOrFloat: return floats + DType.signedInts
    case .numeric: return floats + DType.ints
    case .boolOnly: return [.bool]
    }
}

func elementwiseLowerings() -> [Lowering] {
    var out: [Lowering] = []
    for (prim, op, accepts) in unaryOps {
        let fallback = noDoubleKernel.contains(op) ? doubleFallbacks[prim] : nil
        let note = !noDoubleKernel.contains(op) ? "bf16 computes in f32"
            : fallback == nil ? "f64 declines: ONNX Runtime has no double \(op); bf16 computes in f32"
            : "f64 composed from double Sin/Cos/Exp/Log/Sqrt (ONNX Runtime has no double \(op)); bf16 computes in f32"
        let extra: [String: [String]] = ["Sign": ["Where", "Equal"], "Neg": ["Sub"],
                                         "Sigmoid": ["Exp", "Neg", "Abs", "Add", "Reciprocal", "Mul", "Where", "Less"]]
        let emits = fallback != nil ? uniqueOps([op, "Cast"], doubleMathOps) : [op, "Cast"] + (extra[op] ?? [])
        out.append(Lowering(prim, emits: emits,
                            dtypes: unaryDTypes(prim, op, accepts), note: note) { eqn, g in
            let t = try checkType(eqn, accepts)
            if t == .f64, let f = fallback { return [try f(eqn.input(0), g)] }
            if op == "Neg" && t.isUnsignedInt {
                // ONNX Neg is signed-only; 0 - x wraps as XLA's unsigned negation does.
                return [try g.op("Sub", intConstant([0], t, g), eqn.input(0), shape: eqn.output(0).shape)]
            }
            if op == "Sign" && t == .f16 {
                // ONNX Runtime's f16 Sign maps NaN to 0; XLA keeps NaN.
                let x = try eqn.input(0)
                return [try g.op("Where", g.op("Equal", x, x), g.op("Sign", x), x, shape: eqn.output(0).shape)]
            }
            if op == "Sigmoid", try g.boolOption("exact_logistic") { return [try exactLogistic(eqn.input(0), g)] }
            if t == .f64 && noDoubleKernel.contains(op) {
                throw LoweringError.unsupported("\(prim) on f64: ONNX Runtime's CPU provider has no double \(op) kernel")
            }
            return [try computingBF16InF32(eqn.input(0), g) { try g.op(op, $0) }]
        })
    }
    for (prim, op, accepts) in binaryOps {
        out.append(Lowering(prim, emits: [op], dtypes: accepts == .float ? DType.floats : DType.numbers) { eqn, g in
            _ = try checkType(eqn, accepts)
            return [try g.op(op, eqn.input(0), eqn.input(1), shape: eqn.output(0).shape)]
        })
    }
    for (prim, op, boolOp) in [("max", "Max", "Or"), ("min", "Min", "And")] {
        out.append(Lowering(prim, emits: [op, "Cast", boolOp], dtypes: DType.numbers + [.bool],
                            note: "bool: \(boolOp); 16-bit integers compare in 32 bits (no 16-bit kernel in ONNX Runtime)") { eqn, g in
            if try eqn.input(0).dtype.isBool { return [try g.op(boolOp, eqn.input(0), eqn.input(1), shape: eqn.output(0).shape)] }
            let t = try checkType(eqn, .numeric)
            // Widening is exact and order-preserving, so the narrowed result is the same.
            let wide: DType? = t == .i16 ? .i32 : t == .u16 ? .u32 : nil
            let a = try wide.map { try eqn.input(0).cast(to: $0) } ?? eqn.input(0)
            let b = try wide.map { try eqn.input(1).cast(to: $0) } ?? eqn.input(1)
            return [try g.op(op, a, b).cast(to: t)]
        })
    }
    for (prim, op) in comparisonOps {
        out.append(Lowering(prim, emits: [op, "Cast"], dtypes: DType.numbers + [.bool], note: prim == "eq" ? "bf16: in f32" : "bool: as u8 (false < true); bf16: in f32") { eqn, g in
            var a = try eqn.input(0), b = try eqn.input(1)
            if a.dtype.isBool && op != "Equal" { a = try a.cast(to: .u8); b = try b.cast(to: .u8) }
            // ONNX Runtime has no bf16 comparison kernels; widening to f32 is exact.
            if a.dtype == .bf16 { a = try a.cast(to: .f32); b = try b.cast(to: .f32) }
            return [try g.op(op, a, b, shape: eqn.output(0).shape)]
        })
    }
    out.append(Lowering("ne", emits: ["Equal", "Not", "Cast"], dtypes: DType.numbers + [.bool]) { eqn, g in
        var a = try eqn.input(0), b = try eqn.input(1)
        if a.dtype == .bf16 { a = try a.cast(to: .f32); b = try b.cast(to: .f32) }
        return [try g.op("Not", g.op("Equal", a, b), shape: eqn.output(0).shape)]
    })
    return out
}

/// Runs `body` in f32 when x is bf16 and casts back: ONNX Runtime has no bf16 math kernels, and
/// XLA's CPU backend computes bf16 math in f32 too, so results round the same way.
/// sigmoid(|x|) = 1 / (1 + e^-|x|) and sigmoid(-|x|) = e^-|x| · sigmoid(|x|): the exponential
/// never overflows and the small side keeps its relative precision, which ONNX Runtime's Sigmoid
/// (a rational approximation) loses. 16-bit floats compute in f32.
func exactLogistic(_ x: Value, _ g: GraphBuilder) throws -> Value {
    let narrow = x.dtype == .f16 || x.dtype == .bf16
    let v = narrow ? try x.cast(to: .f32) : x
    let e = try g.op("Exp", g.op("Neg", g.op("Abs", v)))
    let r = try g.op("Reciprocal", g.op("Add", e, g.scalar(1, v.dtype)))
    let y = try g.op("Where", g.op("Less", v, g.scalar(0, v.dtype)), g.op("Mul", e, r), r)
    return narrow ? try y.cast(to: x.dtype) : y
}

func computingBF16InF32(_ x: Value, _ g: GraphBuilder, _ body: (Value) throws -> Value) throws -> Value {
    guard x.dtype == .bf16 else { return try body(x) }
    return try body(x.cast(to: .f32)).cast(to: .bf16)
}
