import PluginKit

/// Shape, layout and type plumbing: these move and relabel data without arithmetic.
func shapeLowerings() -> [Lowering] {
    [
        Lowering("copy", emits: []) { eqn, _ in [try eqn.input(0)] },
        Lowering("stop_gradient", emits: []) { eqn, _ in [try eqn.input(0)] },
        Lowering("reshape", emits: ["Reshape", "Transpose"]) { eqn, g in
            var x = try eqn.input(0)
            if let p = eqn.param("dimensions"), !p.isNone, let perm = p.ints { x = try x.transpose(perm) }
            return [try x.reshape(eqn.output(0).shape)]
        },
        Lowering("transpose", emits: ["Transpose"]) { eqn, g in
            [try eqn.input(0).transpose(eqn.ints("permutation"))]
        },
        Lowering("squeeze", emits: ["Squeeze"]) { eqn, g in
            let x = try eqn.input(0)
            let axes = try eqn.ints("dimensions").map { $0 < 0 ? $0 + (x.rank ?? 0) : $0 }
            return [try x.squeeze(axes)]
        },
        Lowering("broadcast_in_dim", emits: ["Unsqueeze", "Expand", "Slice"]) { eqn, g in
            let x = try eqn.input(0)
            let shape = try eqn.output(0).shape
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
            return [try g.op("Concat", inputs.map { Optional($0) }, attributes: ["axis": .int(Int64(eqn.int("dimension")))],
                             shape: eqn.output(0).shape)]
        },
        Lowering("slice", emits: ["Slice"]) { eqn, g in
            let x = try eqn.input(0)
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
            return [try g.op("Slice", x, g.shapeTensor(axes.map { starts[$0] }), g.shapeTensor(axes.map { limits[$0] }),
                             g.int64s(axes), g.int64s(axes.map { strides[$0] }), shape: eqn.output(0).shape)]
        },
        Lowering("pad", emits: ["Unsqueeze", "Pad", "Reshape", "Slice", "Cast"],
                 note: "negative padding crops; interior padding by pad-and-fold per axis") { eqn, g in
            try lowerPad(eqn, g)
        },
        Lowering("rev", emits: ["Slice"]) { eqn, g in
            let dims = try eqn.ints("dimensions")
            if dims.isEmpty { return [try eqn.input(0)] }
            let n = dims.count
            return [try g.op("Slice", eqn.input(0), g.int64s([Int64](repeating: -1, count: n)),
                             g.int64s([Int64](repeating: Int64.min, count: n)), g.int64s(dims),
                             g.int64s([Int64](repeating: -1, count: n)), shape: eqn.output(0).shape)]
        },
        Lowering("split", emits: ["Split"]) { eqn, g in
            let axis = try eqn.int("axis")
            let sizes = try eqn.ints("sizes")
            let parts = try g.node("Split", [eqn.input(0), g.int64s(sizes)], outputs: sizes.count,
                                   attributes: ["axis": .int(Int64(axis))])
            return zip(parts, eqn.outputs).map { $0.with(shape: $1.shape) }
        },
        Lowering("tile", emits: ["Tile"], note: "repeats may be symbolic (a class token tiled to the batch)") { eqn, g in
            let reps = try eqn.dims("reps")
            let x = try eqn.input(0)
            let rank = try eqn.output(0).rank
            let lifted = try x.unsqueeze(Array(0..<(rank - (x.rank ?? rank))))
            return [try g.op("Tile", lifted, g.shapeTensor(reps), shape: eqn.output(0).shape)]
        },
        Lowering("iota", emits: ["Range", "Cast", "Unsqueeze", "Expand", "Reshape", "Squeeze", "Slice"]) { eqn, g in
            let out = try eqn.output(0)
            let axis = try eqn.int("dimension")
            guard axis >= 0, axis < out.rank else { throw LoweringError.invalid("iota dimension \(axis) is out of range for rank \(out.rank)") }
            let n = out.shape[axis]
            var line: Value
            if let count = n.value {
                line = try iotaConstant(count, out.dtype, g)
            } else {
                let limit = try g.dimTensor(n).squeeze([0])
                line = try g.op("Range", g.scalar(0, .i64), limit, g.scalar(1, .i64), shape: [n]).cast(to: out.dtype)
            }
            let others = (0..<out.shape.count).filter { $0 != axis }
            return [try line.unsqueeze(others).expand(out.shape)]
        },
        Lowering("select_n", emits: ["Where", "Equal", "Cast"], note: "bool or int32 selector, any number of cases") { eqn, g in
            let which = try eqn.input(0)
            let cases = Array(eqn.inputs.dropFirst())
            let shape = try eqn.output(0).shape
            guard !cases.isEmpty else { throw LoweringError.invalid("select_n needs at least one case besides its selector") }
            if cases.count == 1 { return [cases[0]] }
            if which.dtype.isBool {
                return [try g.select(which, cases[1], cases[0], shape: shape)]
            }
            // Later cases win only where the selector names them; out-of-range selectors are
            // undefined in JAX, here they pick case 0.
            var result = cases[0]
            for (k, c) in cases.enumerated().dropFirst() {
                let hit = try g.op("Equal", which, g.scalar(Double(k), which.dtype))
                result = try g.select(hit, c, result, shape: shape)
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

/// XLA's pad: interior padding first (each element followed by `interior` pad values, folded in
/// through an extra axis), then edge padding, whose negative amounts crop. Edge amounts may be
/// symbolic (`B`): they go to Pad as a runtime shape tensor, which also crops when negative.
func lowerPad(_ eqn: Equation, _ g: GraphBuilder) throws -> [Value] {
    var x = try eqn.input(0)
    let value = try eqn.input(1)
    guard var shape = x.shape, let config = eqn.param("padding_config")?.items else {
        throw LoweringError.invalid("pad without a padding_config")
    }
    let rank = shape.count
    let cfg = try config.map { c -> (lo: Dim, hi: Dim, interior: Int64) in
        guard let v = c.dims, v.count == 3 else { throw LoweringError.invalid("pad config entry is not (lo, hi, interior)") }
        guard let interior = v[2].value else { throw LoweringError.unsupported("pad with symbolic interior padding \(v[2])") }
        return (v[0], v[1], interior)
    }
    // Amounts past 2^40 could only describe tensors no machine holds, and would overflow the
    // shape arithmetic below.
    let bound: Int64 = 1 << 40
    guard cfg.count == rank, cfg.allSatisfy({ c in
        c.interior >= 0 && c.interior <= bound && [c.lo, c.hi].allSatisfy { $0.value.map { $0.magnitude <= bound } ?? true }
    }) else {
        throw LoweringError.invalid("pad config \(cfg.map { "(\($0.lo), \($0.hi), \($0.interior))" }) does not fit an operand of rank \(rank)")
    }
    for a in 0..<rank where cfg[a].interior > 0 && shape[a] != 1 && shape[a] != 0 {
        let n = shape[a], i = cfg[a].interior
        var s1 = shape; s1.insert(1, at: a + 1)
        var pads = [Int64](repeating: 0, count: 2 * (rank + 1))
        pads[rank + 1 + a + 1] = i
        var s2 = shape; s2.insert(.known(1 + i), at: a + 1)
        let spread = try g.pad(x.unsqueeze([a + 1]), g.int64s(pads), value, shape: s2)
        var s3 = shape; s3[a] = .product([n, .known(1 + i)])
        let folded = try spread.reshape(s3)
        // n + (n - 1) * i elements: the pad after the last element goes.
        shape[a] = s3[a] - .known(i)
        x = try g.op("Slice", folded, g.int64s([0]), g.dimTensor(shape[a]), g.int64s([a]), shape: shape)
    }
    // Known negative amounts crop with a Slice below; symbolic ones go to Pad as they are.
    func growth(_ d: Dim) -> Dim { d.value.map { .known(max(0, $0)) } ?? d }
    let pads = cfg.map { growth($0.lo) } + cfg.map { growth($0.hi) }
    if pads.contains(where: { $0 != 0 }) {
        let grown = (0..<rank).map { a in shape[a] + pads[a] + pads[rank + a] }
        x = try g.pad(x, g.shapeTensor(pads), value, shape: grown)
        shape = grown
    }
    let crop = (0..<rank).filter { (cfg[$0].lo.value ?? 0) < 0 || (cfg[$0].hi.value ?? 0) < 0 }
    if !crop.isEmpty {
        // Ends count from the back so symbolic dims need no arithmetic; Int64.max keeps the end.
        let ends = crop.map { min(cfg[$0].hi.value ?? 0, 0) }.map { $0 < 0 ? $0 : Int64.max }
        x = try g.op("Slice", x, g.int64s(crop.map { max(0, -(cfg[$0].lo.value ?? 0)) }), g.int64s(ends), g.int64s(crop))
    }
    return [x]
}
