import PluginKit

/// `schur` and `eig` for real matrices, both on the real Schur form A = Z T Zᵀ that QR iteration
/// reaches from the Hessenberg form: T ← Qᵀ T Q where Q R = M (the pack's Householder QR) and
/// M is T under a Francis double shift (see realSchur), Z ← Z Q. A pair of complex conjugate
/// eigenvalues stays a 2x2 block on the diagonal. The Loop stops when every entry below the
/// subdiagonal is negligible and no two consecutive subdiagonal entries are both significant
/// (T is then quasi-triangular), or after `schurMaxSweeps(n)` sweeps.
let schurOps = opsUnion(householderOps, ["Abs", "ReduceMax", "ReduceMin", "Max", "Mod", "And", "Or", "Not", "Concat", "Pad"])

/// The shifted sweeps converge quadratically, a few per eigenvalue; the cap leaves room for
/// the exceptional ones and slow starts.
func schurMaxSweeps(_ n: Int64) -> Int64 { 100 + 30 * n }

func schurLowerings() -> [Lowering] {
    [
        Lowering("schur", emits: schurOps, dtypes: linalgFloats + complexLinalg,
                 note: "Hessenberg reduction, then QR sweeps (Francis double shifts for real input, Wilkinson single shifts for complex) to the Schur form; Loop stops on convergence") { eqn, g in
            let a = try eqn.input(0)
            if try eqn.param("sort_eig_vals")?.bool == true { throw LoweringError.unsupported("schur with sort_eig_vals") }
            let vectors = try eqn.param("compute_schur_vectors")?.bool ?? true
            if a.isComplex { return try lowerComplexSchur(a, vectors: vectors, g) }
            let m = try MatrixShape(a.shape, "schur")
            guard m.rows == m.cols else { throw LoweringError.invalid("schur of a non-square \(m.rows)x\(m.cols) matrix") }
            if m.rows == 0 { return vectors ? [a, a] : [a] }
            let s = try realSchur(g, a, m)
            return vectors ? [s.t, s.z] : [s.t]
        },
        Lowering("eig", emits: schurOps, dtypes: linalgFloats + complexLinalg,
                 note: "eigenvalues from the Schur form's diagonal (real input: its 1x1 and 2x2 blocks), vectors by back substitution; complex results as (real, imag) storage") { eqn, g in
            let a = try eqn.input(0)
            let left = try eqn.param("compute_left_eigenvectors")?.bool ?? true
            let right = try eqn.param("compute_right_eigenvectors")?.bool ?? true
            if a.isComplex { return try lowerComplexEig(a, left: left, right: right, g) }
            let m = try MatrixShape(a.shape, "eig")
            guard m.rows == m.cols else { throw LoweringError.invalid("eig of a non-square \(m.rows)x\(m.cols) matrix") }
            let n = m.rows, dt = a.dtype
            let valueShape = m.batch + [.known(n), 2]
            let vectorShape = m.dims + [2]
            let vectorCount = (left ? 1 : 0) + (right ? 1 : 0)
            if n == 0 {
                return [try g.filled(0, dt, valueShape)] + Array(repeating: try g.filled(0, dt, vectorShape), count: vectorCount)
            }
            let s = try realSchur(g, a, m)
            let values = try schurEigenvalues(g, s.t, m)
            var outs = [values]
            if left {
                // uᴴ A = λ uᴴ: u is A's transpose's eigenvector for conj(λ). Reversing rows and
                // columns of Tᵀ (A = Z T Zᵀ) makes it quasi-upper-triangular again, listing
                // conj(λ_k) at n - 1 - k.
                let reversed = try g.constant((0..<n).map { n - 1 - $0 }, dtype: .i64, shape: [n])
                let flip = { (x: Value, axis: Int) throws -> Value in
                    try g.op("Gather", x, reversed, attributes: ["axis": .int(Int64(axis))], shape: x.shape) }
                let tr = try flip(flip(s.t.transpose(m.swapLast), m.rowAxis), m.colAxis)
                let u = try schurEigenvectors(g, t: tr, z: flip(s.z, m.colAxis), values: schurEigenvalues(g, tr, m), m)
                outs.append(try flip(u, m.colAxis))
            }
            if right { outs.append(try schurEigenvectors(g, t: s.t, z: s.z, values: values, m)) }
            return outs
        },
    ]
}

