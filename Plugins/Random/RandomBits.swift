import PluginKit

/// What JAX's partitionable threefry (the default since JAX 0.5) computes from keys of shape K:
/// each output element of `shape` encrypts its flat index (as a 64-bit counter split into two
/// uint32 words) under its key. Keys broadcast over the trailing `shape` axes.
func encryptIota(_ g: GraphBuilder, key: Value, shape: [Dim]) throws -> (Value, Value, [Dim]) {
    guard let keyShape = key.shape else { throw LoweringError.unsupported("a key of unknown rank") }
    let batch = Array(keyShape.dropLast())
    let (k0, k1) = try keyHalves(g, key)
    let trailing = Array(batch.count..<(batch.count + shape.count))
    let b0 = try g.unsqueeze(k0, trailing), b1 = try g.unsqueeze(k1, trailing)
    let lo = try flatIndexLow(g, shape)
    let hi = try g.scalar(0, .u32)
    let out = batch + shape
    let (x0, x1) = try Threefry(g: g, shape: out)(key: b0, b1, counter: hi, lo)
    return (try g.expand(x0, out), try g.expand(x1, out), out)
}

func randomBitsLowerings() -> [Lowering] {
    [
        Lowering("random_bits", emits: GraphBuilder.bitwiseOps + ["Gather", "Unsqueeze", "Expand", "Cast", "Range", "Squeeze", "Reshape", "Slice", "Concat"],
                 dtypes: [.u32], note: "threefry keys, partitionable mode (JAX's default), symbolic shapes count at run time; rbg and unsafe_rbg keys as rng_bit_generator's Philox, static shapes; bit widths 8, 16, 32, 64") { eqn, g in
            let width = try eqn.int("bit_width")
            let shape = try eqn.require("shape").dims ?? []
            if isRbg(keyImpl(eqn)) {
                guard let dtype = [8: DType.u8, 16: .u16, 32: .u32, 64: .u64][width] else {
                    throw LoweringError.unsupported("random_bits with bit_width \(width)")
                }
                return [try RbgKeys(g, key: eqn.input(0)).bits(shape, dtype: dtype)]
            }
            try requireThreefry(eqn, allowRbg: true)
            let (x0, x1, out) = try encryptIota(g, key: eqn.input(0), shape: shape)
            switch width {
            case 32: return [try g.bitwise("BitwiseXor", x0, x1, type: .u32, shape: out)]
            case 8, 16:
                return [try g.bitwise("BitwiseXor", x0, x1, type: .u32, shape: out).cast(to: width == 8 ? .u8 : .u16)]
            case 64:
                let hi = try g.op("BitShift", x0.cast(to: .u64), g.scalar(32, .u64), attributes: ["direction": .string("LEFT")], shape: out)
                return [try g.disjointOr(hi, x1.cast(to: .u64), shape: out)]
            default: throw LoweringError.unsupported("random_bits with bit_width \(width)")
            }
        },
        Lowering("random_split", emits: GraphBuilder.bitwiseOps + ["Gather", "Unsqueeze", "Expand", "Concat", "Cast", "Range", "Squeeze", "Reshape", "Slice"],
                 dtypes: [.u32], note: "threefry keys, partitionable mode (JAX's default); rbg and unsafe_rbg keys (unsafe_rbg: static shapes)") { eqn, g in
            let shape = try eqn.require("shape").dims ?? []
            switch keyImpl(eqn) {
            case "rbg": return [try RbgKeys(g, key: eqn.input(0)).split(shape)]
            case "unsafe_rbg": return [try RbgKeys(g, key: eqn.input(0)).unsafeSplit(shape)]
            default: try requireThreefry(eqn, allowRbg: true)
            }
            let (x0, x1, out) = try encryptIota(g, key: eqn.input(0), shape: shape)
            return [try keyData(g, x0, x1, batch: out)]
        },
        Lowering("random_fold_in", emits: GraphBuilder.bitwiseOps + ["Gather", "Unsqueeze", "Expand", "Concat", "Cast", "Slice", "Range", "Reshape"],
                 dtypes: [.u32], note: "threefry, rbg and unsafe_rbg keys (unsafe_rbg: one message for all keys)") { eqn, g in
            let message = try eqn.input(1).cast(to: .u32)
            switch keyImpl(eqn) {
            case "rbg": return [try RbgKeys(g, key: eqn.input(0)).foldIn(message)]
            case "unsafe_rbg": return [try RbgKeys(g, key: eqn.input(0)).unsafeFoldIn(message)]
            default: try requireThreefry(eqn, allowRbg: true)
            }
            return [try threefryFoldIn(g, key: eqn.input(0), message: message)]
        },
    ]
}

/// fold_in encrypts the counter (0, message) under the key; the result is the new key.
func threefryFoldIn(_ g: GraphBuilder, key: Value, message: Value) throws -> Value {
    let batch = Array((key.shape ?? []).dropLast())
    let (k0, k1) = try keyHalves(g, key)
    let (x0, x1) = try Threefry(g: g, shape: batch)(key: k0, k1, counter: g.scalar(0, .u32), message)
    return try keyData(g, x0, x1, batch: batch)
}
