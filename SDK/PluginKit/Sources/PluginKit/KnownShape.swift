import PluginABI

extension Value {
    /// This value with the shape the host knows for it: results of `inline` carry none until asked.
    public func withKnownShape() -> Value {
        if shape != nil { return self }
        let a = graph.api.pointee, ctx = graph.ctx
        let rank = a.value_rank(ctx, id)
        guard rank >= 0 else { return self }
        let dims: [Dim] = (0..<rank).map { axis in
            var sym: UnsafePointer<CChar>?
            var n = 0
            let size = a.value_dim(ctx, id, axis, &sym, &n)
            if size >= 0 { return .known(size) }
            return .symbolic(sym.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: n), as: UTF8.self) } ?? "?")
        }
        return with(shape: dims)
    }
}
