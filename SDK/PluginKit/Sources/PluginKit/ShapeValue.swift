import PluginABI

extension GraphBuilder {
    /// Whether the host offers shape_value (hosts built before it was appended do not).
    public var hostHasShapeValue: Bool {
        guard let offset = MemoryLayout<j2o_host_api>.offset(of: \.shape_value) else { return false }
        return Int(api.pointee.struct_size) >= offset + MemoryLayout<UnsafeRawPointer>.size
    }

    /// The host-built int64[n] tensor for a shape, or nil when the host predates shape_value.
    /// Built once per distinct shape per graph, so repeated Expand/Reshape targets share it.
    func hostShapeValue(_ dims: [Dim]) throws -> Value? {
        guard hostHasShapeValue else { return nil }
        let texts = dims.map(\.description)
        let cstrings: [UnsafeMutablePointer<CChar>] = texts.map { t in
            let utf8 = Array(t.utf8CString)
            let p = UnsafeMutablePointer<CChar>.allocate(capacity: utf8.count)
            p.initialize(from: utf8, count: utf8.count)
            return p
        }
        defer { cstrings.forEach { $0.deallocate() } }
        let pointers: [UnsafePointer<CChar>?] = cstrings.map { UnsafePointer($0) }
        let v = pointers.withUnsafeBufferPointer { api.pointee.shape_value(ctx, $0.baseAddress, Int32($0.count)) }
        guard v != 0 else { throw LoweringError.invalid("cannot evaluate shape [\(texts.joined(separator: ", "))]") }
        return Value(id: v, shape: [.known(Int64(dims.count))], graph: self)
    }
}
