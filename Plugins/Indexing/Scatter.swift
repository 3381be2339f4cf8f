import PluginKit

/// `scatter` and its reducing forms with general dimension numbers, as one ScatterND: updates are
/// laid out as batch + full window (inserted and batching dims of size 1), and written at the
/// coordinate grid of every window element.
///
/// Modes: `clip` and `promise_in_bounds` clamp each start so the window fits. Fill-or-drop drops a
/// window that does not fit whole: the operand gets a scratch block appended on axis 0, dropped
/// windows are redirected there, and the block is sliced away afterwards.
///
/// Duplicate coordinates: the reducing forms combine every update (ScatterND applies them in
/// order, as does the Loop that stands for a reducing ScatterND below the opset that has it);
/// plain `scatter` with duplicates is unspecified in JAX and in ONNX alike (ONNX Runtime keeps
/// the last one).
func scatterLowerings() -> [Lowering] {
    let forms: [(names: [String], reduction: String?)] = [
        (["scatter"], nil),
        (["scatter-add", "scatter_add"], "add"),
        (["scatter-mul", "scatter_mul"], "mul"),
        // x.at[i].subtract(v): adding the negated updates (0 - v, so unsigned types wrap as XLA's do).
        (["scatter-sub", "scatter_sub"], "sub"),
        (["scatter-min", "scatter_min"], "min"),
        (["scatter-max", "scatter_max"], "max"),
    ]
    return forms.flatMap { form in
        form.names.map { name in
            Lowering(name, emits: ["Cast", "Gather", "Max", "Min", "Add", "Mul", "Neg", "Shape", "Unsqueeze", "Squeeze", "Expand", "Concat", "Transpose",
                                   "Reshape", "Pad", "Where", "And", "GreaterOrEqual", "LessOrEqual", "Sub", "ScatterND", "Slice", "Range",
                                   "IsNaN", "Greater", "Less", "Or", "Loop", "GatherND"],
                     dtypes: (form.reduction == nil ? DType.numbers + [.bool] : DType.numbers)
                        + (["min", "max"].contains(form.reduction ?? "") ? [] : [.c64, .c128]),
                     note: "any dimension numbers; modes clip, fill (out-of-bounds windows dropped), promise_in_bounds (clamped)"
                        + (form.reduction == nil ? "" : "; f16/bf16 reduced in f32 for ONNX Runtime; " + loopNote(form.reduction!))
                        + (form.reduction == nil ? "; duplicate indices keep the last update" : "")) { eqn, g in
                try lowerScatter(eqn, g, reduction: form.reduction)
            }
        }
    }
}

/// Where a reducing form turns into a Loop (scatter-sub adds).
private func loopNote(_ reduction: String) -> String {
    let first = GraphBuilder.scatterNDReductionOpset(reduction == "sub" ? "add" : reduction)
    return "below opset \(first) a Loop of GatherND, combine, ScatterND per update"
}

