/// One dimension of a shape: a number, or a symbolic expression as JAX prints it ("B", "2*B").
public enum Dim: Hashable, CustomStringConvertible {
    case known(Int64)
    case symbolic(String)

    public var description: String {
        switch self {
        case let .known(n): return String(n)
        case let .symbolic(s): return s
        }
    }

    public var value: Int64? { if case let .known(n) = self { return n }; return nil }
}

/// Element type plus shape; what JAX calls an aval and ONNX a tensor type.
public struct TensorType: Hashable, CustomStringConvertible {
    public var dtype: DType
    public var shape: [Dim]
    public init(_ dtype: DType, _ shape: [Dim]) { self.dtype = dtype; self.shape = shape }

    public var description: String { "\(dtype)[\(shape.map(\.description).joined(separator: ","))]" }
    /// Product of the dims when all are known.
    public var staticElementCount: Int64? {
        var n: Int64 = 1
        for d in shape { guard let v = d.value else { return nil }; n *= v }
        return n
    }
}
