/// The editing session every rewriting pass works through: use counts, producers, constants, and
/// a deferred edit list (removed nodes, nodes inserted at a position, value substitutions) applied
/// in one linear sweep by `commit()`. Passes never shuffle `g.nodes` themselves, so topological
/// order and graph-output names survive every rewrite.
final class Rewriter {
    let g: Graph
    let opset: Int
    private(set) var uses: [Int32]
    private var removed: [Bool]
    private var removedCount = 0
    /// Nodes to insert and the position each goes before, in the order they were asked for.
    private var inserted: [Node] = []
    private var insertedBefore: [Int] = []
    /// What each value was replaced by (0: not replaced); flat, so resolving costs no hashing.
    private var alias: [ValueID]
    private var aliasCount = 0
    private var isGraphOutput: [Bool]

    init(_ g: Graph, opset: Int) {
        self.g = g
        self.opset = opset
        uses = [Int32](repeating: 0, count: g.values.count)
        removed = [Bool](repeating: false, count: g.nodes.count)
        isGraphOutput = [Bool](repeating: false, count: g.values.count)
        alias = [ValueID](repeating: 0, count: g.values.count)
        uses.withUnsafeMutableBufferPointer { uses in
            g.nodes.withUnsafeBufferPointer { nodes in
                for n in nodes {
                    if n.attributes.isEmpty {
                        for v in n.inputs where v != 0 { uses[Int(v)] += 1 }
                    } else {
                        for v in Self.reads(n) where v != 0 { uses[Int(v)] += 1 }
                    }
                }
            }
        }
        for (v, _) in g.outputs { uses[Int(v)] += 1; isGraphOutput[Int(v)] = true }
    }

    /// Every value a node reads, including what its subgraphs read (at any depth). Values a
    /// subgraph defines itself are counted too, which only overstates their uses: the passes work
    /// on the top level, where an overstated use count just blocks a rewrite.
    static func reads(_ n: Node) -> [ValueID] {
        // Most nodes hold no subgraph: answer without collecting any.
        if !n.attributes.contains(where: { if case .graph = $0.value { return true }; return false }) { return n.inputs }
        let subs = n.subgraphs
        var all = n.inputs
        for s in subs { for m in s.nodes { all += reads(m) }; all += s.outputs }
        return all
    }

    // MARK: queries

    /// The node producing v, if v is a node output still in the graph.
    func producer(_ v: ValueID) -> Int? {
        let v = resolve(v)
        guard g.values[Int(v)].scope == 0 else { return nil }
        let p = Int(g.values[Int(v)].producer)
        return p >= 0 && p < removed.count && !removed[p] ? p : nil
    }

    func node(_ i: Int) -> Node { g.nodes[i] }

    private var consumerIndex: [ValueID: [Int]]?

    /// The nodes (as of the start of this session, not yet removed) that read v.
    func consumers(_ v: ValueID) -> [Int] {
        if consumerIndex == nil {
            var index: [ValueID: [Int]] = [:]
            for (i, n) in g.nodes.enumerated() { for x in Self.reads(n) where x != 0 { index[x, default: []].append(i) } }
            consumerIndex = index
        }
        return (consumerIndex![resolve(v)] ?? []).filter { !removed[$0] }
    }
    func isRemoved(_ i: Int) -> Bool { removed[i] }
    func isOutput(_ v: ValueID) -> Bool { Int(v) < isGraphOutput.count && isGraphOutput[Int(v)] }
    func useCount(_ v: ValueID) -> Int { Int(v) < uses.count ? Int(uses[Int(v)]) : 0 }
    func dtype(_ v: ValueID) -> DType { g.values[Int(v)].dtype }
    /// A value's shape: as lowered, or inferred from its producer (ShapeInference.swift).
    func shape(_ v: ValueID) -> [Dim]? {
        if let s = g.values[Int(v)].shape { return s }
        return inferShape(v)
    }
    var inferred: [ValueID: [Dim]?] = [:]
    /// Each subgraph's node list by scope id, gathered on first use (ShapeInference.swift).
    var scopeNodes: [Int32: [Node]]?
    func staticShape(_ v: ValueID) -> [Int64]? {
        guard let s = shape(v) else { return nil }
        var out: [Int64] = []
        for d in s { guard let n = d.value else { return nil }; out.append(n) }
        return out
    }

