/// Moves Transposes downstream through elementwise ops until they meet their inverse and vanish
/// (Simplify composes the pair away). NHWC convolution stacks lower as Transpose -> Conv ->
/// Transpose back per layer; pushing the "back" Transpose past bias adds, activations and
/// residual adds puts it next to the next layer's "to NCHW" Transpose, and both go. Constant
/// operands are permuted to match (and folded); two operands transposed alike share one Transpose.
struct PushTransposes: GraphPass {
    let name = "push-transposes"

    static let unary: Set<String> = ["Relu", "Sigmoid", "Tanh", "Exp", "Log", "Neg", "Abs", "Sqrt", "Reciprocal", "Erf",
                                     "Gelu", "Softplus", "HardSigmoid", "LeakyRelu", "Elu", "Selu", "Cast", "Floor",
                                     "Ceil", "Round", "Sin", "Cos", "Sign", "Not", "IsNaN", "IsInf", "Clip", "Identity",
                                     "Mish", "HardSwish"]
    static let binary: Set<String> = ["Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Equal", "Less", "Greater",
                                      "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor", "PRelu", "Mod"]

    func run(_ g: Graph, opset: Int) {
        for _ in 0..<32 {
            let r = Rewriter(g, opset: opset)
            var moved = 0
            for i in 0..<g.nodes.count where !r.isRemoved(i) {
                if Self.push(i, g.nodes[i], r) { moved += 1 }
            }
            r.commit()
            Simplify().runUnlessSettled(g, opset: opset)
            if moved == 0 { break }
        }
    }

    static func perm(_ v: ValueID, _ r: Rewriter) -> (x: ValueID, perm: [Int64], node: Int)? {
        guard let p = r.producer(v), r.node(p).op == "Transpose", let perm = r.ints(r.node(p), "perm") else { return nil }
        return (r.node(p).inputs[0], perm, p)
    }

    static func push(_ i: Int, _ n: Node, _ r: Rewriter) -> Bool {
        guard n.outputs.count == 1, let outShape = r.shape(n.outputs[0]) else { return false }
        let isUnary = unary.contains(n.op) && (n.op != "Clip" || n.inputs.dropFirst().allSatisfy { $0 == 0 || r.rank($0) == 0 })
        guard isUnary || binary.contains(n.op) else { return false }
        // The first transposed operand decides the permutation.
        guard let lead = n.inputs.lazy.compactMap({ perm($0, r) }).first else { return false }
        let p = lead.perm, rank = p.count
        guard outShape.count == rank else { return false }
        var inverse = [Int](repeating: 0, count: rank)
        for (k, d) in p.enumerated() { inverse[Int(d)] = k }
        var inputs: [ValueID] = []
        var transposesFreed = 0
        for (k, v) in n.inputs.enumerated() {
            if v == 0 { inputs.append(0); continue }
            if isUnary && k > 0 { inputs.append(v); continue }
            if let t = perm(v, r), t.perm == p {
                inputs.append(t.x)
                if r.useCount(v) == 1 { transposesFreed += 1 }
                continue
            }
            // A constant operand: pad to full rank, then apply the inverse permutation.
            guard let c = r.constant(v), let h = HostTensor(c, limit: FoldConstants.limit), h.dims.count <= rank else { return false }
            let padded = HostTensor(dtype: h.dtype, dims: [Int64](repeating: 1, count: rank - h.dims.count) + h.dims, values: h.values)
            inputs.append(r.addConstant(padded.transposed(inverse)))
        }
        // Only move when it frees a Transpose; otherwise the graph would just trade places.
        guard transposesFreed > 0 else { return false }
        let out = n.outputs[0]
        let innerShape = (0..<rank).map { outShape[inverse[$0]] }
        r.remove(i)
        let inner = r.insert(n.op, inputs, attributes: n.attributes, before: i, outputs: [(r.dtype(out), innerShape)], origin: n.origin)[0]
        let moved = r.insert("Transpose", [inner], attributes: [Attribute(name: "perm", value: .ints(p))], before: i,
                             outputs: [(r.dtype(out), outShape)], origin: r.node(lead.node).origin)[0]
        r.replace(out, with: moved)
        return true
    }
}
