import PluginABI

/// An element type, numbered as ONNX's TensorProto.DataType (as the ABI does).
public struct DType: RawRepresentable, Hashable, CustomStringConvertible {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let undefined = DType(rawValue: J2O_DTYPE_UNDEFINED)
    public static let f32 = DType(rawValue: J2O_DTYPE_FLOAT)
    public static let u8 = DType(rawValue: J2O_DTYPE_UINT8)
    public static let i8 = DType(rawValue: J2O_DTYPE_INT8)
    public static let u16 = DType(rawValue: J2O_DTYPE_UINT16)
    public static let i16 = DType(rawValue: J2O_DTYPE_INT16)
    public static let i32 = DType(rawValue: J2O_DTYPE_INT32)
    public static let i64 = DType(rawValue: J2O_DTYPE_INT64)
    public static let bool = DType(rawValue: J2O_DTYPE_BOOL)
    public static let f16 = DType(rawValue: J2O_DTYPE_FLOAT16)
    public static let f64 = DType(rawValue: J2O_DTYPE_DOUBLE)
    public static let u32 = DType(rawValue: J2O_DTYPE_UINT32)
    public static let u64 = DType(rawValue: J2O_DTYPE_UINT64)
    public static let bf16 = DType(rawValue: J2O_DTYPE_BFLOAT16)
    public static let opaque = DType(rawValue: J2O_DTYPE_OPAQUE)

    /// Groups for a lowering's `dtypes:` list.
    public static let floats: [DType] = [.f16, .bf16, .f32, .f64]
    public static let signedInts: [DType] = [.i8, .i16, .i32, .i64]
    public static let unsignedInts: [DType] = [.u8, .u16, .u32, .u64]
    public static let ints: [DType] = signedInts + unsignedInts
    public static let numbers: [DType] = floats + ints

    public var isFloat: Bool { [.f16, .f32, .f64, .bf16].contains(self) }
    public var isSignedInt: Bool { [.i8, .i16, .i32, .i64].contains(self) }
    public var isUnsignedInt: Bool { [.u8, .u16, .u32, .u64].contains(self) }
    public var isInt: Bool { isSignedInt || isUnsignedInt }
    public var isBool: Bool { self == .bool }

    public var description: String {
        let names: [DType: String] = [.f32: "f32", .u8: "u8", .i8: "i8", .u16: "u16", .i16: "i16", .i32: "i32",
                                      .i64: "i64", .bool: "bool", .f16: "f16", .f64: "f64", .u32: "u32", .u64: "u64",
                                      .bf16: "bf16", .opaque: "opaque", .undefined: "undefined"]
        return names[self] ?? "dtype(\(rawValue))"
    }
}

/// A dimension: a number, or a symbolic expression as JAX prints it ("B", "2*B").
public enum Dim: Hashable, CustomStringConvertible, ExpressibleByIntegerLiteral {
    case known(Int64)
    case symbolic(String)

    public init(integerLiteral v: Int64) { self = .known(v) }
    public var value: Int64? { if case let .known(n) = self { return n }; return nil }
    public var description: String {
        switch self {
        case let .known(n): return String(n)
        case let .symbolic(s): return s
        }
    }

    /// Sums, differences and maxima of dims: constants fold, anything symbolic becomes an
    /// expression in JAX's syntax, which the host evaluates once per graph from the input shapes.
    public static func + (a: Dim, b: Dim) -> Dim {
        if let x = a.value, let y = b.value { return checked(x.addingReportingOverflow(y), "\(x) + \(y)") }
        if b == 0 { return a }
        if a == 0 { return b }
        return .symbolic("\(a.term) + \(b.term)")
    }

    public static func - (a: Dim, b: Dim) -> Dim {
        if let x = a.value, let y = b.value { return checked(x.subtractingReportingOverflow(y), "\(x) - \(y)") }
        if b == 0 { return a }
        return .symbolic("\(a.term) - (\(b.description))")
    }

    public static func max(_ a: Dim, _ b: Dim) -> Dim {
        if let x = a.value, let y = b.value { return .known(Swift.max(x, y)) }
        return .symbolic("max(\(a), \(b))")
    }

    /// A known result, or for one that left Int64 a dim no host can evaluate: the first use of
    /// it is an error naming the overflow, where plain arithmetic would have trapped.
    static func checked(_ r: (partialValue: Int64, overflow: Bool), _ what: String) -> Dim {
        r.overflow ? overflow(what) : .known(r.partialValue)
    }

    static func overflow(_ what: String) -> Dim { .symbolic("overflow(\(what))") }

    /// The text of a dim as an operand of + or -: parenthesized unless it is a single term.
    var term: String { description.contains(where: { "+- ".contains($0) }) ? "(\(description))" : description }

    /// The product of dims as one dim; symbolic parts multiply as an expression.
    public static func product<S: Sequence>(_ dims: S) -> Dim where S.Element == Dim {
        var known: Int64 = 1
        var symbols: [String] = []
        for d in dims {
            switch d {
            case let .known(n):
                let (m, o) = known.multipliedReportingOverflow(by: n)
                if o { return overflow("a product of dims") }
                known = m
            // A product binds tighter than + and -, so only sums need parentheses ("B*T", "(B + 1)*T").
            case let .symbolic(s): symbols.append(s.contains(where: { "+- ".contains($0) }) ? "(\(s))" : s)
            }
        }
        if symbols.isEmpty || known == 0 { return .known(known) }
        if symbols.count == 1 && known == 1, case let .symbolic(s)? = dims.first(where: { $0.value == nil }) {
            return .symbolic(s)
        }
        if known != 1 { symbols.insert(String(known), at: 0) }
        return .symbolic(symbols.joined(separator: "*"))
    }
}

/// Element type and shape of a JAX value.
public struct TensorType: Hashable, CustomStringConvertible {
    public var dtype: DType
    public var shape: [Dim]
    public var rank: Int { shape.count }
    public var description: String { "\(dtype)[\(shape.map(\.description).joined(separator: ","))]" }
}

extension TensorType {
    public init(_ dtype: DType, _ shape: [Dim]) { self.init(dtype: dtype, shape: shape) }
}

/// How a lowering says it cannot go on. `unsupported` declines (the host tries the next pack and
/// reports the reason if none can); `invalid` is an error in the equation itself.
public enum LoweringError: Error, CustomStringConvertible {
    case unsupported(String)
    case invalid(String)

    public var description: String {
        switch self {
        case let .unsupported(m), let .invalid(m): return m
        }
    }
}
