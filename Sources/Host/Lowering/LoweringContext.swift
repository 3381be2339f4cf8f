import J2OPluginABI

/// One attempt of one pack at one equation: what the pack sees as `j2o_ctx *`. It records misuse
/// of the API (bad handles, double binds) so the host can name the pack's mistake precisely, and
/// checks the result when the pack returns.
final class LoweringContext {
    // The lowerer outlives every context it makes (a context lives for one lowering call), so
    // the reference need not be counted; the graph and opset are kept here because every API
    // call reads them.
    unowned(unsafe) let lowerer: Lowerer
    let graph: Graph
    let opset: Int
    let equation: Equation
    let claim: Claim
    let mark: Graph.Mark
    let origin: Int32
    /// The graph the equation is lowered into (its outputs are bound there).
    let scope: Int32
    /// The values bound to the equation's outputs (0: not yet), then the values its inputs
    /// resolved to (0: not yet looked up); one array, as every lowering needs both.
    var slots: [ValueID]
    var message: String?
    /// The status of the pack's last api->error / api->decline call (typed lowerings return a value, not a status).
    var reported: j2o_status?
    /// The first API misuse, reported as the pack's error whatever status it returns.
    var misuse: String?
    /// Node handles given to the pack (handle - 1 indexes this): the graph each node is in and
    /// its index there, so a handle stays right while subgraphs open and close.
    var nodes: [(scope: Int32, index: Int)] = []
    /// Subgraph handles given to the pack (handle - 1 indexes this).
    var subgraphs: [SubgraphSlot] = []
    /// Handles of the subgraphs this attempt has open, innermost last.
    var openSubgraphs: [Int] = []

    enum SubgraphSlot {
        case open(scope: Int32)
        case closed(Subgraph)
        case attached
    }

    init(lowerer: Lowerer, equation: Equation, claim: Claim, mark: Graph.Mark) {
        self.lowerer = lowerer; self.equation = equation; self.claim = claim; self.mark = mark
        graph = lowerer.graph
        opset = lowerer.opset
        scope = graph.currentScope
        origin = graph.addProvenance(Provenance(pack: claim.pack.label, primitive: equation.primitive,
                                                        source: equation.source, scope: equation.scope,
                                                        function: lowerer.currentFunction))
        slots = Array(repeating: 0, count: equation.outputs.count + equation.inputs.count)
    }

    func misuse(_ m: String) { if misuse == nil { misuse = m } }

    func input(_ i: Int) -> ValueID {
        guard i >= 0, i < equation.inputs.count else {
            misuse("input(\(i)) is out of range: the equation has \(equation.inputs.count) inputs"); return 0
        }
        let slot = equation.outputs.count + i
        if slots[slot] != 0 { return slots[slot] }
        do {
            let v = try lowerer.value(of: equation.inputs[i])
            slots[slot] = v
            return v
        } catch {
            misuse("input \(i): \(error)"); return 0
        }
    }

    func validValue(_ v: ValueID, _ what: @autoclosure () -> String) -> Bool {
        guard v != 0, Int(v) < graph.values.count else { misuse("\(what()): invalid value handle \(v)"); return false }
        return true
    }

    func addNode(_ op: String, _ inputs: [ValueID], outputCount: Int) -> j2o_node {
        let n = graph.addNode(op, inputs, outputCount: outputCount, origin: origin)
        nodes.append((graph.currentScope, n))
        return j2o_node(nodes.count)
    }

    /// The node index for a handle, if the node belongs to this attempt and to the graph being built.
    func nodeIndex(_ handle: j2o_node, _ what: String) -> Int? {
        let h = Int(handle) - 1
        guard h >= 0, h < nodes.count else { misuse("\(what): invalid node handle \(handle)"); return nil }
        guard nodes[h].scope == graph.currentScope else {
            misuse("\(what): node handle \(handle) belongs to a subgraph that is not the one being built"); return nil
        }
        return nodes[h].index
    }

    /// The element type of a value, inferring it from its producer's schema when not yet known.
    func dtype(_ v: ValueID) -> DType {
        let info = graph.values[Int(v)]
        if info.dtype == .undefined, info.scope == graph.currentScope, info.producer >= 0, Int(info.producer) < graph.nodes.count {
            // The producer's inputs may be untyped intermediates too: type them first.
            for input in graph.nodes[Int(info.producer)].inputs where input != 0 { _ = dtype(input) }
            if let problem = NodeChecker.check(graph, node: Int(info.producer), opset: opset) { misuse(problem) }
        }
        return graph.values[Int(v)].dtype
    }

    func bind(_ i: Int, _ v: ValueID) -> j2o_status {
        guard i >= 0, i < equation.outputs.count else {
            misuse("bind_output(\(i)) is out of range: the equation has \(equation.outputs.count) outputs"); return J2O_ERROR
        }
        guard validValue(v, "bind_output(\(i))") else { return J2O_ERROR }
        guard graph.isVisible(v, from: scope) else {
            misuse("bind_output(\(i)): value \(v) was made inside a subgraph, which the equation's graph cannot see"); return J2O_ERROR
        }
        guard slots[i] == 0 else { misuse("output \(i) is bound twice"); return J2O_ERROR }
        slots[i] = v
        return J2O_OK
    }

