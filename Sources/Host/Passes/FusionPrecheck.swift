/// A necessary condition for a fusion's pattern, cheap enough to test at every node of its root
/// op: what the root's inputs must be (constants, or made by certain ops whose own inputs must in
/// turn be ...), two levels deep. The full match runs only where this holds; on the deep models
/// it turns away nearly every residual Add and gated Mul after a few integer compares.
indirect enum Requirement {
    /// An initializer.
    case constant
    /// Made by one of these ops (interned ids); when only one op is possible, the producer's inputs
    /// must meet these requirements too.
    case made(by: [Int32], inputs: [Requirement])

    /// What the inputs of a node matching p need, `depth` levels down; patterns matching any
    /// value add nothing.
    static func inputs(of p: Pattern, depth: Int, id: (String) -> Int32) -> [Requirement] {
        guard case let .op(_, inputs, _, _) = p else { return [] }
        return inputs.compactMap { requirement($0, depth: depth, id: id) }
    }

    static func requirement(_ p: Pattern, depth: Int, id: (String) -> Int32) -> Requirement? {
        switch p {
        case .constant, .splat: return .constant
        case .value: return nil
        case let .op(name, _, _, _):
            return .made(by: [id(name)], inputs: depth > 1 ? inputs(of: p, depth: depth - 1, id: id) : [])
        case let .either(alternatives):
            var ops: [Int32] = []
            var allConstant = true
            for alt in alternatives {
                switch requirement(alt, depth: 1, id: id) {
                case .constant?: ops.append(-1)
                case let .made(by, _)?: ops += by; allConstant = false
                case nil: return nil
                }
            }
            if allConstant { return .constant }
            // A mix of constants and ops is no condition this check can state.
            return ops.contains(-1) ? nil : .made(by: ops, inputs: [])
        }
    }

    /// Whether some input among `inputs` meets every requirement (each may be met by a different
    /// input: commutative ops match their inputs in either order).
    static func met(_ needs: [Requirement], _ inputs: [ValueID], _ r: Rewriter, _ op: [Int32]) -> Bool {
        for need in needs {
            var found = false
            for v in inputs where v != 0 && need.holds(v, r, op) { found = true; break }
            if !found { return false }
        }
        return true
    }

    func holds(_ v: ValueID, _ r: Rewriter, _ op: [Int32]) -> Bool {
        switch self {
        case .constant: return r.isConstant(v)
        case let .made(by, inputs):
            guard let q = r.producer(v), q < op.count, by.contains(op[q]) else { return false }
            return inputs.isEmpty || Requirement.met(inputs, r.node(q).inputs, r, op)
        }
    }
}
