import PluginKit

/// `gather` with general dimension numbers, as one GatherND over the coordinate grid of every
/// window element (batch + full slice shape), then Squeeze of the collapsed and batching dims and a
/// Transpose that puts the window dims at `offset_dims`. Fill mode reads `fill_value` wherever a
/// window does not fit whole, as XLA's fill-or-drop does.
func gatherLowering() -> Lowering {
    Lowering("gather", emits: ["Cast", "Gather", "Max", "Min", "Add", "Unsqueeze", "Expand", "Concat", "GatherND",
                                "Squeeze", "Transpose", "GreaterOrEqual", "LessOrEqual", "Sub", "And", "Where", "Range", "Slice"],
             dtypes: DType.numbers + [.bool],
             note: "any dimension numbers; modes clip, fill (fill_value, default NaN/int min), promise_in_bounds (clamped)") { eqn, g in
        let x = try eqn.input(0), indices = try eqn.input(1)
        let out = try eqn.output(0)
        guard let operand = x.shape, let ishape = indices.shape else { throw LoweringError.unsupported("gather of unknown rank") }
        let mode = try IndexMode(eqn)
        let offsetDims = try dimensionList(eqn, "offset_dims")
        let collapsed = try dimensionList(eqn, "collapsed_slice_dims")
        let startIndexMap = try dimensionList(eqn, "start_index_map")
        let operandBatching = try dimensionList(eqn, "operand_batching_dims")
        let indicesBatching = try dimensionList(eqn, "start_indices_batching_dims")
        let window = try eqn.dims("slice_sizes")
        if let y = try lowerTakeAlongAxis(eqn, g, mode: mode, offsetDims: offsetDims, collapsed: collapsed,
                                          startIndexMap: startIndexMap, operandBatching: operandBatching, window: window) {
            return [y]
        }
        let nb = ishape.count - 1
        let w = try WindowGrid(g, operand: operand, indices: indices, window: window, startIndexMap: startIndexMap,
                               operandBatching: operandBatching, indicesBatching: indicesBatching,
                               clamp: true, wantFits: mode == .fillOrDrop)
        let batch = Array(ishape.dropLast())
        var y = try g.op("GatherND", x, w.grid, shape: batch + window)
        let dropped = (collapsed + operandBatching).sorted()
        y = try y.squeeze(dropped.map { nb + $0 })
        let kept = (0..<operand.count).filter { !dropped.contains($0) }
        var perm: [Int] = []
        var nextBatch = 0
        for p in 0..<out.shape.count {
            if let i = offsetDims.firstIndex(of: p) { perm.append(nb + i) } else { perm.append(nextBatch); nextBatch += 1 }
        }
        guard kept.count == offsetDims.count, perm.count == nb + kept.count else {
            throw LoweringError.invalid("gather dimension numbers do not match the shapes")
        }
        y = try y.transpose(perm)
        if mode == .fillOrDrop, let fits = w.fits {
            let fill: Value
            if let p = eqn.param("fill_value"), !p.isNone, let v = p.float ?? p.int.map(Double.init) {
                fill = try g.scalar(v, out.dtype)
            } else {
                fill = try defaultFill(out.dtype, g)
            }
            let mask = try fits.unsqueeze(offsetDims)
            y = try g.select(mask, y, fill, shape: out.shape)
        }
        return [y.with(shape: out.shape)]
    }
}
