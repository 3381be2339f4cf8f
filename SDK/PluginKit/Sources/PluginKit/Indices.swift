/// Index arithmetic that gather, scatter and dynamic slicing share: XLA clamps a window's start
/// so the whole window fits, and ONNX's index ops want int64 coordinates laid out in a grid.
extension GraphBuilder {
    /// A dimension as an int64 scalar (a constant when known).
    public func dimScalar(_ d: Dim) throws -> Value {
        if let n = d.value { return try scalar(Double(n), .i64) }
        return try dimTensor(d).squeeze([0])
    }

    /// The largest start at which a window of `size` still fits in `dim` (never below 0).
    public func lastStart(dim: Dim, size: Int64) throws -> Value {
        if let n = dim.value { return try scalar(Double(max(0, n - size)), .i64) }
        return try op("Max", try op("Sub", try dimScalar(dim), try scalar(Double(size), .i64)), try scalar(0, .i64))
    }

    /// XLA's start clamping: `start` (any int type and shape) into [0, dim - size], as int64.
    public func clampStart(_ start: Value, dim: Dim, size: Int64) throws -> Value {
        let s = try start.cast(to: .i64)
        return try op("Min", try op("Max", s, try scalar(0, .i64)), try lastStart(dim: dim, size: size), shape: s.shape)
    }

    /// Whether a window of `size` starting at `start` lies wholly inside `dim` (bool, start's shape).
    public func windowFits(_ start: Value, dim: Dim, size: Int64) throws -> Value {
        let s = try start.cast(to: .i64)
        let lo = try op("GreaterOrEqual", s, try scalar(0, .i64), shape: s.shape)
        let hi = try op("LessOrEqual", s, try op("Sub", try dimScalar(dim), try scalar(Double(size), .i64)), shape: s.shape)
        return try op("And", lo, hi, shape: s.shape)
    }

    /// 0..<n as int64 laid along `axis` of a rank-`rank` tensor (size 1 elsewhere), for broadcasting.
    public func iotaAlong(_ n: Int64, axis: Int, rank: Int) throws -> Value {
        var shape = [Int64](repeating: 1, count: rank)
        shape[axis] = n
        return try constant((0..<n).map { Int64($0) }, dtype: .i64, shape: shape)
    }

    /// Coordinates for GatherND/ScatterND: each component (int64, broadcastable to `shape`) becomes
    /// one entry of the last axis of a `shape + [components.count]` tensor.
    public func indexGrid(_ components: [Value], shape: [Dim]) throws -> Value {
        let parts = try components.map { try $0.with(shape: nil).expand(shape).unsqueeze([shape.count]) }
        if parts.count == 1 { return parts[0] }
        return try op("Concat", parts.map { Optional($0) }, attributes: ["axis": .int(Int64(shape.count))],
                      shape: shape + [.known(Int64(parts.count))])
    }
}