/// T (quasi-upper-triangular, exact zeros below its 1x1 and 2x2 diagonal blocks, the 2x2 ones in
/// LAPACK's standard form) and Z.
func realSchur(_ g: GraphBuilder, _ a: Value, _ m: MatrixShape) throws -> (t: Value, z: Value) {
    let n = m.rows, dt = a.dtype, dims = m.dims
    let types = [TensorType(dt, dims), TensorType(dt, dims)]
    let rows = try g.indices(n, shape: [n, 1]), cols = try g.indices(n, shape: [n])
    let eye = try identity(g, n, dt, dims)
    let single = m.with(rows: 1, cols: 1)
    let (h, accumulated, _) = try hessenbergReduction(g, a, m, accumulating: eye)
    let hz = accumulated ?? eye
    let out = try g.loopWhile(maxTrips: schurMaxSweeps(n), [h, hz], types) { i, carried in
        let t = carried[0], z = carried[1]
        // Francis's double shift, explicit: QR of M = T² - s T + p I with s, p the trace and
        // determinant of the 2x2 block ending at the lowest unsettled row q. Settled rows below q
        // stay settled (M is block triangular there), so this deflates without moving windows.
        // Every 11th sweep takes an exceptional shift instead.
        let (settledNow, q) = try quasiTriangular(g, t, m)
        let up = try g.op("Max", g.op("Sub", q, g.scalar(1, .i64)), g.scalar(0, .i64), shape: single)
        let entry = { (r: Value, c: Value) throws -> Value in
            let mask = try g.op("And", g.op("Equal", rows, r), g.op("Equal", cols, c), shape: dims)
            return try g.sum(g.sum(g.keep(mask, t), axes: [m.rowAxis]), axes: [m.colAxis], shape: single)
        }
        let ta = try entry(up, up), tb = try entry(up, q), tc = try entry(q, up), td = try entry(q, q)
        let exceptional = try g.op("Equal", g.op("Mod", i, g.scalar(11, .i64)), g.scalar(10, .i64), shape: [])
        // A block with real eigenvalues takes the one nearer T[q, q] twice (Wilkinson's): both
        // would make M vanish on the whole block (Cayley-Hamilton), leaving QR nothing to split.
        let half = try g.op("Mul", g.op("Sub", ta, td), g.scalar(0.5, dt))
        let disc = try g.op("Add", g.op("Mul", half, half), g.op("Mul", tb, tc), shape: single)
        let root = try g.op("Sqrt", g.op("Abs", disc))
        let mid = try g.op("Mul", g.op("Add", ta, td), g.scalar(0.5, dt))
        let toward = try g.op("Where", g.op("Less", half, g.scalar(0, dt)), root, g.op("Neg", root))
        let mu = try g.op("Add", mid, toward, shape: single)
        let real = try g.op("GreaterOrEqual", disc, g.scalar(0, dt), shape: single)
        let pairTrace = try g.op("Where", real, g.op("Add", mu, mu), g.op("Add", ta, td))
        let pairDet = try g.op("Where", real, g.op("Mul", mu, mu), g.op("Sub", g.op("Mul", ta, td), g.op("Mul", tb, tc)))
        // Exceptional shift (LAPACK's dlahqr): a complex pair around T[q, q] + 3/4 s, s the size of
        // the block's subdiagonal entries, which breaks the cycles a converging shift can fall into.
        let s = try g.op("Add", g.op("Abs", tc), g.op("Abs", entry(up, g.op("Max", g.op("Sub", up, g.scalar(1, .i64)), g.scalar(0, .i64)))), shape: single)
        let h11 = try g.op("Add", td, g.op("Mul", s, g.scalar(0.75, dt)))
        let oddTrace = try g.op("Add", h11, h11)
        let oddDet = try g.op("Add", g.op("Mul", h11, h11), g.op("Mul", g.op("Mul", s, s), g.scalar(0.4375, dt)))
        let trace = try g.op("Where", exceptional, oddTrace, pairTrace, shape: single)
        let det = try g.op("Where", exceptional, oddDet, pairDet, shape: single)
        let tt = try g.op("MatMul", t, t, shape: dims)
        // A settled T (the first sweep runs before the Loop's test) takes Q = I: the QR of the
        // identity, so an already quasi-triangular T and its 2x2 blocks pass through unchanged.
        let shifted = try g.op("Where", settledNow, eye,
                               g.op("Add", g.op("Sub", tt, g.op("Mul", trace, t)), g.op("Mul", det, eye)), shape: dims)
        let (packed, taus, _) = try householderFactor(g, shifted, m)
        let qm = try householderProduct(g, packed, m, taus: taus, count: n, cols: n)
        let next = try g.op("MatMul", g.op("MatMul", qm.transpose(m.swapLast), t), qm, shape: dims)
        let (settled, _) = try quasiTriangular(g, next, m)
        let again = try g.op("Not", g.op("ReduceMin", settled.cast(to: .i64), attributes: ["keepdims": .int(0)], shape: []).cast(to: .bool), shape: [])
        return (again, [next, try g.op("MatMul", z, qm, shape: dims)])
    }
    let (_, keepBelow, _) = try quasiTriangularParts(g, out[0], m)
    return try standardizedBlocks(g, t: g.keep(keepBelow, out[0], shape: dims), z: out[1], m)
}

