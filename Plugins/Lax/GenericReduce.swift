import PluginKit

/// lax.reduce with a jaxpr body. A body that is one add, mul, max or min of its two operands
/// (or and/or on bools) is that reduction, combined once with the init value. Any other body,
/// and reductions of several operands at once, run the body itself in Loops (reduceByLoop).
func genericReduceLowering() -> Lowering {
    Lowering("reduce", emits: ["ReduceSum", "ReduceProd", "ReduceMax", "ReduceMin", "Cast", "CumSum", "Slice", "Squeeze",
                               "Pad", "Mul", "Add", "Max", "Min", "Or", "And", "Loop", "Gather", "Transpose", "Reshape", "IsNaN", "Where", "Greater", "Expand"],
             note: "a body that is a single add, mul, max or min (and/or on bools): that ONNX reduction; any other body or several operands: the body in nested Loops, one element at a time") { eqn, g in
        if eqn.inputs.count != 2 { return try reduceByLoop(eqn, g) }
        let x = try eqn.input(0), initial = try eqn.input(1)
        let body = try eqn.require("jaxpr").string ?? ""
        var kinds: [String: (prim: String, reduce: String, combine: String)] = [
            "add": ("reduce_sum", "ReduceSum", "Add"), "mul": ("reduce_prod", "ReduceProd", "Mul"),
            "max": ("reduce_max", "ReduceMax", "Max"), "min": ("reduce_min", "ReduceMin", "Min"),
        ]
        if x.dtype.isBool {
            kinds = ["or": ("reduce_max", "ReduceMax", "Or"), "and": ("reduce_min", "ReduceMin", "And"),
                     "max": ("reduce_max", "ReduceMax", "Or"), "min": ("reduce_min", "ReduceMin", "And")]
        }
        guard let k = kinds.first(where: { prim, _ in
            body == "(i0, i1) { v0 = \(prim)(i0, i1) } (v0)" || body == "(i0, i1) { v0 = \(prim)(i1, i0) } (v0)"
        })?.value else {
            return try reduceByLoop(eqn, g)
        }
        let axes = try eqn.ints("dimensions")
        let r = try reduce(k.prim, k.reduce, x.dtype.isBool ? x.cast(to: .i32) : x, axes: axes, g)
        let reduced = x.dtype.isBool ? try r.cast(to: .bool) : r
        if x.dtype.isBool || [.f32, .f64, .i32, .i64].contains(x.dtype) {
            return [try g.op(k.combine, reduced, initial, shape: eqn.output(0).shape)]
        }
        // Max/Min/Add/Mul kernels for narrow types run in a wider one; the narrowing cast wraps as XLA does.
        let wide: DType = x.dtype.isFloat ? .f32 : x.dtype == .u64 ? .u64 : .i64
        let y = try g.op(k.combine, reduced.cast(to: wide), initial.cast(to: wide))
        return [try y.cast(to: x.dtype)]
    }
}

/// Any reduce body, element by element in reduction order: an outer Loop over the kept
/// positions (its scan outputs are the results) runs an inner Loop over the reduced ones,
/// carrying one scalar per operand through the body. The body sees scalars, exactly its JAX
/// types; the cost is one body evaluation per element.
func reduceByLoop(_ eqn: Equation, _ g: GraphBuilder) throws -> [Value] {
    let n = eqn.inputs.count / 2
    guard n >= 1, eqn.inputs.count == 2 * n, eqn.outputs.count == n else {
        throw LoweringError.invalid("reduce with \(eqn.inputs.count) operands and \(eqn.outputs.count) results")
    }
    let program = try eqn.require("jaxpr")
    let operands = Array(eqn.inputs[..<n]), inits = Array(eqn.inputs[n...])
    guard let shape = operands[0].shape else { throw LoweringError.invalid("reduce operand without a shape") }
    let reduced = try eqn.ints("dimensions").map { try normalizedAxis($0, rank: shape.count) }.sorted()
    let kept = (0..<shape.count).filter { !reduced.contains($0) }
    let keptCount = Dim.product(kept.map { shape[$0] }), reducedCount = Dim.product(reduced.map { shape[$0] })
    let rows = try operands.map { try $0.transpose(kept + reduced).reshape([keptCount, reducedCount]) }
    let scalars = operands.map { TensorType($0.dtype, []) }
    let counter: [SubgraphInput] = [.typed(TensorType(.i64, [])), .typed(TensorType(.bool, []))]
    let always = try g.scalar(1, .bool)
    let outer = try g.subgraph(inputs: counter) { args in
        let row = try rows.map { try g.op("Gather", $0, args[0], attributes: ["axis": .int(0)], shape: [reducedCount]) }
        let inner = try g.subgraph(inputs: counter + scalars.map { .typed($0) }) { inner in
            let elements = try row.map { try g.op("Gather", $0, inner[0], attributes: ["axis": .int(0)], shape: []) }
            let next = try g.inline(program, Array(inner.dropFirst(2)) + elements, outputs: n)
            return [inner[1]] + next
        }
        let results = try g.node("Loop", [g.dimTensor(reducedCount).squeeze([0]), always] + inits, outputs: n,
                                 attributes: ["body": .graph(inner)])
        return [args[1]] + results
    }
    let stacked = try g.node("Loop", [g.dimTensor(keptCount).squeeze([0]), always], outputs: n, attributes: ["body": .graph(outer)])
    return try zip(stacked, eqn.outputs).map { try $0.with(shape: [keptCount]).reshape($1.shape) }
}
