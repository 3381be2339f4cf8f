/// The graph passes run after lowering, in order. Each pass is its own file, linear in graph size
/// and deterministic; `--no-optimize` runs none of them.
public protocol GraphPass {
    var name: String { get }
    func run(_ g: Graph, opset: Int)
}

public enum Pipeline {
    /// `strictNaN` keeps the guards that make pooling propagate NaN as JAX does (PoolNaNGuards).
    public static func standard(strictNaN: Bool = false) -> [GraphPass] {
        [Simplify(), FoldConstants(), Simplify(), PushTransposes(), CommonSubexpressions(), DeadCode(),
         Fuse(table: Fusions.all + (strictNaN ? [] : Fusions.poolNaNGuards)), FoldConstants(), Simplify(), CommonSubexpressions(), ShareInitializers(), DeadCode()]
    }

    public static func run(_ passes: [GraphPass], on g: Graph, opset: Int) {
        for p in passes { PassTimes.measure(p.name) { p.run(g, opset: opset) } }
    }
}
