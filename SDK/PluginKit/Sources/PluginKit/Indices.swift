/// Index arithmetic that gather, scatter and dynamic slicing share: XLA clamps a window's start
/// so the whole window fits, and ONNX's index ops want int64 coordinates laid out in a grid.
extension GraphBuilder {
    /// A dimension as an int64 scalar (a constant when known).
    public func dimScalar(_ d: Dim) throws -> Value {
        if let n = d.value { return try scalar(Double(n), .i64) }
        return try dimTensor(d).squeeze([0])
    }

    /// The largest start at which a window of `size` still fits in `dim` (never below 0).
    public func lastStart(dim: Dim, size: Dim) throws -> Value {
        try dimScalar(.max(dim - size, 0))
    }

    /// XLA's start clamping: `start` (any int type and shape) into [0, dim - size], as int64.
    public func clampStart(_ start: Value, dim: Dim, size: Dim) throws -> Value {
        let s = try start.cast(to: .i64)
        return try op("Min", op("Max", s, scalar(0, .i64)), lastStart(dim: dim, size: size), shape: s.shape)
    }

    /// Whether a window of `size` starting at `start` lies wholly inside `dim` (bool, start's shape).
    public func windowFits(_ start: Value, dim: Dim, size: Dim) throws -> Value {
        let s = try start.cast(to: .i64)
        let lo = try op("GreaterOrEqual", s, scalar(0, .i64), shape: s.shape)
        let hi = try op("LessOrEqual", s, dimScalar(dim - size), shape: s.shape)
        return try op("And", lo, hi, shape: s.shape)
    }

    /// 0..<n as int64 laid along `axis` of a rank-`rank` tensor (size 1 elsewhere), for broadcasting.
    /// A symbolic `n` takes a Range, so the lowering must list "Range" among the ops it emits.
    public func iotaAlong(_ n: Dim, axis: Int, rank: Int) throws -> Value {
        guard rank >= 0, axis >= 0, axis < rank else {
            throw LoweringError.invalid("iota axis \(axis) is out of range for rank \(rank)")
        }
        var shape = [Int64](repeating: 1, count: rank)
        if let count = n.value {
            // The constant is built here, so its size is bounded before anything is allocated.
            guard count >= 0, count <= Limits.maxConstantElements else {
                throw LoweringError.invalid("an index range of \(count) elements is out of range (0...\(Limits.maxConstantElements))")
            }
            shape[axis] = count
            return try constant((0..<count).map { Int64($0) }, dtype: .i64, shape: shape)
        }
        let line = try op("Range", scalar(0, .i64), dimScalar(n), scalar(1, .i64), shape: [n])
        let others = (0..<rank).filter { $0 != axis }
        return others.isEmpty ? line : try line.unsqueeze(others)
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

extension GraphBuilder {
    /// The int64 starts and ends of a `dynamic_slice` window: each runtime start clamped into
    /// [0, dim - size] as XLA does, so the window always fits. For Slice over axes 0..<rank.
    public func clampedWindow(_ starts: [Value], dims: [Dim], sizes: [Dim]) throws -> (starts: Value, ends: Value) {
        guard starts.count == dims.count, sizes.count == dims.count else {
            throw LoweringError.invalid("dynamic_slice needs one start and one size per operand dimension")
        }
        let begin = try op("Concat", (0..<dims.count).map {
            Optional(try clampStart(starts[$0], dim: dims[$0], size: sizes[$0]).unsqueeze([0]))
        }, attributes: ["axis": .int(0)], shape: [.known(Int64(dims.count))])
        return (begin, try op("Add", begin, shapeTensor(sizes)))
    }
}