    /// The tensor behind v when v is an initializer.
    func constant(_ v: ValueID) -> Initializer? { g.initializer(of: resolve(v)) }
    /// Whether v is an initializer, without fetching the tensor.
    func isConstant(_ v: ValueID) -> Bool { g.values[Int(resolve(v))].initializer >= 0 }

    private var splats: [ValueID: Double?] = [:]

    /// The one number every element of a constant v holds (any shape), as a Double. Checked on
    /// the raw bytes first, so asking about a large weight costs one short scan.
    func splat(_ v: ValueID) -> Double? {
        let v = resolve(v)
        guard g.values[Int(v)].initializer >= 0 else { return nil }
        if let known = splats[v] { return known }
        var result: Double?
        if let t = constant(v), t.dtype.byteWidth > 0, t.bytes.count >= t.dtype.byteWidth {
            let width = t.dtype.byteWidth
            let uniform = t.bytes.withBytes { raw -> Bool in
                for off in stride(from: width, to: raw.count, by: width) {
                    for b in 0..<width where raw[off + b] != raw[b] { return false }
                }
                return true
            }
            if uniform {
                let one = Initializer(dtype: t.dtype, dims: [1], bytes: .owned(t.bytes.withBytes { Array($0[0..<width]) }))
                result = HostTensor(one, limit: 1)?.values.first
            }
        }
        splats[v] = result
        return result
    }

    func resolve(_ v: ValueID) -> ValueID {
        if aliasCount == 0 { return v }
        var v = v
        while Int(v) < alias.count, alias[Int(v)] != 0 { v = alias[Int(v)] }
        return v
    }

    private func isAliased(_ v: ValueID) -> Bool { Int(v) < alias.count && alias[Int(v)] != 0 }

    // MARK: edits

    func remove(_ i: Int) {
        guard !removed[i] else { return }
        removed[i] = true
        removedCount += 1
        for v in Self.reads(g.nodes[i]) where v != 0 { uses[Int(resolve(v))] -= 1 }
    }

    /// Makes every reader of `old` read `new` instead.
    func replace(_ old: ValueID, with new: ValueID) {
        let old = resolve(old), new = resolve(new)
        guard old != new else { return }
        grow()
        alias[Int(old)] = new
        aliasCount += 1
        uses[Int(new)] += uses[Int(old)]
        if isGraphOutput[Int(old)] { isGraphOutput[Int(new)] = true }
    }

    /// A new node placed just before node `position` (so it sees everything `position` sees).
    /// Returns its output values, typed as given.
    @discardableResult
    func insert(_ op: String, _ inputs: [ValueID], attributes: [Attribute] = [], before position: Int,
                outputs types: [(DType, [Dim]?)], origin: Int32 = -1) -> [ValueID] {
        let ins = inputs.map { $0 == 0 ? 0 : resolve($0) }
        let outs = types.map { g.addValue($0.0, $0.1, producer: -1) }
        grow()
        for v in ins where v != 0 { uses[Int(v)] += 1 }
        inserted.append(Node(op: op, inputs: ins, outputs: outs, attributes: attributes, origin: origin))
        insertedBefore.append(position)
        return outs
    }

    /// How many nodes are waiting to be inserted; with `dropInserted(from:)`, a builder's veto
    /// after it emitted.
    var insertedCount: Int { inserted.count }

    /// The nodes inserted since `mark` (a count read earlier) that the target cannot run, if any.
    func unrunnable(from mark: Int) -> Node? {
        inserted[mark...].first { g.target.problem(g, $0, opset: opset) != nil }
    }

    /// Forgets the nodes inserted since `mark`; their outputs stay unused values.
    func dropInserted(from mark: Int) {
        for n in inserted[mark...] { for v in n.inputs where v != 0 { uses[Int(v)] -= 1 } }
        inserted.removeSubrange(mark...)
        insertedBefore.removeSubrange(mark...)
    }

