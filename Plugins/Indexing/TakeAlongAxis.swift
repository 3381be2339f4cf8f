import PluginKit

/// The gather `jnp.take(x, i, axis=a)`, `x[i]` and embedding lookups write: one index per
/// batch element into one operand axis, whose window is a single row along that axis and whole
/// elsewhere. That is ONNX's own Gather, which copies rows; the general GatherND form addresses
/// every element of every window and costs a coordinate grid as large as the output.
/// Returns nil for any other gather, which then takes the general form.
func lowerTakeAlongAxis(_ eqn: Equation, _ g: GraphBuilder, mode: IndexMode, offsetDims: [Int], collapsed: [Int],
                        startIndexMap: [Int], operandBatching: [Int], window: [Dim]) throws -> Value? {
    let x = try eqn.input(0), indices = try eqn.input(1), out = try eqn.output(0)
    guard let operand = x.shape, let ishape = indices.shape, ishape.last == .known(1),
          startIndexMap.count == 1, collapsed == startIndexMap, operandBatching.isEmpty,
          window.count == operand.count else { return nil }
    let axis = startIndexMap[0]
    guard axis >= 0, axis < operand.count, window[axis] == .known(1),
          window.indices.allSatisfy({ $0 == axis || window[$0] == operand[$0] }),
          offsetDims.count == operand.count - 1 else { return nil }
    let nb = ishape.count - 1
    let batch = Array(ishape.dropLast())
    let raw = try indices.cast(to: .i64).squeeze([nb])
    // clip and promise_in_bounds clamp (promised indices are unchanged by it); fill clamps too and
    // masks the rows that did not fit afterwards.
    let start = try g.clampStart(raw, dim: operand[axis], size: 1)
    let gathered = Array(operand[..<axis]) + batch + Array(operand[(axis + 1)...])
    var y = try g.op("Gather", x, start, attributes: ["axis": .int(Int64(axis))], shape: gathered)
    // Gather lays out operand[..<axis], batch, operand[axis+1...]; JAX puts the kept operand axes
    // at offset_dims and the batch axes, in order, everywhere else.
    var perm: [Int] = []
    var nextBatch = 0
    for p in 0..<(nb + offsetDims.count) {
        if let i = offsetDims.firstIndex(of: p) { perm.append(i < axis ? i : i + nb) } else { perm.append(axis + nextBatch); nextBatch += 1 }
    }
    guard nextBatch == nb else { return nil }
    y = try y.transpose(perm)
    if mode == .fillOrDrop {
        let fill: Value
        if let p = eqn.param("fill_value"), !p.isNone, let v = p.float ?? p.int.map(Double.init) {
            fill = try g.scalar(v, out.dtype)
        } else {
            fill = try defaultFill(out.dtype, g)
        }
        let fits = try g.windowFits(raw, dim: operand[axis], size: 1)
        y = try g.select(fits.unsqueeze(offsetDims), y, fill, shape: out.shape)
    }
    return y.with(shape: out.shape)
}