/// Whether T is quasi-triangular to working precision (batch + [1, 1] bool) and which entries to
/// keep (those on and above the diagonal, and the significant subdiagonal ones). An entry is
/// negligible at or below eps ‖T‖_F. A 2x2 block whose eigenvalues are real is not settled
/// (when their moduli are equal it never splits: the sweeps run out and the block stays).
func quasiTriangular(_ g: GraphBuilder, _ t: Value, _ m: MatrixShape) throws -> (settled: Value, lowest: Value) {
    let (settled, _, lowest) = try quasiTriangularParts(g, t, m)
    return (settled, lowest)
}

/// quasiTriangular, plus the entries to keep and the lowest unsettled row (0 when none).
func quasiTriangularParts(_ g: GraphBuilder, _ t: Value, _ m: MatrixShape) throws -> (settled: Value, keep: Value, lowest: Value) {
    let n = m.rows, dt = t.dtype, dims = m.dims
    let eps = dt == .f64 ? 2.220446049250313e-16 : 1.1920928955078125e-07
    let rows = try g.indices(n, shape: [n, 1]), cols = try g.indices(n, shape: [n])
    let single = m.with(rows: 1, cols: 1), rowType = m.with(rows: 1, cols: n)
    let norm = try g.op("Sqrt", g.sum(g.sum(g.op("Mul", t, t), axes: [m.rowAxis]), axes: [m.colAxis]), shape: single)
    let significant = try g.op("Greater", g.op("Abs", t), g.op("Mul", norm, g.scalar(eps, dt)), shape: dims)
    let onSub = try g.op("Equal", rows, g.op("Add", cols, g.scalar(1, .i64)))
    let belowSub = try g.op("Greater", rows, g.op("Add", cols, g.scalar(1, .i64)))
    // sub[c] = T[c+1, c] is significant; then no two consecutive ones.
    let sub = try g.reduceMax(g.op("And", onSub, significant).cast(to: .i64), axes: [m.rowAxis], shape: rowType)
    // A 2x2 block is final only when its eigenvalues are complex; real ones split further.
    let plus1 = try g.op("Add", cols, g.scalar(1, .i64))
    let diag = try g.sum(g.keep(g.op("Equal", rows, cols), t), axes: [m.rowAxis], shape: rowType)
    let below = try g.sum(g.keep(g.op("Equal", rows, plus1), t), axes: [m.rowAxis], shape: rowType)
    let above = try shiftLeft(g, g.sum(g.keep(g.op("Equal", g.op("Add", rows, g.scalar(1, .i64)), cols), t), axes: [m.rowAxis], shape: rowType), m)
    let h = try g.op("Mul", g.op("Sub", diag, shiftLeft(g, diag, m)), g.scalar(0.5, dt))
    let disc = try g.op("Add", g.op("Mul", h, h), g.op("Mul", above, below), shape: rowType)
    let realPair = try g.op("Mul", sub, g.op("GreaterOrEqual", disc, g.scalar(0, dt)).cast(to: .i64), shape: rowType)
    let pairs = try g.op("Add", g.op("Mul", sub, shiftLeft(g, sub, m)), realPair, shape: rowType)
    let stray = try g.op("And", belowSub, significant, shape: dims).cast(to: .i64)
    let bad = try g.op("Add", g.reduceMax(stray, axes: [m.rowAxis, m.colAxis]),
                       g.reduceMax(pairs.cast(to: .i64), axes: [m.colAxis]), shape: single)
    let settled = try g.op("Equal", bad, g.scalar(0, .i64), shape: single)
    let keep = try g.op("Or", g.op("LessOrEqual", rows, cols), g.op("And", onSub, significant), shape: dims)
    // Row c + 1 is unsettled when its subdiagonal entry is significant and not an isolated
    // complex block's; row r also when it has a significant entry left of column r - 1.
    let neighbours = try g.op("Add", g.op("Add", shiftLeft(g, sub, m), shiftRight(g, sub, m)), realPair)
    let unsettledSub = try g.op("Mul", sub, g.op("Greater", neighbours, g.scalar(0, .i64)).cast(to: .i64), shape: rowType)
    let fromSub = try g.reduceMax(g.op("Mul", unsettledSub, plus1), axes: [m.colAxis])
    let strayRows = try g.reduceMax(stray, axes: [m.colAxis])
    let fromStray = try g.reduceMax(g.op("Mul", strayRows, rows), axes: [m.rowAxis])
    return (settled, keep, try g.op("Max", fromSub, fromStray, shape: single))
}

