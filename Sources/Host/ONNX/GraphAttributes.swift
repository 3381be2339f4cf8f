/// How ONNX's operators with graph attributes (If, Loop, Scan) tie a node's inputs and outputs to
/// the subgraphs it holds: the counts must line up, and the node's output element types are the
/// subgraphs' output types. ONNX structure only; what the packs use these ops for is theirs.
enum GraphAttributes {
    struct Problem: Error { let message: String }

    /// Attribute names that must hold a graph.
    static let names: Set<String> = ["then_branch", "else_branch", "body"]

    /// Checks a node holding subgraphs; returns the element types of its outputs as far as the
    /// subgraphs say (undefined where they do not).
    static func check(_ g: Graph, _ node: Node) -> Result<[DType], Problem> {
        func fail(_ m: String) -> Result<[DType], Problem> { .failure(Problem(message: "\(node.op): \(m)")) }
        for a in node.attributes where names.contains(a.name) {
            guard case .graph = a.value else { return fail("attribute '\(a.name)' must be a graph") }
        }
        func graph(_ name: String) -> Subgraph? {
            if case let .graph(s)? = node.attribute(name) { return s }
            return nil
        }
        func dtype(_ v: ValueID) -> DType { g.values[Int(v)].dtype }
        func agree(_ a: DType, _ b: DType) -> Bool { a == .undefined || b == .undefined || a == b }

        switch node.op {
        case "If":
            guard let then = graph("then_branch"), let other = graph("else_branch") else { return .success([]) }
            for (name, b) in [("then_branch", then), ("else_branch", other)] {
                if !b.inputs.isEmpty { return fail("\(name) takes no inputs, it has \(b.inputs.count)") }
                if b.outputs.count != node.outputs.count {
                    return fail("\(name) has \(b.outputs.count) outputs for the node's \(node.outputs.count)")
                }
            }
            var types: [DType] = []
            for (k, (a, b)) in zip(then.outputs, other.outputs).enumerated() {
                guard agree(dtype(a), dtype(b)) else { return fail("output \(k) is \(dtype(a)) in then_branch but \(dtype(b)) in else_branch") }
                types.append(dtype(a) != .undefined ? dtype(a) : dtype(b))
            }
            return .success(types)

        case "Loop":
            guard let body = graph("body") else { return .success([]) }
            let carried = node.inputs.count - 2
            guard carried >= 0 else { return .success([]) }
            if body.inputs.count != carried + 2 {
                return fail("body takes \(body.inputs.count) inputs; with \(carried) loop-carried values it must take \(carried + 2) (iteration number, condition, values)")
            }
            if body.outputs.count < carried + 1 {
                return fail("body returns \(body.outputs.count) outputs; it must return the condition and \(carried) loop-carried values, then any scan outputs")
            }
            if node.outputs.count != body.outputs.count - 1 {
                return fail("has \(node.outputs.count) outputs but its body returns \(body.outputs.count - 1) besides the condition")
            }
            if !agree(dtype(body.inputs[0]), .i64) { return fail("body input 0 (iteration number) must be int64, got \(dtype(body.inputs[0]))") }
            if !agree(dtype(body.inputs[1]), .bool) { return fail("body input 1 (condition) must be bool, got \(dtype(body.inputs[1]))") }
            if !agree(dtype(body.outputs[0]), .bool) { return fail("body output 0 (condition) must be bool, got \(dtype(body.outputs[0]))") }
            for k in 0..<carried {
                let initial = node.inputs[k + 2]
                let (inside, next) = (dtype(body.inputs[k + 2]), dtype(body.outputs[k + 1]))
                if initial != 0, !agree(dtype(initial), inside) {
                    return fail("loop-carried value \(k) enters as \(dtype(initial)) but the body takes \(inside)")
                }
                if !agree(inside, next) { return fail("loop-carried value \(k) enters the body as \(inside) and leaves as \(next)") }
            }
            return .success(body.outputs.dropFirst().map(dtype))

        case "Scan":
            guard let body = graph("body"), case let .int(m)? = node.attribute("num_scan_inputs") else { return .success([]) }
            let states = node.inputs.count - Int(m)
            guard m >= 1, states >= 0 else { return fail("num_scan_inputs is \(m) for \(node.inputs.count) inputs") }
            if body.inputs.count != node.inputs.count {
                return fail("body takes \(body.inputs.count) inputs for the node's \(node.inputs.count)")
            }
            if body.outputs.count != node.outputs.count || body.outputs.count < states {
                return fail("body returns \(body.outputs.count) outputs for the node's \(node.outputs.count) (\(states) states first)")
            }
            for k in 0..<node.inputs.count where !agree(dtype(node.inputs[k]), dtype(body.inputs[k])) {
                return fail("input \(k) is \(dtype(node.inputs[k])) but the body takes \(dtype(body.inputs[k]))")
            }
            for k in 0..<states where !agree(dtype(body.inputs[k]), dtype(body.outputs[k])) {
                return fail("state \(k) enters the body as \(dtype(body.inputs[k])) and leaves as \(dtype(body.outputs[k]))")
            }
            return .success(body.outputs.map(dtype))

        default:
            return .success([])
        }
    }
}
