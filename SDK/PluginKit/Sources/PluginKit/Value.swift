import PluginABI

/// An ONNX value in the graph being built. The shape is what the pack knows (from JAX's types or
/// from the helpers that made it); the element type comes from the host, which infers it from
/// the ONNX schemas.
public struct Value {
    public let id: j2o_value
    public let shape: [Dim]?
    /// Held strongly: a value never outlives the lowering that made it in practice, and an
    /// unowned reference costs a check on every use.
    public let graph: GraphBuilder

    public init(id: j2o_value, shape: [Dim]?, graph: GraphBuilder) {
        self.id = id; self.shape = shape; self.graph = graph
    }

    public var dtype: DType { DType(rawValue: graph.api.pointee.value_dtype(graph.ctx, id)) }
    public var rank: Int? { shape?.count }

    /// The same value with a shape the caller knows.
    public func with(shape: [Dim]?) -> Value { Value(id: id, shape: shape, graph: graph) }

    /// The raw bytes when the value is a constant.
    public var constantBytes: UnsafeRawBufferPointer? {
        var data: UnsafeRawPointer?
        var n = 0
        guard graph.api.pointee.constant_data(graph.ctx, id, &data, &n) != 0 else { return nil }
        return UnsafeRawBufferPointer(start: data, count: n)
    }

    // MARK: fluent helpers that vanish when they would do nothing

    public func reshape(_ dims: [Dim]) throws -> Value { try graph.reshape(self, dims) }
    public func transpose(_ perm: [Int]) throws -> Value { try graph.transpose(self, perm) }
    public func cast(to dtype: DType) throws -> Value { try graph.cast(self, to: dtype) }
    public func unsqueeze(_ axes: [Int]) throws -> Value { try graph.unsqueeze(self, axes) }
    public func squeeze(_ axes: [Int]) throws -> Value { try graph.squeeze(self, axes) }
    public func expand(_ dims: [Dim]) throws -> Value { try graph.expand(self, dims) }
}
