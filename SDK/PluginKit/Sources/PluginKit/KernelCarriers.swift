/// ONNX Runtime's CPU provider lacks kernels for some (op, element type) pairs that ONNX allows.
/// For ops that only move or pick values (Where, Pad), a wider type with the same values is an
/// exact carrier: cast in, run, cast back.
public enum KernelCarrier {
    /// Types ONNX Runtime's CPU Where and Pad lack, and the type each one travels in.
    static let pick: [DType: DType] = [.bool: .u8, .i16: .i32, .u16: .i32, .u64: .i64, .bf16: .f32]
    static let pad: [DType: DType] = [.i16: .i32, .u16: .i32]

    public static func forWhere(_ t: DType) -> DType? { pick[t] }
    public static func forPad(_ t: DType) -> DType? { pad[t] }
}

extension GraphBuilder {
    /// `Pad(x, pads, value)` for any element type (16-bit integers pad in 32 bits).
    public func pad(_ x: Value, _ pads: Value, _ value: Value? = nil, shape: [Dim]? = nil) throws -> Value {
        guard let c = KernelCarrier.forPad(x.dtype) else { return try op("Pad", x, pads, value, shape: shape) }
        let padded = try op("Pad", x.cast(to: c), pads, value.map { try $0.cast(to: c) }, shape: shape)
        return try padded.cast(to: x.dtype)
    }
}
