import PluginABI

/// A typed view of one equation parameter (see docs/bundle-format.md for the encoding).
public struct Param {
    public let raw: j2o_param
    let api: UnsafePointer<j2o_host_api>

    public enum Kind: Int32 {
        case none = 0, bool, int, float, string, list, dtype, dim, enumMember, record, dict, jaxpr, closedJaxpr, array, scalar, opaque
    }

    public var kind: Kind { Kind(rawValue: api.pointee.param_kind(raw)) ?? .opaque }
    public var isNone: Bool { kind == .none }

    public var int: Int? {
        switch kind {
        case .int, .bool, .enumMember, .scalar: return Int(api.pointee.param_int(raw))
        default: return nil
        }
    }
    public var float: Double? {
        switch kind {
        case .float, .int, .scalar: return api.pointee.param_float(raw)
        default: return nil
        }
    }
    public var bool: Bool? { kind == .bool ? api.pointee.param_int(raw) != 0 : nil }
    /// STRING text, DTYPE name, DIM expression, ENUM member name, OPAQUE repr.
    public var string: String? {
        var len = 0
        guard let p = api.pointee.param_string(raw, &len) else { return nil }
        return String(decoding: UnsafeRawBufferPointer(start: p, count: len), as: UTF8.self)
    }
    public var typeName: String? {
        var len = 0
        guard let p = api.pointee.param_type_name(raw, &len) else { return nil }
        return String(decoding: UnsafeRawBufferPointer(start: p, count: len), as: UTF8.self)
    }
    public var dtype: DType? {
        switch kind {
        case .dtype, .scalar, .array: return DType(rawValue: api.pointee.param_dtype(raw))
        default: return nil
        }
    }
    public var count: Int { Int(api.pointee.param_count(raw)) }
    public var items: [Param] {
        (0..<Int32(count)).compactMap { i in api.pointee.param_item(raw, i).map { Param(raw: $0, api: api) } }
    }
    public subscript(field: String) -> Param? {
        api.pointee.param_field(raw, field).map { Param(raw: $0, api: api) }
    }
    /// Item `i` of a list, or field `i` of a record.
    public subscript(i: Int) -> Param? {
        api.pointee.param_item(raw, Int32(i)).map { Param(raw: $0, api: api) }
    }

    /// A list of ints (a tuple such as `axes` or `permutation`).
    public var ints: [Int]? {
        guard kind == .list else { return int.map { [$0] } }
        var out: [Int] = []
        for p in items { guard let v = p.int else { return nil }; out.append(v) }
        return out
    }

    /// A dimension: an int or a symbolic expression.
    public var dim: Dim? {
        switch kind {
        case .int: return .known(Int64(api.pointee.param_int(raw)))
        case .dim: return string.map { .symbolic($0) }
        default: return nil
        }
    }

    /// A shape: a list of dims.
    public var dims: [Dim]? {
        guard kind == .list else { return nil }
        var out: [Dim] = []
        for p in items { guard let d = p.dim else { return nil }; out.append(d) }
        return out
    }
}
