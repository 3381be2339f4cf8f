import PluginKit

/// Parallel cyclic Jacobi, shared by eigh (two-sided, on the matrix) and svd (one-sided, on the
/// columns). A sweep is one round-robin tournament: in each of its rounds every index meets one
/// partner (or sits out, for odd n), so the n/2 rotations of a round touch disjoint rows and
/// columns and apply at once as whole-matrix Gathers and Muls. A sweep is an inner Loop over the
/// rounds; the sweeps are an outer Loop that stops when the off-diagonal part is negligible
/// (see `jacobiMoreSweeps`) or after `jacobiMaxSweeps`.
let jacobiOps = ["Loop", "Gather", "GatherElements", "Unsqueeze", "Squeeze", "Transpose", "MatMul", "Mul", "Add", "Sub",
                 "Div", "Neg", "Abs", "Sqrt", "Where", "Equal", "Less", "Or", "Not", "GreaterOrEqual", "Greater",
                 "LessOrEqual", "ReduceSum", "TopK", "Expand", "Cast", "Reshape", "Slice", "Concat"]

/// Jacobi converges quadratically once close; 30 sweeps is far beyond what cond <= 1e8 needs at
/// n = 256 in float64, and bounds the work on pathological input (NaN never converges).
let jacobiMaxSweeps: Int64 = 30

/// The round-robin schedule (circle method) for n players: [rounds, n], entry (r, i) the
/// partner of i in round r, i itself when i sits out.
func roundRobin(_ n: Int64) -> (rounds: Int64, partners: [Int64]) {
    let players = n % 2 == 0 ? n : n + 1
    let rounds = max(players - 1, 1)
    var table = [Int64](repeating: 0, count: Int(rounds * n))
    for r in 0..<rounds {
        var partner = [Int64](0..<players)
        if players >= 2 {
            partner[Int(players - 1)] = r; partner[Int(r)] = players - 1
            for i in 1..<(players / 2) {
                let a = (r + i) % (players - 1), b = (r - i + (players - 1)) % (players - 1)
                partner[Int(a)] = b; partner[Int(b)] = a
            }
        }
        for i in 0..<n { table[Int(r * n + i)] = partner[Int(i)] >= n ? i : partner[Int(i)] }
    }
    return (rounds, table)
}

/// The rotation of each index against its partner that zeroes the pair's off-diagonal entry
/// (Golub and Van Loan's symmetric Schur 2x2): `diag` and `partnerDiag` hold a_ii and a_jj,
/// `off` a_ij. Returns c and the coefficient of the partner's row or column (-s for the lower
/// index of a pair, +s for the upper), so the rotated row is c * row + sigma * partner's row.
func jacobiRotation(_ g: GraphBuilder, first: Value, sitsOut: Value, diag: Value, partnerDiag: Value, off: Value,
                    shape: [Dim]) throws -> (c: Value, sigma: Value) {
    let dt = diag.dtype
    let zero = try g.scalar(0, dt), one = try g.scalar(1, dt)
    let app = try g.op("Where", first, diag, partnerDiag, shape: shape)
    let aqq = try g.op("Where", first, partnerDiag, diag, shape: shape)
    let idle = try g.op("Or", g.op("Equal", off, zero), sitsOut, shape: shape)
    let safe = try g.op("Where", idle, one, off, shape: shape)
    let tau = try g.op("Div", g.op("Sub", aqq, app), g.op("Add", safe, safe), shape: shape)
    let sign = try g.op("Where", g.op("GreaterOrEqual", tau, zero), one, g.scalar(-1, dt), shape: shape)
    let root = try g.op("Sqrt", g.op("Add", one, g.op("Mul", tau, tau)), shape: shape)
    let t = try g.op("Where", idle, zero, g.op("Div", sign, g.op("Add", g.op("Abs", tau), root)), shape: shape)
    let c = try g.op("Div", one, g.op("Sqrt", g.op("Add", one, g.op("Mul", t, t))), shape: shape)
    let s = try g.op("Mul", t, c, shape: shape)
    return (c, try g.op("Where", first, g.op("Neg", s), s, shape: shape))
}

