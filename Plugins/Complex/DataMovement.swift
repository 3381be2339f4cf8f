import PluginKit

/// Primitives that only move elements: on complex storage they act on JAX's axes and carry the
/// trailing (real, imag) axis along untouched.
func dataMovementLowerings() -> [Lowering] {
    func claim(_ prim: String, _ ops: [String], dtypes: [DType] = complexTypes, note: String? = nil,
               _ lower: @escaping LowerFunction) -> Lowering {
        Lowering(prim, emits: ops, priority: 10, dtypes: dtypes, note: note, lower: lower)
    }
    return [
        claim("reshape", ["Reshape"]) { e, g in [try e.input(0).reshape(e.output(0).shape + [2])] },
        claim("squeeze", ["Reshape"]) { e, g in [try e.input(0).reshape(e.output(0).shape + [2])] },
        claim("copy", ["Identity"]) { e, g in [try g.op("Identity", e.input(0))] },
        claim("broadcast_in_dim", ["Unsqueeze", "Expand"]) { e, g in
            let shape = try e.output(0).shape
            let kept = try e.ints("broadcast_dimensions")
            guard kept == kept.sorted() else {
                throw LoweringError.unsupported("broadcast_in_dim with non-increasing broadcast_dimensions \(kept)")
            }
            return [try e.input(0).unsqueeze((0..<shape.count).filter { !kept.contains($0) }).expand(shape + [2])]
        },
        claim("transpose", ["Transpose"]) { e, g in
            let perm = try e.ints("permutation")
            return [try e.input(0).transpose(perm + [perm.count])]
        },
        claim("concatenate", ["Concat"]) { e, g in
            [try g.op("Concat", e.inputs.map { Optional($0) }, attributes: ["axis": .int(Int64(e.int("dimension")))],
                      shape: e.output(0).shape + [2])]
        },
        claim("slice", ["Slice"]) { e, g in
            guard let starts = try e.require("start_indices").dims, let limits = try e.require("limit_indices").dims else {
                throw LoweringError.invalid("slice indices are not lists of dimensions")
            }
            let strides = e.param("strides").flatMap { $0.isNone ? nil : $0.ints } ?? Array(repeating: 1, count: starts.count)
            let axes = Array(0..<starts.count)
            return [try g.op("Slice", e.input(0), g.shapeTensor(starts), g.shapeTensor(limits), g.int64s(axes),
                             g.int64s(strides), shape: e.output(0).shape + [2])]
        },
        claim("rev", ["Slice"]) { e, g in
            let dims = try e.ints("dimensions")
            if dims.isEmpty { return [try e.input(0)] }
            let n = dims.count
            return [try g.op("Slice", e.input(0), g.int64s([Int64](repeating: -1, count: n)),
                             g.int64s([Int64](repeating: Int64.min, count: n)), g.int64s(dims),
                             g.int64s([Int64](repeating: -1, count: n)), shape: e.output(0).shape + [2])]
        },
        claim("pad", ["Pad", "Gather", "Concat", "Unsqueeze", "Slice"], note: "no interior padding") { e, g in
            try lowerComplexPad(e, g)
        },
        claim("dynamic_slice", ["Cast", "Max", "Min", "Sub", "Squeeze", "Unsqueeze", "Concat", "Add", "Slice"],
              note: "starts clamped into [0, dim - size] like XLA") { e, g in
            let x = try e.input(0)
            guard let shape = x.jaxShape else { throw LoweringError.unsupported("dynamic_slice of an operand of unknown rank") }
            let sizes = try e.dims("slice_sizes")
            let (starts, ends) = try g.clampedWindow(Array(e.inputs.dropFirst()), dims: shape, sizes: sizes)
            return [try g.op("Slice", x, starts, ends, g.int64s(Array(0..<shape.count)), shape: e.output(0).shape + [2])]
        },
        claim("split", ["Split"]) { e, g in
            let sizes = try e.ints("sizes")
            let parts = try g.node("Split", [e.input(0), g.int64s(sizes)], outputs: sizes.count,
                                   attributes: ["axis": .int(Int64(e.int("axis")))])
            return zip(parts, e.outputs).map { $0.with(shape: $1.shape + [2]) }
        },
        claim("tile", ["Tile", "Unsqueeze"]) { e, g in
            let x = try e.input(0)
            let reps = try e.ints("reps")
            let rank = try e.output(0).rank
            let lifted = try x.unsqueeze(Array(0..<(rank - (x.jaxShape?.count ?? rank))))
            return [try g.op("Tile", lifted, g.int64s(reps + [1]), shape: e.output(0).shape + [2])]
        },
        claim("dynamic_update_slice", ["Cast", "Max", "Min", "Sub", "Squeeze", "Add", "Expand", "Unsqueeze", "Concat",
                                       "ScatterND", "Range"], note: "starts clamped into [0, dim - size] like XLA") { e, g in
            // ScatterND with coordinates for JAX's axes writes whole (real, imag) pairs.
            let x = try e.input(0), update = try e.input(1)
            guard let shape = x.jaxShape, let sizes = update.jaxShape else {
                throw LoweringError.unsupported("dynamic_update_slice of unknown rank")
            }
            let starts = Array(e.inputs.dropFirst(2))
            guard starts.count == shape.count else { throw LoweringError.invalid("dynamic_update_slice needs one start per dimension") }
            if shape.isEmpty { return [update] }
            let components = try (0..<shape.count).map { a in
                try g.op("Add", g.clampStart(starts[a], dim: shape[a], size: sizes[a]),
                         g.iotaAlong(sizes[a], axis: a, rank: shape.count))
            }
            return [try g.op("ScatterND", x, g.indexGrid(components, shape: sizes), update, shape: shape + [2])]
        },
        // select_n's first operand is the predicate, so this claim takes any and checks the cases.
        claim("select_n", ["Where", "Unsqueeze", "Equal", "Cast"], dtypes: []) { e, g in
            guard try e.output(0).dtype.isComplex else { throw LoweringError.unsupported("select_n of real cases") }
            let which = try e.input(0).unsqueeze([-1])
            let cases = Array(e.inputs.dropFirst())
            if cases.count == 1 { return [cases[0]] }
            if which.dtype == .bool, cases.count == 2 { return [try g.op("Where", which, cases[1], cases[0])] }
            var out = cases[0]
            let w = try which.cast(to: .i64)
            for (k, c) in cases.enumerated().dropFirst() {
                out = try g.op("Where", g.op("Equal", w, g.scalar(Double(k), .i64)), c, out)
            }
            return [out]
        },
    ]
}

/// pad on complex storage: each part is padded with its part of the padding value (Pad takes
/// one scalar). Negative amounts crop, as Pad allows; interior padding declines.
func lowerComplexPad(_ e: Equation, _ g: GraphBuilder) throws -> [Value] {
    let x = try e.input(0), value = try e.input(1)
    guard let config = e.param("padding_config")?.items else { throw LoweringError.invalid("pad without a padding_config") }
    var lo: [Dim] = [], hi: [Dim] = []
    for c in config {
        guard let v = c.dims, v.count == 3 else { throw LoweringError.invalid("pad config entry is not (lo, hi, interior)") }
        guard v[2] == 0 else { throw LoweringError.unsupported("complex pad with interior padding \(v[2])") }
        lo.append(v[0]); hi.append(v[1])
    }
    let pads = try g.shapeTensor(lo + hi)
    let shape = try e.output(0).shape
    let parts = try (0..<2).map { k in
        try g.op("Pad", g.part(x, k), pads, g.part(value, k), shape: shape)
    }
    return [try g.pair(parts[0], parts[1], shape: shape)]
}
