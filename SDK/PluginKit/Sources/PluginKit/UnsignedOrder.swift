import PluginABI

extension GraphBuilder {
    /// uint64 values as int64 in the same order (TopK, ArgMax and ArgMin have no uint64 kernel in
    /// ONNX Runtime): flipping the top bit maps unsigned order onto signed order. BitwiseXor from
    /// opset 18; below, adding 2^63 in uint64 flips that bit the same way (the carry out of
    /// the top bit wraps away).
    public func uint64AsOrderedInt64(_ x: Value) throws -> Value {
        if opset >= 18 {
            return try op("BitwiseXor", x.cast(to: .i64), constant([Int64.min], dtype: .i64, shape: []), shape: x.shape)
        }
        return try op("Add", x, constant([UInt64(1) << 63], dtype: .u64, shape: []), shape: x.shape).cast(to: .i64)
    }
}