/// Entries [start, end) along `axis`.
func sliceRange(_ g: GraphBuilder, _ x: Value, axis: Int, _ start: Int64, _ end: Int64) throws -> Value {
    try g.op("Slice", x, g.int64s([start]), g.int64s([end]), g.int64s([axis]))
}

/// The eigenvalues of a quasi-triangular T as complex storage batch + [n, 2], in T's diagonal
/// order: a 1x1 block gives its entry; a 2x2 block [[a, b], [c, d]] gives p ± sqrt(disc) with
/// p = (a + d) / 2, disc = ((a - d) / 2)² + b c, the value with the positive imaginary part (or
/// the larger real one) first, as LAPACK lists a pair.
func schurEigenvalues(_ g: GraphBuilder, _ t: Value, _ m: MatrixShape) throws -> Value {
    let n = m.rows, dt = t.dtype
    let rows = try g.indices(n, shape: [n, 1]), cols = try g.indices(n, shape: [n])
    let rowType = m.with(rows: 1, cols: n)
    let plus1 = try g.op("Add", cols, g.scalar(1, .i64))
    // Per column c: a = T[c, c], d = T[c+1, c+1], b = T[c, c+1], c' = T[c+1, c] (0 past the end).
    let diag = try g.sum(g.keep(g.op("Equal", rows, cols), t), axes: [m.rowAxis], shape: rowType)
    let sub = try g.sum(g.keep(g.op("Equal", rows, plus1), t), axes: [m.rowAxis], shape: rowType)
    let sup = try g.sum(g.keep(g.op("Equal", g.op("Add", rows, g.scalar(1, .i64)), cols), t), axes: [m.rowAxis], shape: rowType)
    let d = try shiftLeft(g, diag, m), b = try shiftLeft(g, sup, m)
    let zero = try g.scalar(0, dt), half = try g.scalar(0.5, dt)
    let starts = try g.op("Not", g.op("Equal", sub, zero), shape: rowType)
    let p = try g.op("Mul", g.op("Add", diag, d), half)
    let h = try g.op("Mul", g.op("Sub", diag, d), half)
    let disc = try g.op("Add", g.op("Mul", h, h), g.op("Mul", b, sub), shape: rowType)
    let root = try g.op("Sqrt", g.op("Abs", disc))
    let complexPair = try g.op("Less", disc, zero)
    // The block's first value (+ root) and second (- root) as (re, im).
    let firstRe = try g.op("Where", complexPair, p, g.op("Add", p, root), shape: rowType)
    let firstIm = try g.op("Where", complexPair, root, zero, shape: rowType)
    let secondRe = try g.op("Where", complexPair, p, g.op("Sub", p, root), shape: rowType)
    let secondIm = try g.op("Where", complexPair, g.op("Neg", root), zero, shape: rowType)
    let ends = try shiftRight(g, starts.cast(to: .i64), m).cast(to: .bool)
    let re = try g.op("Where", starts, firstRe, g.op("Where", ends, shiftRight(g, secondRe, m), diag), shape: rowType)
    let im = try g.op("Where", starts, firstIm, g.op("Where", ends, shiftRight(g, secondIm, m), zero), shape: rowType)
    let pair = try g.op("Concat", re.transpose(m.swapLast), im.transpose(m.swapLast), attributes: ["axis": .int(Int64(m.colAxis))],
                        shape: m.with(rows: n, cols: 2))
    return pair.with(shape: m.batch + [.known(n), 2])
}

