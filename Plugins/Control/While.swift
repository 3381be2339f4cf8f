import PluginKit

/// `while`: operands are cond_jaxpr's consts, body_jaxpr's consts, then the initial carry.
/// Lowered to a `Loop` with no trip count: the condition on the initial carry is computed before
/// the Loop (its `cond` input), so a loop whose condition is false at the start runs no
/// iteration; the body runs body_jaxpr and then cond_jaxpr on the new carry for the next test.
/// Both programs' consts are read from the enclosing graph, not carried. The carry keeps its
/// JAX types, and so its dtypes, through the Loop.
func whileLowering() -> Lowering {
    Lowering("while", emits: ["Loop"], note: "Loop; condition tested before the first iteration") { eqn, g in
        try requireTensors(eqn)
        let condProgram = try eqn.require("cond_jaxpr"), bodyProgram = try eqn.require("body_jaxpr")
        let condCount = try eqn.int("cond_nconsts"), bodyCount = try eqn.int("body_nconsts")
        let operands = eqn.inputs
        guard condCount >= 0, bodyCount >= 0, condCount + bodyCount <= operands.count else {
            throw LoweringError.invalid("while has \(operands.count) operands for \(condCount) + \(bodyCount) consts")
        }
        let condConsts = Array(operands[..<condCount])
        let bodyConsts = Array(operands[condCount..<(condCount + bodyCount)])
        let initial = Array(operands[(condCount + bodyCount)...])
        let carried = eqn.outputs
        guard initial.count == carried.count else {
            throw LoweringError.invalid("while carries \(initial.count) values but has \(carried.count) results")
        }

        let first = try g.inline(condProgram, condConsts + initial, outputs: 1)[0]
        let body = try g.subgraph(inputs: loopCounterInputs + carried.map { .typed($0) }) { args in
            let next = try g.inline(bodyProgram, bodyConsts + args.dropFirst(2), outputs: carried.count)
            let again = try g.inline(condProgram, condConsts + next, outputs: 1)[0]
            return [again] + next
        }
        let outs = try g.node("Loop", [nil, first] + initial, outputs: carried.count, attributes: ["body": .graph(body)])
        return zip(outs, carried).map { $0.with(shape: $1.shape) }
    }
}

/// A Loop body's first two inputs: the iteration number and the incoming condition.
let loopCounterInputs: [SubgraphInput] = [.typed(TensorType(.i64, [])), .typed(TensorType(.bool, []))]
