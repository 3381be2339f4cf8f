import PluginKit

/// `qr` and `householder_product`, as LAPACK's geqrf followed by orgqr, so Q and R carry
/// LAPACK's signs: at column j the reflector H = I - tau v vᵀ (v_j = 1) maps x = A[j:, j] to
/// beta e_j with beta = -sign(x_j) ‖x‖ (sign(0) = +), tau = (beta - x_j) / beta; a column with
/// nothing below the diagonal is left alone (tau = 0). One column per Loop trip, each applying
/// its reflector to the whole matrix with a MatMul.
let householderOps = ["Loop", "Gather", "Unsqueeze", "Transpose", "MatMul", "Mul", "Sub", "Div", "Add", "Sqrt",
                      "Neg", "Where", "Equal", "Greater", "GreaterOrEqual", "LessOrEqual", "ReduceSum", "Expand",
                      "Slice", "Cast", "Squeeze", "ArgMax", "GatherElements", "Less"]

func qrLowerings() -> [Lowering] {
    [
        Lowering("qr", emits: householderOps, dtypes: linalgFloats,
                 note: "Householder (geqrf + orgqr, LAPACK signs), one column per Loop trip") { eqn, g in
            let a = try eqn.input(0)
            let m = try MatrixShape(a.shape, "qr")
            let pivoting = try eqn.param("pivoting")?.bool ?? false
            let full = try eqn.require("full_matrices").bool ?? false
            let k = min(m.rows, m.cols)
            let pivots = pivoting ? try ColumnPivots(g, m) : nil
            let (packed, taus, perm) = try householderFactor(g, a, m, pivots: pivots)
            let qCols = full ? m.rows : k, rRows = full ? m.rows : k
            let q = try householderProduct(g, packed, m, taus: taus, count: k, cols: qCols)
            let rows = try g.indices(m.rows, shape: [m.rows, 1]), cols = try g.indices(m.cols, shape: [m.cols])
            var r = try g.keep(g.op("LessOrEqual", rows, cols), packed, shape: m.dims)
            if rRows < m.rows { r = try sliceLast(g, r, axis: m.rowAxis, count: rRows, shape: m.with(rows: rRows, cols: m.cols)) }
            guard pivoting, let perm else { return [q, r] }
            let p = try perm.squeeze([m.rowAxis]).with(shape: m.batch + [.known(m.cols)])
            return [q, r, try p.cast(to: eqn.output(2).dtype)]
        },
        Lowering("geqrf", emits: householderOps, dtypes: linalgFloats,
                 note: "Householder reflectors (LAPACK signs), one column per Loop trip") { eqn, g in
            let a = try eqn.input(0)
            let m = try MatrixShape(a.shape, "geqrf")
            let (packed, taus, _) = try householderFactor(g, a, m)
            return [packed, try taus.squeeze([m.rowAxis]).with(shape: m.batch + [.known(min(m.rows, m.cols))])]
        },
        Lowering("geqp3", emits: opsUnion(householderOps, ["TopK", "Not"]), dtypes: linalgFloats,
                 note: "geqrf with column pivoting: fixed columns (nonzero jpvt) first, then the largest remaining norm each trip") { eqn, g in
            let a = try eqn.input(0), jpvt = try eqn.input(1)
            let m = try MatrixShape(a.shape, "geqp3")
            let (packed, taus, pivoted) = try householderFactor(g, a, m, pivots: ColumnPivots(g, m, jpvt: jpvt))
            guard let perm = pivoted else { throw LoweringError.invalid("geqp3: the factorization returned no permutation") }
            let k = min(m.rows, m.cols)
            // LAPACK numbers columns from 1.
            let p = try g.op("Add", perm, g.scalar(1, .i64)).squeeze([m.rowAxis]).with(shape: m.batch + [.known(m.cols)])
            return [packed, try p.cast(to: eqn.output(1).dtype),
                    try taus.squeeze([m.rowAxis]).with(shape: m.batch + [.known(k)])]
        },
        Lowering("ormqr", emits: householderOps, dtypes: linalgFloats,
                 note: "the reflectors applied to c, one per Loop trip; right-side products through transposes") { eqn, g in
            let a = try eqn.input(0), taus = try eqn.input(1), c = try eqn.input(2)
            let m = try MatrixShape(a.shape, "ormqr"), cm = try MatrixShape(c.shape, "ormqr")
            guard let k = taus.shape?.last?.value else { throw LoweringError.unsupported("ormqr needs a static number of taus") }
            let left = try eqn.require("left").bool ?? true, transpose = try eqn.require("transpose").bool ?? false
            // c Q = (Qᵀ cᵀ)ᵀ and c Qᵀ = (Q cᵀ)ᵀ.
            let target = left ? c : try c.transpose(cm.swapLast)
            let tm = try MatrixShape(target.shape, "ormqr")
            guard tm.rows == m.rows else { throw LoweringError.invalid("ormqr: c has \(tm.rows) rows where Q has \(m.rows)") }
            let t = try taus.unsqueeze([m.rowAxis]).with(shape: m.batch + [1, .known(k)])
            let out = try applyReflectors(g, a, m, taus: t, count: k, to: target, cols: tm.cols, lastFirst: left != transpose)
            return [left ? out : try out.transpose(cm.swapLast)]
        },
        Lowering("householder_product", emits: householderOps, dtypes: linalgFloats,
                 note: "orgqr: the reflectors applied to the identity's columns, last first, one per Loop trip") { eqn, g in
            let a = try eqn.input(0), taus = try eqn.input(1)
            let m = try MatrixShape(a.shape, "householder_product")
            guard let k = taus.shape?.last?.value else { throw LoweringError.unsupported("householder_product needs a static number of taus") }
            let t = try taus.unsqueeze([m.rowAxis]).with(shape: m.batch + [1, .known(k)])
            return [try householderProduct(g, a, m, taus: t, count: k, cols: m.cols)]
        },
    ]
}

