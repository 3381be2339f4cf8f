import PluginABI

/// One attempt of one pack at one equation: what the pack sees as `j2o_ctx *`. It records misuse
/// of the API (bad handles, double binds) so the host can name the pack's mistake precisely, and
/// checks the result when the pack returns.
final class LoweringContext {
    unowned let lowerer: Lowerer
    let equation: Equation
    let claim: Claim
    let mark: Graph.Mark
    let origin: Int32
    var bound: [ValueID]
    var message: String?
    /// The first API misuse, reported as the pack's error whatever status it returns.
    var misuse: String?
    var inputCache: [ValueID?]

    init(lowerer: Lowerer, equation: Equation, claim: Claim, mark: Graph.Mark) {
        self.lowerer = lowerer; self.equation = equation; self.claim = claim; self.mark = mark
        origin = lowerer.graph.addProvenance(Provenance(pack: claim.pack.label, primitive: equation.primitive,
                                                        source: equation.source, scope: equation.scope))
        bound = Array(repeating: 0, count: equation.outputs.count)
        inputCache = Array(repeating: nil, count: equation.inputs.count)
    }

    var graph: Graph { lowerer.graph }

    func misuse(_ m: String) { if misuse == nil { misuse = m } }

    func input(_ i: Int) -> ValueID {
        guard i >= 0, i < equation.inputs.count else {
            misuse("input(\(i)) is out of range: the equation has \(equation.inputs.count) inputs"); return 0
        }
        if let v = inputCache[i] { return v }
        do {
            let v = try lowerer.value(of: equation.inputs[i])
            inputCache[i] = v
            return v
        } catch {
            misuse("input \(i): \(error)"); return 0
        }
    }

    func validValue(_ v: ValueID, _ what: String) -> Bool {
        guard v != 0, Int(v) < graph.values.count else { misuse("\(what): invalid value handle \(v)"); return false }
        return true
    }

    /// The node index for a handle, if the node belongs to this attempt.
    func nodeIndex(_ handle: j2o_node, _ what: String) -> Int? {
        let i = Int(handle) - 1
        guard i >= mark.nodes, i < graph.nodes.count else { misuse("\(what): invalid node handle \(handle)"); return nil }
        return i
    }

    /// The element type of a value, inferring it from its producer's schema when not yet known.
    func dtype(_ v: ValueID) -> DType {
        let info = graph.values[Int(v)]
        if info.dtype == .undefined, info.producer >= Int32(mark.nodes) {
            // The producer's inputs may be untyped intermediates too: type them first.
            for input in graph.nodes[Int(info.producer)].inputs where input != 0 { _ = dtype(input) }
            if let problem = NodeChecker.check(graph, node: Int(info.producer), opset: lowerer.opset) { misuse(problem) }
        }
        return graph.values[Int(v)].dtype
    }

    func bind(_ i: Int, _ v: ValueID) -> j2o_status {
        guard i >= 0, i < bound.count else {
            misuse("bind_output(\(i)) is out of range: the equation has \(bound.count) outputs"); return J2O_ERROR
        }
        guard validValue(v, "bind_output(\(i))") else { return J2O_ERROR }
        guard bound[i] == 0 else { misuse("output \(i) is bound twice"); return J2O_ERROR }
        bound[i] = v
        return J2O_OK
    }

    /// Verifies what the pack emitted: every node sound at the target opset, every used output
    /// bound, bound types matching JAX's. Binds the outputs into the environment.
    func finish() -> String? {
        for n in mark.nodes..<graph.nodes.count {
            if let problem = NodeChecker.check(graph, node: n, opset: lowerer.opset) { return problem }
            if graph.nodes[n].origin == origin, let allowed = claimAllowedOps, !allowed.contains(graph.nodes[n].op) {
                return "emitted \(graph.nodes[n].op), which its claim for '\(claim.primitive)' does not list (it lists \(claim.onnxOps.joined(separator: ", ")))"
            }
        }
        for (i, out) in equation.outputs.enumerated() {
            let v = bound[i]
            guard let id = out.id else { continue }
            guard v != 0 else { return "output \(i) was not bound" }
            let have = graph.values[Int(v)].dtype
            if out.type.dtype != .opaque {
                if have == .undefined {
                    graph.setType(v, dtype: out.type.dtype)
                } else if have != out.type.dtype {
                    return "output \(i) is \(have), but JAX says \(out.type.dtype)"
                }
            }
            if graph.values[Int(v)].shape == nil { graph.setShape(v, out.type.shape) }
            lowerer.env[id] = v
        }
        return nil
    }

    /// The claim's op list as a set; nil when the claim lists none (nothing to hold it to).
    /// Nodes of nested programs and the host's own dimension arithmetic belong to others.
    var claimAllowedOps: Set<String>? { claim.onnxOps.isEmpty ? nil : Set(claim.onnxOps) }
}
