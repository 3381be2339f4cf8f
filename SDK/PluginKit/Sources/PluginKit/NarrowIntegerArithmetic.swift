import PluginABI

/// ONNX types Add, Sub, Mul and Div on 8- and 16-bit integers from opset 14 only. Below that a
/// node on such operands is worked in 32 bits and cast back: the low bits of a 32-bit sum,
/// difference or product are the modular 8/16-bit result (XLA's wrap-around), and a quotient of
/// in-range operands truncates toward zero in either width. Signed types widen to int32,
/// unsigned ones to uint32, so a 16-bit product that overflows 31 bits still wraps rather than
/// relying on signed overflow. (Division by zero and MIN / -1 are the caller's to rule out, as
/// at any width.)
extension GraphBuilder {
    static let narrowArithmeticOps: Set<String> = ["Add", "Sub", "Mul", "Div"]

    /// The 32-bit type a node of `op` on `dtype` is worked in below opset 14, or nil when it runs as is.
    func narrowArithmeticWidth(_ op: String, _ dtype: DType?) -> DType? {
        guard opset < 14, Self.narrowArithmeticOps.contains(op), let t = dtype else { return nil }
        switch t {
        case .i8, .i16: return .i32
        case .u8, .u16: return .u32
        default: return nil
        }
    }

    /// Emits `op` in 32 bits when opset 13 lacks it for the operands' narrow integer type;
    /// returns nil when the node needs no widening.
    func emitNarrowArithmetic(_ op: String, _ inputs: [Value?], outputs: Int,
                              attributes: KeyValuePairs<String, Attr>) throws -> [j2o_value]? {
        guard outputs == 1, let narrow = inputs.first??.dtype, let wide = narrowArithmeticWidth(op, narrow) else { return nil }
        let widened = try inputs.map { v -> Value? in try v.map { try cast($0, to: wide) } }
        let n = try emit(op, widened, outputs: 1, attributes: attributes)
        let out = Value(id: api.pointee.node_output(ctx, n, 0), shape: nil, graph: self)
        return [try cast(out, to: narrow).id]
    }
}