/// geqp3's column order before the first reflector: the starting permutation (batch + [1, cols],
/// int64) and how many leading columns are fixed, i.e. never pivoted (batch + [1, 1]).
struct ColumnPivots {
    let start: Value
    let fixed: Value

    /// No column fixed: the identity order (what `qr` with pivoting asks for).
    init(_ g: GraphBuilder, _ m: MatrixShape) throws {
        let rowType = m.with(rows: 1, cols: m.cols)
        start = try g.expand(g.indices(m.cols, shape: [m.cols]).with(shape: [.known(m.cols)]), rowType)
        fixed = try g.filled(0, .i64, m.with(rows: 1, cols: 1))
    }

    /// LAPACK's jpvt: the columns with a nonzero entry move to the front in their own order.
    /// LAPACK moves them there by swaps, so the free columns' starting order may differ from
    /// this one, which matters only where two free columns' norms tie.
    init(_ g: GraphBuilder, _ m: MatrixShape, jpvt: Value) throws {
        let rowType = m.with(rows: 1, cols: m.cols)
        let isFixed = try g.op("Not", g.op("Equal", jpvt.cast(to: .i64), g.scalar(0, .i64)))
            .unsqueeze([m.rowAxis]).with(shape: rowType)
        // Sort key (0 for fixed, 1 for free) * cols + column: distinct, so the smallest-first order is stable.
        let key = try g.op("Add", g.op("Mul", g.op("Not", isFixed).cast(to: .i64), g.scalar(Double(m.cols), .i64)),
                           g.indices(m.cols, shape: [m.cols]), shape: rowType)
        start = try g.node("TopK", [key, g.int64s([Int(m.cols)])], outputs: 2,
                           attributes: ["axis": .int(Int64(m.colAxis)), "largest": .int(0), "sorted": .int(1)])[1]
            .with(shape: rowType)
        fixed = try g.sum(isFixed.cast(to: .i64), axes: [m.colAxis], shape: m.with(rows: 1, cols: 1))
    }
}

