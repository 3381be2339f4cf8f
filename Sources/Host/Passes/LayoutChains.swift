/// Collapses every chain of layout ops (Reshape, Squeeze, Unsqueeze, Flatten, Transpose) with
/// static shapes into the fewest nodes that move the data the same way. vmap and per-example
/// code (Equinox's CHW layers) lower to long chains such as Reshape -> Squeeze -> Transpose ->
/// Unsqueeze -> Transpose -> Reshape whose net effect is often a single Reshape, or nothing.
///
/// Any such chain is a regrouping of the input's elements: split the input's axes into "atoms"
/// (contiguous factors of its dims) fine enough that every step only permutes or regroups whole
/// atoms; the chain then equals Reshape(input -> atoms) -> Transpose(atom order) -> Reshape(->
/// output). Atoms of size 1 carry no data and atoms adjacent both in memory and in the output
/// order merge, so the middle Transpose is as small as possible and vanishes when the atoms stay
/// in order. The replacement is used only when it costs less than the chain (a Transpose copies
/// data, a Reshape does not).
struct LayoutChains: GraphPass {
    let name = "layout-chains"

    static let regroupings: Set<String> = ["Reshape", "Squeeze", "Unsqueeze", "Flatten"]

    static func isLayout(_ n: Node) -> Bool {
        n.outputs.count == 1 && (regroupings.contains(n.op) || n.op == "Transpose") && !n.inputs.isEmpty
    }

    static func cost(_ n: Node) -> Int { n.op == "Transpose" ? 3 : 1 }

    func run(_ g: Graph, opset: Int) {
        let r = Rewriter(g, opset: opset)
        for i in stride(from: g.nodes.count - 1, through: 0, by: -1) where !r.isRemoved(i) {
            let n = g.nodes[i]
            guard Self.isLayout(n) else { continue }
            // Start from the end of a chain only.
            let out = n.outputs[0]
            if !r.isOutput(out), r.useCount(out) == 1, let c = r.consumers(out).first, Self.isLayout(r.node(c)) { continue }
            var chain = [i]
            var source = n.inputs[0]
            while let p = r.producer(source), !r.isRemoved(p), Self.isLayout(r.node(p)), r.useCount(source) == 1,
                  !r.isOutput(source) {
                chain.append(p)
                source = r.node(p).inputs[0]
            }
            Self.collapse(chain.reversed(), from: source, r)
        }
        r.commit()
    }

    /// One step of a chain: a transpose by a permutation, or a regrouping into a static shape.
    enum Step { case transpose([Int]), regroup([Int64]) }

    static func collapse(_ chain: [Int], from source: ValueID, _ r: Rewriter) {
        guard let inShape = r.staticShape(source) else { return }
        var steps: [Step] = []
        for i in chain {
            let n = r.node(i)
            guard let shape = r.staticShape(n.outputs[0]) else { return }
            if n.op == "Transpose" {
                guard let rank = r.rank(n.inputs[0]) else { return }
                let perm = r.ints(n, "perm").map { $0.map(Int.init) } ?? Array((0..<rank).reversed())
                steps.append(.transpose(perm))
            } else {
                steps.append(.regroup(shape))
            }
        }
        guard var layout = AtomLayout(inShape) else { return }
        for s in steps {
            switch s {
            case let .transpose(p): guard layout.transpose(p) else { return }
            case let .regroup(shape): guard layout.regroup(shape) else { return }
            }
        }
        let end = r.node(chain.last!)
        let out = end.outputs[0]
        guard let outShape = r.staticShape(out) else { return }
        let old = chain.map { cost(r.node($0)) }.reduce(0, +)
        let plan = layout.plan(input: inShape, output: outShape)
        guard plan.cost < old else { return }
        // The replacement must end in the chain's own shape (and its Transpose must permute the
        // shape it is given); anything else is left alone rather than written with a wrong type.
        let transposed = plan.first ?? inShape
        var result = transposed
        if let p = plan.perm {
            guard transposed == plan.middle, p.count == transposed.count else { return }
            result = p.map { transposed[$0] }
        }
        if let s = plan.last { result = s }
        guard result == outShape else { return }
        for i in chain { r.remove(i) }
        let dtype = r.dtype(out)
        let at = chain.last!
        var v = source
        func reshape(_ shape: [Int64]) {
            v = r.insert("Reshape", [v, r.int64Constant(shape)], before: at, outputs: [(dtype, shape.map { .known($0) })],
                         origin: end.origin)[0]
        }
        if let s = plan.first { reshape(s) }
        if let p = plan.perm {
            let shape = p.map { plan.middle[$0] }
            v = r.insert("Transpose", [v], attributes: [Attribute(name: "perm", value: .ints(p.map(Int64.init)))],
                         before: at, outputs: [(dtype, shape.map { .known($0) })], origin: end.origin)[0]
        }
        if let s = plan.last { reshape(s) }
        r.replace(out, with: v)
    }
}

