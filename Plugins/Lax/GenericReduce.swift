import PluginKit

/// lax.reduce with a jaxpr body. A body that is one add, mul, max or min of its two operands
/// (or and/or on bools) is that reduction, combined once with the init value.
func genericReduceLowering() -> Lowering {
    Lowering("reduce", emits: ["ReduceSum", "ReduceProd", "ReduceMax", "ReduceMin", "Cast", "CumSum", "Slice", "Squeeze",
                               "Pad", "Mul", "Add", "Max", "Min", "Or", "And"],
             note: "one operand whose body is a single add, mul, max or min (and/or on bools); other bodies decline") { eqn, g in
        guard eqn.inputs.count == 2 else {
            throw LoweringError.unsupported("reduce over \(eqn.inputs.count / 2) operands (only one operand and its init value)")
        }
        let x = eqn.input(0), initial = eqn.input(1)
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
            throw LoweringError.unsupported("reduce with the body \(body) (only a single add, mul, max or min of the two operands)")
        }
        let axes = try eqn.ints("dimensions")
        let r = try reduce(k.prim, k.reduce, x.dtype.isBool ? try x.cast(to: .i32) : x, axes: axes, g)
        let reduced = x.dtype.isBool ? try r.cast(to: .bool) : r
        if x.dtype.isBool || [.f32, .f64, .i32, .i64].contains(x.dtype) {
            return [try g.op(k.combine, reduced, initial, shape: eqn.output(0).shape)]
        }
        // Max/Min/Add/Mul kernels for narrow types run in a wider one; the narrowing cast wraps as XLA does.
        let wide: DType = x.dtype.isFloat ? .f32 : x.dtype == .u64 ? .u64 : .i64
        let y = try g.op(k.combine, try reduced.cast(to: wide), try initial.cast(to: wide))
        return [try y.cast(to: x.dtype).with(shape: eqn.output(0).shape)]
    }
}