private func lowerScatter(_ eqn: Equation, _ g: GraphBuilder, reduction requested: String?) throws -> [Value] {
    let x = try eqn.input(0), indices = try eqn.input(1)
    var updates = try eqn.input(2), reduction = requested
    if requested == "sub" {
        updates = x.isComplex ? try g.op("Neg", updates, shape: updates.shape)
            : try g.op("Sub", g.scalar(0, updates.dtype), updates, shape: updates.shape)
        reduction = "add"
    }
    let out = try eqn.output(0)
    // A complex array is its (real, imag) storage (docs/complex.md): ScatterND's index tuples
    // address JAX's axes and write whole pairs, which is complex set and add. A complex product
    // is not ScatterND's "mul" on pairs: scatter the updates into ones, then multiply once.
    let complex = x.isComplex
    guard try eqn.input(2).isComplex == complex else { throw LoweringError.unsupported("\(eqn.primitive) of \(x.dtype) by \(updates.dtype) updates") }
    var multiplier = false
    if complex, reduction == "mul" {
        guard (try? eqn.int("unique_indices")) == 1 else {
            throw LoweringError.unsupported("complex \(eqn.primitive) without unique_indices (a product of repeated updates)")
        }
        (multiplier, reduction) = (true, nil)
    }
    guard let operand = x.jaxShape, let ishape = indices.shape, let ushape = try eqn.input(2).jaxShape else {
        throw LoweringError.unsupported("\(eqn.primitive) of unknown rank")
    }
    // Nothing to write into an empty operand (ONNX Runtime rejects a clamped index into a size-0
    // axis instead of writing nothing).
    if operand.contains(.known(0)) { return [x] }
    let mode = try IndexMode(eqn)
    let updateWindowDims = try dimensionList(eqn, "update_window_dims")
    let inserted = try dimensionList(eqn, "inserted_window_dims")
    let toOperand = try dimensionList(eqn, "scatter_dims_to_operand_dims")
    let operandBatching = try dimensionList(eqn, "operand_batching_dims")
    let indicesBatching = try dimensionList(eqn, "scatter_indices_batching_dims")
    let nb = ishape.count - 1
    let rank = operand.count
    try checkDimensions(updateWindowDims, rank: ushape.count)
    try checkDimensions(inserted + operandBatching, rank: rank)
    try checkDimensions(toOperand, rank: rank)
    try checkDimensions(indicesBatching, rank: ishape.count)
    let unit = Set(inserted + operandBatching)
    let windowOperandDims = (0..<rank).filter { !unit.contains($0) }
    guard windowOperandDims.count == updateWindowDims.count else {
        throw LoweringError.invalid("\(eqn.primitive) dimension numbers do not match the shapes")
    }
    var window = [Dim](repeating: 1, count: rank)
    for (i, d) in windowOperandDims.enumerated() { window[d] = ushape[updateWindowDims[i]] }
    let scatterDims = (0..<ushape.count).filter { !updateWindowDims.contains($0) }
    let batch = Array(ishape.dropLast())
    let full = batch + window
    let pair: [Dim] = complex ? [2] : []
    let u = try updates.transpose(scatterDims + updateWindowDims + (complex ? [ushape.count] : [])).reshape(full + pair)

    let drop = mode == .fillOrDrop
    let w = try WindowGrid(g, operand: operand, indices: indices, window: window, startIndexMap: toOperand,
                           operandBatching: operandBatching, indicesBatching: indicesBatching,
                           clamp: true, wantFits: drop)
    var target = multiplier ? try g.op("Expand", complexOne(x.dtype, g), g.op("Shape", x), shape: x.shape) : x
    var grid = w.grid
    if drop, let fits = w.fits {
        // Scratch block after the end of axis 0, big enough for one window.
        let storageRank = rank + pair.count
        var pads = [Dim](repeating: 0, count: 2 * storageRank)
        pads[storageRank] = window[0]
        target = try g.pad(target, g.shapeTensor(pads))
        let scratch = try g.op("Add", g.dimScalar(operand[0]), g.iotaAlong(window[0], axis: nb, rank: nb + rank))
        let row0 = try g.op("Gather", grid, g.scalar(0, .i64), attributes: ["axis": .int(Int64(nb + rank))])
        let fitsFull = try fits.unsqueeze(Array(nb..<(nb + rank)))
        let redirected = try g.op("Where", fitsFull, row0, scratch)
        let rest = try (1..<rank).map { k in
            try g.op("Gather", grid, g.scalar(Double(k), .i64), attributes: ["axis": .int(Int64(nb + rank))])
        }
        grid = try g.indexGrid([redirected] + rest, shape: full)
    }
    var y: Value
    if let r = reduction, g.opset < GraphBuilder.scatterNDReductionOpset(r) {
        y = try g.scatterNDByLoop(target, grid.with(shape: full + [.known(Int64(rank))]), u, reduction: r)
    } else if let r = reduction {
        // ONNX Runtime's ScatterND has no reducing kernel for 16-bit floats (its kernel table lists
        // f16 only for reduction none, so the profile cannot tell): reduce in f32 and round back,
        // exact for max and min, one rounding for add and mul.
        let narrow = target.dtype == .f16 || target.dtype == .bf16
        if narrow && g.target != "onnx" {
            let wide = try g.op("ScatterND", target.cast(to: .f32), grid, u.cast(to: .f32), attributes: ["reduction": .string(r)])
            y = try wide.cast(to: target.dtype)
        } else {
            y = try g.op("ScatterND", target, grid, u, attributes: ["reduction": .string(r)])
        }
        if target.dtype.isFloat, r == "max" || r == "min" {
            // ONNX Runtime's max/min reductions skip NaN; XLA's propagate it: scatter the NaN
            // masks the same way and put NaN back where either side had one.
            let nans = try g.op("ScatterND", g.op("IsNaN", target).cast(to: .f32), grid, g.op("IsNaN", u).cast(to: .f32),
                                attributes: ["reduction": .string("max")])
            y = try g.op("Where", g.op("Greater", nans, g.scalar(0, .f32)), g.scalar(.nan, y.dtype), y)
        }
    } else {
        y = try g.op("ScatterND", target, grid, u)
    }
    if drop {
        y = try g.op("Slice", y, g.int64s([0]), g.dimTensor(operand[0]), g.int64s([0]))
    }
    if multiplier {
        y = try complexProduct(x, y.with(shape: x.shape), g)
    }
    return [y.with(shape: out.shape + pair)]
}

/// 1 + 0i in the storage of complex type t.
private func complexOne(_ t: DType, _ g: GraphBuilder) throws -> Value {
    t == .c128 ? try g.constant([1.0, 0.0], dtype: .f64, shape: [2]) : try g.constant([Float(1), 0], dtype: .f32, shape: [2])
}

/// The elementwise complex product of two storage tensors of one shape.
private func complexProduct(_ x: Value, _ y: Value, _ g: GraphBuilder) throws -> Value {
    func part(_ z: Value, _ k: Int64) throws -> Value {
        try g.op("Gather", z, g.constant([k], dtype: .i64, shape: []), attributes: ["axis": .int(-1)], shape: z.jaxShape)
    }
    let (a, b, c, d) = (try part(x, 0), try part(x, 1), try part(y, 0), try part(y, 1))
    let re = try g.op("Sub", g.op("Mul", a, c), g.op("Mul", b, d))
    let im = try g.op("Add", g.op("Mul", a, d), g.op("Mul", b, c))
    return try g.op("Concat", re.unsqueeze([-1]), im.unsqueeze([-1]), attributes: ["axis": .int(-1)], shape: x.shape)
}
