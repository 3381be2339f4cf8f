import PluginKit

/// `triangular_solve(a, b)`: op(a) x = b (left_side) or x op(a) = b, op(a) = a or aᵀ
/// (`transpose_a`; `conjugate_a` is the identity on real input), reading only a's `lower` or
/// upper triangle, with ones on the diagonal when `unit_diagonal`.
///
/// Everything reduces to one left-side substitution with a triangular T: a right-side solve
/// is the left-side solve of the transposes, and T = aᵀ turns lower into upper. Substitution
/// runs one row of x per Loop trip, top-down for lower T and bottom-up for upper:
/// x_j = (b_j - T[j, :] x) / T[j, j]; rows not solved yet are zero, so one MatMul of the row
/// against all of x sees only the finished ones.
func triangularSolveLowering() -> Lowering {
    Lowering("triangular_solve", emits: ["Loop", "Gather", "Unsqueeze", "Transpose", "MatMul", "Sub", "Div", "Where",
                                          "GreaterOrEqual", "LessOrEqual", "Greater", "Less", "Equal", "Expand"],
             dtypes: linalgFloats, note: "forward or back substitution, one row of x per Loop trip") { eqn, g in
        let a = try eqn.input(0), b = try eqn.input(1)
        let am = try MatrixShape(a.shape, "triangular_solve"), bm = try MatrixShape(b.shape, "triangular_solve")
        guard am.rows == am.cols else { throw LoweringError.invalid("triangular_solve with a non-square \(am.rows)x\(am.cols) matrix") }
        let left = try eqn.require("left_side").bool ?? false
        let lowerIn = try eqn.require("lower").bool ?? false
        let transposeA = try eqn.require("transpose_a").bool ?? false
        let unit = try eqn.require("unit_diagonal").bool ?? false
        let n = am.rows, dt = b.dtype
        if n == 0 || bm.rows == 0 || bm.cols == 0 { return [b] }

        let rows = try g.indices(n, shape: [n, 1]), cols = try g.indices(n, shape: [n])
        // A unit diagonal is never read: whatever a holds there (U's diagonal, for lu) stays out.
        let inTriangle = try g.op(lowerIn ? (unit ? "Greater" : "GreaterOrEqual") : (unit ? "Less" : "LessOrEqual"), rows, cols)
        var t = try g.keep(inTriangle, a, shape: am.dims)
        // op(a) on the right: x op(a) = b  <=>  op(a)ᵀ xᵀ = bᵀ.
        let flip = transposeA != !left
        if flip { t = try t.transpose(am.swapLast) }
        let lower = lowerIn != flip
        let rhs = left ? b : try b.transpose(bm.swapLast)
        let rm = try MatrixShape(rhs.shape, "triangular_solve")
        let rowType = rm.with(rows: 1, cols: rm.cols)

        let x = try g.loop(trips: n, [g.filled(0, dt, rm.dims)], [TensorType(dt, rm.dims)]) { i, carried in
            let x = carried[0]
            let j = lower ? i : try g.op("Sub", g.scalar(Double(n - 1), .i64), i, shape: [])
            let tRow = try g.take(t, j, axis: am.rowAxis, shape: am.with(rows: 1, cols: n))
            var xj = try g.op("Sub", g.take(rhs, j, axis: rm.rowAxis, shape: rowType), g.op("MatMul", tRow, x), shape: rowType)
            if !unit { xj = try g.op("Div", xj, g.take(tRow, j, axis: am.colAxis), shape: rowType) }
            return [try g.op("Where", g.op("Equal", rows, j), xj, x, shape: rm.dims)]
        }[0]
        return [left ? x : try x.transpose(rm.swapLast)]
    }
}
