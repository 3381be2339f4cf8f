/// One version of an op's schema, compiled once for NodeChecker: every emitted node is checked,
/// so type constraints become small indices and bit sets instead of name lookups, and the ranges
/// and the op's special typing rule are worked out ahead.
final class CheckedSchema {
    struct Formal {
        var name: Substring
        /// Index into the node's bound types, or -1 for a fixed type or an unconstrained formal.
        var constraint: Int
        var fixed: DType?
        var arity: OpSchema.Arity
        /// Element types the constraint allows, one bit per code below 64; nil = anything.
        var allowed: UInt64?

        func allows(_ t: DType) -> Bool {
            guard let allowed else { return true }
            return t.rawValue >= 0 && t.rawValue < 64 && allowed & (1 << UInt64(t.rawValue)) != 0
        }
    }

    /// Where an op's output element type comes from when no input constraint binds it.
    enum TypeRule { case none, cast, castLike, constant, like, random }

    let since: Int
    let deprecated: Bool
    let inputs: [Formal]
    let outputs: [Formal]
    let inputRange: ClosedRange<Int>
    let outputRange: ClosedRange<Int>
    let constraintNames: [Substring]
    let attributes: Set<String>
    let requiredAttributes: [String]
    let typeRule: TypeRule

    init(_ s: OpSchema) {
        since = s.since; deprecated = s.deprecated
        inputRange = s.inputRange; outputRange = s.outputRange
        var names: [Substring] = []
        func compile(_ f: OpSchema.Formal) -> Formal {
            var index = -1
            var allowed: UInt64?
            if let c = f.constraint {
                if let k = names.firstIndex(of: c) { index = k } else { index = names.count; names.append(c) }
                if let set = s.constraints[c] ?? nil {
                    var mask: UInt64 = 0
                    for code in set where code >= 0 && code < 64 { mask |= 1 << UInt64(code) }
                    allowed = mask
                }
            }
            return Formal(name: f.name, constraint: index, fixed: f.fixed, arity: f.arity, allowed: allowed)
        }
        inputs = s.inputs.map(compile)
        outputs = s.outputs.map(compile)
        constraintNames = names
        attributes = Set(s.attributes.map(String.init))
        requiredAttributes = s.requiredAttributes.map(String.init)
        switch s.name {
        case "Cast": typeRule = .cast
        case "CastLike": typeRule = .castLike
        case "Constant", "ConstantOfShape": typeRule = .constant
        case "EyeLike", "RandomNormalLike", "RandomUniformLike", "Bernoulli": typeRule = .like
        case "RandomNormal", "RandomUniform", "Multinomial": typeRule = .random
        default: typeRule = .none
        }
    }

    /// The formal that actual position `i` binds to (see OpSchema.formal).
    static func formal(_ formals: [Formal], at i: Int) -> Formal? {
        if i < formals.count { return formals[i] }
        if let last = formals.last, last.arity == .variadic || last.arity == .heterogeneous { return last }
        return nil
    }
}

extension OpSchemas {
    /// Every schema version compiled for checking, built once per process.
    static let checked: [String: [CheckedSchema]] = table.mapValues { $0.map(CheckedSchema.init) }

    /// The compiled schema in force at `opset` (as `schema(_:opset:)`).
    static func checkedSchema(_ op: String, opset: Int) -> CheckedSchema? {
        guard let versions = checked[op] else { return nil }
        var k = versions.count - 1
        while k >= 0, versions[k].since > opset { k -= 1 }
        guard k >= 0, !versions[k].deprecated else { return nil }
        return versions[k]
    }
}
