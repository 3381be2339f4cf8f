import PluginKit

/// The low 32-bit word of each element's row-major flat index over `shape`, the counter JAX's
/// threefry encrypts. The high word is zero: a draw of 2^32 or more elements is refused for a
/// known shape, and no exported model is that large per call for a symbolic one.
func flatIndexLow(_ g: GraphBuilder, _ shape: [Dim]) throws -> Value {
    if let dims = shape.map(\.value) as? [Int64] {
        // Checked: a hostile shape must not overflow the count (or allocate a counter table).
        guard case let .known(count) = Dim.product(shape), count >= 0 else {
            throw LoweringError.invalid("random draws of shape \(shape) have too many elements")
        }
        guard count < (1 << 32) else { throw LoweringError.unsupported("random draws of 2^32 or more elements") }
        return try g.constant((0..<UInt32(count)).map { $0 }, dtype: .u32, shape: dims)
    }
    // A symbolic shape (a batch of draws): the flat index counts at run time.
    let count = try g.dimTensor(.product(shape)).squeeze([0])
    let flat = try g.op("Range", g.scalar(0, .i64), count, g.scalar(1, .i64), shape: [.product(shape)])
    return try flat.cast(to: .u32).reshape(shape)
}

/// iota_2x32_shape: the flat index over `shape` as a 64-bit count split into (high, low) uint32
/// words, the counters of JAX's partitionable threefry.
func iota2x32Lowering() -> Lowering {
    Lowering("iota_2x32_shape", emits: ["Expand", "Range", "Cast", "Reshape", "Squeeze"], dtypes: [.u32],
             note: "counts below 2^32: the high word is zero") { eqn, g in
        let shape = try eqn.require("shape").dims ?? []
        let lo = try flatIndexLow(g, shape)
        return [try g.expand(g.scalar(0, .u32), shape).with(shape: shape), lo.with(shape: shape)]
    }
}
