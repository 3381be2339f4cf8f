import PluginKit

/// Complex matrix arithmetic on (re, im) parts, for the complex Schur form and eig. A complex
/// operand arrives as its storage (docs/complex.md): a float tensor with a trailing axis of 2,
/// split once into two real tensors so every product below is a real MatMul.
extension GraphBuilder {
    /// The parts of complex storage `dims + [2]`, each of shape `dims`.
    func complexParts(_ z: Value, _ dims: [Dim]) throws -> ComplexParts {
        let part = { (k: Double) throws -> Value in
            try self.op("Gather", z, self.scalar(k, .i64), attributes: ["axis": .int(Int64(dims.count))], shape: dims)
        }
        return ComplexParts(re: try part(0), im: try part(1))
    }

    /// Complex storage `dims + [2]` from parts of shape `dims`.
    func complexStorage(_ z: ComplexParts, _ dims: [Dim]) throws -> Value {
        let axis = dims.count
        return try op("Concat", z.re.with(shape: dims).unsqueeze([axis]), z.im.with(shape: dims).unsqueeze([axis]),
                      attributes: ["axis": .int(Int64(axis))], shape: dims + [2])
    }

    /// The complex matrix product, four real MatMuls (Gauss's three would add parts of unequal size).
    func cmatmul(_ a: ComplexParts, _ b: ComplexParts, shape: [Dim]) throws -> ComplexParts {
        ComplexParts(re: try op("Sub", op("MatMul", a.re, b.re), op("MatMul", a.im, b.im), shape: shape),
                     im: try op("Add", op("MatMul", a.re, b.im), op("MatMul", a.im, b.re), shape: shape))
    }

    func cadd(_ a: ComplexParts, _ b: ComplexParts, shape: [Dim]? = nil) throws -> ComplexParts {
        ComplexParts(re: try op("Add", a.re, b.re, shape: shape), im: try op("Add", a.im, b.im, shape: shape))
    }

    /// a times a real s.
    func cscale(_ a: ComplexParts, _ s: Value, shape: [Dim]? = nil) throws -> ComplexParts {
        ComplexParts(re: try op("Mul", a.re, s, shape: shape), im: try op("Mul", a.im, s, shape: shape))
    }

    /// |a|² of each entry.
    func cabs2(_ a: ComplexParts, shape: [Dim]? = nil) throws -> Value {
        try op("Add", op("Mul", a.re, a.re), op("Mul", a.im, a.im), shape: shape)
    }

    /// Where(mask, a, 0) on both parts.
    func ckeep(_ mask: Value, _ a: ComplexParts, shape: [Dim]? = nil) throws -> ComplexParts {
        ComplexParts(re: try keep(mask, a.re, shape: shape), im: try keep(mask, a.im, shape: shape))
    }

    func cwhere(_ mask: Value, _ a: ComplexParts, _ b: ComplexParts, shape: [Dim]? = nil) throws -> ComplexParts {
        ComplexParts(re: try op("Where", mask, a.re, b.re, shape: shape), im: try op("Where", mask, a.im, b.im, shape: shape))
    }

    /// The principal square root: re = sqrt((|z| + x) / 2), im = ±sqrt((|z| - x) / 2) with y's sign.
    func csqrt(_ z: ComplexParts) throws -> ComplexParts {
        let dt = z.re.dtype, zero = try scalar(0, dt), half = try scalar(0.5, dt)
        let r = try op("Sqrt", cabs2(z))
        let re = try op("Sqrt", op("Max", op("Mul", op("Add", r, z.re), half), zero))
        let im = try op("Sqrt", op("Max", op("Mul", op("Sub", r, z.re), half), zero))
        return ComplexParts(re: re, im: try op("Where", op("Less", z.im, zero), op("Neg", im), im))
    }
}

