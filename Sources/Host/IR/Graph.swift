/// The host's ONNX graph under construction. Values are small integer ids (the ABI's `j2o_value`),
/// nodes and initializers are appended in topological order as equations are lowered, and a
/// lowering that declines is undone by truncating back to a mark.
public typealias ValueID = UInt32

public enum AttributeValue {
    case int(Int64)
    case float(Float)
    case string([UInt8])
    case ints([Int64])
    case floats([Float])
    case tensor(Initializer)
    /// A nested graph (If branches, Loop and Scan bodies).
    case graph(Subgraph)
}

public struct Attribute {
    public var name: String
    public var value: AttributeValue
}

/// Where a node came from: the pack that emitted it and the equation it lowers.
public struct Provenance {
    public var pack: String
    public var primitive: String
    public var source: SourceLocation?
    public var scope: String?
    /// The function-scope instance (index into Graph.functionScopes) the node was lowered in; -1
    /// for none.
    public var function: Int32 = -1
}

/// One call of a function-marked program: its nodes become a FunctionProto body (Passes/Outline).
public struct FunctionScope {
    public var mark: FunctionMark
    /// The enclosing instance, or -1.
    public var parent: Int32
}

/// An ONNX local function, written as a FunctionProto; its body's values are ordinary graph values.
public struct FunctionDef {
    public var name: String
    public var domain: String
    public var inputs: [ValueID]
    public var outputs: [ValueID]
    public var nodes: [Node]
}

public struct Node {
    public var op: String
    public var inputs: [ValueID]      // 0 = omitted optional input
    public var outputs: [ValueID]
    public var attributes: [Attribute] = []
    /// Index into Graph.provenance; -1 for nodes the host made itself.
    public var origin: Int32 = -1
    /// The operator set domain: "" for ONNX ops, a namespace for calls of local functions.
    public var domain: String = ""

    public func attribute(_ name: String) -> AttributeValue? { attributes.first { $0.name == name }?.value }
}

/// Tensor bytes: borrowed from the mapped bundle (weights, never copied) or owned (small
/// constants that packs and passes make).
public enum TensorBytes {
    case mapped(UnsafeRawBufferPointer)
    case owned([UInt8])

    public var count: Int {
        switch self {
        case let .mapped(b): return b.count
        case let .owned(a): return a.count
        }
    }

    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        switch self {
        case let .mapped(b): return try body(b)
        case let .owned(a): return try a.withUnsafeBytes(body)
        }
    }
}

public struct Initializer {
    public var dtype: DType
    public var dims: [Int64]
    public var bytes: TensorBytes
}

public struct ValueInfo {
    public var dtype: DType
    /// nil when unknown (intermediate values the host did not infer).
    public var shape: [Dim]?
    /// Index of the producing node, or -1 for graph inputs and initializers.
    public var producer: Int32
    /// Index into Graph.initializers when the value is a constant.
    public var initializer: Int32 = -1
    /// The graph that defines the value: 0 for the top level, else a subgraph's scope id. Nodes
    /// may read values of their own graph and of every graph enclosing it (ONNX outer-scope
    /// references); `producer` indexes the node list of this graph.
    public var scope: Int32 = 0
    /// The value is the (real, imag) storage of a complex JAX value (IR/ComplexStorage.swift).
    public var complex = false
}

/// A graph nested in a node attribute. Its values live in the one value table of the top-level
/// graph (ids, and so names, are unique across the whole model); its nodes are its own.
/// Constants are always top-level initializers, which every subgraph may read by name.
public final class Subgraph {
    public let scope: Int32
    public internal(set) var nodes: [Node]
    public internal(set) var inputs: [ValueID]
    public internal(set) var outputs: [ValueID]

    init(scope: Int32, nodes: [Node], inputs: [ValueID], outputs: [ValueID]) {
        self.scope = scope; self.nodes = nodes; self.inputs = inputs; self.outputs = outputs
    }
}

extension Node {
    /// The subgraphs held in this node's attributes.
    public var subgraphs: [Subgraph] {
        attributes.compactMap { if case let .graph(s) = $0.value { return s }; return nil }
    }
}

