import PluginKit

/// A batch of matrices: leading batch dims (static or symbolic) and a static `rows x cols` core.
/// Every algorithm in this pack loops over the core's rows or columns, so those must be known;
/// the batch dims ride along through broadcasting.
struct MatrixShape {
    let batch: [Dim]
    let rows: Int64
    let cols: Int64

    init(_ shape: [Dim]?, _ what: String) throws {
        guard let shape, shape.count >= 2 else { throw LoweringError.unsupported("\(what) needs an operand of rank >= 2") }
        guard let r = shape[shape.count - 2].value, let c = shape[shape.count - 1].value else {
            throw LoweringError.unsupported("\(what) needs static matrix dims (got \(shape.map(\.description)))")
        }
        batch = Array(shape.dropLast(2)); rows = r; cols = c
    }

    init(batch: [Dim], rows: Int64, cols: Int64) { self.batch = batch; self.rows = rows; self.cols = cols }

    var dims: [Dim] { batch + [.known(rows), .known(cols)] }
    var rank: Int { batch.count + 2 }
    /// The last two axes as positive numbers (the helpers' shape bookkeeping wants those).
    var rowAxis: Int { batch.count }
    var colAxis: Int { batch.count + 1 }
    func with(rows r: Int64, cols c: Int64) -> [Dim] { batch + [.known(r), .known(c)] }
    /// Swaps the last two axes.
    var swapLast: [Int] { Array(0..<batch.count) + [batch.count + 1, batch.count] }
}

/// Op lists of lowerings that combine others' algorithms, each op once.
func opsUnion(_ lists: [String]...) -> [String] {
    var seen = Set<String>()
    return lists.joined().filter { seen.insert($0).inserted }
}

/// The float types every lowering here takes: the algorithms need real arithmetic with NaN.
let linalgFloats: [DType] = [.f32, .f64]

extension GraphBuilder {
    /// 0..<n as int64 of the given shape (n elements along one axis, 1 elsewhere).
    func indices(_ n: Int64, shape: [Int64]) throws -> Value {
        try constant((0..<n).map { Int64($0) }, dtype: .i64, shape: shape)
    }

    func filled(_ x: Double, _ dtype: DType, _ dims: [Dim]) throws -> Value {
        try expand(scalar(x, dtype), dims)
    }

    /// `x` with the index `i` (an int64 scalar) kept as an axis of size 1.
    func take(_ x: Value, _ i: Value, axis: Int, shape: [Dim]? = nil) throws -> Value {
        try op("Gather", x, i.unsqueeze([0]), attributes: ["axis": .int(Int64(axis))], shape: shape)
    }

    /// `Where` whose `b` is a zero of `a`'s type (masking that never multiplies: 0 * inf is NaN).
    func keep(_ mask: Value, _ a: Value, shape: [Dim]? = nil) throws -> Value {
        try op("Where", mask, a, scalar(0, a.dtype), shape: shape)
    }

    /// Sum over axes, kept as size-1 axes (ReduceSum takes its axes as an input at every opset we emit).
    func sum(_ x: Value, axes: [Int], shape: [Dim]? = nil) throws -> Value {
        try op("ReduceSum", x, int64s(axes), attributes: ["keepdims": .int(1)], shape: shape)
    }

    /// A `Loop` of a fixed number of trips whose body maps (iteration, carried) to the new carried
    /// values followed by any per-iteration outputs, which the Loop stacks along a new axis 0.
    func loop(trips: Int64, _ carried: [Value], _ types: [TensorType], stacked: Int = 0,
              _ body: (Value, [Value]) throws -> [Value]) throws -> [Value] {
        let sub = try subgraph(inputs: [.typed(TensorType(.i64, [])), .typed(TensorType(.bool, []))] + types.map { .typed($0) }) { args in
            let outs = try body(args[0], Array(args.dropFirst(2)))
            return [args[1]] + outs
        }
        let outs = try node("Loop", [constant([trips], dtype: .i64, shape: []), nil] + carried,
                            outputs: carried.count + stacked, attributes: ["body": .graph(sub)])
        return outs.enumerated().map { k, v in k < types.count ? v.with(shape: types[k].shape) : v }
    }

    /// A `Loop` that also stops when the body's `again` (a bool scalar, returned first) is false.
    func loopWhile(maxTrips: Int64, _ carried: [Value], _ types: [TensorType],
                   _ body: (Value, [Value]) throws -> (again: Value, carried: [Value])) throws -> [Value] {
        let sub = try subgraph(inputs: [.typed(TensorType(.i64, [])), .typed(TensorType(.bool, []))] + types.map { .typed($0) }) { args in
            let (again, outs) = try body(args[0], Array(args.dropFirst(2)))
            return [again] + outs
        }
        let outs = try node("Loop", [constant([maxTrips], dtype: .i64, shape: []), scalar(1, .bool)] + carried,
                            outputs: carried.count, attributes: ["body": .graph(sub)])
        return zip(outs, types).map { $0.with(shape: $1.shape) }
    }
}
