extension GraphBuilder {
    /// `Where(cond, a, b)` for any element type: ONNX Runtime's CPU Where has no bool, 16-bit
    /// integer, u64 or bf16 kernel, so those travel in a wider type of the same values.
    public func select(_ cond: Value, _ a: Value, _ b: Value, shape: [Dim]? = nil) throws -> Value {
        if let c = KernelCarrier.forWhere(a.dtype) {
            let r = try op("Where", cond, a.cast(to: c), b.cast(to: c), shape: shape)
            return try r.cast(to: a.dtype)
        }
        return try op("Where", cond, a, b, shape: shape)
    }
}
