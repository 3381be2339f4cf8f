/// Turns the function-scope instances recorded while lowering (Graph.functionScopes) into ONNX
/// local functions. It runs after the optimizer, so fusion, folding, CSE and dead code have
/// already worked across and inside function bodies on the flat graph.
///
/// Each instance's top-level nodes become a FunctionProto body and one call node replaces them.
/// The body's inputs are the values it reads from outside (weights included: a function cannot
/// see the graph's initializers), its outputs the values read outside or returned by the graph.
/// Instances are outlined innermost first, so a nested instance is already a call node inside its
/// parent's body. Instances with equal bodies, attributes and input types share one function
/// unless marked unique. An instance whose outlining would make the graph cyclic (an outside node
/// both reads its output and feeds it) stays inline, which changes structure, never numbers.
enum Outline {
    static func run(_ g: Graph) {
        guard !g.functionScopes.isEmpty else { return }
        let scopes = g.functionScopes
        var depth = [Int](repeating: 0, count: scopes.count)
        for i in scopes.indices {
            var p = scopes[i].parent
            while p >= 0 { depth[i] += 1; p = scopes[Int(p)].parent }
        }
        var nodes = g.nodes
        var owner = nodes.map { n -> Int32 in n.origin >= 0 ? g.provenance[Int(n.origin)].function : -1 }
        adoptHostNodes(nodes, &owner, scopes, g)
        var shared: [String: Int] = [:]   // body key -> index into g.functions
        var taken: [String: Int] = [:]    // domain/name -> functions so named
        let graphOutputs = Set(g.outputs.map(\.value))

        for s in scopes.indices.sorted(by: { depth[$0] > depth[$1] || (depth[$0] == depth[$1] && $0 < $1) }) {
            let members = nodes.indices.filter { owner[$0] == Int32(s) }
            guard !members.isEmpty else { continue }
            let parent = scopes[s].parent
            let memberSet = Set(members)
            var defined = Set<ValueID>()
            for i in members { defined.formUnion(nodes[i].outputs) }
            var inputs: [ValueID] = [], seenInputs = Set<ValueID>()
            for i in members {
                for v in reads(nodes[i], g) where v != 0 && !defined.contains(v) && seenInputs.insert(v).inserted {
                    inputs.append(v)
                }
            }
            var readOutside = Set<ValueID>()
            for i in nodes.indices where !memberSet.contains(i) {
                for v in reads(nodes[i], g) where defined.contains(v) { readOutside.insert(v) }
            }
            var outputs: [ValueID] = []
            for i in members {
                for v in nodes[i].outputs where readOutside.contains(v) || graphOutputs.contains(v) { outputs.append(v) }
            }
            guard !outputs.isEmpty else {
                for i in members { owner[i] = parent }
                continue
            }
            let body = members.map { nodes[$0] }
            let key = bodyKey(scopes[s].mark, body, inputs: inputs, outputs: outputs, g) + (scopes[s].mark.unique ? "#\(s)" : "")
            let function: Int
            var fresh = false
            if let f = shared[key] {
                function = f
            } else {
                fresh = true
                let base = scopes[s].mark.domain + "/" + scopes[s].mark.name
                let k = taken[base, default: 0]
                taken[base] = k + 1
                let name = k == 0 ? scopes[s].mark.name : "\(scopes[s].mark.name)_\(k)"
                g.functions.append(FunctionDef(name: name, domain: scopes[s].mark.domain, inputs: inputs,
                                               outputs: outputs, nodes: body))
                function = g.functions.count - 1
                shared[key] = function
            }
            let origin = g.addProvenance(Provenance(pack: "host", primitive: "onnx_function", source: nil,
                                                    scope: nil, function: parent))
            // A graph output computed inside the body now comes out of the call; the outputs keep
            // their value ids, so nothing outside needs renaming.
            var call = Node(op: g.functions[function].name, inputs: inputs, outputs: outputs, origin: origin)
            call.domain = g.functions[function].domain
            var candidate: [Node] = [], candidateOwner: [Int32] = []
            let last = members.last!
            for i in nodes.indices {
                if i == last { candidate.append(call); candidateOwner.append(parent) }
                else if !memberSet.contains(i) { candidate.append(nodes[i]); candidateOwner.append(owner[i]) }
            }
            if let order = topologicalOrder(candidate, g) {
                nodes = order.map { candidate[$0] }
                owner = order.map { candidateOwner[$0] }
            } else {
                if fresh {
                    // A definition made just for this instance would be unused.
                    g.functions.removeLast()
                    shared[key] = nil
                    taken[scopes[s].mark.domain + "/" + scopes[s].mark.name]! -= 1
                }
                for i in members { owner[i] = parent }
            }
        }
        g.replaceNodes(nodes)
    }

