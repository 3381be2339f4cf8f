import PluginKit

/// `eigh`: eigenvectors and eigenvalues of the symmetric matrix that the `lower` (or upper)
/// triangle stands for, by two-sided parallel cyclic Jacobi (Jacobi.swift): each round rotates
/// rows, then columns, by whole-matrix Gathers of the partners' rows and columns, and
/// accumulates the rotations into V. Eigenvalues come from the final diagonal, sorted
/// ascending with their vectors when `sort_eigenvalues` (TopK). Results: (V, w).
func eighLowerings() -> [Lowering] {
    [Lowering("eigh", emits: jacobiOps, dtypes: linalgFloats,
              note: "parallel cyclic Jacobi: Loop over sweeps (stops on convergence, at most 30) of Loops over rounds") { eqn, g in
        let a = try eqn.input(0)
        let m = try MatrixShape(a.shape, "eigh")
        guard m.rows == m.cols else { throw LoweringError.invalid("eigh of a non-square \(m.rows)x\(m.cols) matrix") }
        if let subset = eqn.param("subset_by_index"), !subset.isNone {
            let bounds = subset.items.compactMap(\.int)
            guard bounds.count == 2, bounds[0] == 0, Int64(bounds[1]) == m.rows else {
                throw LoweringError.unsupported("eigh with subset_by_index \(bounds)")
            }
        }
        let lower = try eqn.require("lower").bool ?? true
        let sort = try eqn.param("sort_eigenvalues")?.bool ?? true
        let n = m.rows, dt = a.dtype
        let valueShape = m.batch + [.known(n)]
        if n == 0 { return [a, try g.filled(0, dt, valueShape)] }
        let (vectors, values) = try symmetricEigen(g, symmetricFrom(g, a, m, lower: lower), m)
        if !sort { return [vectors, values] }
        let (w, moved) = try sortWithColumns(g, values, [(vectors, m.dims)], batch: m.batch, n: n, descending: false)
        return [moved[0], w]
    }]
}

/// Jacobi on a symmetric matrix: (V, diagonal) with A = V diag Vᵀ, unsorted.
func symmetricEigen(_ g: GraphBuilder, _ sym: Value, _ m: MatrixShape) throws -> (Value, Value) {
    let n = m.rows, dt = sym.dtype, dims = m.dims
    let eye = try g.op("Equal", g.indices(n, shape: [n, 1]), g.indices(n, shape: [n]))
    let colType = m.with(rows: n, cols: 1)
    let types = [TensorType(dt, dims), TensorType(dt, dims)]
    let out = try jacobiSweeps(g, n: n, [sym, identity(g, n, dt, dims)], types, rotate: { partner, first, sitsOut, state in
        let x = state[0], v = state[1]
        let partnerCol = try partner.unsqueeze([1])
        let pairs = try g.op("Equal", g.indices(n, shape: [n]), partnerCol)
        let diag = try g.sum(g.keep(eye, x), axes: [m.colAxis], shape: colType)
        let off = try g.sum(g.keep(pairs, x), axes: [m.colAxis], shape: colType)
        let partnerDiag = try g.op("Gather", diag, partner, attributes: ["axis": .int(Int64(m.rowAxis))], shape: colType)
        let (c, sigma) = try jacobiRotation(g, first: first.unsqueeze([1]), sitsOut: sitsOut.unsqueeze([1]),
                                            diag: diag, partnerDiag: partnerDiag, off: off, shape: colType)
        let cRow = try c.transpose(m.swapLast), sigmaRow = try sigma.transpose(m.swapLast)
        // Jᵀ A: rows; then (Jᵀ A) J: columns; V J: columns.
        let rowsDone = try g.op("Add", g.op("Mul", c, x), g.op("Mul", sigma,
                                g.op("Gather", x, partner, attributes: ["axis": .int(Int64(m.rowAxis))])), shape: dims)
        let both = try rotateColumns(g, rowsDone, partner, cRow, sigmaRow, m, dims)
        return [both, try rotateColumns(g, v, partner, cRow, sigmaRow, m, dims)]
    }, more: { state in try jacobiMoreSweeps(g, state[0], m, eye: eye) })
    let values = try g.sum(g.keep(eye, out[0]), axes: [m.colAxis], shape: m.with(rows: n, cols: 1)).squeeze([m.colAxis])
    return (out[1], values.with(shape: m.batch + [.known(n)]))
}

/// x J for a round's rotations: column i becomes c_i x_i + sigma_i x_partner(i).
func rotateColumns(_ g: GraphBuilder, _ x: Value, _ partner: Value, _ c: Value, _ sigma: Value, _ m: MatrixShape,
                   _ dims: [Dim]) throws -> Value {
    let moved = try g.op("Gather", x, partner, attributes: ["axis": .int(Int64(m.colAxis))], shape: dims)
    return try g.op("Add", g.op("Mul", x, c), g.op("Mul", moved, sigma), shape: dims)
}
