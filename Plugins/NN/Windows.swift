import PluginKit

/// The spatial bookkeeping convolutions and reduce_window share: XLA pads (possibly negative) a
/// base that may first be dilated; ONNX pads only with non-negative amounts and never dilates a
/// base, so those two steps become explicit nodes here.

/// `padding` as a list of (low, high) pairs.
func padPairs(_ eqn: Equation, _ name: String = "padding") throws -> [(lo: Int, hi: Int)] {
    let p = try eqn.require(name)
    return try p.items.map { pair in
        guard let v = pair.ints, v.count == 2 else { throw LoweringError.invalid("\(eqn.primitive) \(name) is not a list of (low, high) pairs") }
        return (v[0], v[1])
    }
}

/// An optional list-of-ints param, `fill` repeated when absent.
func intsOr(_ eqn: Equation, _ name: String, _ count: Int, fill: Int = 1) -> [Int] {
    if let p = eqn.param(name), !p.isNone, let v = p.ints { return v }
    return Array(repeating: fill, count: count)
}

/// The window axes a helper below indexes must exist in its operand: a damaged program whose
/// operand rank disagrees with its padding or spec would otherwise index past the shape.
func checkWindowAxes(_ x: Value, _ axes: [Int], _ what: String) throws -> [Dim] {
    guard let shape = x.shape else { throw LoweringError.unsupported("\(what) of an operand of unknown rank") }
    guard axes.allSatisfy({ $0 >= 0 && $0 < shape.count }) else {
        throw LoweringError.invalid("\(what) on axes \(axes) of a rank-\(shape.count) operand")
    }
    return shape
}

func knownShape(_ x: Value, _ what: String) throws -> [Int] {
    guard let s = x.shape, let k = s.map(\.value) as? [Int64] else {
        throw LoweringError.unsupported("\(what) needs static dimensions")
    }
    return k.map(Int.init)
}

/// Inserts `d - 1` copies of `fill` between neighbours along each axis (XLA's base / lhs dilation):
/// each axis is split off, padded at its end and flattened, and the trailing padding cut.
func dilate(_ x: Value, _ dilation: [Int], axes: [Int], fill: Value, _ g: GraphBuilder) throws -> Value {
    _ = try checkWindowAxes(x, axes, "dilation")
    var v = x
    for (axis, d) in zip(axes, dilation) where d > 1 {
        // Only the dilated axis needs a static size; others (a symbolic batch) pass through.
        guard var shape = v.shape, let n = shape[axis].value.map(Int.init) else {
            throw LoweringError.unsupported("dilation along a symbolic axis")
        }
        guard n > 0 else { continue }
        let split = try v.unsqueeze([axis + 1])
        var pads = Array(repeating: 0, count: 2 * (shape.count + 1))
        pads[shape.count + 1 + axis + 1] = d - 1
        let padded = try g.pad(split, g.int64s(pads), fill)
        shape[axis] = .known(Int64(n * d))
        let flat = try padded.reshape(shape)
        shape[axis] = .known(Int64((n - 1) * d + 1))
        v = try g.op("Slice", flat, g.int64s([0]), g.int64s([(n - 1) * d + 1]), g.int64s([axis]), shape: shape)
    }
    return v
}

/// Applies the negative parts of XLA padding as slices and returns the non-negative rest.
func cropNegativePads(_ x: Value, _ pads: [(lo: Int, hi: Int)], axes: [Int], _ g: GraphBuilder) throws -> (Value, [(lo: Int, hi: Int)]) {
    guard pads.contains(where: { $0.lo < 0 || $0.hi < 0 }) else { return (x, pads) }
    var shape = try checkWindowAxes(x, axes, "negative padding")
    var starts: [Int] = [], ends: [Int] = [], sliced: [Int] = []
    for (axis, p) in zip(axes, pads) where p.lo < 0 || p.hi < 0 {
        guard let n = shape[axis].value.map(Int.init) else { throw LoweringError.unsupported("negative padding of a symbolic axis") }
        let start = max(0, -p.lo), end = n - max(0, -p.hi)
        guard end >= start else { throw LoweringError.unsupported("padding that removes more than the whole axis") }
        starts.append(start); ends.append(end); sliced.append(axis)
        shape[axis] = .known(Int64(end - start))
    }
    let y = try g.op("Slice", x, g.int64s(starts), g.int64s(ends), g.int64s(sliced), shape: shape)
    return (y, pads.map { (max(0, $0.lo), max(0, $0.hi)) })
}

/// Pads the given axes with a constant (no node when there is nothing to pad).
func padConstant(_ x: Value, _ pads: [(lo: Int, hi: Int)], axes: [Int], fill: Value, _ g: GraphBuilder) throws -> Value {
    guard pads.contains(where: { $0.lo != 0 || $0.hi != 0 }) else { return x }
    let rank = try checkWindowAxes(x, axes, "padding").count
    var all = Array(repeating: 0, count: 2 * rank)
    var shape = x.shape
    for (axis, p) in zip(axes, pads) {
        all[axis] = p.lo; all[rank + axis] = p.hi
        if let d = shape?[axis].value { shape?[axis] = .known(d + Int64(p.lo + p.hi)) }
    }
    return try g.pad(x, g.int64s(all), fill, shape: shape)
}

/// The permutation that puts axis `spec[k]` at position k, and its inverse.
func inversePermutation(_ perm: [Int]) -> [Int] {
    var inv = Array(repeating: 0, count: perm.count)
    for (k, p) in perm.enumerated() { inv[p] = k }
    return inv
}