public final class Graph {
    /// Index 0 is a placeholder so that 0 can mean "no value".
    public internal(set) var values: [ValueInfo] = [ValueInfo(dtype: .undefined, shape: nil, producer: -1)]
    public internal(set) var nodes: [Node] = []
    public internal(set) var initializers: [(value: ValueID, tensor: Initializer)] = []
    public internal(set) var inputs: [(value: ValueID, name: String)] = []
    public internal(set) var outputs: [(value: ValueID, name: String)] = []
    public internal(set) var provenance: [Provenance] = []
    /// The runtime the graph is for: passes make only nodes it runs (fusions check it).
    public var target: RuntimeProfile = .spec
    /// Function-scope instances made while lowering; entries are never removed (a rollback only
    /// leaves unused ones).
    public internal(set) var functionScopes: [FunctionScope] = []
    /// Local functions, filled by Outline after optimization.
    public internal(set) var functions: [FunctionDef] = []
    /// Objects whose memory mapped initializers point into (the bundle); kept alive with the graph.
    var keepAlive: [AnyObject] = []
    /// The enclosing scope of each scope id; scope 0 is the top level.
    public internal(set) var scopeParents: [Int32] = [-1]
    /// The graph nodes are being added to: 0, or the innermost open subgraph.
    public private(set) var currentScope: Int32 = 0
    /// Open subgraphs, innermost last: the enclosing graph's nodes wait here while `nodes` holds
    /// the subgraph's.
    private var openScopes: [(scope: Int32, enclosingNodes: [Node], inputs: [ValueID])] = []
    /// Bumped by every edit made through this class, so a pass can tell that nothing changed since
    /// it last looked (Pipeline skips a pass that found nothing to do on the same generation).
    public private(set) var generation: UInt64 = 0
    /// For each pass name, the generation on which that pass last ran without changing anything.
    var settled: [String: UInt64] = [:]

    public init() {}

    public func addValue(_ dtype: DType, _ shape: [Dim]?, producer: Int32 = -1) -> ValueID {
        generation &+= 1
        values.append(ValueInfo(dtype: dtype, shape: shape, producer: producer, scope: currentScope))
        return ValueID(values.count - 1)
    }

    public func addInput(name: String, type: TensorType) -> ValueID {
        precondition(currentScope == 0, "graph inputs belong to the top level")
        let stored = type.storage
        let v = addValue(stored.dtype, stored.shape)
        if type.dtype.isComplex { markComplex(v) }
        inputs.append((v, name))
        return v
    }

    /// Initializers always belong to the top level, wherever they are made.
    public func addInitializer(_ t: Initializer) -> ValueID {
        // Complex bytes are already (real, imag) pairs: only the type changes.
        var t = t
        let complex = t.dtype.isComplex
        if complex { t = Initializer(dtype: t.dtype.complexStorage, dims: t.dims + [2], bytes: t.bytes) }
        let v = addValue(t.dtype, t.dims.map { .known($0) })
        if complex { markComplex(v) }
        values[Int(v)].scope = 0
        values[Int(v)].initializer = Int32(initializers.count)
        initializers.append((v, t))
        return v
    }

    @discardableResult
    public func addNode(_ op: String, _ inputs: [ValueID], outputCount: Int, origin: Int32 = -1) -> Int {
        generation &+= 1
        let index = nodes.count
        let outs = (0..<outputCount).map { _ in addValue(.undefined, nil, producer: Int32(index)) }
        nodes.append(Node(op: op, inputs: inputs, outputs: outs, origin: origin))
        return index
    }

    public func addOutput(_ v: ValueID, name: String) { generation &+= 1; outputs.append((v, name)) }

    public func setAttribute(node: Int, _ a: Attribute) {
        generation &+= 1
        if let k = nodes[node].attributes.firstIndex(where: { $0.name == a.name }) {
            nodes[node].attributes[k] = a
        } else {
            nodes[node].attributes.append(a)
        }
    }

    func setType(_ v: ValueID, dtype: DType) { generation &+= 1; values[Int(v)].dtype = dtype }
    func setShape(_ v: ValueID, _ shape: [Dim]?) { generation &+= 1; values[Int(v)].shape = shape }

    public func initializer(of v: ValueID) -> Initializer? {
        let k = values[Int(v)].initializer
        return k >= 0 ? initializers[Int(k)].tensor : nil
    }

    public func addFunctionScope(_ s: FunctionScope) -> Int32 {
        functionScopes.append(s)
        return Int32(functionScopes.count - 1)
    }

    public func addProvenance(_ p: Provenance) -> Int32 {
        provenance.append(p)
        return Int32(provenance.count - 1)
    }

    // MARK: subgraphs

    /// Opens a subgraph nested in the current graph and makes it current; returns its scope id.
    public func beginSubgraph() -> Int32 {
        generation &+= 1
        let scope = Int32(scopeParents.count)
        scopeParents.append(currentScope)
        openScopes.append((scope, nodes, []))
        nodes = []
        currentScope = scope
        return scope
    }