    func addConstant(_ t: HostTensor) -> ValueID {
        let v = g.addInitializer(t.initializer)
        grow()
        return v
    }

    private func grow() {
        if uses.count < g.values.count {
            uses += [Int32](repeating: 0, count: g.values.count - uses.count)
            isGraphOutput += [Bool](repeating: false, count: g.values.count - isGraphOutput.count)
        }
        if alias.count < g.values.count { alias += [ValueID](repeating: 0, count: g.values.count - alias.count) }
    }

    /// Applies the edits: one sweep builds the new node list; substituted values are renamed so a
    /// graph output keeps its name (the producer of the replacement writes the output value).
    func commit() {
        let nothingInserted = inserted.isEmpty, nothingRemoved = removedCount == 0
        if nothingInserted && nothingRemoved && aliasCount == 0 { return }
        var result: [Node] = []
        if nothingInserted && nothingRemoved {
            result = g.nodes
        } else {
            // Insertions in position order, those at one position in the order they were made.
            let order = inserted.indices.sorted { (insertedBefore[$0], $0) < (insertedBefore[$1], $1) }
            var next = 0
            result.reserveCapacity(g.nodes.count + inserted.count - removedCount)
            for i in 0..<g.nodes.count {
                while next < order.count, insertedBefore[order[next]] == i { result.append(inserted[order[next]]); next += 1 }
                if !removed[i] { result.append(g.nodes[i]) }
            }
            while next < order.count { result.append(inserted[order[next]]); next += 1 }
        }
        guard aliasCount > 0 else { g.replaceNodes(result); return }
        // Graph outputs whose value was replaced: rename the replacement to the output value when
        // a node makes it and it is not itself an input, initializer or another output; otherwise
        // copy it through an Identity.
        var rename: [ValueID: ValueID] = [:]
        var identities: [Node] = []
        if g.outputs.contains(where: { isAliased($0.value) }) {
            var producerIndex: [ValueID: Int] = [:]
            for (k, n) in result.enumerated() { for o in n.outputs { producerIndex[o] = k } }
            let outputSet = Set(g.outputs.map(\.value))
            for (k, (v, _)) in g.outputs.enumerated() where isAliased(v) {
                let w = resolve(v)
                if let p = producerIndex[w], !outputSet.contains(w), rename[w] == nil {
                    rename[w] = v
                    result[p].outputs = result[p].outputs.map { $0 == w ? v : $0 }
                    g.setShape(v, g.values[Int(v)].shape ?? g.values[Int(w)].shape)
                    g.setType(v, dtype: g.values[Int(w)].dtype)
                } else if rename[w] != nil || producerIndex[w] == nil || outputSet.contains(w) {
                    let out = g.addValue(g.values[Int(v)].dtype, g.values[Int(v)].shape)
                    identities.append(Node(op: "Identity", inputs: [rename[w] ?? w], outputs: [out]))
                    g.replaceOutput(at: k, with: out)
                }
            }
        }
        func remap(_ v: ValueID) -> ValueID {
            guard v != 0, isAliased(v) || (!rename.isEmpty && rename[v] != nil) else { return v }
            let r = resolve(v)
            return rename[r] ?? r
        }
        // Subgraphs read outer values by name: their nodes follow the substitutions too.
        func remapSubgraphs(of n: Node) {
            for sub in n.subgraphs {
                g.replaceNodes(sub.nodes.map { m in
                    var m = m
                    m.inputs = m.inputs.map(remap)
                    if !m.attributes.isEmpty { remapSubgraphs(of: m) }
                    return m
                }, in: sub)
            }
        }
        for k in result.indices {
            if result[k].inputs.contains(where: { $0 != 0 && (isAliased($0) || (!rename.isEmpty && rename[$0] != nil)) }) {
                result[k].inputs = result[k].inputs.map(remap)
            }
            if !result[k].attributes.isEmpty { remapSubgraphs(of: result[k]) }
        }
        result += identities
        g.replaceNodes(result)
    }
}
