import PluginKit

/// `while`: operands are cond_jaxpr's consts, body_jaxpr's consts, then the initial carry.
/// Lowered to a `Loop` with no trip count: the condition on the initial carry is computed before
/// the Loop (its `cond` input), so a loop whose condition is false at the start runs no
/// iteration; the body runs body_jaxpr and then cond_jaxpr on the new carry for the next test.
/// Both programs' consts are read from the enclosing graph, not carried. The carry keeps its
/// JAX types, and so its dtypes, through the Loop.
func whileLowering() -> Lowering {
    Lowering("while", emits: ["Loop", "ReduceMax", "Cast", "Unsqueeze", "Where"],
              note: "Loop; condition tested before the first iteration; a batched (vmapped) condition updates only the elements it holds for") { eqn, g in
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

        let first = try g.inline(condProgram, condConsts + initial, outputs: 1)[0].withKnownShape()
        if let rank = first.rank, rank > 0 {
            return try batchedWhile(eqn, condProgram, bodyProgram, condConsts, bodyConsts, initial, first, g)
        }
        let body = try g.subgraph(inputs: loopCounterInputs + carried.map { .typed($0) }) { args in
            let next = try g.inline(bodyProgram, bodyConsts + args.dropFirst(2), outputs: carried.count)
            let again = try g.inline(condProgram, condConsts + next, outputs: 1)[0]
            return [again] + next
        }
        let outs = try g.node("Loop", [nil, first] + initial, outputs: carried.count, attributes: ["body": .graph(body)])
        return zip(outs, carried).map { $0.with(shape: $1.shape) }
    }
}

/// A while whose condition is batched (vmap of a while_loop whose predicate depends on the mapped
/// value): as XLA lowers it, the loop runs while any element's predicate holds, and each
/// iteration updates only the elements whose predicate holds (the predicate's shape is a prefix
/// of every carry's). The predicate tensor rides along as an extra carry; the Loop's own
/// condition is its any(), a scalar as ONNX requires.
func batchedWhile(_ eqn: Equation, _ condProgram: Param, _ bodyProgram: Param, _ condConsts: [Value], _ bodyConsts: [Value],
                  _ initial: [Value], _ firstPredicate: Value, _ g: GraphBuilder) throws -> [Value] {
    let carried = eqn.outputs
    guard let predShape = firstPredicate.shape else { throw LoweringError.invalid("while predicate without a shape") }
    for t in carried where t.shape.count < predShape.count || Array(t.shape.prefix(predShape.count)) != predShape {
        throw LoweringError.unsupported("batched while: a carry of shape \(t.shape) does not start with the predicate's \(predShape)")
    }
    func any(_ p: Value) throws -> Value {
        try g.op("ReduceMax", p.cast(to: .i32), attributes: ["keepdims": .int(0)]).cast(to: .bool).with(shape: [])
    }
    let predType = TensorType(.bool, predShape)
    let body = try g.subgraph(inputs: loopCounterInputs + [.typed(predType)] + carried.map { .typed($0) }) { args in
        let pred = args[2]
        let old = Array(args.dropFirst(3))
        let next = try g.inline(bodyProgram, bodyConsts + old, outputs: carried.count)
        let kept = try zip(zip(next, old), carried).map { pair, t -> Value in
            let mask = try pred.unsqueeze(Array(predShape.count..<t.shape.count))
            return try g.op("Where", mask, pair.0, pair.1, shape: t.shape)
        }
        let again = try g.inline(condProgram, condConsts + kept, outputs: 1)[0]
        return [try any(again), again.with(shape: predShape)] + kept
    }
    let outs = try g.node("Loop", [nil, any(firstPredicate), firstPredicate] + initial, outputs: carried.count + 1,
                          attributes: ["body": .graph(body)])
    return zip(outs.dropFirst(), carried).map { $0.with(shape: $1.shape) }
}

/// A Loop body's first two inputs: the iteration number and the incoming condition.
let loopCounterInputs: [SubgraphInput] = [.typed(TensorType(.i64, [])), .typed(TensorType(.bool, []))]
