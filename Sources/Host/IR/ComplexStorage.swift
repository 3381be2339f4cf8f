/// How the graph carries JAX's complex values (docs/complex.md). ONNX Runtime has no complex
/// kernels, so a complex64 (complex128) array of shape S is stored as a float32 (float64) tensor of
/// shape S + [2], the last axis holding (real, imag) — the layout complex bytes already have, so
/// bundle constants map over unchanged. The graph marks such values (`ValueInfo.complex`) so packs
/// still see the complex type through value_dtype and dispatch on it; everything ONNX sees (node
/// checks, the written model, its inputs and outputs) is the float storage.
extension DType {
    public var isComplex: Bool { self == .c64 || self == .c128 }

    /// The element type of the storage of a complex type; other types are their own storage.
    public var complexStorage: DType {
        switch self {
        case .c64: return .f32
        case .c128: return .f64
        default: return self
        }
    }

    /// The complex type whose storage is this float type.
    var complexOfStorage: DType { self == .f64 ? .c128 : .c64 }
}

extension TensorType {
    /// The ONNX tensor that holds a value of this JAX type.
    public var storage: TensorType {
        dtype.isComplex ? TensorType(dtype.complexStorage, shape + [.known(2)]) : self
    }
}

extension Graph {
    /// Records that `v`, a float tensor with a trailing axis of 2, holds a complex value.
    func markComplex(_ v: ValueID) { values[Int(v)].complex = true }

    /// The JAX element type of a value: complex for marked storage, else the ONNX type.
    public func jaxDType(_ v: ValueID) -> DType {
        let info = values[Int(v)]
        return info.complex ? info.dtype.complexOfStorage : info.dtype
    }
}