    /// Nodes a pass made without an origin (a transpose pushed through, a shape computation)
    /// belong to no scope; left at the top level they would sit between a body's nodes. Each
    /// joins the innermost scope enclosing the nodes it reads from and feeds.
    static func adoptHostNodes(_ nodes: [Node], _ owner: inout [Int32], _ scopes: [FunctionScope], _ g: Graph) {
        var orphan = nodes.map { $0.origin < 0 }
        guard orphan.contains(true) else { return }
        var producer: [ValueID: Int] = [:]
        var consumers: [ValueID: [Int]] = [:]
        for (i, n) in nodes.enumerated() {
            for o in n.outputs { producer[o] = i }
            for v in reads(n, g) { consumers[v, default: []].append(i) }
        }
        func ancestors(_ s: Int32) -> [Int32] {
            var out: [Int32] = [], p = s
            while p >= 0 { out.append(p); p = scopes[Int(p)].parent }
            return out.reversed()
        }
        func common(_ a: Int32, _ b: Int32) -> Int32 {
            let x = ancestors(a), y = ancestors(b)
            var k = 0
            while k < x.count, k < y.count, x[k] == y[k] { k += 1 }
            return k == 0 ? -1 : x[k - 1]
        }
        for _ in 0..<4 {
            var changed = false
            for i in nodes.indices where orphan[i] {
                var neighbours = reads(nodes[i], g).compactMap { producer[$0] }
                for o in nodes[i].outputs { neighbours += consumers[o] ?? [] }
                let known = neighbours.filter { !orphan[$0] }
                guard let first = known.first else { continue }
                owner[i] = known.dropFirst().reduce(owner[first]) { common($0, owner[$1]) }
                orphan[i] = false
                changed = true
            }
            if !changed { break }
        }
    }

    /// Every top-level value a node reads, through the subgraphs in its attributes too (their
    /// outer-scope references).
    static func reads(_ n: Node, _ g: Graph) -> [ValueID] {
        var out = n.inputs
        func walk(_ sub: Subgraph) {
            for m in sub.nodes {
                for v in m.inputs where v != 0 && g.values[Int(v)].scope == 0 { out.append(v) }
                for s in m.subgraphs { walk(s) }
            }
        }
        for s in n.subgraphs { walk(s) }
        return out
    }

    /// Node order where every value is made before it is read, keeping the given order where it
    /// can; nil when the nodes form a cycle.
    static func topologicalOrder(_ nodes: [Node], _ g: Graph) -> [Int]? {
        var producer: [ValueID: Int] = [:]
        for (i, n) in nodes.enumerated() { for o in n.outputs { producer[o] = i } }
        var state = [UInt8](repeating: 0, count: nodes.count)   // 0 new, 1 on the stack, 2 placed
        var order: [Int] = []
        order.reserveCapacity(nodes.count)
        for root in nodes.indices where state[root] == 0 {
            var stack: [(node: Int, deps: [Int], next: Int)] = []
            func push(_ i: Int) {
                state[i] = 1
                stack.append((i, reads(nodes[i], g).compactMap { producer[$0] }, 0))
            }
            push(root)
            while !stack.isEmpty {
                let top = stack.count - 1
                if stack[top].next < stack[top].deps.count {
                    let d = stack[top].deps[stack[top].next]
                    stack[top].next += 1
                    if state[d] == 1 { return nil }
                    if state[d] == 0 { push(d) }
                } else {
                    state[stack[top].node] = 2
                    order.append(stack[top].node)
                    stack.removeLast()
                }
            }
        }
        return order
    }

    /// What makes two instances share one function: their bodies node by node (op, attributes,
    /// where each input comes from) and their input types.
    static func bodyKey(_ mark: FunctionMark, _ body: [Node], inputs: [ValueID], outputs: [ValueID], _ g: Graph) -> String {
        var local: [ValueID: String] = [:]
        for (k, v) in inputs.enumerated() { local[v] = "i\(k)" }
        var key = mark.domain + "/" + mark.name + "("
        for v in inputs {
            let info = g.values[Int(v)]
            key += "\(info.dtype.rawValue)[" + (info.shape.map { $0.map { "\($0)" }.joined(separator: ",") } ?? "?") + "];"
        }
        key += ")"
        for (j, n) in body.enumerated() {
            for (m, o) in n.outputs.enumerated() { local[o] = "n\(j).\(m)" }
            key += n.domain + ":" + n.op + "(" + n.inputs.map { local[$0] ?? ($0 == 0 ? "-" : "?\($0)") }.joined(separator: ",") + ")"
            for a in n.attributes { key += a.name + "=" + attributeKey(a.value) + ";" }
        }
        key += "->" + outputs.map { local[$0] ?? "?" }.joined(separator: ",")
        return key
    }

    static func attributeKey(_ v: AttributeValue) -> String {
        switch v {
        case let .int(x): return "i\(x)"
        case let .float(x): return "f\(x.bitPattern)"
        case let .string(s): return "s" + s.map { String($0) }.joined(separator: ".")
        case let .ints(x): return "I\(x)"
        case let .floats(x): return "F\(x.map(\.bitPattern))"
        case let .tensor(t):
            var h: UInt64 = 1469598103934665603
            t.bytes.withBytes { for b in $0 { h = (h ^ UInt64(b)) &* 1099511628211 } }
            return "t\(t.dtype.rawValue)\(t.dims)#\(h)"
        case let .graph(s):
            // Subgraphs name their values by id, so two of them never encode equally.
            return "g\(s.scope)"
        }
    }
}
