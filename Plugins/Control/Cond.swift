import PluginKit

/// `cond`: operand 0 picks one of `branches` (closed programs over the other operands); JAX
/// clamps the index into range. Lowered to a balanced tree of `If`s, each testing
/// `index < middle`: a branch gets every index its half of the range covers, so out-of-range
/// indices land on the first and last branches exactly as clamping puts them. Two branches are
/// one If; N take N - 1, at depth ceil(log2 N). Branch subgraphs read the operands from the
/// enclosing graph; a bool index (branch 1 when true) is used as the condition directly.
func condLowering() -> Lowering {
    Lowering("cond", emits: ["If", "Less"], note: "any number of branches, index clamped; a tree of If") { eqn, g in
        let branches = try eqn.require("branches").items
        guard !branches.isEmpty else { throw LoweringError.invalid("cond has no branches") }
        try requireTensors(eqn)
        let index = try eqn.input(0)
        let operands = Array(eqn.inputs.dropFirst())
        let outputs = eqn.outputs
        // JAX drops results every branch forwards from an operand; with none left, the branches
        // compute nothing observable and there is no If to emit (ONNX needs one output).
        if outputs.isEmpty { return [] }

        /// The outputs of the branch that the index picks among branches[lo..<hi], emitted into
        /// the graph being built.
        func select(_ lo: Int, _ hi: Int) throws -> [Value] {
            if hi - lo == 1 { return try g.inline(branches[lo], operands, outputs: outputs.count) }
            let middle = (lo + hi) / 2
            let condition: Value
            var (thenRange, elseRange) = ((lo, middle), (middle, hi))
            if index.dtype == .bool {
                guard branches.count == 2 else { throw LoweringError.invalid("cond with a bool index has \(branches.count) branches") }
                (condition, thenRange, elseRange) = (index, (1, 2), (0, 1))
            } else {
                guard index.dtype.isInt else { throw LoweringError.unsupported("cond index of type \(index.dtype)") }
                condition = try g.op("Less", index, g.scalar(Double(middle), index.dtype), shape: [])
            }
            let then = try g.subgraph(inputs: []) { _ in try select(thenRange.0, thenRange.1) }
            let other = try g.subgraph(inputs: []) { _ in try select(elseRange.0, elseRange.1) }
            return try ifNode(g, condition, then, other, outputs)
        }
        return try select(0, branches.count)
    }
}

func ifNode(_ g: GraphBuilder, _ condition: Value, _ then: Subgraph, _ other: Subgraph, _ outputs: [TensorType]) throws -> [Value] {
    let outs = try g.node("If", [condition], outputs: outputs.count,
                          attributes: ["then_branch": .graph(then), "else_branch": .graph(other)])
    return zip(outs, outputs).map { $0.with(shape: $1.shape) }
}

/// Control flow carries tensors only; tokens and PRNG keys have no ONNX type.
func requireTensors(_ eqn: Equation) throws {
    for (k, v) in eqn.inputs.enumerated() where v.dtype == .opaque {
        throw LoweringError.unsupported("\(eqn.primitive) operand \(k) has no ONNX type (a token or key)")
    }
    for (k, t) in eqn.outputs.enumerated() where t.dtype == .opaque || t.dtype == .undefined {
        throw LoweringError.unsupported("\(eqn.primitive) result \(k) has no ONNX type (a token or key)")
    }
}
