import J2OPluginABI

/// An element type, numbered as ONNX's TensorProto.DataType (the ABI uses the same numbers).
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
    public static let string = DType(rawValue: J2O_DTYPE_STRING)
    public static let bool = DType(rawValue: J2O_DTYPE_BOOL)
    public static let f16 = DType(rawValue: J2O_DTYPE_FLOAT16)
    public static let f64 = DType(rawValue: J2O_DTYPE_DOUBLE)
    public static let u32 = DType(rawValue: J2O_DTYPE_UINT32)
    public static let u64 = DType(rawValue: J2O_DTYPE_UINT64)
    public static let c64 = DType(rawValue: J2O_DTYPE_COMPLEX64)
    public static let c128 = DType(rawValue: J2O_DTYPE_COMPLEX128)
    public static let bf16 = DType(rawValue: J2O_DTYPE_BFLOAT16)
    public static let opaque = DType(rawValue: J2O_DTYPE_OPAQUE)

    /// The bundle's dtype names (docs/bundle-format.md) to ONNX codes.
    static let byBundleName: [String: DType] = [
        "bool": .bool, "i8": .i8, "i16": .i16, "i32": .i32, "i64": .i64,
        "u8": .u8, "u16": .u16, "u32": .u32, "u64": .u64,
        "f16": .f16, "bf16": .bf16, "f32": .f32, "f64": .f64, "c64": .c64, "c128": .c128,
        "float8_e4m3fn": DType(rawValue: 17), "float8_e4m3fnuz": DType(rawValue: 18),
        "float8_e5m2": DType(rawValue: 19), "float8_e5m2fnuz": DType(rawValue: 20),
    ]

    /// Unknown names (extended dtypes such as `key<fry>`) are opaque.
    public init(bundleName: String) { self = DType.byBundleName[bundleName] ?? .opaque }

    /// Bytes per element; 0 for types without a fixed-width byte form.
    public var byteWidth: Int {
        switch self {
        case .bool, .u8, .i8, DType(rawValue: 17), DType(rawValue: 18), DType(rawValue: 19), DType(rawValue: 20): return 1
        case .u16, .i16, .f16, .bf16: return 2
        case .f32, .i32, .u32: return 4
        case .f64, .i64, .u64, .c64: return 8
        case .c128: return 16
        default: return 0
        }
    }

    public var description: String {
        switch self {
        case .f32: return "f32"
        case .f64: return "f64"
        case .f16: return "f16"
        case .bf16: return "bf16"
        case .bool: return "bool"
        case .opaque: return "opaque"
        case .undefined: return "undefined"
        default:
            if let name = DType.byBundleName.first(where: { $0.value == self })?.key { return name }
            return "dtype(\(rawValue))"
        }
    }
}
