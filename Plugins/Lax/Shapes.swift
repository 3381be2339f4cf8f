import PluginKit

/// Shape, layout and type plumbing: these move and relabel data without arithmetic.
func shapeLowerings() -> [Lowering] {
    [
        Lowering("copy", emits: []) { eqn, _ in [eqn.input(0)] },
        Lowering("stop_gradient", emits: []) { eqn, _ in [eqn.input(0)] },
        Lowering("reshape", emits: ["Reshape", "Transpose"]) { eqn, g in
            var x = eqn.input(0)
            if let p = eqn.param("dimensions"), !p.isNone, let perm = p.ints { x = try x.transpose(perm) }
            return [try x.reshape(eqn.output(0).shape)]
        },
        Lowering("transpose", emits: ["Transpose"]) { eqn, g in
            [try eqn.input(0).transpose(try eqn.ints("permutation"))]
        },
        Lowering("squeeze", emits: ["Squeeze"]) { eqn, g in
            let x = eqn.input(0)
            let axes = try eqn.ints("dimensions").map { $0 < 0 ? $0 + (x.rank ?? 0) : $0 }
            return [try x.squeeze(axes)]
        },
        Lowering("broadcast_in_dim", emits: ["Unsqueeze", "Expand"]) { eqn, g in
            let x = eqn.input(0)
            let shape = eqn.output(0).shape
            let kept = try eqn.ints("broadcast_dimensions")
            guard kept == kept.sorted() else {
                // JAX only produces increasing broadcast_dimensions; a permutation would need a Transpose.
                throw LoweringError.unsupported("broadcast_in_dim with non-increasing broadcast_dimensions \(kept)")
            }
            let newAxes = (0..<shape.count).filter { !kept.contains($0) }
            return [try x.unsqueeze(newAxes).expand(shape)]
        },
        Lowering("concatenate", emits: ["Concat"]) { eqn, g in
            let inputs = eqn.inputs
            if inputs.count == 1 { return [inputs[0]] }
            return [try g.op("Concat", inputs.map { Optional($0) }, attributes: ["axis": .int(Int64(try eqn.int("dimension")))],
                             shape: eqn.output(0).shape)]
        },
        Lowering("slice", emits: ["Slice"]) { eqn, g in
            let x = eqn.input(0)
            guard let starts = try eqn.require("start_indices").dims, let limits = try eqn.require("limit_indices").dims else {
                throw LoweringError.invalid("slice indices are not lists of dimensions")
            }
            let strides = eqn.param("strides").flatMap { $0.isNone ? nil : $0.ints } ?? Array(repeating: 1, count: starts.count)
            let inShape = x.shape ?? []
            // Only the axes that actually change.
            let axes = (0..<starts.count).filter { a in
                !(starts[a] == 0 && strides[a] == 1 && a < inShape.count && limits[a] == inShape[a])
            }
            if axes.isEmpty { return [x] }
            return [try g.op("Slice", x, try g.shapeTensor(axes.map { starts[$0] }), try g.shapeTensor(axes.map { limits[$0] }),
                             try g.int64s(axes), try g.int64s(axes.map { strides[$0] }), shape: eqn.output(0).shape)]
        },
        Lowering("iota", emits: ["Range", "Cast", "Unsqueeze", "Expand", "Reshape", "Squeeze"]) { eqn, g in
            let out = eqn.output(0)
            let axis = try eqn.int("dimension")
            let n = out.shape[axis]
            var line: Value
            if let count = n.value {
                line = try iotaConstant(count, out.dtype, g)
            } else {
                let limit = try g.dimTensor(n).squeeze([0])
                line = try g.op("Range", try g.scalar(0, .i64), limit, try g.scalar(1, .i64), shape: [n]).cast(to: out.dtype)
            }
            let others = (0..<out.shape.count).filter { $0 != axis }
            return [try line.unsqueeze(others).expand(out.shape)]
        },
        Lowering("select_n", emits: ["Where", "Equal", "Cast"], note: "bool or int32 selector, any number of cases") { eqn, g in
            let which = eqn.input(0)
            let cases = Array(eqn.inputs.dropFirst())
            let shape = eqn.output(0).shape
            if cases.count == 1 { return [cases[0]] }
            if which.dtype.isBool {
                return [try g.op("Where", which, cases[1], cases[0], shape: shape)]
            }
            // Later cases win only where the selector names them; out-of-range selectors are
            // undefined in JAX, here they pick case 0.
            var result = cases[0]
            for (k, c) in cases.enumerated().dropFirst() {
                let hit = try g.op("Equal", which, try g.scalar(Double(k), which.dtype))
                result = try g.op("Where", hit, c, result, shape: shape)
            }
            return [result]
        },
    ]
}

/// 0..<n as a constant of the given type (cheaper at runtime than Range for static sizes).
func iotaConstant(_ n: Int64, _ t: DType, _ g: GraphBuilder) throws -> Value {
    let count = Int(n)
    switch t {
    case .f32: return try g.constant((0..<count).map { Float($0) }, dtype: t)
    case .f64: return try g.constant((0..<count).map { Double($0) }, dtype: t)
    case .i32: return try g.constant((0..<count).map { Int32($0) }, dtype: t)
    case .i64: return try g.constant((0..<count).map { Int64($0) }, dtype: t)
    case .u32: return try g.constant((0..<count).map { UInt32($0) }, dtype: t)
    case .u64: return try g.constant((0..<count).map { UInt64($0) }, dtype: t)
    case .i16: return try g.constant((0..<count).map { Int16(truncatingIfNeeded: $0) }, dtype: t)
    case .u16: return try g.constant((0..<count).map { UInt16(truncatingIfNeeded: $0) }, dtype: t)
    case .i8: return try g.constant((0..<count).map { Int8(truncatingIfNeeded: $0) }, dtype: t)
    case .u8: return try g.constant((0..<count).map { UInt8(truncatingIfNeeded: $0) }, dtype: t)
    default: return try g.constant((0..<count).map { Float($0) }, dtype: .f32).cast(to: t)
    }
}
