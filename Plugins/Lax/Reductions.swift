import PluginKit

/// Reductions over a set of axes, and arg-reductions over one.
let reductionOps: [(prim: String, op: String)] = [
    ("reduce_sum", "ReduceSum"), ("reduce_max", "ReduceMax"), ("reduce_min", "ReduceMin"), ("reduce_prod", "ReduceProd"),
]

/// ONNX Runtime's CPU reductions cover these element types; others are widened and narrowed back
/// (wrap-around of narrow integers is preserved by the narrowing cast).
func reductionType(_ t: DType) -> DType? {
    if [.f32, .f64, .i32, .i64].contains(t) { return nil }
    if t.isFloat { return .f32 }
    if t.isBool { return .i32 }
    return t.isUnsignedInt ? .i64 : .i64
}

func reductionLowerings() -> [Lowering] {
    var out: [Lowering] = reductionOps.map { prim, op in
        Lowering(prim, emits: [op, "Cast"]) { eqn, g in
            let x = eqn.input(0)
            let axes = try eqn.ints("axes")
            if axes.isEmpty { return [x] }
            let wide = reductionType(x.dtype)
            let xin = try wide.map { try x.cast(to: $0) } ?? x
            let r: Value
            // ReduceSum takes axes as an input from opset 13, the others from opset 18.
            if op == "ReduceSum" || g.opset >= 18 {
                r = try g.op(op, xin, try g.int64s(axes), attributes: ["keepdims": .int(0)])
            } else {
                r = try g.op(op, xin, attributes: ["axes": .ints(axes), "keepdims": .int(0)])
            }
            return [try r.cast(to: x.dtype).with(shape: eqn.output(0).shape)]
        }
    }
    for (prim, op) in [("argmax", "ArgMax"), ("argmin", "ArgMin")] {
        out.append(Lowering(prim, emits: [op, "Cast"], note: "first index on ties, like JAX") { eqn, g in
            let x = eqn.input(0)
            let axes = try eqn.ints("axes")
            guard axes.count == 1 else { throw LoweringError.unsupported("\(prim) over \(axes.count) axes") }
            let xin = x.dtype.isBool || (x.dtype.isInt && x.dtype != .i32 && x.dtype != .i64) ? try x.cast(to: .i32) : x
            let r = try g.op(op, xin, attributes: ["axis": .int(Int64(axes[0])), "keepdims": .int(0), "select_last_index": .int(0)])
            return [try r.cast(to: eqn.output(0).dtype).with(shape: eqn.output(0).shape)]
        })
    }
    return out
}
