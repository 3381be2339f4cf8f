import PluginABI

/// Complex values cross the ABI as their storage (docs/complex.md): a float tensor whose last axis
/// holds (real, imag). `Value.dtype` names the complex type; `Value.shape` is the storage's, JAX's
/// shape plus the trailing 2. Types a pack declares (constants, subgraph inputs) use JAX's shape.
extension DType {
    public static let c64 = DType(rawValue: J2O_DTYPE_COMPLEX64)
    public static let c128 = DType(rawValue: J2O_DTYPE_COMPLEX128)
    public var isComplex: Bool { self == .c64 || self == .c128 }
    /// The float type of a complex type's parts; other types are their own.
    public var complexPart: DType { self == .c64 ? .f32 : self == .c128 ? .f64 : self }
}

extension Value {
    public var isComplex: Bool { dtype.isComplex }
    /// JAX's shape of the value: for a complex value, its storage shape without the trailing 2.
    public var jaxShape: [Dim]? { shape.map { isComplex ? Array($0.dropLast()) : $0 } }
}
