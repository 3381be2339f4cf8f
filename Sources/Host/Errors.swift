/// Every failure the host reports. The CLI maps them to exit codes: `conversion` is 1 (the model
/// could not be converted), `usage` and `io` are 2. Messages are complete sentences for a user,
/// never stack traces.
public enum HostError: Error, CustomStringConvertible {
    /// Bad invocation or a file that cannot be read or written.
    case usage(String)
    case io(String)
    /// A malformed bundle.
    case bundle(path: String, message: String)
    /// A pack that cannot be loaded.
    case pack(path: String, message: String)
    /// The model cannot be converted; may list several problems.
    case conversion([String])

    public var description: String {
        switch self {
        case let .usage(m), let .io(m): return m
        case let .bundle(path, m): return "malformed bundle '\(path)': \(m)"
        case let .pack(path, m): return "cannot load pack '\(path)': \(m)"
        case let .conversion(lines): return lines.joined(separator: "\n")
        }
    }

    public var exitCode: Int32 {
        switch self {
        case .conversion: return 1
        default: return 2
        }
    }
}
