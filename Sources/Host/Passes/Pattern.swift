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

/// Names bound to values or nodes during a match: a handful per pattern, so a short list
/// searched in order beats a dictionary, and undoing a failed branch is a truncation.
struct Bindings<T: Equatable> {
    fileprivate var names: [String] = []
    fileprivate var items: [T] = []

    subscript(_ name: String) -> T? {
        for k in names.indices where names[k] == name { return items[k] }
        return nil
    }

    fileprivate mutating func bind(_ name: String, _ item: T) { names.append(name); items.append(item) }
    fileprivate mutating func truncate(to count: Int) {
        names.removeSubrange(count...)
        items.removeSubrange(count...)
    }
    fileprivate mutating func clear() {
        names.removeAll(keepingCapacity: true)
        items.removeAll(keepingCapacity: true)
    }
}

/// What a successful match bound.
struct Match {
    var values = Bindings<ValueID>()
    var nodes = Bindings<Int>()
    /// Every visit to a matched node, in order (a node appears once per visit); a node the fusion
    /// removes must have no readers outside the match.
    fileprivate var visitLog: [Int] = []

    subscript(_ name: String) -> ValueID { values[name]! }

    /// The matched nodes, each once.
    var matchedNodes: [Int] {
        var out: [Int] = []
        for i in visitLog where !out.contains(i) { out.append(i) }
        return out
    }

    /// A point a failed branch of the match returns to: bindings only ever grow, so going back
    /// is truncating each list to its length here.
    fileprivate struct Checkpoint { let values, nodes, visits: Int }
    fileprivate var checkpoint: Checkpoint { Checkpoint(values: values.names.count, nodes: nodes.names.count, visits: visitLog.count) }
    fileprivate mutating func rollback(to c: Checkpoint) {
        values.truncate(to: c.values)
        nodes.truncate(to: c.nodes)
        visitLog.removeSubrange(c.visits...)
    }
    /// Empty again, keeping the lists' storage for the next attempt.
    fileprivate mutating func clear() {
        values.clear()
        nodes.clear()
        visitLog.removeAll(keepingCapacity: true)
    }
}

/// Matches patterns against one rewriter's graph. Attempts reuse one scratch match, so trying a
/// pattern at tens of thousands of roots allocates nothing once the lists have grown.
final class Matcher {
    let r: Rewriter
    private var scratch = Match()

    init(r: Rewriter) { self.r = r }


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
        var m = scratch
        scratch = Match()
        m.clear()
        defer { scratch = m }
        guard bindNode(root, name: bind, inputs: inputs, check: check, &m) else { return nil }
        for node in m.matchedNodes where node != root {
            var count = 0
            for i in m.visitLog where i == node { count += 1 }
            for out in r.node(node).outputs where r.useCount(out) > 0 {
                if r.isOutput(out) || r.useCount(out) != count { return nil }
            }
        }
        return m
    }

    /// Binds node i; on failure m may hold partial bindings, which the caller rolls back.
    private func bindNode(_ i: Int, name: String?, inputs: [Pattern], check: ((Node, Rewriter) -> Bool)?, _ m: inout Match) -> Bool {
        let n = r.node(i)
        if let name {
            if let prior = m.nodes[name] { guard prior == i else { return false } } else { m.nodes.bind(name, i) }
        }
        if let check, !check(n, r) { return false }
        let seenBefore = m.visitLog.contains(i)
        m.visitLog.append(i)
        // An already-bound named node was matched in full on its first visit.
        if name != nil, seenBefore { return true }
        if inputs.count != n.inputs.count { return false }
        if inputs.count == 2, Pattern.commutative.contains(n.op) {
            if matchAll(inputs, n.inputs[0], n.inputs[1], &m) { return true }
            return matchAll(inputs, n.inputs[1], n.inputs[0], &m)
        }
        let c = m.checkpoint
        for (p, v) in zip(inputs, n.inputs) { guard matchValue(p, v, &m) else { m.rollback(to: c); return false } }
        return true
    }

    /// Both inputs of a binary node in the given order; all or nothing.
    private func matchAll(_ ps: [Pattern], _ a: ValueID, _ b: ValueID, _ m: inout Match) -> Bool {
        let c = m.checkpoint
        guard matchValue(ps[0], a, &m), matchValue(ps[1], b, &m) else { m.rollback(to: c); return false }
        return true
    }

    /// All or nothing: on failure m is as it was.
    private func matchValue(_ p: Pattern, _ v: ValueID, _ m: inout Match) -> Bool {
        guard v != 0 else { return false }
        let v = r.resolve(v)
        switch p {
        case let .value(name):
            if let prior = m.values[name] { return prior == v }
            m.values.bind(name, v)
            return true
        case let .constant(name):
            guard r.isConstant(v) else { return false }
            if let prior = m.values[name] { return prior == v }
            m.values.bind(name, v)
            return true
        case let .splat(x):
            guard let c = r.splat(v) else { return false }
            return c == x || abs(c - x) <= 1e-6 * max(abs(x), 1e-30)
        case let .op(name, inputs, bind, check):
            guard let i = r.producer(v), r.node(i).op == name else { return false }
            let c = m.checkpoint
            guard bindNode(i, name: bind, inputs: inputs, check: check, &m) else { m.rollback(to: c); return false }
            return true
        case let .either(alternatives):
            for alt in alternatives {
                if matchValue(alt, v, &m) { return true }
            }
            return false
        }
    }
}
