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
    func emit(_ op: String, _ inputs: [ValueID], _ attributes: [Attribute] = [], dtype: DType? = nil, shape: [Dim]?? = nil) -> ValueID {
        r.insert(op, inputs, attributes: attributes, before: root,
                 outputs: [(dtype ?? self.dtype, shape ?? self.shape)], origin: r.node(root).origin)[0]
    }

    func constant(_ t: HostTensor) -> ValueID { r.addConstant(t.rounded()) }
    func tensor(_ v: ValueID) -> HostTensor? { r.constant(v).flatMap { HostTensor($0, limit: FoldConstants.limit) } }
}

/// Applies the fusion table (Fusions.swift) until nothing more matches: roots are tried from the
/// graph's end backwards so the largest pattern claims its nodes first; every matched node goes,
/// the replacement is inserted where the root was.
struct Fuse: GraphPass {
    let name = "fuse"
    let table: [Fusion]

    func run(_ g: Graph, opset: Int) {
        let usable = table.filter { opset >= $0.minOpset }
        var byRoot: [String: [Fusion]] = [:]
        for f in usable { byRoot[f.rootOp, default: []].append(f) }
        for _ in 0..<16 {
            let r = Rewriter(g, opset: opset)
            let matcher = Matcher(r: r)
            var changed = false
            for i in stride(from: g.nodes.count - 1, through: 0, by: -1) where !r.isRemoved(i) {
                guard let candidates = byRoot[g.nodes[i].op], g.nodes[i].outputs.count == 1 else { continue }
                for f in candidates {
                    guard let m = matcher.match(f.pattern, root: i) else { continue }
                    let site = FusionSite(r: r, root: i)
                    guard let replacement = f.build(m, site) else { continue }
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
