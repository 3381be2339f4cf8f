import J2OPluginABI

/// The parameter list of a typed C lowering, as J2O_TYPED_LOWERING writes it ("x:value y:int"), and
/// the check that an equation fits it. The host never calls a typed lowering whose signature does
/// not match the equation in hand, because a C function called with the wrong arguments cannot
/// report anything: it just misbehaves.
public struct TypedSignature: CustomStringConvertible, Equatable {
    /// The kinds a parameter may have; docs/packs.md and the header list the C type of each.
    public enum Kind: String, CaseIterable {
        case value, int, float, bool, string, dtype, ints, param
    }

    public struct Entry: Equatable {
        public let name: String
        public let kind: Kind
    }

    public let entries: [Entry]

    public var operandCount: Int { entries.filter { $0.kind == .value }.count }
    public var description: String { "(" + entries.map { "\($0.name):\($0.kind.rawValue)" }.joined(separator: ", ") + ")" }

    /// The macro writes at most this many entries.
    public static let maxEntries = 12

    public enum ParseError: Error, CustomStringConvertible {
        case malformed(String)
        public var description: String { if case let .malformed(m) = self { return m }; return "" }
    }

    public static func parse(_ text: String) throws -> TypedSignature {
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," })
        guard !words.isEmpty else { throw ParseError.malformed("the typed signature is empty") }
        guard words.count <= maxEntries else {
            throw ParseError.malformed("the typed signature has \(words.count) entries; at most \(maxEntries) are supported")
        }
        var entries: [Entry] = []
        for w in words {
            let parts = w.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, isIdentifier(parts[0]) else {
                throw ParseError.malformed("'\(w)' in the typed signature is not name:kind")
            }
            guard let kind = Kind(rawValue: String(parts[1])) else {
                throw ParseError.malformed("'\(w)' in the typed signature has unknown kind '\(parts[1])' (kinds: \(Kind.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            let name = String(parts[0])
            if kind != .value, entries.contains(where: { $0.kind != .value && $0.name == name }) {
                throw ParseError.malformed("the typed signature names param '\(name)' twice")
            }
            entries.append(Entry(name: name, kind: kind))
        }
        return TypedSignature(entries: entries)
    }

    static func isIdentifier(_ s: Substring) -> Bool {
        guard let first = s.first, first == "_" || first.isLetter, first.isASCII else { return false }
        return s.allSatisfy { $0.isASCII && ($0 == "_" || $0.isLetter || $0.isNumber) }
    }

    /// Why `equation` cannot be passed to a lowering of this signature, or nil when it can.
    func mismatch(_ equation: Equation) -> String? {
        if equation.outputs.count != 1 {
            return "a typed lowering yields one output, but the equation has \(equation.outputs.count)"
        }
        if operandCount != equation.inputs.count {
            return "it takes \(operandCount) operand\(operandCount == 1 ? "" : "s"), but the equation has \(equation.inputs.count)"
        }
        for e in entries where e.kind != .value {
            guard let p = equation.params.field(e.name) else {
                let names = equation.params.fieldNames.map(\.string)
                return "the equation has no param '\(e.name)' (it has \(names.isEmpty ? "none" : names.joined(separator: ", ")))"
            }
            if !TypedSignature.accepts(e.kind, p) {
                return "param '\(e.name)' is \(TypedSignature.kindName(p.kind)), not \(e.kind.rawValue)"
            }
        }
        return nil
    }

    static func accepts(_ kind: Kind, _ p: ParamNode) -> Bool {
        switch kind {
        case .value: return false
        case .int: return p.kind == J2O_PARAM_INT || p.kind == J2O_PARAM_BOOL
        case .float: return p.kind == J2O_PARAM_FLOAT || p.kind == J2O_PARAM_INT
        case .bool: return p.kind == J2O_PARAM_BOOL
        case .string: return p.kind == J2O_PARAM_STRING || p.kind == J2O_PARAM_ENUM
        case .dtype: return p.kind == J2O_PARAM_DTYPE
        case .ints: return p.kind == J2O_PARAM_LIST && p.items.allSatisfy { $0.kind == J2O_PARAM_INT }
        case .param: return true
        }
    }

    static func kindName(_ k: j2o_param_kind) -> String {
        let names: [j2o_param_kind: String] = [
            J2O_PARAM_NONE: "none", J2O_PARAM_BOOL: "a bool", J2O_PARAM_INT: "an int", J2O_PARAM_FLOAT: "a float",
            J2O_PARAM_STRING: "a string", J2O_PARAM_LIST: "a list", J2O_PARAM_DTYPE: "a dtype", J2O_PARAM_DIM: "a symbolic dim",
            J2O_PARAM_ENUM: "an enum", J2O_PARAM_RECORD: "a record", J2O_PARAM_DICT: "a dict", J2O_PARAM_JAXPR: "a jaxpr",
            J2O_PARAM_CLOSED_JAXPR: "a closed jaxpr", J2O_PARAM_ARRAY: "an array", J2O_PARAM_SCALAR: "a scalar",
            J2O_PARAM_OPAQUE: "opaque",
        ]
        return names[k] ?? "kind \(k)"
    }
}