    /// Verifies what the pack emitted: every node sound at the target opset, every used output
    /// bound, bound types matching JAX's. Binds the outputs into the environment.
    func finish() -> String? {
        let allowed = claim.allowedOps
        for n in mark.nodes..<graph.nodes.count {
            if let problem = NodeChecker.check(graph, node: n, opset: opset) { return problem }
            if let problem = lowerer.target.problem(graph, graph.nodes[n], opset: opset) { return problem }
            // Nodes of nested programs and the host's own dimension arithmetic have other origins.
            // A Cast is always allowed: it is how a lowering computes in a precision its target runs.
            if let allowed, graph.nodes[n].origin == origin, graph.nodes[n].op != "Cast", !allowed.contains(graph.nodes[n].op) {
                return "emitted \(graph.nodes[n].op), which its claim for '\(claim.primitive)' does not list (it lists \(claim.onnxOps.joined(separator: ", ")))"
            }
        }
        for (i, out) in equation.outputs.enumerated() {
            let v = slots[i]
            guard let id = out.id else { continue }
            guard v != 0 else { return "output \(i) was not bound" }
            let have = graph.values[Int(v)].dtype
            // A complex output is bound to its float storage (IR/ComplexStorage.swift).
            let stored = out.type.storage
            if out.type.dtype != .opaque {
                if have == .undefined {
                    graph.setType(v, dtype: stored.dtype)
                } else if have != stored.dtype {
                    let expected = out.type.dtype.isComplex ? "\(out.type.dtype) (stored as \(stored.dtype) pairs)" : "\(out.type.dtype)"
                    return "output \(i) is \(have), but JAX says \(expected)"
                } else if !out.type.dtype.isComplex, graph.values[Int(v)].complex {
                    return "output \(i) is complex storage, but JAX says \(out.type.dtype)"
                }
            }
            if out.type.dtype.isComplex { graph.markComplex(v) }
            // A value that already has a shape (an operand passed through, an earlier result) must
            // have JAX's: a bundle declaring another would otherwise carry the wrong shape onward.
            if let shape = graph.values[Int(v)].shape {
                if let why = ShapeTruth.disagreement(stored.shape, shape) {
                    return "output \(i) has shape \(ShapeTruth.text(shape)), but JAX says \(ShapeTruth.text(stored.shape)) (\(why))"
                }
            } else {
                graph.setShape(v, stored.shape)
            }
            lowerer.env[id] = v
        }
        return nil
    }

    // MARK: subgraphs

    func beginSubgraph() -> j2o_graph {
        subgraphs.append(.open(scope: graph.beginSubgraph()))
        openSubgraphs.append(subgraphs.count)
        return j2o_graph(subgraphs.count)
    }

    /// The scope of an open subgraph handle, if it is the graph being built right now.
    func currentSubgraph(_ handle: j2o_graph, _ what: String) -> Int32? {
        guard let h = openSubgraphs.last, h == Int(handle), case let .open(scope) = subgraphs[h - 1],
              scope == graph.currentScope else {
            misuse("\(what): subgraph \(handle) is not the innermost open subgraph of this lowering"); return nil
        }
        return scope
    }

    /// Checks what was emitted into the current subgraph and closes it.
    func endSubgraph(_ handle: j2o_graph, outputs: [ValueID]) -> Bool {
        guard let scope = currentSubgraph(handle, "subgraph_end") else { return false }
        for (k, v) in outputs.enumerated() {
            guard validValue(v, "subgraph_end output \(k)") else { return false }
            guard graph.isVisible(v, from: scope) else {
                misuse("subgraph_end output \(k): value \(v) belongs to a graph this subgraph cannot see"); return false
            }
        }
        let allowed = claim.allowedOps
        for n in graph.nodes.indices {
            if let problem = NodeChecker.check(graph, node: n, opset: opset) { misuse(problem); return false }
            if let problem = lowerer.target.problem(graph, graph.nodes[n], opset: opset) { misuse(problem); return false }
            if let allowed, graph.nodes[n].origin == origin, graph.nodes[n].op != "Cast", !allowed.contains(graph.nodes[n].op) {
                misuse("emitted \(graph.nodes[n].op), which its claim for '\(claim.primitive)' does not list (it lists \(claim.onnxOps.joined(separator: ", ")))")
                return false
            }
        }
        let sub = graph.endSubgraph(outputs: outputs)
        openSubgraphs.removeLast()
        subgraphs[Int(handle) - 1] = .closed(sub)
        lowerer.forgetInvisibleValues()
        return true
    }

    func attachSubgraph(_ handle: j2o_graph, to node: j2o_node, name: String) {
        let h = Int(handle) - 1
        guard h >= 0, h < subgraphs.count else { misuse("attr_graph: invalid subgraph handle \(handle)"); return }
        guard case let .closed(sub) = subgraphs[h] else {
            misuse("attr_graph: subgraph \(handle) is still open or already attached"); return
        }
        guard let n = nodeIndex(node, "attr_graph") else { return }
        guard graph.scopeParents[Int(sub.scope)] == graph.currentScope else {
            misuse("attr_graph: subgraph \(handle) was begun inside another graph than node \(node)'s"); return
        }
        graph.setAttribute(node: n, Attribute(name: name, value: .graph(sub)))
        subgraphs[h] = .attached
    }

    /// Closes subgraphs the pack left open (it failed half-way, or forgot); true if there were any.
    func abandonOpenSubgraphs() -> Bool {
        let any = !openSubgraphs.isEmpty
        while openSubgraphs.popLast() != nil { graph.abandonSubgraph() }
        if any { lowerer.forgetInvisibleValues() }
        return any
    }
}
