/// One entry of the fusion table: a pattern rooted at an op, the opsets where the fused form
/// exists, and the builder that emits the replacement (returning nil vetoes the match, e.g. when
/// axes or dtypes do not fit the fused op).
struct Fusion {
    let name: String
    let minOpset: Int
    let pattern: Pattern
    let build: (Match, FusionSite) -> ValueID?

    var rootOp: String {
        if case let .op(name, _, _, _) = pattern { return name }
        return ""
    }
}

/// Where a fusion is being applied: the rewriter, the matched root, and how to emit nodes there.
struct FusionSite {
    let r: Rewriter
    let root: Int
    var out: ValueID { r.node(root).outputs[0] }
    var dtype: DType { r.dtype(out) }
    var shape: [Dim]? { r.shape(out) }

    /// Emits a node before the root; its single output gets the given (default: root's) type.
    /// It inherits the root's origin unless given the origin of the matched node it stands for
    /// (the origin decides which function body the node lands in, docs/functions.md).
    func emit(_ op: String, _ inputs: [ValueID], _ attributes: [Attribute] = [], dtype: DType? = nil, shape: [Dim]?? = nil,
              origin: Int32? = nil) -> ValueID {
        r.insert(op, inputs, attributes: attributes, before: root,
                 outputs: [(dtype ?? self.dtype, shape ?? self.shape)], origin: origin ?? r.node(root).origin)[0]
    }

    func constant(_ t: HostTensor) -> ValueID { r.addConstant(t.rounded()) }
    func tensor(_ v: ValueID) -> HostTensor? { r.constant(v).flatMap { HostTensor($0, limit: FoldConstants.limit) } }
}

/// Applies the fusion table (Fusions.swift) until nothing more matches: roots are tried from the
/// graph's end backwards so the largest pattern claims its nodes first; every matched node goes,
/// the replacement is inserted where the root was.
///
/// Every sweep names each node's op by a small number once, and a fusion is tried at a root only
/// where its Requirement (FusionPrecheck.swift) holds: most nodes are dismissed with a few integer
/// compares, and a sweep that finds nothing costs little.
struct Fuse: GraphPass {
    var name = "fuse"
    let table: [Fusion]

    func run(_ g: Graph, opset: Int) {
        let usable = table.filter { opset >= $0.minOpset }
        var opIDs: [String: Int32] = [:]
        func id(_ op: String) -> Int32 {
            if let k = opIDs[op] { return k }
            let k = Int32(opIDs.count)
            opIDs[op] = k
            return k
        }
        // Per fusion: its root op, and per input pattern the ops one of the root's inputs must
        // come from (an input pattern that can match any value adds no condition).
        var byRoot: [[Int]] = []
        var required: [[Requirement]] = []
        for (k, f) in usable.enumerated() {
            let root = Int(id(f.rootOp))
            if byRoot.count <= root { byRoot += [[Int]](repeating: [], count: root + 1 - byRoot.count) }
            byRoot[root].append(k)
            required.append(Requirement.inputs(of: f.pattern, depth: 2, id: id))
        }
        let known = Int32(opIDs.count)
        for _ in 0..<16 {
            let r = Rewriter(g, opset: opset)
            let matcher = Matcher(r: r)
            var op = [Int32](repeating: -1, count: g.nodes.count)
            for i in 0..<g.nodes.count { if let k = opIDs[g.nodes[i].op], k < known { op[i] = k } }
            var changed = false
            for i in stride(from: g.nodes.count - 1, through: 0, by: -1) where op[i] >= 0 && !r.isRemoved(i) {
                let root = Int(op[i])
                guard root < byRoot.count, !byRoot[root].isEmpty, g.nodes[i].outputs.count == 1 else { continue }
                let inputs = g.nodes[i].inputs
                for k in byRoot[root] {
                    guard Requirement.met(required[k], inputs, r, op) else { continue }
                    let f = usable[k]
                    guard let m = matcher.match(f.pattern, root: i) else { continue }
                    let site = FusionSite(r: r, root: i)
                    let mark = r.insertedCount
                    guard let replacement = f.build(m, site) else { continue }
                    // A fused op the target has no kernel for (Gelu in f16 on ORT's CPU provider)
                    // would be refused at the end: keep the unfused form instead.
                    if r.unrunnable(from: mark) != nil { r.dropInserted(from: mark); continue }
                    let out = g.nodes[i].outputs[0]
                    for node in m.matchedNodes { r.remove(node) }
                    r.replace(out, with: replacement)
                    changed = true
                    break
                }
            }
            r.commit()
            if !changed { break }
        }
    }
}
