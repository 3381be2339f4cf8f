/// Removes nodes whose results reach no graph output, then initializers nothing reads. One
/// backward sweep per graph: nodes are in topological order. A node kept for its outputs keeps
/// what its subgraphs read from the enclosing graphs alive, and dead nodes inside subgraphs go too.
public struct DeadCode: GraphPass {
    public let name = "dead-code"
    public init() {}

    public func run(_ g: Graph, opset: Int) {
        var live = [Bool](repeating: false, count: g.values.count)
        for (v, _) in g.outputs { live[Int(v)] = true }
        g.replaceNodes(sweep(g, g.nodes, &live))
        g.replaceInitializers(g.initializers.filter { live[Int($0.value)] })
    }

    /// The nodes to keep, marking everything they read live.
    func sweep(_ g: Graph, _ nodes: [Node], _ live: inout [Bool]) -> [Node] {
        var keep = [Bool](repeating: false, count: nodes.count)
        for i in stride(from: nodes.count - 1, through: 0, by: -1) {
            let n = nodes[i]
            guard n.outputs.contains(where: { live[Int($0)] }) else { continue }
            keep[i] = true
            for v in n.inputs where v != 0 { live[Int(v)] = true }
            for sub in n.subgraphs {
                for v in sub.outputs { live[Int(v)] = true }
                g.replaceNodes(sweep(g, sub.nodes, &live), in: sub)
            }
        }
        return nodes.indices.filter { keep[$0] }.map { nodes[$0] }
    }
}
