extension GraphBuilder {
    /// `Where(cond, a, b)` for any element type: ONNX Runtime's CPU Where has no bool kernel, so
    /// bool operands go through uint8.
    public func select(_ cond: Value, _ a: Value, _ b: Value, shape: [Dim]? = nil) throws -> Value {
        if a.dtype.isBool || b.dtype.isBool {
            let r = try op("Where", cond, try a.cast(to: .u8), try b.cast(to: .u8), shape: shape)
            return try r.cast(to: .bool)
        }
        return try op("Where", cond, a, b, shape: shape)
    }
}
