import PluginKit

extension Value {
    /// Casts a value this pack computed in `from` (the host does not know the element type of
    /// fresh node outputs yet, so `cast(to:)` alone cannot tell the cast is a no-op).
    func cast(from: DType, to: DType) throws -> Value {
        from == to ? self : try cast(to: to)
    }
}
