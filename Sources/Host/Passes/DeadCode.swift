/// Removes nodes whose results reach no graph output, then initializers nothing reads. One
/// backward sweep per graph: nodes are in topological order. A node kept for its outputs keeps
/// what its subgraphs read from the enclosing graphs alive, and dead nodes inside subgraphs go too.
/// A graph with nothing dead is left untouched (no new node list, no generation bump).
public struct DeadCode: GraphPass {
    public let name = "dead-code"
    public init() {}

    public func run(_ g: Graph, opset: Int) {
        var live = [Bool](repeating: false, count: g.values.count)
        for (v, _) in g.outputs { live[Int(v)] = true }
        if let kept = sweep(g, g.nodes, &live) { g.replaceNodes(kept) }
        var deadInitializer = false
        for (v, _) in g.initializers where !live[Int(v)] { deadInitializer = true; break }
        if deadInitializer { g.replaceInitializers(g.initializers.filter { live[Int($0.value)] }) }
    }

    /// The nodes to keep, marking everything they read live; nil when every node stays.
    func sweep(_ g: Graph, _ nodes: [Node], _ live: inout [Bool]) -> [Node]? {
        var keep = [Bool](repeating: false, count: nodes.count)
        var dead = 0
        nodes.withUnsafeBufferPointer { nodes in
            for i in stride(from: nodes.count - 1, through: 0, by: -1) {
                guard nodes[i].outputs.contains(where: { live[Int($0)] }) else { dead += 1; continue }
                keep[i] = true
                for v in nodes[i].inputs where v != 0 { live[Int(v)] = true }
                if nodes[i].attributes.isEmpty { continue }
                for sub in nodes[i].subgraphs {
                    for v in sub.outputs { live[Int(v)] = true }
                    if let kept = sweep(g, sub.nodes, &live) { g.replaceNodes(kept, in: sub) }
                }
            }
        }
        guard dead > 0 else { return nil }
        var kept: [Node] = []
        kept.reserveCapacity(nodes.count - dead)
        for i in nodes.indices where keep[i] { kept.append(nodes[i]) }
        return kept
    }
}
