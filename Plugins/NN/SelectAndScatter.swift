import PluginKit

/// select_and_scatter_add and select_and_gather_add: what the gradient (transpose) and the jvp
/// of a max or min pool leave behind. Each window selects one element of the operand (the first
/// maximum for select_prim ge, the first minimum for le, as XLA walks a window in row-major
/// order); scatter adds the window's source value there, gather reads the tangent there.
///
/// With static shapes every window's candidates are a constant table of flat indices into the
/// padded operand, shape (K, windows...) for K elements per window: Gather reads the candidates,
/// ArgMax/ArgMin picks one (the first on ties), and ScatterElements (reduction add) or Gather
/// moves values through the picked index.
struct WindowSelection {
    let paddedShape: [Int64]
    let pads: [(lo: Int, hi: Int)]
    let table: Value          // int64 (K, windows...)
    let windows: [Int64]
    let largest: Bool

    init(_ eqn: Equation, operand: Value, _ g: GraphBuilder) throws {
        guard let shape = operand.shape?.map(\.value) as? [Int64] else {
            throw LoweringError.unsupported("\(eqn.primitive) on an operand of symbolic shape")
        }
        let selector = eqn.param("select_prim").flatMap { $0.string ?? $0.typeName } ?? ""
        guard selector.hasSuffix("ge") || selector.hasSuffix("gt") || selector.hasSuffix("le") || selector.hasSuffix("lt") else {
            throw LoweringError.unsupported("\(eqn.primitive) with select_prim '\(selector)' (only ge/gt and le/lt)")
        }
        largest = selector.hasSuffix("ge") || selector.hasSuffix("gt")
        for name in ["base_dilation", "window_dilation"] {
            if let d = eqn.param(name)?.ints, d.contains(where: { $0 != 1 }) {
                throw LoweringError.unsupported("\(eqn.primitive) with \(name) \(d)")
            }
        }
        let window = try eqn.ints("window_dimensions").map(Int64.init)
        let strides = try eqn.ints("window_strides").map(Int64.init)
        pads = try padPairs(eqn)
        let rank = shape.count
        guard window.count == rank, strides.count == rank, pads.count == rank else {
            throw LoweringError.invalid("\(eqn.primitive): window params do not match the operand's rank \(rank)")
        }
        guard pads.allSatisfy({ $0.lo >= 0 && $0.hi >= 0 }) else { throw LoweringError.unsupported("\(eqn.primitive) with negative padding") }
        let pairs = pads
        let padded = (0..<rank).map { shape[$0] + Int64(pairs[$0].lo + pairs[$0].hi) }
        paddedShape = padded
        windows = (0..<rank).map { a in (padded[a] - window[a]) / strides[a] + 1 }
        var rowStride = [Int64](repeating: 1, count: rank)
        for a in stride(from: rank - 2, through: 0, by: -1) { rowStride[a] = rowStride[a + 1] * padded[a + 1] }
        let k = window.reduce(1, *), n = windows.reduce(1, *)
        guard k * n < (1 << 28) else { throw LoweringError.unsupported("\(eqn.primitive): \(k) x \(n) window index table is too large") }
        var entries = [Int64](repeating: 0, count: Int(k * n))
        for kk in 0..<k {
            var offset: Int64 = 0, rest = kk
            for a in stride(from: rank - 1, through: 0, by: -1) { offset += (rest % window[a]) * rowStride[a]; rest /= window[a] }
            for w in 0..<n {
                var base: Int64 = 0, r = w
                for a in stride(from: rank - 1, through: 0, by: -1) { base += (r % windows[a]) * strides[a] * rowStride[a]; r /= windows[a] }
                entries[Int(kk * n + w)] = base + offset
            }
        }
        table = try g.constant(entries, dtype: .i64, shape: [k] + windows)
    }

    func padded(_ x: Value, with fill: Value, _ g: GraphBuilder) throws -> Value {
        if pads.allSatisfy({ $0.lo == 0 && $0.hi == 0 }) { return x }
        return try g.op("Pad", x, g.int64s(pads.map { Int64($0.lo) } + pads.map { Int64($0.hi) }), fill)
    }

    /// The flat index (into the padded operand) each window selects, shape `windows`.
    func selected(_ operand: Value, _ g: GraphBuilder) throws -> Value {
        // Padding never wins: it is the worst value for the comparison.
        let fill = try g.scalar(largest ? -.infinity : .infinity, operand.dtype)
        let flat = try padded(operand, with: fill, g).reshape([.known(paddedShape.reduce(1, *))])
        let candidates = try g.op("Gather", flat, table, attributes: ["axis": .int(0)])
        let pick = try g.op(largest ? "ArgMax" : "ArgMin", candidates,
                            attributes: ["axis": .int(0), "keepdims": .int(1), "select_last_index": .int(0)])
        return try g.op("GatherElements", table, pick, attributes: ["axis": .int(0)]).squeeze([0])
    }
}

func selectAndScatterLowerings() -> [Lowering] {
    let ops = ["Pad", "Reshape", "Gather", "ArgMax", "ArgMin", "GatherElements", "Squeeze", "ScatterElements", "Expand", "Slice",
               "Unsqueeze", "Loop", "GatherND", "ScatterND", "Shape", "Concat", "Add", "Cast"]
    return [
        Lowering("select_and_scatter_add", emits: ops, dtypes: DType.floats,
                 note: "static shapes: a constant table of window candidates, ArgMax/ArgMin (first on ties), ScatterElements add (below opset 16 a Loop of ScatterND)") { eqn, g in
            let source = try eqn.input(0), operand = try eqn.input(1)
            let sel = try WindowSelection(eqn, operand: operand, g)
            let total = sel.paddedShape.reduce(1, *)
            let zeros = try g.scalar(0, source.dtype).expand([.known(total)])
            let n = Dim.known(sel.windows.reduce(1, *))
            let picked = try sel.selected(operand, g).reshape([n]), values = try source.reshape([n])
            // ScatterElements has reduction add from opset 16; below, the same sum as ScatterND rows.
            let sums = g.opset >= 16
                ? try g.op("ScatterElements", zeros, picked, values, attributes: ["axis": .int(0), "reduction": .string("add")])
                : try g.scatterNDByLoop(zeros, picked.unsqueeze([1]), values, reduction: "add")
            var out = try sums.reshape(sel.paddedShape.map { .known($0) })
            if !sel.pads.allSatisfy({ $0.lo == 0 && $0.hi == 0 }) {
                let rank = sel.paddedShape.count
                out = try g.op("Slice", out, g.int64s(sel.pads.map { Int64($0.lo) }),
                               g.int64s((0..<rank).map { sel.paddedShape[$0] - Int64(sel.pads[$0].hi) }), g.int64s(Array(0..<rank)))
            }
            return [out]
        },
        Lowering("select_and_gather_add", emits: ops, dtypes: DType.floats,
                 note: "static shapes: the tangent at each window's first max (ge) or min (le)") { eqn, g in
            let tangents = try eqn.input(0), operand = try eqn.input(1)
            let sel = try WindowSelection(eqn, operand: operand, g)
            let flat = try sel.padded(tangents, with: g.scalar(0, tangents.dtype), g).reshape([.known(sel.paddedShape.reduce(1, *))])
            return [try g.op("Gather", flat, sel.selected(operand, g), attributes: ["axis": .int(0)], shape: eqn.output(0).shape)]
        },
    ]
}
