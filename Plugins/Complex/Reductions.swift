import PluginKit

/// Sums add pairs as they are; a product multiplies magnitudes and adds angles (polar form), which
/// needs no sequential complex multiply.
func reductionLowerings() -> [Lowering] {
    [
        Lowering("reduce_sum", emits: ["ReduceSum"], priority: 10, dtypes: complexTypes) { e, g in
            let axes = try e.ints("axes")
            if axes.isEmpty { return [try e.input(0)] }
            return [try g.op("ReduceSum", e.input(0), g.int64s(axes), attributes: ["keepdims": .int(0)],
                             shape: e.output(0).shape + [2])]
        },
        Lowering("reduce_prod", emits: pairOps + ["ReduceProd", "ReduceSum"], priority: 10, dtypes: complexTypes,
                 note: "polar: product of magnitudes, sum of angles") { e, g in
            let z = try e.input(0)
            let axes = try e.ints("axes")
            if axes.isEmpty { return [z] }
            let (a, b) = (try g.re(z), try g.im(z))
            let t = z.dtype.part
            let ax = try g.int64s(axes)
            // ReduceProd takes its axes as an input from opset 18, as an attribute before.
            let r = g.opset >= 18
                ? try g.op("ReduceProd", g.magnitude(a, b), ax, attributes: ["keepdims": .int(0)])
                : try g.op("ReduceProd", g.magnitude(a, b), attributes: ["axes": .ints(axes), "keepdims": .int(0)])
            let theta = try g.op("ReduceSum", g.atan2(b, a, t), ax, attributes: ["keepdims": .int(0)])
            return [try g.pair(g.mul(r, g.op("Cos", theta)), g.mul(r, g.op("Sin", theta)), shape: e.output(0).shape)]
        },
    ]
}
