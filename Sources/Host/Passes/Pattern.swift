/// A tree pattern over the graph, the left-hand side of a fusion (see Fusions.swift). Patterns
/// are matched from a root value towards the inputs; a name used twice must bind the same value
/// (or node), which is how a pattern says "the same x" or "this Exp, used twice".
indirect enum Pattern {
    /// Any value, bound to the name.
    case value(String)
    /// An initializer, bound to the name.
    case constant(String)
    /// A constant whose every element equals the number (relative tolerance 1e-6).
    case splat(Double)
    /// A node of this op whose inputs match, in order (either order for commutative ops). A name
    /// binds the node; `check` can veto it (attributes, ranks).
    case op(String, [Pattern], name: String?, check: ((Node, Rewriter) -> Bool)?)
    /// The first alternative that matches.
    case either([Pattern])

    static let commutative: Set<String> = ["Add", "Mul", "Max", "Min", "And", "Or", "Xor", "Equal", "Sum"]
}

/// Shorthand so the table reads like the formulas it recognises.
func v(_ name: String) -> Pattern { .value(name) }
func k(_ name: String) -> Pattern { .constant(name) }
func num(_ x: Double) -> Pattern { .splat(x) }
func op(_ name: String, _ inputs: Pattern..., as bind: String? = nil, where check: ((Node, Rewriter) -> Bool)? = nil) -> Pattern {
    .op(name, inputs, name: bind, check: check)
}

/// What a successful match bound.
struct Match {
    var values: [String: ValueID] = [:]
    var nodes: [String: Int] = [:]
    /// How often each matched node was visited; a node the fusion removes must have no readers
    /// outside the match.
    var visits: [Int: Int] = [:]

    subscript(_ name: String) -> ValueID { values[name]! }
}

struct Matcher {
    let r: Rewriter

    /// A cheap necessary condition: every input pattern that names an op has some input of the
    /// node produced by that op. Rejects most candidates before any binding is built.
    func plausible(_ inputs: [Pattern], _ n: Node) -> Bool {
        for p in inputs {
            guard case let .op(name, _, _, _) = p else { continue }
            var found = false
            for v in n.inputs where v != 0 {
                if let q = r.producer(v), r.node(q).op == name { found = true; break }
            }
            if !found { return false }
        }
        return true
    }

    /// Matches p at value v. On success every interior node is used only inside the match.
    func match(_ p: Pattern, root: Int) -> Match? {
        guard case let .op(name, inputs, bind, check) = p, r.node(root).op == name,
              inputs.count == r.node(root).inputs.count, plausible(inputs, r.node(root)) else { return nil }
        var m = Match()
        guard bindNode(root, name: bind, inputs: inputs, check: check, &m) else { return nil }
        for (node, count) in m.visits where node != root {
            for out in r.node(node).outputs where r.useCount(out) > 0 {
                if r.isOutput(out) || r.useCount(out) != count { return nil }
            }
        }
        return m
    }

    private func bindNode(_ i: Int, name: String?, inputs: [Pattern], check: ((Node, Rewriter) -> Bool)?, _ m: inout Match) -> Bool {
        let n = r.node(i)
        if let name {
            if let prior = m.nodes[name] { guard prior == i else { return false } } else { m.nodes[name] = i }
        }
        if let check, !check(n, r) { return false }
        m.visits[i, default: 0] += 1
        // An already-bound named node was matched in full on its first visit.
        if let name, m.visits[i]! > 1, m.nodes[name] == i { return true }
        if inputs.count != n.inputs.count { return false }
        if inputs.count == 2, Pattern.commutative.contains(n.op) {
            var swapped = m
            if matchAll(inputs, n.inputs, &m) { return true }
            if matchAll(inputs, [n.inputs[1], n.inputs[0]], &swapped) { m = swapped; return true }
            return false
        }
        return matchAll(inputs, n.inputs, &m)
    }

    private func matchAll(_ ps: [Pattern], _ vs: [ValueID], _ m: inout Match) -> Bool {
        var trial = m
        for (p, v) in zip(ps, vs) { guard matchValue(p, v, &trial) else { return false } }
        m = trial
        return true
    }

    private func matchValue(_ p: Pattern, _ v: ValueID, _ m: inout Match) -> Bool {
        guard v != 0 else { return false }
        let v = r.resolve(v)
        switch p {
        case let .value(name):
            if let prior = m.values[name] { return prior == v }
            m.values[name] = v
            return true
        case let .constant(name):
            guard r.constant(v) != nil else { return false }
            if let prior = m.values[name] { return prior == v }
            m.values[name] = v
            return true
        case let .splat(x):
            guard let c = r.splat(v) else { return false }
            return c == x || abs(c - x) <= 1e-6 * max(abs(x), 1e-30)
        case let .op(name, inputs, bind, check):
            guard let i = r.producer(v), r.node(i).op == name else { return false }
            var trial = m
            guard bindNode(i, name: bind, inputs: inputs, check: check, &trial) else { return false }
            m = trial
            return true
        case let .either(alternatives):
            for alt in alternatives {
                var trial = m
                if matchValue(alt, v, &trial) { m = trial; return true }
            }
            return false
        }
    }
}
