import PluginABI
#if canImport(Glibc)
import Glibc
#endif

/// A setting a pack declares (ABI 1.4) to choose among correct lowerings of its primitives. The
/// user sets it with `--pack-option PACK.NAME=VALUE`; the host checks name and kind first.
public struct PackOption {
    public enum Kind { case bool, int, float, string }
    public var name: String
    public var kind: Kind
    public var defaultValue: String
    public var help: String

    public init(_ name: String, _ kind: Kind, default defaultValue: String, help: String) {
        self.name = name; self.kind = kind; self.defaultValue = defaultValue; self.help = help
    }

    var abiKind: j2o_option_kind {
        switch kind {
        case .bool: return J2O_OPTION_BOOL
        case .int: return J2O_OPTION_INT
        case .float: return J2O_OPTION_FLOAT
        case .string: return J2O_OPTION_STRING
        }
    }
}

/// The options of the pack this copy of PluginKit is linked into (each pack links its own copy),
/// so a lowering can fall back to the declared default on a host older than ABI 1.4.
enum DeclaredOptions {
    nonisolated(unsafe) static var all: [PackOption] = []
}

extension GraphBuilder {
    /// Whether the host offers api->option (hosts built before ABI 1.4 do not).
    var hostHasOptions: Bool {
        Int(api.pointee.struct_size) >= MemoryLayout<j2o_host_api>.offset(of: \.option)! + MemoryLayout<UnsafeRawPointer>.size
    }

    /// The value of one of this pack's declared options as text: the user's, else the default.
    public func option(_ name: String) throws -> String {
        guard let declared = DeclaredOptions.all.first(where: { $0.name == name }) else {
            throw LoweringError.invalid("the pack reads option '\(name)', which it does not declare")
        }
        guard hostHasOptions, let read = api.pointee.option else { return declared.defaultValue }
        var len = 0
        guard let p = read(ctx, name, &len) else { return declared.defaultValue }
        return String(decoding: UnsafeRawBufferPointer(start: p, count: len).bindMemory(to: UInt8.self), as: UTF8.self)
    }

    /// A bool option; the host has already normalised the user's value to "true" or "false".
    public func boolOption(_ name: String) throws -> Bool {
        let text = try option(name)
        switch text.lowercased() {
        case "true", "1", "yes", "on": return true
        case "false", "0", "no", "off", "": return false
        default: throw LoweringError.invalid("option '\(name)' is not a bool: '\(text)'")
        }
    }

    public func intOption(_ name: String) throws -> Int64 {
        let text = try option(name)
        guard let v = Int64(text) else { throw LoweringError.invalid("option '\(name)' is not an integer: '\(text)'") }
        return v
    }

    public func floatOption(_ name: String) throws -> Double {
        let text = try option(name)
        guard let v = Double(text) else { throw LoweringError.invalid("option '\(name)' is not a number: '\(text)'") }
        return v
    }
}
