/// Checks one emitted node against its ONNX schema at the target opset (the op exists, arity,
/// attribute names, element-type constraints) and infers the element types of its outputs.
/// This is ONNX knowledge only; what a JAX primitive means stays in the packs.
enum NodeChecker {
    /// Ops whose output element type comes from an attribute or a second input rather than from a
    /// type constraint bound by the inputs.
    static func attributeDrivenType(_ node: Node, _ rule: CheckedSchema.TypeRule, _ g: Graph) -> DType? {
        switch rule {
        case .none: break
        case .cast:
            if case let .int(to)? = node.attribute("to") { return DType(rawValue: Int32(to)) }
        case .castLike:
            if node.inputs.count > 1 { return g.values[Int(node.inputs[1])].dtype }
        case .constant:
            if case let .tensor(t)? = node.attribute("value") { return t.dtype }
            return node.op == "ConstantOfShape" ? .f32 : nil
        case .like:
            if case let .int(d)? = node.attribute("dtype") { return DType(rawValue: Int32(d)) }
            return node.inputs.first.map { g.values[Int($0)].dtype }
        case .random:
            if case let .int(d)? = node.attribute("dtype") { return DType(rawValue: Int32(d)) }
            return node.op == "Multinomial" ? .i32 : .f32
        }
        return nil
    }

    /// Returns a problem description, or nil when the node is sound. Sets output dtypes.
    /// `index` is in the node list of the graph being built (the innermost open subgraph).
    static func check(_ g: Graph, node index: Int, opset: Int) -> String? {
        check(g, g.nodes[index], index: index, scope: g.currentScope, opset: opset)
    }

    /// The same for node `index` of the graph with scope id `scope` (0: the top level).
    static func check(_ g: Graph, _ node: Node, index: Int, scope: Int32, opset: Int) -> String? {
        guard let schema = OpSchemas.checkedSchema(node.op, opset: opset) else {
            if let first = OpSchemas.introduced(node.op) {
                return "emitted \(node.op), which does not exist at opset \(opset) (it starts at opset \(first) or was removed)"
            }
            return "emitted '\(node.op)', which is not an ONNX operator"
        }
        let inRange = schema.inputRange, outRange = schema.outputRange
        // Trailing omitted optional inputs do not count.
        var actualInputs = node.inputs.count
        while actualInputs > 0, node.inputs[actualInputs - 1] == 0 { actualInputs -= 1 }
        guard inRange.contains(actualInputs) else {
            return "\(node.op)-\(schema.since) takes \(describe(inRange)) inputs, got \(actualInputs)"
        }
        guard outRange.contains(node.outputs.count) else {
            return "\(node.op)-\(schema.since) has \(describe(outRange)) outputs, got \(node.outputs.count)"
        }
        for a in node.attributes where !schema.attributes.contains(a.name) {
            return "\(node.op)-\(schema.since) has no attribute '\(a.name)'"
        }
        for r in schema.requiredAttributes where !node.attributes.contains(where: { $0.name == r }) {
            return "\(node.op)-\(schema.since) needs attribute '\(r)'"
        }
        // The type each constraint is bound to by the inputs so far (undefined: not yet bound).
        return withUnsafeTemporaryAllocation(of: DType.self, capacity: max(1, schema.constraintNames.count)) { bound in
            bound.initialize(repeating: .undefined)
            for (i, v) in node.inputs.enumerated() {
                guard let formal = CheckedSchema.formal(schema.inputs, at: i) else { continue }
                if v == 0 {
                    if formal.arity == .single { return "\(node.op) input \(i) ('\(formal.name)') is required" }
                    continue
                }
                guard Int(v) < g.values.count else { return "\(node.op) input \(i) refers to an unknown value" }
                let info = g.values[Int(v)]
                if info.scope == scope {
                    if info.producer >= index { return "\(node.op) input \(i) is used before it is produced" }
                } else if !g.scope(scope, isWithin: info.scope) {
                    return "\(node.op) input \(i) is a value of another subgraph, which this graph cannot see"
                }
                let dt = info.dtype
                guard dt != .undefined else { continue }
                if let fixed = formal.fixed {
                    if fixed != dt { return "\(node.op) input \(i) ('\(formal.name)') must be \(fixed), got \(dt)" }
                    continue
                }
                guard formal.constraint >= 0 else { continue }
                if !formal.allows(dt) {
                    return "\(node.op)-\(schema.since) does not accept \(dt) for input \(i) ('\(formal.name)')" + firstAccepting(node.op, input: i, dt, after: opset)
                }
                if formal.arity == .heterogeneous { continue }
                let prior = bound[formal.constraint]
                if prior != .undefined, prior != dt {
                    return "\(node.op) inputs disagree on type \(schema.constraintNames[formal.constraint]): \(prior) and \(dt) (input \(i))"
                }
                bound[formal.constraint] = dt
            }
            let special = attributeDrivenType(node, schema.typeRule, g)
            var fromGraphs: [DType] = []
            if !node.attributes.isEmpty,
               node.attributes.contains(where: { if case .graph = $0.value { return true }; return GraphAttributes.names.contains($0.name) }) {
                switch GraphAttributes.check(g, node) {
                case let .failure(problem): return problem.message
                case let .success(types): fromGraphs = types
                }
            }
            for (i, out) in node.outputs.enumerated() {
                var dt: DType = .undefined
                if let formal = CheckedSchema.formal(schema.outputs, at: i) {
                    if let fixed = formal.fixed { dt = fixed } else if formal.constraint >= 0 { dt = bound[formal.constraint] }
                    // An output-only constraint of one type (And's and Greater's T1: bool) is that
                    // type: no input binds it, and a Loop body's condition has no consumer to type it.
                    if dt == .undefined, let allowed = formal.allowed, allowed.nonzeroBitCount == 1 {
                        dt = DType(rawValue: Int32(allowed.trailingZeroBitCount))
                    }
                }
                if dt == .undefined, i == 0, let s = special { dt = s }
                if dt == .undefined, i < fromGraphs.count { dt = fromGraphs[i] }
                if g.values[Int(out)].dtype == .undefined { g.setType(out, dtype: dt) }
            }
            return nil
        }
    }

    static func describe(_ r: ClosedRange<Int>) -> String {
        if r.lowerBound == r.upperBound { return "\(r.lowerBound)" }
        if r.upperBound >= Int.max / 4 { return "at least \(r.lowerBound)" }
        return "\(r.lowerBound) to \(r.upperBound)"
    }

    /// ", which it accepts from opset N" when a later version of the op takes the dtype there.
    static func firstAccepting(_ op: String, input i: Int, _ dt: DType, after opset: Int) -> String {
        guard let versions = OpSchemas.table[op] else { return "" }
        for s in versions where s.since > opset && !s.deprecated {
            guard let f = OpSchema.formal(s.inputs, at: i) else { continue }
            if let fixed = f.fixed { if fixed == dt { return ", which it accepts from opset \(s.since)" }; continue }
            if let c = f.constraint, let allowed = s.constraints[c], allowed?.contains(dt.rawValue) ?? true {
                return ", which it accepts from opset \(s.since)"
            }
        }
        return ""
    }
}
