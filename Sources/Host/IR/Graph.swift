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
}

public struct Node {
    public var op: String
    public var inputs: [ValueID]      // 0 = omitted optional input
    public var outputs: [ValueID]
    public var attributes: [Attribute] = []
    /// Index into Graph.provenance; -1 for nodes the host made itself.
    public var origin: Int32 = -1

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
}

public final class Graph {
    /// Index 0 is a placeholder so that 0 can mean "no value".
    public internal(set) var values: [ValueInfo] = [ValueInfo(dtype: .undefined, shape: nil, producer: -1)]
    public internal(set) var nodes: [Node] = []
    public internal(set) var initializers: [(value: ValueID, tensor: Initializer)] = []
    public internal(set) var inputs: [(value: ValueID, name: String)] = []
    public internal(set) var outputs: [(value: ValueID, name: String)] = []
    public internal(set) var provenance: [Provenance] = []
    /// Objects whose memory mapped initializers point into (the bundle); kept alive with the graph.
    var keepAlive: [AnyObject] = []

    public init() {}

    public func addValue(_ dtype: DType, _ shape: [Dim]?, producer: Int32 = -1) -> ValueID {
        values.append(ValueInfo(dtype: dtype, shape: shape, producer: producer))
        return ValueID(values.count - 1)
    }

    public func addInput(name: String, type: TensorType) -> ValueID {
        let v = addValue(type.dtype, type.shape)
        inputs.append((v, name))
        return v
    }

    public func addInitializer(_ t: Initializer) -> ValueID {
        let v = addValue(t.dtype, t.dims.map { .known($0) })
        values[Int(v)].initializer = Int32(initializers.count)
        initializers.append((v, t))
        return v
    }

    @discardableResult
    public func addNode(_ op: String, _ inputs: [ValueID], outputCount: Int, origin: Int32 = -1) -> Int {
        let index = nodes.count
        let outs = (0..<outputCount).map { _ in addValue(.undefined, nil, producer: Int32(index)) }
        nodes.append(Node(op: op, inputs: inputs, outputs: outs, origin: origin))
        return index
    }

    public func addOutput(_ v: ValueID, name: String) { outputs.append((v, name)) }

    public func setAttribute(node: Int, _ a: Attribute) {
        if let k = nodes[node].attributes.firstIndex(where: { $0.name == a.name }) {
            nodes[node].attributes[k] = a
        } else {
            nodes[node].attributes.append(a)
        }
    }

    func setType(_ v: ValueID, dtype: DType) { values[Int(v)].dtype = dtype }
    func setShape(_ v: ValueID, _ shape: [Dim]?) { values[Int(v)].shape = shape }

    public func initializer(of v: ValueID) -> Initializer? {
        let k = values[Int(v)].initializer
        return k >= 0 ? initializers[Int(k)].tensor : nil
    }

    public func addProvenance(_ p: Provenance) -> Int32 {
        provenance.append(p)
        return Int32(provenance.count - 1)
    }

    // MARK: undo

    public struct Mark { let values, nodes, initializers, provenance: Int }
    public func mark() -> Mark {
        Mark(values: values.count, nodes: nodes.count, initializers: initializers.count, provenance: provenance.count)
    }
    public func rollback(to m: Mark) {
        values.removeLast(values.count - m.values)
        nodes.removeLast(nodes.count - m.nodes)
        initializers.removeLast(initializers.count - m.initializers)
        provenance.removeLast(provenance.count - m.provenance)
    }

    // MARK: rewriting (passes)

    /// Replaces the node list (passes build a new list and hand it back) and drops values and
    /// initializers nothing references any more.
    public func replaceNodes(_ newNodes: [Node]) {
        nodes = newNodes
        for (i, n) in nodes.enumerated() { for o in n.outputs { values[Int(o)].producer = Int32(i) } }
    }

    public func replaceInitializers(_ kept: [(value: ValueID, tensor: Initializer)]) {
        for (v, _) in initializers { values[Int(v)].initializer = -1 }
        initializers = kept
        for (k, (v, _)) in initializers.enumerated() { values[Int(v)].initializer = Int32(k) }
    }

    public func replaceOutput(at index: Int, with v: ValueID) { outputs[index].value = v }
}
