import PluginKit

/// `schur` and `eig` of complex matrices, on the complex Schur form A = Z T Zᴴ with T upper
/// triangular: a Hessenberg reduction by complex Householder reflectors, then explicit
/// single-shift QR sweeps T ← Qᴴ T Q, Z ← Z Q where Q R = T - μ I, with μ the Wilkinson shift
/// (the eigenvalue of the 2x2 block ending at the lowest unsettled row that is nearer its
/// bottom-right entry) and every 11th sweep an exceptional one. Complex eigenvalues need no
/// 2x2 blocks, so one shift per sweep deflates one row at a time, as LAPACK's zlahqr does.

let complexLinalg: [DType] = [.c64, .c128]

/// schur of complex storage batch + [n, n, 2]: T and, when asked, Z, both complex storage.
func lowerComplexSchur(_ a: Value, vectors: Bool, _ g: GraphBuilder) throws -> [Value] {
    let m = try MatrixShape(a.jaxShape, "schur")
    guard m.rows == m.cols else { throw LoweringError.invalid("schur of a non-square \(m.rows)x\(m.cols) matrix") }
    if m.rows == 0 { return vectors ? [a, a] : [a] }
    let s = try complexSchur(g, g.complexParts(a, m.dims), m)
    let t = try g.complexStorage(s.t, m.dims)
    return vectors ? [t, try g.complexStorage(s.z, m.dims)] : [t]
}

/// eig of complex storage: the eigenvalues (T's diagonal, in its order), then left and right
/// eigenvectors as asked, all complex storage.
func lowerComplexEig(_ a: Value, left: Bool, right: Bool, _ g: GraphBuilder) throws -> [Value] {
    let m = try MatrixShape(a.jaxShape, "eig")
    guard m.rows == m.cols else { throw LoweringError.invalid("eig of a non-square \(m.rows)x\(m.cols) matrix") }
    let n = m.rows, dt = a.dtype.complexPart
    if n == 0 {
        let vectors = Array(repeating: try g.filled(0, dt, m.dims + [2]), count: (left ? 1 : 0) + (right ? 1 : 0))
        return [try g.filled(0, dt, m.batch + [.known(0), 2])] + vectors
    }
    let s = try complexSchur(g, g.complexParts(a, m.dims), m)
    let diag = try triangularDiagonal(g, s.t, m)
    let valueDims = m.batch + [.known(n)]
    var outs = [try g.complexStorage(ComplexParts(re: diag.re.squeeze([m.rowAxis]), im: diag.im.squeeze([m.rowAxis])), valueDims)]
    if left {
        // uᴴ A = λ uᴴ: u is Aᴴ's eigenvector for conj(λ), and Aᴴ = Z Tᴴ Zᴴ. Reversing the rows and
        // columns of Tᴴ makes it upper triangular again, listing conj(λ_k) at n - 1 - k.
        let reversed = try g.constant((0..<n).map { n - 1 - $0 }, dtype: .i64, shape: [n])
        let flip = { (x: Value, axis: Int) throws -> Value in
            try g.op("Gather", x, reversed, attributes: ["axis": .int(Int64(axis))], shape: x.shape) }
        let flipBoth = { (x: Value) throws -> Value in try flip(flip(x, m.rowAxis), m.colAxis) }
        let th = try adjoint(s.t, m)
        let u = try triangularEigenvectors(g, t: ComplexParts(re: flipBoth(th.re), im: flipBoth(th.im)),
                                           z: ComplexParts(re: flip(s.z.re, m.colAxis), im: flip(s.z.im, m.colAxis)), m)
        outs.append(try flip(u, m.colAxis))
    }
    if right { outs.append(try triangularEigenvectors(g, t: s.t, z: s.z, m)) }
    return outs
}