/// geqrf: the matrix with R on and above the diagonal and the reflectors' vectors below it, and
/// the taus as batch + [1, k]. With `pivots` it is geqp3: the columns start in `pivots.start`'s
/// order; before column j's reflector (j past the fixed ones), the column at or right of j with
/// the largest norm over rows j.. (the first such on a tie) is swapped into place, and the
/// permutation (batch + [1, cols], int64) is returned too. The norms are recomputed from the
/// matrix each trip rather than downdated as LAPACK does, so a pivot may differ from LAPACK's
/// only where two candidate norms agree to rounding.
func householderFactor(_ g: GraphBuilder, _ a: Value, _ m: MatrixShape,
                       pivots: ColumnPivots? = nil) throws -> (Value, Value, Value?) {
    let k = min(m.rows, m.cols), dt = a.dtype, dims = m.dims
    let colType = m.with(rows: m.rows, cols: 1), single = m.with(rows: 1, cols: 1), rowType = m.with(rows: 1, cols: m.cols)
    let cols = try g.indices(m.cols, shape: [m.cols])
    let pivoting = pivots != nil
    let start = try pivots.map { p in
        try g.op("GatherElements", a, g.expand(p.start, dims), attributes: ["axis": .int(Int64(m.colAxis))], shape: dims)
    } ?? a
    if k == 0 { return (start, try g.filled(0, dt, m.batch + [1, 0]), pivots?.start) }
    let rows = try g.indices(m.rows, shape: [m.rows, 1])
    let carried = [start] + (pivots.map { [$0.start] } ?? [])
    let types = [TensorType(dt, dims)] + (pivoting ? [TensorType(.i64, rowType)] : [])
    let outs = try g.loop(trips: k, carried, types, stacked: 1) { j, carried in
        var x = carried[0]
        var perm = pivoting ? carried[1] : nil
        if let p = perm, let fixed = pivots?.fixed {
            let source = try pivotSwap(g, x, j, fixed: fixed, rows: rows, cols: cols, m)
            x = try g.op("GatherElements", x, g.expand(source, dims), attributes: ["axis": .int(Int64(m.colAxis))], shape: dims)
            perm = try g.op("GatherElements", p, source, attributes: ["axis": .int(Int64(m.colAxis))], shape: rowType)
        }
        let col = try g.take(x, j, axis: m.colAxis, shape: colType)
        let isTail = try g.op("Greater", rows, j)
        let (v, tau, diagonal) = try householderReflector(g, col, pivot: j, isTail: isTail, rows: rows, m)
        // H x = x - tau v (vᵀ x) on the columns right of j: those left of it hold earlier
        // reflectors' vectors, which H must not touch.
        let w = try g.keep(g.op("Greater", cols, j),
                           g.op("MatMul", v.transpose(m.swapLast), x), shape: rowType)
        let applied = try g.op("Sub", x, g.op("Mul", g.op("Mul", v, tau), w), shape: dims)
        // Column j is exactly beta e_j above the stored vector: write both instead of the rounded product.
        let atJ = try g.op("Equal", cols, j)
        let newCol = try g.op("Where", g.op("Equal", rows, j), diagonal, g.op("Where", isTail, v, col), shape: colType)
        return [try g.op("Where", atJ, newCol, applied, shape: dims)] + (perm.map { [$0] } ?? []) + [tau.with(shape: single)]
    }
    return (outs[0], try stackedTaus(outs[types.count], count: k, m), pivoting ? outs[1] : nil)
}

/// A Loop's stacked per-trip taus, [count] + batch + [1, 1], as batch + [1, count].
func stackedTaus(_ stacked: Value, count k: Int64, _ m: MatrixShape) throws -> Value {
    let r = m.batch.count
    let taus = try stacked.with(shape: [.known(k)] + m.with(rows: 1, cols: 1)).squeeze([r + 2])
    return try taus.transpose(Array(1..<(r + 2)) + [0]).with(shape: m.batch + [1, .known(k)])
}

/// For each column c, the column it takes its entries from when column j trades places with
/// the column of largest norm over rows j.. among those at or right of j (j itself while j is
/// one of the `fixed` leading columns): batch + [1, cols].
func pivotSwap(_ g: GraphBuilder, _ x: Value, _ j: Value, fixed: Value, rows: Value, cols: Value, _ m: MatrixShape) throws -> Value {
    let rowType = m.with(rows: 1, cols: m.cols)
    let lower = try g.keep(g.op("GreaterOrEqual", rows, j), x, shape: m.dims)
    let norms = try g.sum(g.op("Mul", lower, lower), axes: [m.rowAxis], shape: rowType)
    // Columns left of j are done; -1 keeps them out of ArgMax (a norm is never negative).
    let candidates = try g.op("Where", g.op("Less", cols, j), g.scalar(-1, x.dtype), norms, shape: rowType)
    let largest = try g.op("ArgMax", candidates, attributes: ["axis": .int(Int64(m.colAxis)), "keepdims": .int(1)],
                           shape: m.with(rows: 1, cols: 1))
    let p = try g.op("Where", g.op("Less", j, fixed), g.expand(j, m.with(rows: 1, cols: 1)), largest, shape: m.with(rows: 1, cols: 1))
    let atJ = try g.op("Equal", cols, j), atP = try g.op("Equal", cols, p)
    let jj = try g.expand(j, rowType)
    return try g.op("Where", atJ, p, g.op("Where", atP, jj, g.expand(cols.with(shape: [.known(m.cols)]), rowType)), shape: rowType)
}

