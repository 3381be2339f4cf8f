import PluginKit

/// `gather` of complex storage. GatherND with coordinates for every JAX axis leaves the trailing
/// (real, imag) axis whole, so the lowering is the real one's shape logic with that axis carried
/// at the end: one coordinate per window element (starts clamped like XLA), GatherND, Squeeze of
/// the collapsed and batching dims, Transpose of the window dims to `offset_dims`.
func complexGatherLowering() -> Lowering {
    Lowering("gather", emits: ["Cast", "Gather", "Max", "Min", "Add", "Unsqueeze", "Expand", "Concat", "GatherND",
                                "Squeeze", "Transpose", "GreaterOrEqual", "LessOrEqual", "And", "Where", "Range", "Slice"],
             priority: 10, dtypes: complexTypes, note: "modes clip, promise_in_bounds and fill (NaN or fill_value)") { e, g in
        let x = try e.input(0), indices = try e.input(1)
        let out = try e.output(0)
        guard let operand = x.jaxShape, let ishape = indices.shape, let k = ishape.last?.value else {
            throw LoweringError.unsupported("gather of unknown rank")
        }
        func list(_ field: String) throws -> [Int] {
            guard let p = try e.require("dimension_numbers")[field], !p.isNone else { return [] }
            guard let v = p.ints else { throw LoweringError.invalid("gather dimension_numbers.\(field) is not a list of ints") }
            return v
        }
        let offsetDims = try list("offset_dims"), collapsed = try list("collapsed_slice_dims")
        let startIndexMap = try list("start_index_map")
        let operandBatching = try list("operand_batching_dims"), indicesBatching = try list("start_indices_batching_dims")
        let window = try e.dims("slice_sizes")
        let mode = e.param("mode")?.string ?? ""
        guard !mode.contains("ONE_HOT"), Int(k) == startIndexMap.count else {
            throw LoweringError.unsupported("gather mode \(mode) or an index vector that is not the last axis")
        }
        let fill = mode.contains("FILL_OR_DROP")

        let batch = Array(ishape.dropLast())
        let nb = batch.count, rank = operand.count, gridRank = nb + rank
        let idx = try indices.cast(to: .i64)
        var components: [Value] = []
        var fits: Value?
        for d in 0..<rank {
            let offsets = try g.iotaAlong(window[d], axis: nb + d, rank: gridRank)
            if let j = startIndexMap.firstIndex(of: d) {
                let raw = try g.op("Gather", idx, g.scalar(Double(j), .i64), attributes: ["axis": .int(Int64(nb))], shape: batch)
                if fill {
                    let f = try g.windowFits(raw, dim: operand[d], size: window[d])
                    fits = try fits.map { try g.op("And", $0, f, shape: batch) } ?? f
                }
                let start = try g.clampStart(raw, dim: operand[d], size: window[d]).unsqueeze(Array(nb..<gridRank))
                components.append(try g.op("Add", start, offsets))
            } else if let j = operandBatching.firstIndex(of: d) {
                components.append(try g.op("Add", g.iotaAlong(batch[indicesBatching[j]], axis: indicesBatching[j], rank: gridRank), offsets))
            } else {
                components.append(offsets)
            }
        }
        var y = try g.op("GatherND", x, g.indexGrid(components, shape: batch + window), shape: batch + window + [2])
        let dropped = (collapsed + operandBatching).sorted()
        y = try y.squeeze(dropped.map { nb + $0 })
        var perm: [Int] = []
        var nextBatch = 0
        for p in 0..<out.shape.count {
            if let i = offsetDims.firstIndex(of: p) { perm.append(nb + i) } else { perm.append(nextBatch); nextBatch += 1 }
        }
        guard perm.count == nb + rank - dropped.count else { throw LoweringError.invalid("gather dimension numbers do not match the shapes") }
        y = try y.transpose(perm + [perm.count])
        if let fits {
            let value: Double = e.param("fill_value").flatMap { $0.isNone ? nil : $0.float } ?? .nan
            let mask = try fits.unsqueeze(offsetDims + [out.shape.count])
            y = try g.op("Where", mask, y, g.scalar(value, x.dtype.part))
        }
        return [y.with(shape: out.shape + [2])]
    }
}
