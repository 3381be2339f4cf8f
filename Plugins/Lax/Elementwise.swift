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

/// Primitives that are one ONNX op on the same operands, elementwise.
let unaryOps: [(prim: String, op: String, accepts: Accepts)] = [
    ("neg", "Neg", .signedOrFloat), ("abs", "Abs", .numeric), ("sign", "Sign", .numeric),
    ("exp", "Exp", .float), ("log", "Log", .float), ("tanh", "Tanh", .float), ("logistic", "Sigmoid", .float),
    ("sin", "Sin", .float), ("cos", "Cos", .float), ("tan", "Tan", .float),
    ("asin", "Asin", .float), ("acos", "Acos", .float), ("atan", "Atan", .float),
    ("sinh", "Sinh", .float), ("cosh", "Cosh", .float), ("asinh", "Asinh", .float), ("acosh", "Acosh", .float),
    ("atanh", "Atanh", .float), ("sqrt", "Sqrt", .float), ("erf", "Erf", .float),
    ("floor", "Floor", .float), ("ceil", "Ceil", .float),
]

let binaryOps: [(prim: String, op: String, accepts: Accepts)] = [
    ("add", "Add", .numeric), ("sub", "Sub", .numeric), ("mul", "Mul", .numeric),
    // Integer Div truncates toward zero in ONNX Runtime, as lax.div does.
    ("div", "Div", .numeric), ("max", "Max", .numeric), ("min", "Min", .numeric), ("pow", "Pow", .float),
]

let comparisonOps: [(prim: String, op: String)] = [
    ("eq", "Equal"), ("lt", "Less"), ("le", "LessOrEqual"), ("gt", "Greater"), ("ge", "GreaterOrEqual"),
]

/// Logical on bool, bitwise on integers: one JAX primitive, two ONNX ops.
let logicalOps: [(prim: String, boolOp: String, intOp: String)] = [
    ("and", "And", "BitwiseAnd"), ("or", "Or", "BitwiseOr"), ("xor", "Xor", "BitwiseXor"),
]

func checkType(_ eqn: Equation, _ accepts: Accepts) throws -> DType {
    let t = eqn.input(0).dtype
    guard accepts.allows(t) else { throw LoweringError.unsupported("\(eqn.primitive) on \(t) is not supported") }
    return t
}

func elementwiseLowerings() -> [Lowering] {
    var out: [Lowering] = []
    for (prim, op, accepts) in unaryOps {
        out.append(Lowering(prim, emits: [op]) { eqn, g in
            _ = try checkType(eqn, accepts)
            return [try g.op(op, eqn.input(0), shape: eqn.output(0).shape)]
        })
    }
    for (prim, op, accepts) in binaryOps {
        out.append(Lowering(prim, emits: [op]) { eqn, g in
            _ = try checkType(eqn, accepts)
            return [try g.op(op, eqn.input(0), eqn.input(1), shape: eqn.output(0).shape)]
        })
    }
    for (prim, op) in comparisonOps {
        out.append(Lowering(prim, emits: [op]) { eqn, g in
            [try g.op(op, eqn.input(0), eqn.input(1), shape: eqn.output(0).shape)]
        })
    }
    out.append(Lowering("ne", emits: ["Equal", "Not"]) { eqn, g in
        [try g.op("Not", try g.op("Equal", eqn.input(0), eqn.input(1)), shape: eqn.output(0).shape)]
    })
    for (prim, boolOp, intOp) in logicalOps {
        out.append(Lowering(prim, emits: [boolOp, intOp], note: "bool: logical; integers: bitwise") { eqn, g in
            let t = eqn.input(0).dtype
            let op = t.isBool ? boolOp : intOp
            guard t.isBool || t.isInt else { throw LoweringError.unsupported("\(prim) on \(t)") }
            if t.isInt && g.opset < 18 { throw LoweringError.unsupported("bitwise \(prim) needs opset 18 (\(intOp))") }
            return [try g.op(op, eqn.input(0), eqn.input(1), shape: eqn.output(0).shape)]
        })
    }
    out.append(Lowering("not", emits: ["Not", "BitwiseNot"], note: "bool: logical; integers: bitwise") { eqn, g in
        let t = eqn.input(0).dtype
        guard t.isBool || t.isInt else { throw LoweringError.unsupported("not on \(t)") }
        if t.isInt && g.opset < 18 { throw LoweringError.unsupported("bitwise not needs opset 18 (BitwiseNot)") }
        return [try g.op(t.isBool ? "Not" : "BitwiseNot", eqn.input(0), shape: eqn.output(0).shape)]
    })
    return out
}
