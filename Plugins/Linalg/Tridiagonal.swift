import PluginKit

/// `tridiagonal_solve(dl, d, du, b)`: the Thomas algorithm, a forward-elimination Loop and a
/// back-substitution Loop of n trips each over whole rows of b. dl[0] and du[n-1] are not read.
/// LAPACK's gtsv (JAX on CPU) pivots between neighbouring rows; Thomas does not, so results
/// agree to rounding on the diagonally dominant or positive definite systems Thomas is stable
/// for, and may differ (a zero pivot gives inf/NaN) on others. `perturb_singular` is not applied.
func tridiagonalSolveLowering() -> Lowering {
    Lowering("tridiagonal_solve", emits: ["Loop", "Gather", "Unsqueeze", "Mul", "Sub", "Div", "Where", "Equal", "Max", "Min",
                                           "Expand", "Add"],
             dtypes: linalgFloats, note: "Thomas algorithm (no pivoting): two Loops of n trips") { eqn, g in
        let dl = try eqn.input(0), d = try eqn.input(1), du = try eqn.input(2), b = try eqn.input(3)
        let bm = try MatrixShape(b.shape, "tridiagonal_solve")
        let n = bm.rows, dt = b.dtype
        if n == 0 || bm.cols == 0 { return [b] }
        let r = bm.rowAxis
        // Diagonals as columns (batch + [n, 1]), so they broadcast against b's rows.
        let col = bm.with(rows: n, cols: 1), one = bm.with(rows: 1, cols: 1), row = bm.with(rows: 1, cols: bm.cols)
        let lower = try dl.unsqueeze([r + 1]).with(shape: col)
        let diag = try d.unsqueeze([r + 1]).with(shape: col)
        let upper = try du.unsqueeze([r + 1]).with(shape: col)
        let index = try g.indices(n, shape: [n, 1])
        let zero = try g.scalar(0, dt), first = try g.scalar(0, .i64), last = try g.scalar(Double(n - 1), .i64)

        let forward = try g.loop(trips: n, [g.filled(0, dt, col), g.filled(0, dt, bm.dims)],
                                 [TensorType(dt, col), TensorType(dt, bm.dims)]) { i, carried in
            let cp = carried[0], bp = carried[1]
            let prev = try g.op("Max", g.op("Sub", i, g.scalar(1, .i64)), first, shape: [])
            let atStart = try g.op("Equal", i, first)
            let a = try g.op("Where", atStart, zero, g.take(lower, i, axis: r, shape: one), shape: one)
            let cPrev = try g.take(cp, prev, axis: r, shape: one), bPrev = try g.take(bp, prev, axis: r, shape: row)
            let denom = try g.op("Sub", g.take(diag, i, axis: r, shape: one), g.op("Mul", a, cPrev), shape: one)
            let c = try g.op("Div", g.take(upper, i, axis: r, shape: one), denom, shape: one)
            let rhs = try g.op("Div", g.op("Sub", g.take(b, i, axis: r, shape: row), g.op("Mul", a, bPrev)), denom, shape: row)
            let here = try g.op("Equal", index, i)
            return [try g.op("Where", here, c, cp, shape: col), try g.op("Where", here, rhs, bp, shape: bm.dims)]
        }
        let (cp, bp) = (forward[0], forward[1])
        let x = try g.loop(trips: n, [g.filled(0, dt, bm.dims)], [TensorType(dt, bm.dims)]) { k, carried in
            let x = carried[0]
            let j = try g.op("Sub", last, k, shape: [])
            let next = try g.op("Min", g.op("Add", j, g.scalar(1, .i64)), last, shape: [])
            let c = try g.op("Where", g.op("Equal", j, last), zero, g.take(cp, j, axis: r, shape: one), shape: one)
            let xj = try g.op("Sub", g.take(bp, j, axis: r, shape: row), g.op("Mul", c, g.take(x, next, axis: r, shape: row)),
                              shape: row)
            return [try g.op("Where", g.op("Equal", index, j), xj, x, shape: bm.dims)]
        }[0]
        return [x]
    }
}
