import PluginKit

/// JAX's `GatherScatterMode`: how out-of-bounds windows behave.
enum IndexMode {
    /// Starts clamped so the window fits (XLA's own gather behaviour).
    case clip
    /// Gather: out-of-bounds windows read the fill value. Scatter: out-of-bounds windows are dropped.
    case fillOrDrop
    /// The caller promises in-bounds indices; clamping is then free of observable effect.
    case promiseInBounds

    init(_ eqn: Equation) throws {
        let name = eqn.param("mode")?.string ?? ""
        if name.contains("FILL_OR_DROP") { self = .fillOrDrop }
        else if name.contains("PROMISE_IN_BOUNDS") { self = .promiseInBounds }
        else if name.contains("CLIP") || name.isEmpty { self = .clip }
        else if name.contains("ONE_HOT") { throw LoweringError.unsupported("\(eqn.primitive) mode \(name)") }
        else { throw LoweringError.unsupported("\(eqn.primitive) mode \(name)") }
    }
}

/// A list field of a dimension-numbers record.
func dimensionList(_ eqn: Equation, _ field: String) throws -> [Int] {
    let dn = try eqn.require("dimension_numbers")
    guard let p = dn[field] else { return [] }
    if p.isNone { return [] }
    guard let v = p.ints else { throw LoweringError.invalid("\(eqn.primitive) dimension_numbers.\(field) is not a list of ints") }
    return v
}

/// The coordinate grid of every element of every window: shape `batch + window + [rank]`, where
/// `window` has one size (known or symbolic) per operand dimension. Operand dimensions named by
/// `startIndexMap` start at the (clamped) index read from `indices`; operand batching dimensions
/// follow the matching indices dimension; the rest start at 0.
struct WindowGrid {
    var grid: Value
    /// Per batch element: whether its whole window fits (before clamping).
    var fits: Value?

    init(_ g: GraphBuilder, operand: [Dim], indices: Value, window: [Dim], startIndexMap: [Int],
         operandBatching: [Int], indicesBatching: [Int], clamp: Bool, wantFits: Bool) throws {
        guard let ishape = indices.shape, let k = ishape.last?.value, Int(k) == startIndexMap.count else {
            throw LoweringError.unsupported("indices whose last dimension is not the index vector")
        }
        let batch = Array(ishape.dropLast())
        let nb = batch.count, rank = operand.count
        guard window.count == rank, operandBatching.count == indicesBatching.count,
              indicesBatching.allSatisfy({ $0 >= 0 && $0 < nb }) else {
            throw LoweringError.invalid("gather/scatter window sizes or batching dimensions do not match the operand (rank \(rank)) and indices (rank \(nb + 1))")
        }
        try checkDimensions(startIndexMap, rank: rank)
        try checkDimensions(operandBatching, rank: rank)
        let gridRank = nb + rank
        let idx = try indices.cast(to: .i64)
        var components: [Value] = []
        var fitsAll: Value?
        for d in 0..<rank {
            let offsets = try g.iotaAlong(window[d], axis: nb + d, rank: gridRank)
            if let j = startIndexMap.firstIndex(of: d) {
                let raw = try g.op("Gather", idx, g.scalar(Double(j), .i64), attributes: ["axis": .int(Int64(nb))], shape: batch)
                if wantFits {
                    let f = try g.windowFits(raw, dim: operand[d], size: window[d])
                    fitsAll = try fitsAll.map { try g.op("And", $0, f, shape: batch) } ?? f
                }
                let start = clamp ? try g.clampStart(raw, dim: operand[d], size: window[d]) : raw
                let s = try start.unsqueeze(Array(nb..<gridRank))
                components.append(try g.op("Add", s, offsets))
            } else if let j = operandBatching.firstIndex(of: d) {
                let b = indicesBatching[j]
                guard b < nb else { throw LoweringError.unsupported("a batching dimension that is the index vector") }
                components.append(try g.op("Add", g.iotaAlong(batch[b], axis: b, rank: gridRank), offsets))
            } else {
                components.append(offsets)
            }
        }
        grid = try g.indexGrid(components, shape: batch + window)
        fits = fitsAll
    }
}

/// JAX's default gather fill: NaN for floats, the lowest signed / highest unsigned int, true.
func defaultFill(_ t: DType, _ g: GraphBuilder) throws -> Value {
    if t.isFloat { return try g.scalar(.nan, t) }
    switch t {
    case .i8: return try g.scalar(Double(Int8.min), t)
    case .i16: return try g.scalar(Double(Int16.min), t)
    case .i32: return try g.scalar(Double(Int32.min), t)
    case .i64: return try g.constant([Int64.min], dtype: t, shape: [])
    case .u8: return try g.scalar(Double(UInt8.max), t)
    case .u16: return try g.scalar(Double(UInt16.max), t)
    case .u32: return try g.scalar(Double(UInt32.max), t)
    case .u64: return try g.constant([UInt64.max], dtype: t, shape: [])
    case .bool: return try g.scalar(1, t)
    default: throw LoweringError.unsupported("gather fill for \(t)")
    }
}
