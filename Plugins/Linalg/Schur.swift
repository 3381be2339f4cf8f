import PluginKit

/// `schur` and `eig` for real matrices, both on the real Schur form A = Z T Zᵀ that QR iteration
/// reaches: T ← R Q where T = Q R (the pack's Householder QR), Z ← Z Q. Unshifted, so a
/// subdiagonal entry decays like |λ_{i+1} / λ_i| per sweep; a pair of complex conjugate
/// eigenvalues (equal moduli) stays a 2x2 block on the diagonal. The Loop stops when every entry
/// below the subdiagonal is negligible and no two consecutive subdiagonal entries are both
/// significant (T is then quasi-triangular), or after `schurMaxSweeps(n)` sweeps.
let schurOps = opsUnion(householderOps, ["Abs", "ReduceMax", "ReduceMin", "Not", "And", "Or", "Concat", "Pad", "Sign"])

/// Unshifted QR converges linearly: at most this many sweeps, enough for eigenvalue moduli
/// that differ by a few percent at float64's precision.
func schurMaxSweeps(_ n: Int64) -> Int64 { 200 + 50 * n }

func schurLowerings() -> [Lowering] {
    [
        Lowering("schur", emits: schurOps, dtypes: linalgFloats,
                 note: "unshifted QR iteration (Householder QR per sweep) to the real Schur form; Loop stops on convergence") { eqn, g in
            let a = try eqn.input(0)
            let m = try MatrixShape(a.shape, "schur")
            guard m.rows == m.cols else { throw LoweringError.invalid("schur of a non-square \(m.rows)x\(m.cols) matrix") }
            if try eqn.param("sort_eig_vals")?.bool == true { throw LoweringError.unsupported("schur with sort_eig_vals") }
            let vectors = try eqn.param("compute_schur_vectors")?.bool ?? true
            if m.rows == 0 { return vectors ? [a, a] : [a] }
            let s = try realSchur(g, a, m)
            return vectors ? [s.t, s.z] : [s.t]
        },
        Lowering("eig", emits: schurOps, dtypes: linalgFloats,
                 note: "eigenvalues from the real Schur form's 1x1 and 2x2 diagonal blocks (complex pairs as (real, imag) storage)") { eqn, g in
            let a = try eqn.input(0)
            let m = try MatrixShape(a.shape, "eig")
            guard m.rows == m.cols else { throw LoweringError.invalid("eig of a non-square \(m.rows)x\(m.cols) matrix") }
            let left = try eqn.param("compute_left_eigenvectors")?.bool ?? true
            let right = try eqn.param("compute_right_eigenvectors")?.bool ?? true
            let n = m.rows, dt = a.dtype
            let valueShape = m.batch + [.known(n), 2]
            let vectorShape = m.dims + [2]
            let vectorCount = (left ? 1 : 0) + (right ? 1 : 0)
            if n == 0 {
                return [try g.filled(0, dt, valueShape)] + Array(repeating: try g.filled(0, dt, vectorShape), count: vectorCount)
            }
            if vectorCount > 0 && n > 1 {
                throw LoweringError.unsupported("eig eigenvectors of matrices larger than 1x1 (eigenvalues only: jnp.linalg.eigvals)")
            }
            let s = try realSchur(g, a, m)
            let values = try schurEigenvalues(g, s.t, m)
            // A 1x1 matrix's eigenvector is 1, left and right.
            let one = try g.op("Concat", g.filled(1, dt, m.dims + [1]), g.filled(0, dt, m.dims + [1]),
                               attributes: ["axis": .int(Int64(m.rank))], shape: vectorShape)
            return [values] + Array(repeating: one, count: vectorCount)
        },
    ]
}

/// T (quasi-upper-triangular, exact zeros below its 1x1 and 2x2 diagonal blocks) and Z.
func realSchur(_ g: GraphBuilder, _ a: Value, _ m: MatrixShape) throws -> (t: Value, z: Value) {
    let n = m.rows, dt = a.dtype, dims = m.dims
    let types = [TensorType(dt, dims), TensorType(dt, dims)]
    let out = try g.loopWhile(maxTrips: schurMaxSweeps(n), [a, identity(g, n, dt, dims)], types) { _, carried in
        let t = carried[0], z = carried[1]
        let (packed, taus, _) = try householderFactor(g, t, m)
        let q = try householderProduct(g, packed, m, taus: taus, count: n, cols: n)
        let rows = try g.indices(n, shape: [n, 1]), cols = try g.indices(n, shape: [n])
        let r = try g.keep(g.op("LessOrEqual", rows, cols), packed, shape: dims)
        let next = try g.op("MatMul", r, q, shape: dims)
        let (settled, _) = try quasiTriangular(g, next, m)
        let again = try g.op("Not", g.op("ReduceMin", settled.cast(to: .i64), attributes: ["keepdims": .int(0)], shape: []).cast(to: .bool), shape: [])
        return (again, [next, try g.op("MatMul", z, q, shape: dims)])
    }
    let (_, keepBelow) = try quasiTriangular(g, out[0], m)
    return (try g.keep(keepBelow, out[0], shape: dims), out[1])
}

/// Whether T is quasi-triangular to working precision (batch + [1, 1] bool) and which entries to
/// keep (those on and above the diagonal, and the significant subdiagonal ones). An entry is
/// negligible at or below eps ‖T‖_F.
func quasiTriangular(_ g: GraphBuilder, _ t: Value, _ m: MatrixShape) throws -> (settled: Value, keep: Value) {
    let n = m.rows, dt = t.dtype, dims = m.dims
    let eps = dt == .f64 ? 2.220446049250313e-16 : 1.1920928955078125e-07
    let rows = try g.indices(n, shape: [n, 1]), cols = try g.indices(n, shape: [n])
    let single = m.with(rows: 1, cols: 1), rowType = m.with(rows: 1, cols: n)
    let norm = try g.op("Sqrt", g.sum(g.sum(g.op("Mul", t, t), axes: [m.rowAxis]), axes: [m.colAxis]), shape: single)
    let significant = try g.op("Greater", g.op("Abs", t), g.op("Mul", norm, g.scalar(eps, dt)), shape: dims)
    let onSub = try g.op("Equal", rows, g.op("Add", cols, g.scalar(1, .i64)))
    let belowSub = try g.op("Greater", rows, g.op("Add", cols, g.scalar(1, .i64)))
    // sub[c] = T[c+1, c] is significant; then no two consecutive ones.
    let sub = try g.op("ReduceMax", g.op("And", onSub, significant).cast(to: .i64), g.int64s([m.rowAxis]),
                       attributes: ["keepdims": .int(1)], shape: rowType)
    let pairs = try g.op("Mul", sub, shiftLeft(g, sub, m), shape: rowType)
    let stray = try g.op("And", belowSub, significant, shape: dims).cast(to: .i64)
    let bad = try g.op("Add", g.op("ReduceMax", stray, g.int64s([m.rowAxis, m.colAxis]), attributes: ["keepdims": .int(1)]),
                       g.op("ReduceMax", pairs.cast(to: .i64), g.int64s([m.colAxis]), attributes: ["keepdims": .int(1)]), shape: single)
    let settled = try g.op("Equal", bad, g.scalar(0, .i64), shape: single)
    let keep = try g.op("Or", g.op("LessOrEqual", rows, cols), g.op("And", onSub, significant), shape: dims)
    return (settled, keep)
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
