import J2OPluginABI
#if canImport(Glibc)
import Glibc
#endif

/// One equation parameter, decoded by kind from the bundle's tagged JSON. Instances are handed to
/// packs as opaque `j2o_param` pointers, so they are classes that live as long as the bundle, and
/// their text is kept as NUL-terminated C strings that stay put. Nodes (and their texts) may be
/// shared between equations whose params are identical, so they are never mutated after decoding.
public final class ParamNode {
    public let kind: j2o_param_kind
    public private(set) var int: Int64 = 0
    public private(set) var double: Double = 0
    public private(set) var dtype: DType = .undefined
    public private(set) var text: CText?
    public private(set) var typeName: CText?
    public private(set) var items: [ParamNode] = []
    public private(set) var fieldNames: [CText] = []
    public private(set) var jaxpr: Jaxpr?
    public private(set) var closedJaxpr: ClosedJaxpr?
    /// For ARRAY params: the bundle tensor index.
    public private(set) var tensor: Int = -1

    init(kind: j2o_param_kind) { self.kind = kind }

    static let none = ParamNode(kind: J2O_PARAM_NONE)

    static func bool(_ b: Bool) -> ParamNode { let p = ParamNode(kind: J2O_PARAM_BOOL); p.int = b ? 1 : 0; return p }
    static func int(_ v: Int64) -> ParamNode { let p = ParamNode(kind: J2O_PARAM_INT); p.int = v; p.double = Double(v); return p }
    static func float(_ v: Double) -> ParamNode { let p = ParamNode(kind: J2O_PARAM_FLOAT); p.double = v; return p }
    static func string(_ s: CText) -> ParamNode { let p = ParamNode(kind: J2O_PARAM_STRING); p.text = s; return p }
    static func list(_ items: [ParamNode]) -> ParamNode { let p = ParamNode(kind: J2O_PARAM_LIST); p.items = items; return p }
    static func dtype(_ dtype: DType, name: CText) -> ParamNode {
        let p = ParamNode(kind: J2O_PARAM_DTYPE); p.dtype = dtype; p.text = name; return p
    }
    static func dim(_ expr: CText) -> ParamNode { let p = ParamNode(kind: J2O_PARAM_DIM); p.text = expr; p.int = -1; return p }
    static func enumMember(type: CText, name: CText, value: Int64) -> ParamNode {
        let p = ParamNode(kind: J2O_PARAM_ENUM); p.typeName = type; p.text = name; p.int = value; return p
    }
    static func fields(kind: j2o_param_kind, type: CText?, names: [CText], items: [ParamNode]) -> ParamNode {
        let p = ParamNode(kind: kind)
        p.typeName = type
        p.fieldNames = names
        p.items = items
        return p
    }
    static func program(_ j: Jaxpr) -> ParamNode { let p = ParamNode(kind: J2O_PARAM_JAXPR); p.jaxpr = j; return p }
    static func program(_ c: ClosedJaxpr) -> ParamNode { let p = ParamNode(kind: J2O_PARAM_CLOSED_JAXPR); p.closedJaxpr = c; return p }
    static func array(tensor: Int, dtype: DType) -> ParamNode {
        let p = ParamNode(kind: J2O_PARAM_ARRAY); p.tensor = tensor; p.dtype = dtype; return p
    }
    static func scalar(dtype: DType, int: Int64?, double: Double) -> ParamNode {
        let p = ParamNode(kind: J2O_PARAM_SCALAR); p.dtype = dtype
        p.int = int ?? Int64(exactly: double.rounded(.towardZero)) ?? 0; p.double = double; return p
    }
    static func opaque(type: CText, repr: CText) -> ParamNode {
        let p = ParamNode(kind: J2O_PARAM_OPAQUE); p.typeName = type; p.text = repr; return p
    }

    /// What `param_string` gives: the text, or for a nested program its one-line summary, made
    /// only when a pack asks.
    public private(set) lazy var displayText: CText? = text ?? (jaxpr ?? closedJaxpr?.jaxpr).map { CText($0.summary) }

    /// A record or dict field by name.
    public func field(_ name: String) -> ParamNode? {
        guard kind == J2O_PARAM_RECORD || kind == J2O_PARAM_DICT else { return nil }
        for (i, f) in fieldNames.enumerated() where f.string == name { return items[i] }
        return nil
    }

    /// Nested programs anywhere inside this param (lists and records included).
    public func forEachProgram(_ body: (Jaxpr) -> Void) {
        if let j = jaxpr { body(j) }
        if let c = closedJaxpr { body(c.jaxpr) }
        for item in items { item.forEachProgram(body) }
    }

    var opaquePointer: j2o_param { OpaquePointer(Unmanaged.passUnretained(self).toOpaque()) }
    static func from(_ p: j2o_param?) -> ParamNode? {
        guard let p else { return nil }
        return Unmanaged<ParamNode>.fromOpaque(UnsafeRawPointer(p)).takeUnretainedValue()
    }
}