/// Whether another sweep is needed for a symmetric (Gram) matrix: some batch element has
/// ‖offdiag‖² > (n eps)² (Σ|a_ii|)², i.e. its off-diagonal part is not yet at rounding level.
func jacobiMoreSweeps(_ g: GraphBuilder, _ a: Value, _ m: MatrixShape, eye: Value) throws -> Value {
    let dt = a.dtype
    let eps = dt == .f64 ? Double.ulpOfOne : Double(Float.ulpOfOne)
    let tol = eps * Double(m.rows)
    let axes = [m.rowAxis, m.colAxis], single = m.with(rows: 1, cols: 1)
    let offPart = try g.op("Where", eye, g.scalar(0, dt), a)
    let off2 = try g.sum(g.op("Mul", offPart, offPart), axes: axes, shape: single)
    let trace = try g.sum(g.op("Abs", g.keep(eye, a)), axes: axes, shape: single)
    let bound = try g.op("Mul", g.op("Mul", trace, trace), g.scalar(tol * tol, dt), shape: single)
    let flags = try g.op("Where", g.op("Greater", off2, bound), g.scalar(1, dt), g.scalar(0, dt), shape: single)
    let pending = try g.op("ReduceSum", flags, g.int64s(Array(0..<m.rank)),
                           attributes: ["keepdims": .int(0)], shape: [])
    return try g.op("Greater", pending, g.scalar(0, dt), shape: [])
}

/// Runs the sweeps: `rotate(partner, first, sitsOut, carried)` applies one round's rotations
/// (partner and masks laid out as [n] and [n, 1]); `more(carried)` is the convergence test.
func jacobiSweeps(_ g: GraphBuilder, n: Int64, _ start: [Value], _ types: [TensorType],
                  rotate: @escaping (Value, Value, Value, [Value]) throws -> [Value],
                  more: @escaping ([Value]) throws -> Value) throws -> [Value] {
    let (rounds, table) = roundRobin(n)
    let schedule = try g.constant(table, dtype: .i64, shape: [rounds, n])
    let index = try g.indices(n, shape: [n])
    return try g.loopWhile(maxTrips: jacobiMaxSweeps, start, types) { _, carried in
        let swept = try g.loop(trips: rounds, carried, types) { r, state in
            let partner = try g.op("Gather", schedule, r, attributes: ["axis": .int(0)], shape: [.known(n)])
            let first = try g.op("Less", index, partner, shape: [.known(n)])
            let sitsOut = try g.op("Equal", index, partner, shape: [.known(n)])
            return try rotate(partner, first, sitsOut, state)
        }
        return (try more(swept), swept)
    }
}

/// The symmetric matrix a triangle of `a` stands for.
func symmetricFrom(_ g: GraphBuilder, _ a: Value, _ m: MatrixShape, lower: Bool) throws -> Value {
    let rows = try g.indices(m.rows, shape: [m.rows, 1]), cols = try g.indices(m.cols, shape: [m.cols])
    let tri = try g.keep(g.op(lower ? "GreaterOrEqual" : "LessOrEqual", rows, cols), a, shape: m.dims)
    let strict = try g.keep(g.op(lower ? "Greater" : "Less", rows, cols), a, shape: m.dims)
    return try g.op("Add", tri, strict.transpose(m.swapLast), shape: m.dims)
}

/// The identity, broadcast over the batch.
func identity(_ g: GraphBuilder, _ n: Int64, _ dt: DType, _ dims: [Dim]) throws -> Value {
    let eye = try g.constant((0..<(n * n)).map { i -> Double in i / n == i % n ? 1 : 0 }, dtype: .f64, shape: [n, n]).cast(to: dt)
    return try g.expand(eye, dims)
}

/// Sorts `values` (batch + [n]) and the matching columns of each of `columns` (batch + [r, n]).
func sortWithColumns(_ g: GraphBuilder, _ values: Value, _ columns: [(Value, [Dim])], batch: [Dim], n: Int64,
                     descending: Bool) throws -> (Value, [Value]) {
    let outs = try g.node("TopK", [values, g.int64s([n])], outputs: 2,
                          attributes: ["axis": .int(Int64(batch.count)), "largest": .int(descending ? 1 : 0), "sorted": .int(1)])
    let sorted = outs[0].with(shape: batch + [.known(n)])
    let order = try outs[1].with(shape: batch + [.known(n)]).unsqueeze([batch.count])
    let moved = try columns.map { x, dims in
        try g.op("GatherElements", x, g.expand(order, dims), attributes: ["axis": .int(Int64(batch.count + 1))], shape: dims)
    }
    return (sorted, moved)
}
