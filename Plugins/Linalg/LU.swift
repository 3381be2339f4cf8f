import PluginKit

/// `lu`: P A = L U with partial pivoting, as LAPACK's getrf: at column j the pivot is the first
/// row (from j down) of largest magnitude; rows j and p swap; the column below the diagonal is
/// divided by the pivot (left as is when the pivot is 0, as getrf does) and the trailing block
/// takes the rank-1 update. One column per Loop trip over whole-matrix Where/Mul; the pivots come
/// out as the Loop's stacked per-trip outputs. Results: the packed LU matrix, the pivots
/// (0-based row swapped with row j) and the permutation they make, both int32.
func luLowering() -> Lowering {
    Lowering("lu", emits: ["Loop", "Gather", "Unsqueeze", "Squeeze", "Abs", "Where", "ArgMax", "Equal", "Greater",
                            "GreaterOrEqual", "And", "ReduceSum", "Div", "Mul", "Sub", "Transpose", "Cast", "Expand"],
             dtypes: linalgFloats, note: "partial pivoting as LAPACK getrf, one column per Loop trip") { eqn, g in
        let a = try eqn.input(0)
        let m = try MatrixShape(a.shape, "lu")
        let k = min(m.rows, m.cols), dt = a.dtype, dims = m.dims
        let permType = m.batch + [.known(m.rows)]
        let start = try g.expand(g.indices(m.rows, shape: [m.rows]), permType)
        if k == 0 {
            let none = try g.filled(0, .i32, m.batch + [0])
            return [a, none, try start.cast(to: .i32)]
        }
        let rows = try g.indices(m.rows, shape: [m.rows, 1]), cols = try g.indices(m.cols, shape: [m.cols])
        let rowType = m.with(rows: 1, cols: m.cols), colType = m.with(rows: m.rows, cols: 1)
        let single = m.with(rows: 1, cols: 1)

        let outs = try g.loop(trips: k, [a, start], [TensorType(dt, dims), TensorType(.i64, permType)], stacked: 1) { j, carried in
            let x = carried[0], perm = carried[1]
            let col = try g.take(x, j, axis: m.colAxis, shape: colType)
            let score = try g.op("Where", g.op("GreaterOrEqual", rows, j), g.op("Abs", col), g.scalar(-1, dt), shape: colType)
            // ArgMax returns the first of equal maxima, as idamax does.
            let p = try g.op("ArgMax", score, attributes: ["axis": .int(Int64(m.rowAxis)), "keepdims": .int(1)], shape: single)
            let swapped = try swapRows(g, x, j, p, rows: rows, shape: dims, rowShape: rowType, axis: m.rowAxis)
            let newPerm = try swapRows(g, perm, j, p.squeeze([m.colAxis]), rows: g.indices(m.rows, shape: [m.rows]),
                                       shape: permType, rowShape: m.batch + [1], axis: m.rowAxis)

            let pivotRow = try g.take(swapped, j, axis: m.rowAxis, shape: rowType)
            let pivot = try g.take(pivotRow, j, axis: m.colAxis, shape: single)
            let pivotCol = try g.take(swapped, j, axis: m.colAxis, shape: colType)
            let scaled = try g.op("Where", g.op("Equal", pivot, g.scalar(0, dt)), pivotCol,
                                  g.op("Div", pivotCol, pivot), shape: colType)
            let below = try g.op("Greater", rows, j)
            let l = try g.keep(below, scaled, shape: colType)
            let u = try g.keep(g.op("Greater", cols, j), pivotRow, shape: rowType)
            let updated = try g.op("Sub", swapped, g.op("Mul", l, u), shape: dims)
            let next = try g.op("Where", g.op("And", below, g.op("Equal", cols, j)), scaled, updated, shape: dims)
            return [next, newPerm, try p.squeeze([m.rowAxis, m.colAxis])]
        }
        // The stacked pivots are [k, batch...]: move that axis last.
        let r = m.batch.count
        let pivots = try outs[2].with(shape: [.known(k)] + m.batch).transpose(Array(1..<(r + 1)) + [0])
        return [outs[0], try pivots.cast(to: .i32), try outs[1].cast(to: .i32)]
    }
}

/// `lu_pivots_to_permutation`: applies the swaps (row j with row pivots[j], in order) to
/// 0..<permutation_size, one swap per Loop trip.
func luPivotsToPermutationLowering() -> Lowering {
    Lowering("lu_pivots_to_permutation", emits: ["Loop", "Gather", "Unsqueeze", "Where", "Equal", "ReduceSum", "Cast", "Expand", "Slice"],
             note: "one swap per Loop trip") { eqn, g in
        let pivots = try eqn.input(0)
        guard let shape = pivots.shape, let k = shape.last?.value else {
            throw LoweringError.unsupported("lu_pivots_to_permutation needs a static number of pivots")
        }
        let size = Int64(try eqn.int("permutation_size"))
        let batch = Array(shape.dropLast()), permType = batch + [.known(size)]
        let start = try g.expand(g.indices(size, shape: [size]), permType)
        if k == 0 || size == 0 { return [try start.cast(to: .i32)] }
        let index = try g.indices(size, shape: [size])
        let piv = try pivots.cast(to: .i64)
        let perm = try g.loop(trips: k, [start], [TensorType(.i64, permType)]) { j, carried in
            let p = try g.take(piv, j, axis: batch.count, shape: batch + [1])
            return [try swapRows(g, carried[0], j, p, rows: index, shape: permType, rowShape: batch + [1], axis: batch.count)]
        }[0]
        return [try perm.cast(to: .i32)]
    }
}

/// Swaps entries j and p along `axis` (the matrix-row axis, or a vector's only one). `p` varies
/// per batch element (its shape broadcasts against `rows` on `axis`); `rows` is 0..<n laid
/// along `axis`. Reading row p is a masked sum, exact since only one row is kept.
func swapRows(_ g: GraphBuilder, _ x: Value, _ j: Value, _ p: Value, rows: Value, shape: [Dim], rowShape: [Dim], axis: Int) throws -> Value {
    let atP = try g.op("Equal", rows, p)
    let rowJ = try g.take(x, j, axis: axis, shape: rowShape)
    let rowP = try g.sum(g.keep(atP, x), axes: [axis], shape: rowShape)
    return try g.op("Where", g.op("Equal", rows, j), rowP, g.op("Where", atP, rowJ, x), shape: shape)
}
