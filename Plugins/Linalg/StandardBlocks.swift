import PluginKit

/// LAPACK's standard form of the real Schur form's 2x2 blocks (dlanv2): a block with complex
/// eigenvalues α ± iβ is rotated to [[α, b'], [c', α]] with b' c' = -β² < 0. The rotation
/// R = [[cs, -sn], [sn, cs]] with Rᵀ B R of equal diagonal entries solves
/// (a - d) cos 2θ + (b + c) sin 2θ = 0; of its solutions the one with |θ| <= 45° is taken
/// (cos 2θ = |b + c| / τ, sin 2θ = sign(b + c) (d - a) / τ, τ = hypot(b + c, d - a)), as dlanv2
/// does. All blocks are disjoint, so one block-diagonal orthogonal G carries every rotation:
/// T ← Gᵀ T G, Z ← Z G, two MatMuls each, no Loop. The exact zeros below the blocks stay exact
/// (G mixes rows and columns only inside blocks), and each block's diagonal pair is set to its
/// mean, the rounding the rotation leaves between them.
func standardizedBlocks(_ g: GraphBuilder, t: Value, z: Value, _ m: MatrixShape) throws -> (t: Value, z: Value) {
    let n = m.rows, dt = t.dtype, dims = m.dims, rowType = m.with(rows: 1, cols: n)
    if n < 2 { return (t, z) }
    let rows = try g.indices(n, shape: [n, 1]), cols = try g.indices(n, shape: [n])
    let zero = try g.scalar(0, dt), one = try g.scalar(1, dt), half = try g.scalar(0.5, dt)
    let plus1 = try g.op("Add", cols, g.scalar(1, .i64))
    // Per column c: a = T[c, c], d = T[c+1, c+1], b = T[c, c+1], c' = T[c+1, c] (0 past the end).
    let diag = try g.sum(g.keep(g.op("Equal", rows, cols), t), axes: [m.rowAxis], shape: rowType)
    let sub = try g.sum(g.keep(g.op("Equal", rows, plus1), t), axes: [m.rowAxis], shape: rowType)
    let sup = try g.sum(g.keep(g.op("Equal", g.op("Add", rows, g.scalar(1, .i64)), cols), t), axes: [m.rowAxis], shape: rowType)
    let a = diag, d = try shiftLeft(g, diag, m), b = try shiftLeft(g, sup, m), c = sub
    // A block starts at c when T[c+1, c] is its only neighbouring subdiagonal entry and its
    // eigenvalues are complex (an unconverged T may have other shapes; those stay as they are).
    let nonzero = try g.op("Not", g.op("Equal", sub, zero), shape: rowType).cast(to: .i64)
    let alone = try g.op("Equal", g.op("Add", shiftLeft(g, nonzero, m), shiftRight(g, nonzero, m)), g.scalar(0, .i64))
    let h = try g.op("Mul", g.op("Sub", a, d), half)
    let complexPair = try g.op("Less", g.op("Add", g.op("Mul", h, h), g.op("Mul", b, c)), zero)
    let starts = try g.op("And", g.op("And", nonzero.cast(to: .bool), alone), complexPair, shape: rowType)
    let ends = try shiftRight(g, starts.cast(to: .i64), m).cast(to: .bool)
    let sigma = try g.op("Add", b, c), delta = try g.op("Sub", d, a)
    let tau = try g.op("Sqrt", g.op("Add", g.op("Mul", sigma, sigma), g.op("Mul", delta, delta)), shape: rowType)
    let flat = try g.op("Or", g.op("Not", starts), g.op("Equal", tau, zero))
    let safeTau = try g.op("Where", flat, one, tau)
    let cos2 = try g.op("Where", flat, one, g.op("Div", g.op("Abs", sigma), safeTau))
    let sign = try g.op("Where", g.op("Less", sigma, zero), g.scalar(-1, dt), one)
    let sin2 = try g.op("Where", flat, zero, g.op("Div", g.op("Mul", sign, delta), safeTau))
    let cs = try g.op("Sqrt", g.op("Mul", g.op("Add", one, cos2), half), shape: rowType)
    let sn = try g.op("Div", g.op("Mul", sin2, half), cs, shape: rowType)
    // G: cs on both diagonal entries of a block, sn below and -sn above them, the identity elsewhere.
    let csCol = try g.op("Where", ends, shiftRight(g, cs, m), cs, shape: rowType)
    let above = try g.op("And", g.op("Equal", g.op("Add", rows, g.scalar(1, .i64)), cols), ends)
    let below = try g.op("And", g.op("Equal", rows, plus1), starts)
    let rot = try g.op("Where", g.op("Equal", rows, cols), csCol,
                       g.op("Where", above, g.op("Neg", shiftRight(g, sn, m)), g.keep(below, sn)), shape: dims)
    let rotated = try g.op("MatMul", g.op("MatMul", rot.transpose(m.swapLast), t, shape: dims), rot, shape: dims)
    let rotatedDiag = try g.sum(g.keep(g.op("Equal", rows, cols), rotated), axes: [m.rowAxis], shape: rowType)
    let mean = try g.op("Mul", g.op("Add", rotatedDiag, shiftLeft(g, rotatedDiag, m)), half, shape: rowType)
    let blockMean = try g.op("Where", ends, shiftRight(g, mean, m), mean, shape: rowType)
    let inBlock = try g.op("And", g.op("Equal", rows, cols), g.op("Or", starts, ends), shape: dims)
    return (try g.op("Where", inBlock, blockMean, rotated, shape: dims), try g.op("MatMul", z, rot, shape: dims))
}