/// T (upper triangular: exact zeros below the diagonal once converged) and Z, as parts.
func complexSchur(_ g: GraphBuilder, _ a: ComplexParts, _ m: MatrixShape) throws -> (t: ComplexParts, z: ComplexParts) {
    let n = m.rows, dt = a.re.dtype, dims = m.dims
    let eye = try identity(g, n, dt, dims), zeros = try g.filled(0, dt, dims)
    let start = ComplexParts(re: eye, im: zeros)
    if n == 1 { return (a, start) }
    let rows = try g.indices(n, shape: [n, 1]), cols = try g.indices(n, shape: [n])
    let colType = m.with(rows: n, cols: 1), single = m.with(rows: 1, cols: 1)
    let types = Array(repeating: TensorType(dt, dims), count: 4)
    let column = { (x: ComplexParts, j: Value) throws -> ComplexParts in
        ComplexParts(re: try g.take(x.re, j, axis: m.colAxis, shape: colType), im: try g.take(x.im, j, axis: m.colAxis, shape: colType))
    }
    var h = a, z = start
    if n > 2 {
        // gehrd: at trip j the reflector for column j's entries from j + 1 down, from both sides.
        let out = try g.loop(trips: n - 2, [a.re, a.im, eye, zeros], types) { j, carried in
            let x = ComplexParts(re: carried[0], im: carried[1]), zc = ComplexParts(re: carried[2], im: carried[3])
            let pivot = try g.op("Add", j, g.scalar(1, .i64), shape: [])
            let (v, coef) = try complexReflector(g, column(x, j), pivot: pivot, isTail: g.op("GreaterOrEqual", rows, pivot),
                                                 rows: rows, m)
            let both = try reflectRight(g, reflectLeft(g, x, v, coef, m), v, coef, m)
            let zn = try reflectRight(g, zc, v, coef, m)
            return [both.re, both.im, zn.re, zn.im]
        }
        h = ComplexParts(re: out[0], im: out[1]); z = ComplexParts(re: out[2], im: out[3])
    }
    h = try deflated(g, h, m)
    let out = try g.loopWhile(maxTrips: schurMaxSweeps(n), [h.re, h.im, z.re, z.im], types) { i, carried in
        let t = ComplexParts(re: carried[0], im: carried[1]), z = ComplexParts(re: carried[2], im: carried[3])
        let q = try lowestUnsettledRow(g, t, m)
        let up = try g.op("Max", g.op("Sub", q, g.scalar(1, .i64)), g.scalar(0, .i64), shape: single)
        let entry = { (r: Value, c: Value) throws -> ComplexParts in
            let mask = try g.op("And", g.op("Equal", rows, r), g.op("Equal", cols, c), shape: dims)
            let pick = { (x: Value) throws -> Value in
                try g.sum(g.sum(g.keep(mask, x), axes: [m.rowAxis]), axes: [m.colAxis], shape: single) }
            return ComplexParts(re: try pick(t.re), im: try pick(t.im))
        }
        let ta = try entry(up, up), tb = try entry(up, q), tc = try entry(q, up), td = try entry(q, q)
        // The block's eigenvalues are d + h ± s, h = (a - d) / 2, s = sqrt(h² + b c); the one
        // nearer d has the sign that makes |h ± s| smaller: minus when Re(conj(h) s) >= 0.
        let h = try g.cscale(g.csub(ta, td), g.scalar(0.5, dt))
        let s = try g.csqrt(g.cadd(g.cmul(h, h), g.cmul(tb, tc)))
        let minus = try g.op("GreaterOrEqual", g.op("Add", g.op("Mul", h.re, s.re), g.op("Mul", h.im, s.im)), g.scalar(0, dt))
        let wilkinson = try g.cadd(td, g.cwhere(minus, g.csub(h, s), g.cadd(h, s)), shape: single)
        // Exceptional shift (after zlahqr's): T[q, q] + 3/4 |T[q, q - 1]|, off the converging
        // one, which breaks the cycles a Wilkinson shift can fall into.
        let exceptional = try g.op("Equal", g.op("Mod", i, g.scalar(11, .i64)), g.scalar(10, .i64), shape: [])
        let kick = ComplexParts(re: try g.op("Add", td.re, g.op("Mul", g.op("Sqrt", g.cabs2(tc)), g.scalar(0.75, dt))), im: td.im)
        let mu = try g.cwhere(exceptional, kick, wilkinson, shape: single)
        let shifted = ComplexParts(re: try g.op("Sub", t.re, g.op("Mul", mu.re, eye), shape: dims),
                                   im: try g.op("Sub", t.im, g.op("Mul", mu.im, eye), shape: dims))
        // Q R = T - μ I by Householder, Q = H_0 ⋯ H_{n-2}; the reflectors go straight onto T
        // from both sides (Qᴴ T Q = H_{n-2} ⋯ H_0 T H_0 ⋯ H_{n-2}, in any grouping) and onto Z.
        // In a Hessenberg T each reflector has two nonzero entries, so an entry is touched a few
        // times per sweep rather than summed over n products as by forming Q. The last column
        // has nothing below its diagonal.
        let sweep = try g.loop(trips: n - 1, [shifted.re, shifted.im, t.re, t.im, z.re, z.im],
                               Array(repeating: TensorType(dt, dims), count: 6)) { j, carried in
            let x = ComplexParts(re: carried[0], im: carried[1])
            let tc = ComplexParts(re: carried[2], im: carried[3]), zc = ComplexParts(re: carried[4], im: carried[5])
            let (v, coef) = try complexReflector(g, column(x, j), pivot: j, isTail: g.op("GreaterOrEqual", rows, j), rows: rows, m)
            let xn = try reflectLeft(g, x, v, coef, m)
            let tn = try reflectRight(g, reflectLeft(g, tc, v, coef, m), v, coef, m)
            let zn = try reflectRight(g, zc, v, coef, m)
            return [xn.re, xn.im, tn.re, tn.im, zn.re, zn.im]
        }
        // The bulges the reflectors raise below the subdiagonal cancel to rounding: deflated drops it.
        let next = try deflated(g, ComplexParts(re: sweep[2], im: sweep[3]), m)
        let settled = try g.op("Equal", lowestUnsettledRow(g, next, m), g.scalar(0, .i64))
        let again = try g.op("Not", g.op("ReduceMin", settled.cast(to: .i64), attributes: ["keepdims": .int(0)], shape: []).cast(to: .bool), shape: [])
        let zn = ComplexParts(re: sweep[4], im: sweep[5])
        return (again, [next.re, next.im, zn.re, zn.im])
    }
    return (ComplexParts(re: out[0], im: out[1]), ComplexParts(re: out[2], im: out[3]))
}