/// v[c + 1] at c, 0 at the end (along the last axis).
func shiftLeft(_ g: GraphBuilder, _ v: Value, _ m: MatrixShape) throws -> Value {
    try g.op("Pad", sliceRange(g, v, axis: m.colAxis, 1, m.rows), g.int64s(Array(repeating: 0, count: 2 * m.rank - 1) + [1]),
             shape: m.with(rows: 1, cols: m.rows))
}

/// v[c - 1] at c, 0 at the start (along the last axis).
func shiftRight(_ g: GraphBuilder, _ v: Value, _ m: MatrixShape) throws -> Value {
    var pads = Array(repeating: Int64(0), count: 2 * m.rank)
    pads[m.colAxis] = 1
    return try g.op("Pad", sliceRange(g, v, axis: m.colAxis, 0, m.rows - 1), g.int64s(pads), shape: m.with(rows: 1, cols: m.rows))
}

/// A complex tensor as its real and imaginary parts, for the arithmetic below.
struct ComplexParts {
    var re: Value
    var im: Value
}

extension GraphBuilder {
    func cmul(_ a: ComplexParts, _ b: ComplexParts) throws -> ComplexParts {
        ComplexParts(re: try op("Sub", op("Mul", a.re, b.re), op("Mul", a.im, b.im)),
                     im: try op("Add", op("Mul", a.re, b.im), op("Mul", a.im, b.re)))
    }
    func csub(_ a: ComplexParts, _ b: ComplexParts) throws -> ComplexParts {
        ComplexParts(re: try op("Sub", a.re, b.re), im: try op("Sub", a.im, b.im))
    }
    /// a / b, with a b whose modulus is below `floor` replaced by `floor` (LAPACK's dtrevc does
    /// the same with its smallest admissible pivot, so a repeated eigenvalue gives a finite vector).
    func cdiv(_ a: ComplexParts, _ b: ComplexParts, floor: Value) throws -> ComplexParts {
        let mag2 = try op("Add", op("Mul", b.re, b.re), op("Mul", b.im, b.im))
        let tiny = try op("Less", mag2, op("Mul", floor, floor))
        let br = try op("Where", tiny, floor, b.re), bi = try op("Where", tiny, scalar(0, b.re.dtype), b.im)
        let den = try op("Add", op("Mul", br, br), op("Mul", bi, bi))
        return ComplexParts(re: try op("Div", op("Add", op("Mul", a.re, br), op("Mul", a.im, bi)), den),
                            im: try op("Div", op("Sub", op("Mul", a.im, br), op("Mul", a.re, bi)), den))
    }
}

