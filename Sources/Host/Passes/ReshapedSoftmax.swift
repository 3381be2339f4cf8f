/// Softmax written over a reshaped view: `e = exp(reshape(x) - reshape(max(x)))`, `e / sum(e)`,
/// where the Reshapes only move unit axes (Flax's attention einsums reduce the scores in one
/// layout and broadcast them in another). Moving unit axes keeps every element in place, so
/// this is `reshape(softmax(x))` over the axis the max reduces; the Reshape then joins the
/// layout chain that follows.
extension Fusions {
    static let reshapedSoftmax: Fusion = {
        let shifted = op("Sub", op("Reshape", v("x"), k("s1"), as: "rx"), op("Reshape", reduce("ReduceMax", v("x"), as: "max"), k("s2"), as: "rmax"))
        let e = op("Exp", shifted, as: "e")
        return Fusion(name: "softmax-reshaped", minOpset: 13, pattern: op("Div", e, reduce("ReduceSum", e, as: "sum")), build: reshapedSoftmaxBuild)
    }()

    static func reshapedSoftmaxBuild(_ m: Match, _ s: FusionSite) -> ValueID? {
        let r = s.r, x = m["x"]
        let maxNode = r.node(m.nodes["max"]!), sumNode = r.node(m.nodes["sum"]!)
        guard r.dtype(x).isFloat, let xs = r.staticShape(x), let ys = r.staticShape(r.node(m.nodes["rx"]!).outputs[0]),
              let ms = r.staticShape(r.node(m.nodes["rmax"]!).outputs[0]), r.staticShape(s.out) == ys,
              let maxAxes = r.reduceAxes(maxNode), maxAxes.count == 1, let sumAxes = r.reduceAxes(sumNode), sumAxes.count == 1,
              r.keepDims(sumNode), xs[maxAxes[0]] > 1 else { return nil }
        // Only unit axes move: the non-unit dims are the same, in the same order.
        let nonUnitX = xs.enumerated().filter { $0.element != 1 }, nonUnitY = ys.enumerated().filter { $0.element != 1 }
        guard nonUnitX.map(\.element) == nonUnitY.map(\.element),
              let k = nonUnitX.firstIndex(where: { $0.offset == maxAxes[0] }), nonUnitY[k].offset == sumAxes[0] else { return nil }
        // The reshaped max is the reshaped x with the reduced axis kept at 1.
        var expected = ys
        expected[sumAxes[0]] = 1
        guard ms == expected else { return nil }
        let y = s.emit("Softmax", [x], [Attribute(name: "axis", value: .int(Int64(maxAxes[0])))], shape: .some(xs.map { .known($0) }))
        return s.emit("Reshape", [y, m["s1"]])
    }
}
