import PluginKit

/// `tridiagonal`: Householder reduction of a symmetric matrix to tridiagonal form T = Qᵀ A Q,
/// packed as LAPACK's sytrd does. Lower: column i's reflector (pivot row i + 1, tail below it)
/// is applied from both sides to the trailing block, left to right. Upper: column i + 1's
/// reflector (pivot row i, tail above it), right to left. One column per Loop trip on the whole
/// symmetric matrix: with p = tau S v kept to the block, w = p - (tau/2)(pᵀv) v, S becomes
/// S - v wᵀ - w vᵀ. Results: the input with its diagonal set to d, the pivot entries to e and the
/// tails to the vectors (the other triangle untouched), then d, e and the taus.
func tridiagonalLowering() -> Lowering {
    Lowering("tridiagonal", emits: opsUnion(householderOps, ["Or", "Less"]), dtypes: linalgFloats,
             note: "Householder (sytrd packing), one column per Loop trip") { eqn, g in
        let a = try eqn.input(0)
        let m = try MatrixShape(a.shape, "tridiagonal")
        guard m.rows == m.cols else { throw LoweringError.invalid("tridiagonal of a non-square \(m.rows)x\(m.cols) matrix") }
        let lower = try eqn.require("lower").bool ?? true
        let n = m.rows, dt = a.dtype, dims = m.dims, r = m.batch.count
        let rows = try g.indices(n, shape: [n, 1]), cols = try g.indices(n, shape: [n])
        let eye = try g.op("Equal", rows, cols)
        let vecType = m.batch + [.known(max(n - 1, 0))]
        let sym = try symmetricFrom(g, a, m, lower: lower)
        func diagonal(_ x: Value) throws -> Value {
            try g.sum(g.keep(eye, x), axes: [m.colAxis], shape: m.with(rows: n, cols: 1)).squeeze([m.colAxis])
                .with(shape: m.batch + [.known(n)])
        }
        if n <= 1 { return [a, try diagonal(a), try g.filled(0, dt, vecType), try g.filled(0, dt, vecType)] }
        let colType = m.with(rows: n, cols: 1), single = m.with(rows: 1, cols: 1)
        let half = try g.scalar(0.5, dt)
        let outs = try g.loop(trips: n - 1, [sym, a], [TensorType(dt, dims), TensorType(dt, dims)], stacked: 2) { k, carried in
            let s = carried[0], packed = carried[1]
            // Lower: column i = k, pivot row i + 1. Upper: i = n - 2 - k, column i + 1, pivot row i.
            let i = lower ? k : try g.op("Sub", g.scalar(Double(n - 2), .i64), k, shape: [])
            let one = try g.scalar(1, .i64)
            let column = lower ? i : try g.op("Add", i, one, shape: [])
            let pivot = lower ? try g.op("Add", i, one, shape: []) : i
            let isTail = try g.op(lower ? "Greater" : "Less", rows, pivot)
            let x = try g.take(s, column, axis: m.colAxis, shape: colType)
            let (v, tau, e) = try householderReflector(g, x, pivot: pivot, isTail: isTail, rows: rows, m)
            let block = try g.op("Or", isTail, g.op("Equal", rows, pivot))
            let p = try g.keep(block, g.op("Mul", tau, g.op("MatMul", s, v)), shape: colType)
            let pv = try g.sum(g.op("Mul", p, v), axes: [m.rowAxis], shape: single)
            let w = try g.op("Sub", p, g.op("Mul", g.op("Mul", half, g.op("Mul", tau, pv)), v), shape: colType)
            let vt = try v.transpose(m.swapLast), wt = try w.transpose(m.swapLast)
            let next = try g.op("Sub", s, g.op("Add", g.op("Mul", v, wt), g.op("Mul", w, vt)), shape: dims)
            let stored = try g.op("Where", g.op("Equal", rows, pivot), e, g.op("Where", isTail, v, x), shape: colType)
            let newPacked = try g.op("Where", g.op("Equal", cols, column), stored, packed, shape: dims)
            return [next, newPacked, e.with(shape: single), tau.with(shape: single)]
        }
        // Stacked per trip: [n-1] + batch + [1, 1]; upper trips ran from the last column back.
        func vector(_ stacked: Value) throws -> Value {
            var x = try stacked.with(shape: [.known(n - 1)] + single).squeeze([r + 1, r + 2])
            if !lower {
                x = try g.op("Slice", x, g.int64s([-1]), g.int64s([Int64.min]), g.int64s([0]), g.int64s([-1]),
                             shape: [.known(n - 1)] + m.batch)
            }
            return try x.transpose(Array(1..<(r + 1)) + [0]).with(shape: vecType)
        }
        let d = try diagonal(outs[0])
        // The packed result: d on the diagonal, the reduced triangle from the loop, the other untouched.
        let reduced = try g.op(lower ? "Greater" : "Less", rows, cols)
        let result = try g.op("Where", eye, d.unsqueeze([m.colAxis]), g.op("Where", reduced, outs[1], a), shape: dims)
        return [result, d, try vector(outs[2]), try vector(outs[3])]
    }
}