/// A tensor's axes as lists of atoms: contiguous pieces of the source tensor's dims, numbered,
/// with their sizes and their order in the source's memory.
struct AtomLayout {
    var sizes: [Int64] = []
    /// Atom ids in the source tensor's row-major order.
    var memory: [Int] = []
    /// The current view's axes, each a list of atom ids, major first.
    var axes: [[Int]] = []

    init?(_ shape: [Int64]) {
        for d in shape {
            guard d >= 1 else { return nil }
            if d == 1 { axes.append([]); continue }
            axes.append([sizes.count])
            memory.append(sizes.count)
            sizes.append(d)
        }
    }

    mutating func transpose(_ perm: [Int]) -> Bool {
        guard perm.count == axes.count, Set(perm) == Set(0..<axes.count) else { return false }
        axes = perm.map { axes[$0] }
        return true
    }

    /// Regroups the atoms, in view order, into the given dims, splitting an atom where a dim
    /// boundary falls inside it; false when the sizes do not divide.
    mutating func regroup(_ shape: [Int64]) -> Bool {
        var flat = axes.flatMap { $0 }
        var k = 0
        var out: [[Int]] = []
        for d in shape {
            guard d >= 1 else { return false }
            var need = d
            var axis: [Int] = []
            while need > 1 {
                guard k < flat.count else { return false }
                let a = flat[k], s = sizes[a]
                if s <= need {
                    guard need % s == 0 else { return false }
                    axis.append(a)
                    need /= s
                    k += 1
                } else {
                    guard s % need == 0 else { return false }
                    let hi = sizes.count, lo = sizes.count + 1
                    sizes += [need, s / need]
                    let at = memory.firstIndex(of: a)!
                    memory.replaceSubrange(at...at, with: [hi, lo])
                    axis.append(hi)
                    flat[k] = lo
                    need = 1
                }
            }
            out.append(axis)
        }
        guard k == flat.count else { return false }
        axes = out
        return true
    }

    /// The cheapest Reshape -> Transpose -> Reshape that produces this view from the source:
    /// each part nil when it would change nothing.
    typealias Plan = (first: [Int64]?, perm: [Int]?, last: [Int64]?, middle: [Int64], cost: Int)

    func plan(input: [Int64], output: [Int64]) -> Plan {
        let order = axes.flatMap { $0 }
        // Merge atoms that follow each other both in memory and in the view: the smallest
        // Transpose. Unmerged atoms can spare a Reshape when they are the input's or the
        // output's own dims, so both are costed.
        var next: [Int: Int] = [:]
        for (a, b) in zip(order, order.dropFirst()) { next[a] = b }
        var merged: [[Int]] = []
        for a in memory {
            if let last = merged.last?.last, next[last] == a { merged[merged.count - 1].append(a) } else { merged.append([a]) }
        }
        let a = plan(groups: merged, order: order, input: input, output: output)
        let b = plan(groups: memory.map { [$0] }, order: order, input: input, output: output)
        return b.cost < a.cost ? b : a
    }

    func plan(groups: [[Int]], order: [Int], input: [Int64], output: [Int64]) -> Plan {
        let groupOf = Dictionary(uniqueKeysWithValues: groups.enumerated().flatMap { g, atoms in atoms.map { ($0, g) } })
        var perm: [Int] = []
        for a in order where perm.last != groupOf[a]! {
            if let g = groupOf[a], !perm.contains(g) { perm.append(g) }
        }
        let middle = groups.map { $0.map { sizes[$0] }.reduce(1, *) }
        if perm == Array(0..<perm.count) {
            return (input == output ? nil : output, nil, nil, middle, input == output ? 0 : 1)
        }
        // A plain Transpose of the source when its non-unit axes map one to one onto the output's.
        if input.count == output.count, let p = directPermutation(input: input) {
            // The Transpose reads the source itself: `middle` is the shape it permutes.
            return (nil, p, nil, input, 3)
        }
        let permuted = perm.map { middle[$0] }
        let first = middle == input ? nil : middle
        let last = permuted == output ? nil : output
        return (first, perm, last, middle, 3 + (first == nil ? 0 : 1) + (last == nil ? 0 : 1))
    }

    /// The permutation p with transpose(source, p) equal to this view, if the view only reorders
    /// the source's axes (unit axes are interchangeable).
    func directPermutation(input: [Int64]) -> [Int]? {
        guard axes.count == input.count else { return nil }
        // The source's axes as atom lists, valid only while no atom has been split.
        var sourceAxes: [[Int]] = []
        var id = 0
        for d in input {
            if d == 1 { sourceAxes.append([]) } else { sourceAxes.append([id]); id += 1 }
        }
        guard id == sizes.count else { return nil }
        var used = [Bool](repeating: false, count: input.count)
        var p: [Int] = []
        for axis in axes {
            guard let j = (0..<input.count).first(where: { !used[$0] && sourceAxes[$0] == axis }) else { return nil }
            used[j] = true
            p.append(j)
        }
        return p
    }
}