    /// A formal input of the current subgraph.
    public func addSubgraphInput(_ dtype: DType, _ shape: [Dim]?) -> ValueID {
        precondition(!openScopes.isEmpty, "no open subgraph")
        let v = addValue(dtype.complexStorage, dtype.isComplex ? shape.map { $0 + [.known(2)] } : shape)
        if dtype.isComplex { markComplex(v) }
        openScopes[openScopes.count - 1].inputs.append(v)
        return v
    }

    /// Closes the current subgraph with these outputs and makes its enclosing graph current.
    /// An output the subgraph does not compute itself (one of its inputs, an outer value, a
    /// constant) or that repeats an earlier output goes through an Identity, so each output is a
    /// distinct value defined inside the subgraph.
    public func endSubgraph(outputs: [ValueID]) -> Subgraph {
        generation &+= 1
        precondition(!openScopes.isEmpty, "no open subgraph")
        var outs: [ValueID] = []
        var seen = Set<ValueID>()
        for v in outputs {
            var o = v
            let info = values[Int(v)]
            if info.scope != currentScope || info.producer < 0 || seen.contains(v) {
                let n = addNode("Identity", [v], outputCount: 1)
                o = nodes[n].outputs[0]
                values[Int(o)].dtype = info.dtype
                values[Int(o)].shape = info.shape
            }
            seen.insert(o)
            outs.append(o)
        }
        let open = openScopes.removeLast()
        let sub = Subgraph(scope: open.scope, nodes: nodes, inputs: open.inputs, outputs: outs)
        nodes = open.enclosingNodes
        currentScope = scopeParents[Int(open.scope)]
        return sub
    }

    /// Closes the current subgraph without keeping it (a lowering that failed half-way).
    public func abandonSubgraph() {
        generation &+= 1
        guard let open = openScopes.popLast() else { return }
        nodes = open.enclosingNodes
        currentScope = scopeParents[Int(open.scope)]
    }

    public var openSubgraphCount: Int { openScopes.count }

    /// Whether `scope` is `ancestor` or nested (at any depth) inside it.
    public func scope(_ scope: Int32, isWithin ancestor: Int32) -> Bool {
        var s = scope
        while s >= 0 {
            if s == ancestor { return true }
            s = scopeParents[Int(s)]
        }
        return false
    }

    /// Whether nodes of `scope` may read `v`: it is defined there or in an enclosing graph.
    public func isVisible(_ v: ValueID, from scope: Int32) -> Bool {
        self.scope(scope, isWithin: values[Int(v)].scope)
    }

    // MARK: undo

    /// `nodes` counts the node list of the graph current when the mark was taken.
    public struct Mark { let values, nodes, initializers, provenance, scopes: Int }
    public func mark() -> Mark {
        Mark(values: values.count, nodes: nodes.count, initializers: initializers.count, provenance: provenance.count,
             scopes: scopeParents.count)
    }
    public func rollback(to m: Mark) {
        generation &+= 1
        values.removeLast(values.count - m.values)
        nodes.removeLast(nodes.count - m.nodes)
        initializers.removeLast(initializers.count - m.initializers)
        provenance.removeLast(provenance.count - m.provenance)
        scopeParents.removeLast(scopeParents.count - m.scopes)
    }

    // MARK: rewriting (passes)

    /// Replaces the node list (passes build a new list and hand it back) and drops values and
    /// initializers nothing references any more.
    public func replaceNodes(_ newNodes: [Node]) {
        generation &+= 1
        nodes = newNodes
        for (i, n) in nodes.enumerated() { for o in n.outputs { values[Int(o)].producer = Int32(i) } }
    }

    /// The same for a subgraph's node list.
    public func replaceNodes(_ newNodes: [Node], in sub: Subgraph) {
        generation &+= 1
        sub.nodes = newNodes
        for (i, n) in newNodes.enumerated() { for o in n.outputs { values[Int(o)].producer = Int32(i) } }
    }

    public func replaceInitializers(_ kept: [(value: ValueID, tensor: Initializer)]) {
        generation &+= 1
        for (v, _) in initializers { values[Int(v)].initializer = -1 }
        initializers = kept
        for (k, (v, _)) in initializers.enumerated() { values[Int(v)].initializer = Int32(k) }
    }

    public func replaceOutput(at index: Int, with v: ValueID) { generation &+= 1; outputs[index].value = v }
}