/// T with what QR keeps at zero in exact arithmetic set to zero: entries below the subdiagonal
/// (rounding), and subdiagonal entries at or below eps ‖T‖_F (deflation, as zlahqr zeroes a
/// negligible subdiagonal entry). A zero subdiagonal entry stays exactly zero under the sweeps:
/// the reflector for its column is then the identity.
func deflated(_ g: GraphBuilder, _ t: ComplexParts, _ m: MatrixShape) throws -> ComplexParts {
    let n = m.rows, dt = t.re.dtype, dims = m.dims
    let eps = dt == .f64 ? 2.220446049250313e-16 : 1.1920928955078125e-07
    let rows = try g.indices(n, shape: [n, 1]), cols = try g.indices(n, shape: [n])
    let mag2 = try g.cabs2(t, shape: dims)
    let norm2 = try g.sum(g.sum(mag2, axes: [m.rowAxis]), axes: [m.colAxis], shape: m.with(rows: 1, cols: 1))
    let significant = try g.op("Greater", mag2, g.op("Mul", norm2, g.scalar(eps * eps, dt)), shape: dims)
    let onSub = try g.op("Equal", rows, g.op("Add", cols, g.scalar(1, .i64)))
    let keep = try g.op("Or", g.op("LessOrEqual", rows, cols), g.op("And", onSub, significant), shape: dims)
    return try g.ckeep(keep, t, shape: dims)
}

