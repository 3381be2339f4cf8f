import PluginKit

/// dot_general with a complex operand, as one Einsum on the storage. A complex operand's (real,
/// imag) axis becomes an index of the Einsum; complex × complex first spreads the left operand
/// into its 2×2 multiplication matrix [[a, b], [-b, a]] (rows: the right operand's part, columns:
/// the product's part), so one contraction gives (ac - bd, ad + bc).
func lowerComplexDot(_ e: Equation, _ g: GraphBuilder) throws -> [Value] {
    let dn = try e.require("dimension_numbers")
    guard let lc = dn[0]?[0]?.ints, let rc = dn[0]?[1]?.ints, let lb = dn[1]?[0]?.ints, let rb = dn[1]?[1]?.ints else {
        throw LoweringError.invalid("dimension_numbers is not ((lhs_contract, rhs_contract), (lhs_batch, rhs_batch))")
    }
    let out = try e.output(0)
    guard out.dtype.isComplex else { throw LoweringError.unsupported("dot_general producing \(out.dtype)") }
    let part = out.dtype.part
    let (x, y) = (try e.input(0), try e.input(1))
    guard x.isComplex || y.isComplex else { throw LoweringError.unsupported("dot_general of real operands") }
    guard let ls = x.jaxShape, let rs = y.jaxShape else { throw LoweringError.invalid("dot_general operands without shapes") }
    let lhs = try x.cast(to: part), rhs = try y.cast(to: part)

    // One letter per axis: batch and contracting axes share the left operand's letter.
    let letters = Array("abcdefghijklmnopqrstuvwxyz")
    var next = 0
    func fresh() -> Character { defer { next += 1 }; return letters[next] }
    let lhsIdx = (0..<ls.count).map { _ in fresh() }
    var rhsIdx = [Character](repeating: " ", count: rs.count)
    for (l, r) in zip(lb, rb) { rhsIdx[r] = lhsIdx[l] }
    for (l, r) in zip(lc, rc) { rhsIdx[r] = lhsIdx[l] }
    for r in 0..<rs.count where rhsIdx[r] == " " { rhsIdx[r] = fresh() }
    let lfree = (0..<ls.count).filter { !lc.contains($0) && !lb.contains($0) }
    let rfree = (0..<rs.count).filter { !rc.contains($0) && !rb.contains($0) }
    let outIdx = String(lb.map { lhsIdx[$0] } + lfree.map { lhsIdx[$0] } + rfree.map { rhsIdx[$0] })
    let (p, q) = (fresh(), fresh())   // the product's part; the right operand's part
    guard next <= letters.count else { throw LoweringError.unsupported("dot_general of rank over 24") }
    let l = String(lhsIdx), r = String(rhsIdx)

    let equation: String
    var left = lhs
    switch (x.isComplex, y.isComplex) {
    case (true, true):
        // spread[.., q, p]: q = 0 takes (a, b), q = 1 takes (-b, a).
        let spread: [Double] = [1, 0, 0, 1, 0, 1, -1, 0]  // [s, q, p] with s the left operand's part
        let m = try constTensor(spread, part, [2, 2, 2], g)
        left = try g.op("Einsum", lhs, m, attributes: ["equation": .string("\(l)s,s\(q)\(p)->\(l)\(q)\(p)")])
        equation = "\(l)\(q)\(p),\(r)\(q)->\(outIdx)\(p)"
    case (true, false): equation = "\(l)\(p),\(r)->\(outIdx)\(p)"
    default: equation = "\(l),\(r)\(p)->\(outIdx)\(p)"
    }
    return [try g.op("Einsum", left, rhs, attributes: ["equation": .string(equation)], shape: out.shape + [2])]
}

func constTensor(_ values: [Double], _ t: DType, _ shape: [Int64], _ g: GraphBuilder) throws -> Value {
    t == .f64 ? try g.constant(values, dtype: .f64, shape: shape) : try g.constant(values.map(Float.init), dtype: .f32, shape: shape)
}