/// dlarfg on the column `x` (batch + [rows, 1]): the reflector H = I - tau v vᵀ with v = 1 at
/// `pivot` and 0 outside the pivot and the `isTail` rows, mapping x's pivot and tail entries to
/// beta at the pivot. Returns v, tau (batch + [1, 1]) and what the pivot entry becomes: beta,
/// or x's own entry when the tail is zero (H is then the identity, tau = 0).
func householderReflector(_ g: GraphBuilder, _ x: Value, pivot j: Value, isTail: Value, rows: Value,
                          _ m: MatrixShape) throws -> (v: Value, tau: Value, diagonal: Value) {
    let dt = x.dtype, colType = m.with(rows: m.rows, cols: 1), single = m.with(rows: 1, cols: 1)
    let zero = try g.scalar(0, dt), one = try g.scalar(1, dt)
    let alpha = try g.take(x, j, axis: m.rowAxis, shape: single)
    let tailPart = try g.keep(isTail, x, shape: colType)
    let tail = try g.sum(g.op("Mul", tailPart, tailPart), axes: [m.rowAxis], shape: single)
    let norm = try g.op("Sqrt", g.op("Add", g.op("Mul", alpha, alpha), tail), shape: single)
    let beta = try g.op("Where", g.op("GreaterOrEqual", alpha, zero), g.op("Neg", norm), norm, shape: single)
    let trivial = try g.op("Equal", tail, zero)
    // Safe denominators where the reflector is the identity (then tau = 0 and v = e_pivot).
    let safeBeta = try g.op("Where", trivial, one, beta, shape: single)
    let gap = try g.op("Where", trivial, one, g.op("Sub", alpha, beta), shape: single)
    let tau = try g.op("Where", trivial, zero, g.op("Div", g.op("Sub", beta, alpha), safeBeta), shape: single)
    let v = try g.op("Where", g.op("Equal", rows, j), one, g.op("Div", tailPart, gap), shape: colType)
    return (v, tau, try g.op("Where", trivial, alpha, beta, shape: single))
}

/// orgqr: Q = H_0 ... H_{count-1} restricted to its first `cols` columns, built from the
/// identity by applying the reflectors last first (each then touches only what it must).
func householderProduct(_ g: GraphBuilder, _ packed: Value, _ m: MatrixShape, taus: Value, count k: Int64, cols: Int64) throws -> Value {
    let eye = try g.constant((0..<(m.rows * cols)).map { i -> Double in i / cols == i % cols ? 1 : 0 }, dtype: .f64,
                             shape: [m.rows, cols]).cast(to: packed.dtype)
    return try applyReflectors(g, packed, m, taus: taus, count: k, to: g.expand(eye, m.with(rows: m.rows, cols: cols)),
                               cols: cols, lastFirst: true)
}

/// H_j c = c - tau_j v_j (v_jᵀ c) for the reflectors stored in `packed`'s columns (batch +
/// [1, k] taus), one per Loop trip: last first gives Q c, first first gives Qᵀ c.
func applyReflectors(_ g: GraphBuilder, _ packed: Value, _ m: MatrixShape, taus: Value, count k: Int64, to start: Value,
                     cols: Int64, lastFirst: Bool) throws -> Value {
    let dt = packed.dtype
    let dims = m.with(rows: m.rows, cols: cols)
    if k == 0 { return start }
    let rows = try g.indices(m.rows, shape: [m.rows, 1])
    let colType = m.with(rows: m.rows, cols: 1), single = m.with(rows: 1, cols: 1)
    return try g.loop(trips: k, [start], [TensorType(dt, dims)]) { i, carried in
        let q = carried[0]
        let j = lastFirst ? try g.op("Sub", g.scalar(Double(k - 1), .i64), i, shape: []) : i
        let col = try g.take(packed, j, axis: m.colAxis, shape: colType)
        let v = try g.op("Where", g.op("Equal", rows, j), g.scalar(1, dt),
                         g.keep(g.op("Greater", rows, j), col), shape: colType)
        let tau = try g.take(taus, j, axis: m.colAxis, shape: single)
        let w = try g.op("MatMul", v.transpose(m.swapLast), q, shape: m.with(rows: 1, cols: cols))
        return [try g.op("Sub", q, g.op("Mul", g.op("Mul", v, tau), w), shape: dims)]
    }[0]
}

/// The first `count` entries along `axis`.
func sliceLast(_ g: GraphBuilder, _ x: Value, axis: Int, count: Int64, shape: [Dim]) throws -> Value {
    try g.op("Slice", x, g.int64s([0]), g.int64s([count]), g.int64s([axis]), shape: shape)
}
