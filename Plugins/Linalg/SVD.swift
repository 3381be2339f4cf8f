import PluginKit

/// `svd` by one-sided parallel Jacobi (Hestenes): the columns of W = A (Aᵀ when A is wide) are
/// rotated in pairs until they are mutually orthogonal; then σ_i = ‖w_i‖, U's columns are
/// w_i / σ_i and V is the product of the rotations. Each pair's rotation is the two-sided one
/// of the Gram matrix WᵀW (Jacobi.swift), computed from column norms and dot products without
/// forming it. The sweeps stop when every pair is orthogonal to rounding, relative to the two
/// columns' norms (so small singular values keep their relative accuracy), or after 30.
/// Singular values come out descending (TopK). `full_matrices` completes the long side's
/// basis with the trailing columns of a Householder QR of the thin one. Results: s, then U and
/// Vᵀ when `compute_uv`.
func svdLowerings() -> [Lowering] {
    [Lowering("svd", emits: opsUnion(jacobiOps, householderOps), dtypes: linalgFloats,
              note: "one-sided parallel Jacobi: Loop over sweeps (stops on convergence, at most 30) of Loops over rounds") { eqn, g in
        let a = try eqn.input(0)
        let am = try MatrixShape(a.shape, "svd")
        if let subset = eqn.param("subset_by_index"), !subset.isNone {
            let bounds = subset.items.compactMap(\.int)
            guard bounds.count == 2, bounds[0] == 0, Int64(bounds[1]) >= min(am.rows, am.cols) else {
                throw LoweringError.unsupported("svd with subset_by_index \(bounds)")
            }
        }
        let full = try eqn.param("full_matrices")?.bool ?? true
        let computeUV = try eqn.param("compute_uv")?.bool ?? true
        let wide = am.rows < am.cols
        let long = max(am.rows, am.cols), short = min(am.rows, am.cols), dt = a.dtype
        let batch = am.batch
        let wm = MatrixShape(batch: batch, rows: long, cols: short)
        let vm = MatrixShape(batch: batch, rows: short, cols: short)
        if short == 0 {
            throw LoweringError.unsupported("svd of an empty \(am.rows)x\(am.cols) matrix")
        }
        let w0 = wide ? try a.transpose(am.swapLast) : a
        let rowType = wm.with(rows: 1, cols: short)
        let eye = try g.op("Equal", g.indices(short, shape: [short, 1]), g.indices(short, shape: [short]))
        let types = [TensorType(dt, wm.dims), TensorType(dt, vm.dims)]
        let colAxis = Int64(wm.colAxis)
        let out = try jacobiSweeps(g, n: short, [w0, identity(g, short, dt, vm.dims)], types, rotate: { partner, first, sitsOut, state in
            let w = state[0], v = state[1]
            let wp = try g.op("Gather", w, partner, attributes: ["axis": .int(colAxis)], shape: wm.dims)
            let norms = try g.sum(g.op("Mul", w, w), axes: [wm.rowAxis], shape: rowType)
            let partnerNorms = try g.op("Gather", norms, partner, attributes: ["axis": .int(colAxis)], shape: rowType)
            let dots = try g.sum(g.op("Mul", w, wp), axes: [wm.rowAxis], shape: rowType)
            let (c, sigma) = try jacobiRotation(g, first: first, sitsOut: sitsOut, diag: norms, partnerDiag: partnerNorms,
                                                off: dots, shape: rowType)
            let rotated = try g.op("Add", g.op("Mul", w, c), g.op("Mul", wp, sigma), shape: wm.dims)
            return [rotated, try rotateColumns(g, v, partner, c, sigma, vm, vm.dims)]
        }, more: { state in
            let gram = try g.op("MatMul", state[0].transpose(wm.swapLast), state[0], shape: vm.dims)
            return try orthogonalityPending(g, gram, vm, eye: eye)
        })
        let norms = try g.sum(g.op("Mul", out[0], out[0]), axes: [wm.rowAxis], shape: rowType)
        let sigmaRow = try g.op("Sqrt", norms, shape: rowType)
        let values = try sigmaRow.squeeze([wm.rowAxis]).with(shape: batch + [.known(short)])
        if !computeUV {
            let (s, _) = try sortWithColumns(g, values, [], batch: batch, n: short, descending: true)
            return [s]
        }
        let zero = try g.scalar(0, dt)
        let safe = try g.op("Where", g.op("Equal", sigmaRow, zero), g.scalar(1, dt), sigmaRow, shape: rowType)
        let unit = try g.op("Div", out[0], safe, shape: wm.dims)
        let (s, moved) = try sortWithColumns(g, values, [(unit, wm.dims), (out[1], vm.dims)], batch: batch, n: short, descending: true)
        var longSide = moved[0]
        if full && long > short { longSide = try completeBasis(g, longSide, wm) }
        // A = W Σ Vᵀ when tall; Aᵀ = W Σ Vᵀ (so A = V Σ Wᵀ) when wide.
        let u = wide ? moved[1] : longSide
        let vt = try (wide ? longSide : moved[1]).transpose(wm.swapLast)
        return [s, u, vt]
    }]
}

/// Whether some batch element still has a pair of columns (of the Gram matrix G = WᵀW) that
/// is not orthogonal to rounding: Σ_{i≠j} G_ij² / (G_ii G_jj) > (n eps)².
func orthogonalityPending(_ g: GraphBuilder, _ gram: Value, _ m: MatrixShape, eye: Value) throws -> Value {
    let dt = gram.dtype
    let eps = dt == .f64 ? Double.ulpOfOne : Double(Float.ulpOfOne)
    let tol = eps * Double(m.rows)
    let zero = try g.scalar(0, dt), one = try g.scalar(1, dt)
    let diag = try g.sum(g.keep(eye, gram), axes: [m.colAxis], shape: m.with(rows: m.rows, cols: 1))
    let scale = try g.op("Mul", diag, diag.transpose(m.swapLast), shape: m.dims)
    let safe = try g.op("Where", g.op("Equal", scale, zero), one, scale, shape: m.dims)
    let off = try g.op("Where", eye, zero, gram, shape: m.dims)
    let ratio = try g.op("Div", g.op("Mul", off, off), safe, shape: m.dims)
    let worst = try g.sum(ratio, axes: [m.rowAxis, m.colAxis], shape: m.with(rows: 1, cols: 1))
    let flags = try g.op("Where", g.op("Greater", worst, g.scalar(tol * tol, dt)), one, zero)
    let pending = try g.op("ReduceSum", flags, g.int64s(Array(0..<m.rank)), attributes: ["keepdims": .int(0)], shape: [])
    return try g.op("Greater", pending, zero, shape: [])
}

/// The thin orthonormal `w` (long x short) extended to a square orthogonal matrix: its columns,
/// then the last columns of the full Q of its Householder QR, which span the complement.
func completeBasis(_ g: GraphBuilder, _ w: Value, _ m: MatrixShape) throws -> Value {
    let (packed, taus, _) = try householderFactor(g, w, m)
    let q = try householderProduct(g, packed, m, taus: taus, count: m.cols, cols: m.rows)
    let rest = try g.op("Slice", q, g.int64s([m.cols]), g.int64s([m.rows]), g.int64s([m.colAxis]),
                        shape: m.with(rows: m.rows, cols: m.rows - m.cols))
    return try g.op("Concat", [w, rest], attributes: ["axis": .int(Int64(m.colAxis))], shape: m.with(rows: m.rows, cols: m.rows))
}
