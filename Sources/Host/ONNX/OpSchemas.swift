/// ONNX operator schemas of the default domain, parsed from the generated table
/// (OpSchemas.generated.swift, made by scripts/gen-onnx-schemas.py). The host uses them to verify
/// what packs emit and to infer element types; it knows nothing else about the ops.
public struct OpSchema {
    public enum Arity: Character { case single = "s", optional = "o", variadic = "v", heterogeneous = "w" }
    public struct Formal {
        public var name: Substring
        /// A type-constraint name ("T") or a fixed element type.
        public var constraint: Substring?
        public var fixed: DType?
        public var arity: Arity
    }

    public var name: String
    public var since: Int
    public var deprecated: Bool
    public var inputs: [Formal]
    public var outputs: [Formal]
    /// Constraint name to allowed element types; nil means anything (non-tensor types).
    public var constraints: [Substring: Set<Int32>?]
    public var attributes: Set<Substring>
    public var requiredAttributes: [Substring]

    public var inputRange: ClosedRange<Int> { OpSchema.range(inputs) }
    public var outputRange: ClosedRange<Int> { OpSchema.range(outputs) }

    static func range(_ formals: [Formal]) -> ClosedRange<Int> {
        var lo = 0, hi = 0
        for f in formals {
            switch f.arity {
            case .single: lo += 1; hi += 1
            case .optional: hi += 1
            case .variadic, .heterogeneous: lo += 1; hi = Int.max / 2
            }
        }
        return lo...max(lo, hi)
    }

    /// The formal parameter that actual position `i` binds to.
    public static func formal(_ formals: [Formal], at i: Int) -> Formal? {
        if i < formals.count { return formals[i] }
        if let last = formals.last, last.arity == .variadic || last.arity == .heterogeneous { return last }
        return nil
    }
}

public enum OpSchemas {
    /// Op name to its versions, oldest first.
    static let table: [String: [OpSchema]] = parse(onnxSchemaTable)

    /// The schema in force at `opset`, or nil when the op does not exist there (not yet added, or
    /// removed by a deprecation).
    public static func schema(_ op: String, opset: Int) -> OpSchema? {
        guard let versions = table[op] else { return nil }
        guard let s = versions.last(where: { $0.since <= opset }), !s.deprecated else { return nil }
        return s
    }

    public static func exists(_ op: String) -> Bool { table[op] != nil }

    /// The first opset in which `op` exists, if any.
    public static func introduced(_ op: String) -> Int? { table[op]?.first?.since }

    /// The IR version to write for an opset: the lowest that supports it, but at least 10 so nodes
    /// can carry provenance metadata.
    public static func irVersion(forOpset opset: Int) -> Int64 {
        switch opset {
        case ...22: return 10
        case 23: return 11
        case 24: return 12
        case 25...27: return 13
        default: return 14
        }
    }

    /// Highest opset the schema table (and so the verifier) knows.
    public static let maxOpset: Int = table.values.flatMap { $0.map(\.since) }.max() ?? 23

    static func parse(_ text: String) -> [String: [OpSchema]] {
        var out: [String: [OpSchema]] = [:]
        for line in text.split(separator: "\n") {
            let f = line.split(separator: ";", omittingEmptySubsequences: false)
            guard f.count == 7, let since = Int(f[1]) else { continue }
            func formals(_ s: Substring) -> [OpSchema.Formal] {
                s.split(separator: ",").compactMap { item in
                    let p = item.split(separator: ":", omittingEmptySubsequences: false)
                    guard p.count == 3, let c = p[2].first, let arity = OpSchema.Arity(rawValue: c) else { return nil }
                    if let code = Int32(p[1]) {
                        return .init(name: p[0], constraint: nil, fixed: DType(rawValue: code), arity: arity)
                    }
                    return .init(name: p[0], constraint: p[1], fixed: nil, arity: arity)
                }
            }
            var constraints: [Substring: Set<Int32>?] = [:]
            for c in f[5].split(separator: ",") {
                let kv = c.split(separator: "=", maxSplits: 1)
                guard kv.count == 2 else { continue }
                constraints[kv[0]] = kv[1] == "*" ? .some(nil) : Set(kv[1].split(separator: ".").compactMap { Int32($0) })
            }
            var attrs = Set<Substring>(), required: [Substring] = []
            for a in f[6].split(separator: ",") {
                if a.hasSuffix("!") { let n = a.dropLast(); attrs.insert(n); required.append(n) } else { attrs.insert(a) }
            }
            let s = OpSchema(name: String(f[0]), since: since, deprecated: f[2] == "1", inputs: formals(f[3]),
                             outputs: formals(f[4]), constraints: constraints, attributes: attrs, requiredAttributes: required)
            out[s.name, default: []].append(s)
        }
        return out
    }
}