/// Right eigenvectors of A = Z T Zᵀ as complex storage batch + [n, n, 2], column k for the k-th
/// eigenvalue of `values` (schurEigenvalues of T), each of unit 2-norm with its largest entry
/// real (LAPACK's dgeev normalisation; a real eigenvalue's vector is real, its sign free).
/// T's eigenvectors come by back substitution (dtrevc), one row per Loop trip for all
/// eigenvalues at once: a 2x2 block's two rows are solved together at its lower row.
func schurEigenvectors(_ g: GraphBuilder, t: Value, z: Value, values: Value, _ m: MatrixShape) throws -> Value {
    let n = m.rows, dt = t.dtype, dims = m.dims, rowType = m.with(rows: 1, cols: n), single = m.with(rows: 1, cols: 1)
    let eps = dt == .f64 ? 2.220446049250313e-16 : 1.1920928955078125e-07
    let rows = try g.indices(n, shape: [n, 1]), cols = try g.indices(n, shape: [n])
    let zero = try g.scalar(0, dt)
    let lambda = ComplexParts(
        re: try g.op("Gather", values, g.scalar(0, .i64), attributes: ["axis": .int(Int64(m.rank - 1))]).unsqueeze([m.rowAxis]).with(shape: rowType),
        im: try g.op("Gather", values, g.scalar(1, .i64), attributes: ["axis": .int(Int64(m.rank - 1))]).unsqueeze([m.rowAxis]).with(shape: rowType))
    let norm = try g.op("Sqrt", g.sum(g.sum(g.op("Mul", t, t), axes: [m.rowAxis]), axes: [m.colAxis]), shape: single)
    let floor = try g.op("Mul", norm, g.scalar(eps, dt), shape: single)
    let plus1 = try g.op("Add", cols, g.scalar(1, .i64))
    let diag = try g.sum(g.keep(g.op("Equal", rows, cols), t), axes: [m.rowAxis], shape: rowType)
    let sub = try g.sum(g.keep(g.op("Equal", rows, plus1), t), axes: [m.rowAxis], shape: rowType)
    let sup = try g.sum(g.keep(g.op("Equal", g.op("Add", rows, g.scalar(1, .i64)), cols), t), axes: [m.rowAxis], shape: rowType)
    let starts = try g.op("Not", g.op("Equal", sub, zero), shape: rowType)
    let ends = try shiftRight(g, starts.cast(to: .i64), m).cast(to: .bool)
    // Column k's vector is fixed on its own block: e_k for a 1x1 block; (b, λ - a) on the rows
    // (s, s + 1) of a 2x2 block at s. Rows above the block start are solved for.
    let blockStart = try g.op("Where", ends, g.op("Sub", cols, g.scalar(1, .i64)), cols).with(shape: [.known(1), .known(n)])
    let startA = try g.op("Where", ends, shiftRight(g, diag, m), diag, shape: rowType)
    // sup[c] = T[c - 1, c], so the block's b = T[s, s + 1] is sup at s + 1.
    let startB = try g.op("Where", ends, sup, shiftLeft(g, sup, m), shape: rowType)
    let inBlock = try g.op("Or", starts, ends, shape: rowType)
    let atStart = try g.op("Equal", rows, blockStart), atSecond = try g.op("Equal", rows, g.op("Add", blockStart, g.scalar(1, .i64)))
    let firstRe = try g.op("Where", inBlock, startB, g.scalar(1, dt), shape: rowType)
    let y0re = try g.op("Where", atStart, firstRe, g.keep(g.op("And", atSecond, inBlock), g.op("Sub", lambda.re, startA)), shape: dims)
    let y0im = try g.keep(g.op("And", atSecond, inBlock), lambda.im.expand(rowType), shape: dims)
    let types = [TensorType(dt, dims), TensorType(dt, dims)]
    let solved = try g.loop(trips: n, [y0re, y0im], types) { i, carried in
        let y = ComplexParts(re: carried[0], im: carried[1])
        let j = try g.op("Sub", g.scalar(Double(n - 1), .i64), i, shape: [])
        let above = try g.op("Max", g.op("Sub", j, g.scalar(1, .i64)), g.scalar(0, .i64), shape: [])
        let rowJ = try g.take(t, j, axis: m.rowAxis, shape: rowType), rowUp = try g.take(t, above, axis: m.rowAxis, shape: rowType)
        let at = { (row: Value, col: Value) throws -> Value in try g.take(row, col, axis: m.colAxis, shape: single) }
        let rj = ComplexParts(re: try g.op("MatMul", rowJ, y.re, shape: rowType), im: try g.op("MatMul", rowJ, y.im, shape: rowType))
        let ru = ComplexParts(re: try g.op("MatMul", rowUp, y.re, shape: rowType), im: try g.op("MatMul", rowUp, y.im, shape: rowType))
        let dj = ComplexParts(re: try g.op("Sub", at(rowJ, j), lambda.re), im: try g.op("Neg", lambda.im))
        let du = ComplexParts(re: try g.op("Sub", at(rowUp, above), lambda.re), im: try g.op("Neg", lambda.im))
        let b = try at(rowUp, j), c = try at(rowJ, above)
        let negate = { (x: ComplexParts) throws -> ComplexParts in ComplexParts(re: try g.op("Neg", x.re), im: try g.op("Neg", x.im)) }
        // 1x1 row: y_j = -r_j / (T_jj - λ).
        let single1 = try g.cdiv(negate(rj), dj, floor: floor)
        // Lower row of a 2x2 block: [[du, b], [c, dj]] [y_up; y_j] = -[r_up; r_j] by Cramer's rule.
        let det = try g.csub(g.cmul(du, dj), ComplexParts(re: g.op("Mul", b, c), im: zero))
        let scale = { (x: ComplexParts, s: Value) throws -> ComplexParts in ComplexParts(re: try g.op("Mul", x.re, s), im: try g.op("Mul", x.im, s)) }
        let upNum = try g.csub(scale(rj, b), g.cmul(dj, ru))
        let jNum = try g.csub(g.cmul(du, rj), scale(ru, c))
        let yUp = try g.cdiv(upNum, det, floor: floor), yJ = try g.cdiv(negate(jNum), det, floor: floor)
        let isEnd = try g.take(ends, j, axis: m.colAxis, shape: single), isStart = try g.take(starts, j, axis: m.colAxis, shape: single)
        // Only columns whose block starts below row j (above row j - 1 for the pair) change.
        let active = try g.op("Less", j, blockStart, shape: [.known(1), .known(n)])
        let activeUp = try g.op("Less", above, blockStart, shape: [.known(1), .known(n)])
        let onJ = try g.op("Equal", rows, j), onUp = try g.op("Equal", rows, above)
        let writeJ = try g.op("And", g.op("And", onJ, active), g.op("Not", isStart))
        let writeUp = try g.op("And", g.op("And", g.op("And", onUp, activeUp), isEnd), g.op("Greater", j, g.scalar(0, .i64)))
        let newJre = try g.op("Where", isEnd, yJ.re, single1.re), newJim = try g.op("Where", isEnd, yJ.im, single1.im)
        let re = try g.op("Where", writeJ, newJre, g.op("Where", writeUp, yUp.re, y.re), shape: dims)
        let im = try g.op("Where", writeJ, newJim, g.op("Where", writeUp, yUp.im, y.im), shape: dims)
        return [re, im]
    }
    let v = ComplexParts(re: try g.op("MatMul", z, solved[0], shape: dims), im: try g.op("MatMul", z, solved[1], shape: dims))
    // Real eigenvalues keep their real vectors (and free sign); complex ones are rotated.
    return try unitEigenvectors(g, v, rotate: g.op("Not", g.op("Equal", lambda.im, zero), shape: rowType), m)
}

