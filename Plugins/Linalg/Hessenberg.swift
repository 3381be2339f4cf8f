import PluginKit

/// `hessenberg`: LAPACK's gehrd, H = Qᵀ A Q upper Hessenberg, with H on and above the
/// subdiagonal and Q's reflectors' vectors below it, and the n - 1 taus (the last always 0, as
/// LAPACK leaves it). The reflectors carry geqrf's signs (see householderReflector).
func hessenbergLowering() -> Lowering {
    Lowering("hessenberg", emits: opsUnion(householderOps, ["Concat"]), dtypes: linalgFloats,
             note: "gehrd: one Householder reflector per column, applied from both sides, one Loop trip each") { eqn, g in
        let a = try eqn.input(0)
        let m = try MatrixShape(a.shape, "hessenberg")
        guard m.rows == m.cols else { throw LoweringError.invalid("hessenberg needs square matrices (got \(m.rows)x\(m.cols))") }
        let n = m.rows
        if n < 2 { return [a, try g.filled(0, a.dtype, m.batch + [0])] }
        let (packed, _, reflected) = try hessenbergReduction(g, a, m, packed: true)
        let last = try g.filled(0, a.dtype, m.with(rows: 1, cols: 1))
        let taus = try reflected.map { t in
            try g.op("Concat", [t, last], attributes: ["axis": .int(Int64(m.colAxis))], shape: m.with(rows: 1, cols: n - 1))
        } ?? last.with(shape: m.with(rows: 1, cols: n - 1))
        return [packed, try taus.squeeze([m.rowAxis]).with(shape: m.batch + [.known(n - 1)])]
    }
}

/// Householder reduction to upper Hessenberg form, A = Z H Zᵀ: at trip j the reflector for
/// column j's entries below j + 1 is applied from both sides, and to `accumulating` (Z's start)
/// from the right when given. Returns H, Z and the taus (batch + [1, n - 2]; nil for n < 3).
/// With `packed`, column j below the subdiagonal keeps the reflector's vector (gehrd's form),
/// so the later left reflections skip the columns already done; without it those entries are
/// the rounding the reflections leave, which the Schur sweeps keep near zero.
func hessenbergReduction(_ g: GraphBuilder, _ a: Value, _ m: MatrixShape, accumulating eye: Value? = nil,
                         packed: Bool = false) throws -> (h: Value, z: Value?, taus: Value?) {
    let n = m.rows, dt = a.dtype, dims = m.dims
    if n < 3 { return (a, eye, nil) }
    let rows = try g.indices(n, shape: [n, 1]), cols = try g.indices(n, shape: [n])
    let colType = m.with(rows: n, cols: 1), rowType = m.with(rows: 1, cols: n)
    let carried = [a] + (eye.map { [$0] } ?? [])
    let types = carried.map { _ in TensorType(dt, dims) }
    let out = try g.loop(trips: n - 2, carried, types, stacked: 1) { j, carried in
        let x = carried[0]
        let pivot = try g.op("Add", j, g.scalar(1, .i64), shape: [])
        let col = try g.take(x, j, axis: m.colAxis, shape: colType)
        let isTail = try g.op("Greater", rows, pivot)
        let (v, tau, diagonal) = try householderReflector(g, col, pivot: pivot, isTail: isTail, rows: rows, m)
        let vt = try v.transpose(m.swapLast), tv = try g.op("Mul", v, tau, shape: colType)
        // H X = X - tau v (vᵀ X); X H = X - (X v) tau vᵀ.
        var w = try g.op("MatMul", vt, x, shape: rowType)
        if packed { w = try g.keep(g.op("Greater", cols, j), w, shape: rowType) }
        let left = try g.op("Sub", x, g.op("MatMul", tv, w), shape: dims)
        var both = try g.op("Sub", left, g.op("MatMul", g.op("MatMul", left, tv, shape: colType), vt), shape: dims)
        if packed {
            // Column j is beta at the pivot above the stored vector: write both instead of the rounded product.
            let newCol = try g.op("Where", g.op("Equal", rows, pivot), diagonal, g.op("Where", isTail, v, col), shape: colType)
            both = try g.op("Where", g.op("Equal", cols, j), newCol, both, shape: dims)
        }
        let z = try carried.dropFirst().first.map { z in
            try g.op("Sub", z, g.op("MatMul", g.op("MatMul", z, tv, shape: colType), vt), shape: dims)
        }
        return [both] + (z.map { [$0] } ?? []) + [tau]
    }
    return (out[0], eye == nil ? nil : out[1], try stackedTaus(out[types.count], count: n - 2, m))
}