/// The conjugate transpose of a batch of matrices.
func adjoint(_ a: ComplexParts, _ m: MatrixShape) throws -> ComplexParts {
    ComplexParts(re: try a.re.transpose(m.swapLast), im: try a.im.graph.op("Neg", a.im.transpose(m.swapLast)))
}

/// A complex Householder reflector H = I - coef v vᴴ (Hermitian and unitary, coef real) that maps
/// the column x (batch + [n, 1]) on the rows `isTail` (those from `pivot` down) to beta e_pivot
/// with beta = -(alpha / |alpha|) ‖x_tail‖, alpha = x[pivot] (phase 1 when alpha is 0): the
/// sign that keeps v = x_tail - beta e_pivot free of cancellation. A column with nothing below
/// the pivot is left alone (coef = 0), so an already reduced matrix passes through exactly.
func complexReflector(_ g: GraphBuilder, _ x: ComplexParts, pivot: Value, isTail: Value, rows: Value,
                      _ m: MatrixShape) throws -> (v: ComplexParts, coef: Value) {
    let n = m.rows, dt = x.re.dtype
    let colType = m.with(rows: n, cols: 1), single = m.with(rows: 1, cols: 1)
    let zero = try g.scalar(0, dt), one = try g.scalar(1, dt)
    let tail = try g.ckeep(isTail, x, shape: colType)
    let atPivot = try g.op("Equal", rows, pivot)
    let alpha = try ComplexParts(re: g.sum(g.keep(atPivot, tail.re), axes: [m.rowAxis], shape: single),
                                 im: g.sum(g.keep(atPivot, tail.im), axes: [m.rowAxis], shape: single))
    let below = try g.sum(g.keep(g.op("Greater", rows, pivot), g.cabs2(tail)), axes: [m.rowAxis], shape: single)
    let alpha2 = try g.cabs2(alpha, shape: single)
    let tail2 = try g.op("Add", below, alpha2, shape: single)
    let sigma = try g.op("Sqrt", tail2), alphaAbs = try g.op("Sqrt", alpha2)
    let safeAbs = try g.op("Where", g.op("Equal", alphaAbs, zero), one, alphaAbs)
    let phase = try ComplexParts(re: g.op("Where", g.op("Equal", alphaAbs, zero), one, g.op("Div", alpha.re, safeAbs)),
                                 im: g.op("Where", g.op("Equal", alphaAbs, zero), zero, g.op("Div", alpha.im, safeAbs)))
    // v[pivot] = alpha - beta = phase (|alpha| + sigma); vᴴ v = 2 sigma (sigma + |alpha|).
    let lead = try g.cscale(phase, g.op("Add", alphaAbs, sigma), shape: single)
    let v = try g.cwhere(atPivot, lead, tail, shape: colType)
    let denom = try g.op("Mul", sigma, g.op("Add", sigma, alphaAbs))
    let nothing = try g.op("LessOrEqual", below, zero)
    let coef = try g.op("Where", nothing, zero, g.op("Div", one, g.op("Where", nothing, one, denom)), shape: single)
    return (v, coef)
}

/// H X = X - coef v (vᴴ X).
func reflectLeft(_ g: GraphBuilder, _ x: ComplexParts, _ v: ComplexParts, _ coef: Value, _ m: MatrixShape) throws -> ComplexParts {
    let w = try g.cmatmul(adjoint(v, m), x, shape: m.with(rows: 1, cols: m.cols))
    return try g.csub(x, g.cmatmul(g.cscale(v, coef), w, shape: m.dims))
}

/// X H = X - (X v) coef vᴴ.
func reflectRight(_ g: GraphBuilder, _ x: ComplexParts, _ v: ComplexParts, _ coef: Value, _ m: MatrixShape) throws -> ComplexParts {
    let xv = try g.cmatmul(x, g.cscale(v, coef), shape: m.with(rows: m.rows, cols: 1))
    return try g.csub(x, g.cmatmul(xv, adjoint(v, m), shape: m.dims))
}
