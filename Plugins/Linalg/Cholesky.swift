import PluginKit

/// `cholesky`: the lower factor L of A = L Lᵀ, reading only A's lower triangle (as LAPACK's
/// potrf does). Left-looking, one column per Loop trip: column j of L is
/// (A[:, j] - L L[j, :]ᵀ) / sqrt(d_j), kept from row j down, where d_j is that vector's entry j.
/// Columns not computed yet are zero, so the whole-matrix MatMul sees only the finished ones.
/// A matrix that is not positive definite (some d_j <= 0, or NaN) comes out all NaN, as JAX's.
func choleskyLowering() -> Lowering {
    Lowering("cholesky", emits: ["Loop", "Gather", "Unsqueeze", "Transpose", "MatMul", "Sub", "Sqrt", "Div",
                                  "Where", "GreaterOrEqual", "Greater", "Equal", "Add", "Expand", "Not", "And",
                                  "Cast", "ReduceSum"],
             dtypes: linalgFloats, note: "left-looking, one column per Loop trip; all NaN when not positive definite") { eqn, g in
        let a = try eqn.input(0)
        let m = try MatrixShape(a.shape, "cholesky")
        guard m.rows == m.cols else { throw LoweringError.invalid("cholesky of a non-square \(m.rows)x\(m.cols) matrix") }
        let n = m.rows, dt = a.dtype, dims = m.dims
        if n == 0 { return [a] }
        let rows = try g.indices(n, shape: [n, 1]), cols = try g.indices(n, shape: [n])
        // The symmetric matrix the lower triangle stands for.
        let strict = try g.keep(g.op("Greater", rows, cols), a, shape: dims)
        let lower = try g.keep(g.op("GreaterOrEqual", rows, cols), a, shape: dims)
        let sym = try g.op("Add", lower, strict.transpose(m.swapLast), shape: dims)
        let colType = m.with(rows: n, cols: 1)

        let factor = try g.loop(trips: n, [g.filled(0, dt, dims)], [TensorType(dt, dims)]) { j, carried in
            let l = carried[0]
            let aCol = try g.take(sym, j, axis: m.colAxis, shape: colType)
            let lRow = try g.take(l, j, axis: m.rowAxis, shape: m.with(rows: 1, cols: n))
            let v = try g.op("Sub", aCol, g.op("MatMul", l, lRow.transpose(m.swapLast)), shape: colType)
            let d = try g.take(v, j, axis: m.rowAxis, shape: m.with(rows: 1, cols: 1))
            let col = try g.keep(g.op("GreaterOrEqual", rows, j), g.op("Div", v, g.op("Sqrt", d)), shape: colType)
            return [try g.op("Where", g.op("Equal", cols, j), col, l, shape: dims)]
        }[0]

        // Not positive definite: some diagonal entry is not > 0 (NaN compares false).
        let eye = try g.op("Equal", rows, cols)
        let bad = try g.op("And", eye, g.op("Not", g.op("Greater", factor, g.scalar(0, dt))))
        let count = try g.sum(bad.cast(to: dt), axes: [m.rowAxis, m.colAxis])
        let failed = try g.op("Greater", count, g.scalar(0, dt))
        return [try g.op("Where", failed, g.scalar(.nan, dt), factor, shape: dims)]
    }
}
