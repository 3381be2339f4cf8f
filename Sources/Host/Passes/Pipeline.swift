/// The graph passes run after lowering, in order. Each pass is its own file, linear in graph size
/// and deterministic; `--no-optimize` runs none of them.
public protocol GraphPass {
    var name: String { get }
    func run(_ g: Graph, opset: Int)
}

extension GraphPass {
    /// Runs the pass unless it already ran on this very graph state and changed nothing: passes
    /// are deterministic, so it would change nothing again (the deep models' later Simplify, CSE
    /// and push-transposes sweeps).
    func runUnlessSettled(_ g: Graph, opset: Int) {
        if g.settled[name] == g.generation {
            if PassTimes.enabled { PassTimes.note("pass \(name): skipped, nothing changed since its last run") }
            return
        }
        let before = g.generation
        PassTimes.measure(name) { run(g, opset: opset) }
        if g.generation == before { g.settled[name] = before }
    }
}

public enum Pipeline {
    public static func standard() -> [GraphPass] {
        [Simplify(), FoldConstants(), Simplify(), LayoutChains(), PushTransposes(), LayoutChains(), CommonSubexpressions(),
         DeadCode(), Canonicalize(), ShareInitializers(), CommonSubexpressions(), Fuse(table: Fusions.all), FoldConstants(), Simplify(), LayoutChains(),
         DeadCode(), Fuse(name: "fuse-attention-heads", table: Fusions.attentionHeads), Simplify(), LayoutChains(),
         ShareInitializers(), CommonSubexpressions(), DeadCode()]
    }

    public static func run(_ passes: [GraphPass], on g: Graph, opset: Int) {
        for p in passes { p.runUnlessSettled(g, opset: opset) }
    }
}
