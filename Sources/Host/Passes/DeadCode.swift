/// Removes nodes whose results reach no graph output, then initializers nothing reads. One
/// backward sweep: nodes are in topological order.
public struct DeadCode: GraphPass {
    public let name = "dead-code"
    public init() {}

    public func run(_ g: Graph, opset: Int) {
        var live = [Bool](repeating: false, count: g.values.count)
        for (v, _) in g.outputs { live[Int(v)] = true }
        var keep = [Bool](repeating: false, count: g.nodes.count)
        for i in stride(from: g.nodes.count - 1, through: 0, by: -1) {
            let n = g.nodes[i]
            guard n.outputs.contains(where: { live[Int($0)] }) else { continue }
            keep[i] = true
            for v in n.inputs where v != 0 { live[Int(v)] = true }
        }
        g.replaceNodes(g.nodes.indices.filter { keep[$0] }.map { g.nodes[$0] })
        g.replaceInitializers(g.initializers.filter { live[Int($0.value)] })
    }
}
