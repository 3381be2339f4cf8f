import Foundation

/// Where packs come from, in priority order for ties: each `--plugins` entry, then
/// `$JAX2ONNX_PLUGIN_PATH` (colon-separated), then the per-user folder `plugins install` fills
/// (`userPackDirectory`), then the built-in packs next to the executable.
/// A directory contributes its `*.so` files in name order; a file entry is one pack.
public struct SearchPath {
    public var userEntries: [String]
    public var environment: [String]
    public var builtinDirectory: String?
    public var userDirectory: String?

    public static let environmentVariable = "JAX2ONNX_PLUGIN_PATH"
    /// Built-in packs are recognised by name, so other libraries next to the executable are left alone.
    public static let builtinPrefix = "libJ2OPack"

    public init(plugins: [String], environment: [String: String] = ProcessInfo.processInfo.environment,
                builtinDirectory: String? = SearchPath.executableDirectory()) {
        userEntries = plugins
        self.environment = (environment[SearchPath.environmentVariable] ?? "").split(separator: ":").map(String.init)
        self.builtinDirectory = builtinDirectory
        userDirectory = SearchPath.userPackDirectory(environment: environment)
    }

    public static func executableDirectory() -> String? {
        guard let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else { return nil }
        return (exe as NSString).deletingLastPathComponent
    }

    /// The pack files to load, in order. Missing user entries are usage errors: a typo in
    /// `--plugins` must not silently fall back to the built-in lowering.
    public func packFiles() throws -> [String] {
        var files: [String] = []
        for (entry, origin) in userEntries.map({ ($0, "--plugins") }) + environment.map({ ($0, SearchPath.environmentVariable) }) {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: entry, isDirectory: &isDir) else {
                throw HostError.usage("\(origin) entry '\(entry)' does not exist")
            }
            if isDir.boolValue {
                files += try soFiles(in: entry, prefix: "")
            } else {
                files.append(entry)
            }
        }
        if let dir = userDirectory, FileManager.default.fileExists(atPath: dir) {
            files += try soFiles(in: dir, prefix: "")
        }
        if let dir = builtinDirectory, FileManager.default.fileExists(atPath: dir) {
            files += try soFiles(in: dir, prefix: SearchPath.builtinPrefix)
        }
        var seen = Set<String>()
        return files.filter { seen.insert(PackLoader.absolutePath($0)).inserted }
    }

    func soFiles(in dir: String, prefix: String) throws -> [String] {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: dir) } catch {
            throw HostError.io("cannot list plugin folder '\(dir)': \(error.localizedDescription)")
        }
        return names.filter { $0.hasSuffix(".so") && $0.hasPrefix(prefix) }.sorted().map { (dir as NSString).appendingPathComponent($0) }
    }
}

extension SearchPath {
    /// The per-user pack folder `jax2onnx plugins install` copies into:
    /// `$XDG_DATA_HOME/jax2onnx/packs`, else `~/.local/share/jax2onnx/packs`. nil without either variable.
    public static func userPackDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        if let xdg = environment["XDG_DATA_HOME"], xdg.hasPrefix("/") { return xdg + "/jax2onnx/packs" }
        if let home = environment["HOME"], !home.isEmpty { return home + "/.local/share/jax2onnx/packs" }
        return nil
    }
}
