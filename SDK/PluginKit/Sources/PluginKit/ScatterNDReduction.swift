import PluginABI

/// ScatterND's `reduction` attribute arrives at opset 16 (add, mul) and 18 (min, max). Below
/// that, a Loop over the update rows reads the current value at each row's index (GatherND),
/// combines it with the update and writes it back with a plain ScatterND. One row per trip makes
/// duplicate indices combine exactly as the reducing ScatterND does, in any element type, and
/// the graph is the same size for any number of updates.
extension GraphBuilder {
    /// The first opset whose ScatterND has `reduction`.
    public static func scatterNDReductionOpset(_ reduction: String) -> Int {
        ["add": 16, "mul": 16, "min": 18, "max": 18][reduction] ?? Int.max
    }

    /// ScatterND(data, indices, updates, reduction) as a Loop of plain ScatterNDs; `indices` ends
    /// in an axis of known size (the index depth). Min and max propagate NaN as XLA does.
    ///
    /// The body's values have no element type the pack can read while it is built, so the type
    /// is settled outside: 8- and 16-bit integers are carried in 32 bits (the modular sum and
    /// product keep their low bits; ONNX has no narrow Add or Mul before opset 14 and ONNX Runtime
    /// no 16-bit Where), 16-bit floats in f32 (rounded once at the end, as the reducing
    /// ScatterND is run for ONNX Runtime).
    public func scatterNDByLoop(_ data: Value, _ indices: Value, _ updates: Value, reduction: String) throws -> Value {
        guard ["add", "mul", "min", "max"].contains(reduction) else {
            throw LoweringError.unsupported("ScatterND reduction \(reduction)")
        }
        guard let depth = indices.shape?.last?.value else {
            throw LoweringError.unsupported("a ScatterND reduction by loop needs the index depth")
        }
        let t = data.dtype
        let work: DType = [.i8: .i32, .i16: .i32, .u8: .u32, .u16: .u32, .f16: .f32, .bf16: .f32][t] ?? t
        let start = try data.cast(to: work)
        let rows = try op("Reshape", indices, int64s([-1, depth]))
        let sliceShape = try op("Slice", op("Shape", data), int64s([depth]), int64s([Int64.max]), int64s([0]))
        let flatUpdates = try op("Reshape", updates.cast(to: work), op("Concat", int64s([-1]), sliceShape, attributes: ["axis": .int(0)]))
        let trips = try op("Gather", op("Shape", rows), scalar(0, .i64), attributes: ["axis": .int(0)])
        let state: SubgraphInput = data.shape.map { .typed(TensorType(work, $0)) } ?? .unshaped(work)
        let body = try subgraph(inputs: [.typed(TensorType(.i64, [])), .typed(TensorType(.bool, [])), state]) { args in
            let i = try args[0].unsqueeze([0]), current = args[2]
            let row = try op("Gather", rows, i, attributes: ["axis": .int(0)])
            let old = try op("GatherND", current, row)
            let update = try op("Gather", flatUpdates, i, attributes: ["axis": .int(0)])
            let combined = try combine(old, update, reduction, work)
            return [args[1], try op("ScatterND", current, row, combined)]
        }
        let out = try node("Loop", [trips, nil, start], outputs: 1, attributes: ["body": .graph(body)])[0]
        return try out.with(shape: data.shape).cast(to: t)
    }

    private func combine(_ old: Value, _ update: Value, _ reduction: String, _ t: DType) throws -> Value {
        switch reduction {
        case "add": return try op("Add", old, update)
        case "mul": return try op("Mul", old, update)
        default:
            // The update wins when it is beyond the old value, or NaN (a NaN already there stays,
            // since no comparison with it holds).
            var wins = try op(reduction == "max" ? "Greater" : "Less", update, old)
            if t.isFloat { wins = try op("Or", wins, op("IsNaN", update)) }
            // ONNX Runtime has no u64 Where: old + (update - old) * wins is exact in wrap-around.
            if t == .u64 { return try op("Add", old, op("Mul", op("Sub", update, old), op("Cast", wins, attributes: ["to": .int(Int64(t.rawValue))]))) }
            return try op("Where", wins, update, old)
        }
    }
}
