import PluginKit

/// and/or/xor/not (logical on bool, bitwise on integers), shifts with XLA's rules for amounts
/// outside [0, width), population_count and clz.
func bitwiseLowerings() -> [Lowering] {
    var out: [Lowering] = []
    for (prim, boolOp, intOp) in logicalOps {
        out.append(Lowering(prim, emits: uniqueOps([boolOp], GraphBuilder.bitwiseOps),
                            dtypes: [.bool] + DType.ints,
                            note: "bool: logical; integers: \(intOp) from opset 18, bit planes below") { eqn, g in
            let a = try eqn.input(0), b = try eqn.input(1), t = a.dtype
            let shape = try eqn.output(0).shape
            guard t.isBool || t.isInt else { throw LoweringError.unsupported("\(prim) on \(t)") }
            if t.isBool { return [try g.op(boolOp, a, b, shape: shape)] }
            return [try g.bitwise(intOp, a, b, type: t, shape: shape)]
        })
    }
    out.append(Lowering("not", emits: ["Not", "BitwiseNot", "Sub", "Cast"], dtypes: [.bool] + DType.ints,
                        note: "bool: logical; integers: BitwiseNot from opset 18, all-ones minus x below") { eqn, g in
        let x = try eqn.input(0), t = x.dtype
        let shape = try eqn.output(0).shape
        guard t.isBool || t.isInt else { throw LoweringError.unsupported("not on \(t)") }
        if t.isBool { return [try g.op("Not", x, shape: shape)] }
        if g.opset >= 18 { return [try g.op("BitwiseNot", x, shape: shape)] }
        let u = unsignedView(t)
        return [try g.op("Sub", intConstant([~0], u, g), x.cast(to: u)).cast(to: t).with(shape: shape)]
    })
    for prim in ["shift_left", "shift_right_logical", "shift_right_arithmetic"] {
        out.append(Lowering(prim, emits: ["BitShift", "Less", "Min"] + pickOps, dtypes: DType.ints,
                            note: "BitShift on the unsigned view; amounts outside [0, width) give 0 (sign fill for arithmetic)") { eqn, g in
            [try lowerShift(eqn, g)]
        })
    }
    out.append(Lowering("population_count", emits: bitPlaneOps, dtypes: DType.ints) { eqn, g in
        let x = try eqn.input(0)
        guard x.dtype.isInt else { throw LoweringError.unsupported("population_count on \(x.dtype)") }
        let count = try g.op("ReduceSum", bitPlanes(x, g).cast(to: .i32), g.int64s([-1]), attributes: ["keepdims": .int(0)])
        return [try count.cast(to: x.dtype)]
    })
    // clz = width - bit length; the bit length counts the shifts k with x >> k != 0.
    out.append(Lowering("clz", emits: uniqueOps(["Greater", "Sub"], bitPlaneOps), dtypes: DType.ints) { eqn, g in
        let x = try eqn.input(0), t = x.dtype
        guard t.isInt else { throw LoweringError.unsupported("clz on \(t)") }
        let u = try x.cast(to: unsignedView(t)), w = bitWidth(t)
        let shifted = try g.op("BitShift", appendAxis(u), bitOffsets(u.dtype, w, g), attributes: ["direction": .string("RIGHT")])
        let nonzero = try g.op("Greater", shifted, intConstant([0], u.dtype, g)).cast(to: .i32)
        let length = try g.op("ReduceSum", nonzero, g.int64s([-1]), attributes: ["keepdims": .int(0)])
        return [try g.op("Sub", g.scalar(Double(w), .i32), length).cast(to: t)]
    })
    return out
}

/// XLA reads the shift amount as unsigned: amounts >= width (negative ones included) shift
/// everything out, so left and logical shifts give 0 and arithmetic shifts the sign fill, which
/// is what a shift by width - 1 gives. BitShift is unsigned-only (and undefined past the width),
/// so the work is done on the unsigned view with the amount clamped. 16-bit values are worked
/// in 32 bits because ONNX Runtime has no 16-bit Min or Where.
func lowerShift(_ eqn: Equation, _ g: GraphBuilder) throws -> Value {
    let x = try eqn.input(0), s = try eqn.input(1), t = x.dtype
    guard t.isInt else { throw LoweringError.unsupported("\(eqn.primitive) on \(t)") }
    let w = bitWidth(t), ut = unsignedView(t)
    let work: DType = w == 16 ? .u32 : ut
    let u = try x.cast(to: ut).cast(to: work)
    let amount = try s.cast(to: unsignedView(s.dtype)).cast(to: work)
    let clamped = try g.op("Min", amount, intConstant([UInt64(w - 1)], work, g))
    let result: Value
    if eqn.primitive == "shift_right_arithmetic" {
        // Arithmetic shift of a negative x is the complement of the logical shift of its complement.
        let negative = try g.op("Less", x.cast(to: signedView(t)), intConstant([0], signedView(t), g))
        let ones = try intConstant([UInt64.max >> (64 - w)], work, g)
        let flipped = try pick(negative, g.op("Sub", ones, u), u, g)
        let shifted = try g.op("BitShift", flipped, clamped, attributes: ["direction": .string("RIGHT")])
        result = try pick(negative, g.op("Sub", ones, shifted), shifted, g)
    } else {
        let dir = eqn.primitive == "shift_left" ? "LEFT" : "RIGHT"
        let shifted = try g.op("BitShift", u, clamped, attributes: ["direction": .string(dir)])
        let inRange = try g.op("Less", amount, intConstant([UInt64(w)], work, g))
        result = try g.op("Mul", shifted, inRange.cast(to: work))
    }
    return try result.cast(to: ut).cast(to: t)
}