/// Columns of v (batch + [n, n] parts) scaled to unit 2-norm, and where `rotate` (broadcasting
/// to batch + [1, n]) holds, multiplied by conj(p) / |p| with p the largest-magnitude entry (the
/// first on a tie), whose imaginary part is then exactly zero: LAPACK's geev normalisation.
/// Returns complex storage batch + [n, n, 2].
func unitEigenvectors(_ g: GraphBuilder, _ v: ComplexParts, rotate: Value, _ m: MatrixShape) throws -> Value {
    let n = m.rows, dt = v.re.dtype, dims = m.dims, rowType = m.with(rows: 1, cols: n)
    let zero = try g.scalar(0, dt), one = try g.scalar(1, dt)
    let mag2 = try g.op("Add", g.op("Mul", v.re, v.re), g.op("Mul", v.im, v.im), shape: dims)
    let len = try g.op("Sqrt", g.sum(mag2, axes: [m.rowAxis], shape: rowType))
    let big = try g.op("ArgMax", mag2, attributes: ["axis": .int(Int64(m.rowAxis)), "keepdims": .int(1)], shape: rowType)
    let pick = { (x: Value) throws -> Value in try g.op("GatherElements", x, big, attributes: ["axis": .int(Int64(m.rowAxis))], shape: rowType) }
    let pr = try pick(v.re), pi = try pick(v.im)
    let pm = try g.op("Sqrt", g.op("Add", g.op("Mul", pr, pr), g.op("Mul", pi, pi)))
    let safe = try g.op("Where", g.op("Equal", pm, zero), one, pm)
    let rotRe = try g.op("Where", rotate, g.op("Div", pr, safe), one)
    let rotIm = try g.op("Where", rotate, g.op("Neg", g.op("Div", pi, safe)), zero)
    let turned = try g.cmul(v, ComplexParts(re: rotRe, im: rotIm))
    let safeLen = try g.op("Where", g.op("Equal", len, zero), one, len)
    let atBig = try g.op("And", g.op("Equal", g.indices(n, shape: [n, 1]), big), rotate, shape: dims)
    let im = try g.op("Where", atBig, zero, g.op("Div", turned.im, safeLen), shape: dims)
    return try g.complexStorage(ComplexParts(re: g.op("Div", turned.re, safeLen, shape: dims), im: im), dims)
}

extension GraphBuilder {
    /// Max over axes, kept as size-1 axes (ReduceMax takes its axes as an input from opset 18 on).
    func reduceMax(_ x: Value, axes: [Int], shape: [Dim]? = nil) throws -> Value {
        if opset >= 18 { return try op("ReduceMax", x, int64s(axes), attributes: ["keepdims": .int(1)], shape: shape) }
        return try op("ReduceMax", x, attributes: ["axes": .ints(axes.map(Int64.init)), "keepdims": .int(1)], shape: shape)
    }
}