/// The lowest row with a nonzero subdiagonal entry (batch + [1, 1] int64; 0 when T is triangular).
func lowestUnsettledRow(_ g: GraphBuilder, _ t: ComplexParts, _ m: MatrixShape) throws -> Value {
    let n = m.rows, dt = t.re.dtype
    let rows = try g.indices(n, shape: [n, 1]), cols = try g.indices(n, shape: [n])
    let plus1 = try g.op("Add", cols, g.scalar(1, .i64))
    let sub = try g.sum(g.keep(g.op("Equal", rows, plus1), g.cabs2(t)), axes: [m.rowAxis], shape: m.with(rows: 1, cols: n))
    let unsettled = try g.op("Greater", sub, g.scalar(0, dt)).cast(to: .i64)
    return try g.reduceMax(g.op("Mul", unsettled, plus1), axes: [m.colAxis], shape: m.with(rows: 1, cols: 1))
}

/// T's diagonal as batch + [1, n] parts.
func triangularDiagonal(_ g: GraphBuilder, _ t: ComplexParts, _ m: MatrixShape) throws -> ComplexParts {
    let n = m.rows, rowType = m.with(rows: 1, cols: n)
    let onDiagonal = try g.op("Equal", g.indices(n, shape: [n, 1]), g.indices(n, shape: [n]))
    return ComplexParts(re: try g.sum(g.keep(onDiagonal, t.re), axes: [m.rowAxis], shape: rowType),
                        im: try g.sum(g.keep(onDiagonal, t.im), axes: [m.rowAxis], shape: rowType))
}

/// Right eigenvectors of A = Z T Zᴴ (T upper triangular) as complex storage batch + [n, n, 2],
/// column k for T's k-th diagonal entry λ_k, normalised as zgeev does. T's vectors come by back
/// substitution (ztrevc), one row j per Loop trip for every eigenvalue at once:
/// y[j, k] = -(T[j, :] y[:, k]) / (T[j, j] - λ_k) for k > j, with y[k, k] = 1 and zeros below;
/// a divisor below eps ‖T‖_F is replaced by that, so a repeated eigenvalue gives a finite vector.
func triangularEigenvectors(_ g: GraphBuilder, t: ComplexParts, z: ComplexParts, _ m: MatrixShape) throws -> Value {
    let n = m.rows, dt = t.re.dtype, dims = m.dims, rowType = m.with(rows: 1, cols: n), single = m.with(rows: 1, cols: 1)
    let eps = dt == .f64 ? 2.220446049250313e-16 : 1.1920928955078125e-07
    let rows = try g.indices(n, shape: [n, 1]), cols = try g.indices(n, shape: [n])
    let lambda = try triangularDiagonal(g, t, m)
    let norm = try g.op("Sqrt", g.sum(g.sum(g.cabs2(t, shape: dims), axes: [m.rowAxis]), axes: [m.colAxis]), shape: single)
    let floor = try g.op("Mul", norm, g.scalar(eps, dt), shape: single)
    let types = [TensorType(dt, dims), TensorType(dt, dims)]
    let solved = try g.loop(trips: n, [try identity(g, n, dt, dims), try g.filled(0, dt, dims)], types) { i, carried in
        let y = ComplexParts(re: carried[0], im: carried[1])
        let j = try g.op("Sub", g.scalar(Double(n - 1), .i64), i, shape: [])
        let row = ComplexParts(re: try g.take(t.re, j, axis: m.rowAxis, shape: rowType), im: try g.take(t.im, j, axis: m.rowAxis, shape: rowType))
        let r = try g.cmatmul(row, y, shape: rowType)
        let tjj = ComplexParts(re: try g.take(row.re, j, axis: m.colAxis, shape: single), im: try g.take(row.im, j, axis: m.colAxis, shape: single))
        let yj = try g.cdiv(ComplexParts(re: g.op("Neg", r.re), im: g.op("Neg", r.im)), g.csub(tjj, lambda), floor: floor)
        let write = try g.op("And", g.op("Equal", rows, j), g.op("Greater", cols, j))
        let next = try g.cwhere(write, yj, y, shape: dims)
        return [next.re, next.im]
    }
    let v = try g.cmatmul(z, ComplexParts(re: solved[0], im: solved[1]), shape: dims)
    return try unitEigenvectors(g, v, rotate: g.scalar(1, .bool), m)
}
