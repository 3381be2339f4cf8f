import J2OPluginABI

/// An option a pack declares (ABI 1.4): it selects among correct lowerings of the pack's own
/// primitives. The host checks what the user sets against the declaration before lowering starts,
/// so a lowering reads only values of the declared kind.
public struct PackOption {
    public enum Kind: String { case bool, int, float, string }
    public let name: String
    public let kind: Kind
    public let defaultValue: String
    public let help: String

    /// The value as the pack reads it (api->option): booleans normalised to "true"/"false".
    func normalized(_ text: String) -> String? {
        switch kind {
        case .bool:
            switch text.lowercased() {
            case "true", "1", "yes", "on": return "true"
            case "false", "0", "no", "off": return "false"
            default: return nil
            }
        case .int: return Int64(text).map(String.init)
        case .float: return Double(text).flatMap { $0.isFinite ? text : nil }
        case .string: return text
        }
    }
}

extension LoadedPack {
    /// Sets one option from `--pack-option`; the message names what the pack accepts.
    public func setOption(_ name: String, to text: String) throws {
        guard let option = options.first(where: { $0.name == name }) else {
            let known = options.isEmpty ? "it declares no options"
                : "its options: " + options.map { "\($0.name) (\($0.kind.rawValue))" }.joined(separator: ", ")
            throw HostError.usage("pack '\(self.name)' has no option '\(name)'; \(known)")
        }
        guard let value = option.normalized(text) else {
            throw HostError.usage("option \(self.name).\(name) takes \(option.kind == .int ? "an" : "a") \(option.kind.rawValue), not '\(text)'")
        }
        optionValues[name] = CText(value)
    }

    /// The text api->option hands out: the user's value, else the declared default.
    func optionText(_ name: String) -> CText? {
        if let set = optionValues[name] { return set }
        guard let option = options.first(where: { $0.name == name }) else { return nil }
        let text = CText(option.normalized(option.defaultValue) ?? option.defaultValue)
        optionValues[name] = text
        return text
    }
}

extension PackLoader {
    /// Reads the descriptor's option table when the pack's ABI and struct size cover it.
    static func readOptions(_ d: UnsafeRawPointer, size: Int, minor: UInt32, into pack: LoadedPack) throws {
        func fail(_ m: String) -> HostError { .pack(path: pack.path, message: m) }
        let end = MemoryLayout<j2o_pack_descriptor>.offset(of: \.options)! + MemoryLayout<UnsafeRawPointer>.size
        guard minor >= 4, size >= end else { return }
        let desc = d.assumingMemoryBound(to: j2o_pack_descriptor.self).pointee
        guard desc.option_count > 0 else { return }
        guard desc.option_count <= 1_000 else { throw fail("option_count \(desc.option_count) is implausible") }
        guard let table = desc.options else { throw fail("option_count is \(desc.option_count) but options is NULL") }
        let stride = Int(desc.option_size)
        let helpEnd = MemoryLayout<j2o_option>.offset(of: \.help)! + MemoryLayout<UnsafeRawPointer>.size
        guard stride >= helpEnd else { throw fail("option_size \(stride) is smaller than ABI 1.4 requires (\(helpEnd))") }
        for i in 0..<Int(desc.option_count) {
            let o = UnsafeRawPointer(table).advanced(by: i * stride).loadUnaligned(as: j2o_option.self)
            guard let name = o.name.flatMap(validText), !name.isEmpty,
                  name.allSatisfy({ $0.isLowercase || $0.isNumber || $0 == "_" }) else {
                throw fail("option \(i) has no valid name (lowercase letters, digits and _)")
            }
            let kinds: [Int32: PackOption.Kind] = [J2O_OPTION_BOOL: .bool, J2O_OPTION_INT: .int,
                                                   J2O_OPTION_FLOAT: .float, J2O_OPTION_STRING: .string]
            guard let kind = kinds[o.kind] else { throw fail("option '\(name)' has unknown kind \(o.kind)") }
            let option = PackOption(name: name, kind: kind, defaultValue: o.default_value.flatMap(validText) ?? "",
                                    help: o.help.flatMap(validText) ?? "")
            guard option.normalized(option.defaultValue) != nil else {
                throw fail("option '\(name)' has default '\(option.defaultValue)', which is not a \(kind.rawValue)")
            }
            guard !pack.options.contains(where: { $0.name == name }) else { throw fail("declares option '\(name)' twice") }
            pack.options.append(option)
        }
    }
}
