import Foundation

/// All loaded packs and their claims, with the dispatch rule of the design: for a primitive at an
/// opset, the claim with the highest priority wins; on a tie the pack found earlier on the search
/// path wins. Later claimants stay in line behind it (tried when the winner declines) and are
/// reported as shadowed.
public final class Registry {
    public let packs: [LoadedPack]
    /// Set when the folder of the executable holds no built-in pack: why primitives may be missing
    /// (a `swift run jax2onnx` on a fresh clone builds the CLI alone).
    public internal(set) var builtinHint: String?
    /// Claims per primitive, best first.
    let claimsByPrimitive: [String: [Claim]]

    public init(packs: [LoadedPack]) {
        self.packs = packs
        var byPrim: [String: [Claim]] = [:]
        for p in packs { for c in p.claims { byPrim[c.primitive, default: []].append(c) } }
        for (k, v) in byPrim {
            byPrim[k] = v.sorted { a, b in
                if a.priority != b.priority { return a.priority > b.priority }
                return a.pack.order < b.pack.order
            }
        }
        claimsByPrimitive = byPrim
    }

    /// Packs on the search path that could not be loaded (bad file, bad descriptor), skipped.
    public internal(set) var skipped: [HostError] = []

    /// Loads every pack on the search path, in order. A file that fails to load is skipped and
    /// remembered in `skipped` (the program may not need it; if it does, the unclaimed primitive
    /// is reported with the skipped packs); `strict` makes it an error, as it was before.
    public static func load(_ path: SearchPath, strict: Bool = false) throws -> Registry {
        let files = try path.packFiles()
        var packs: [LoadedPack] = [], skipped: [HostError] = []
        for (order, file) in files.enumerated() {
            do { packs.append(try PackLoader.load(path: file, order: order)) } catch let e as HostError where !strict {
                skipped.append(e)
            }
        }
        let r = Registry(packs: packs)
        r.skipped = skipped
        if let dir = path.builtinDirectory,
           !files.contains(where: { ($0 as NSString).lastPathComponent.hasPrefix(SearchPath.builtinPrefix) }) {
            r.builtinHint = "no built-in packs (\(SearchPath.builtinPrefix)*.so) next to the executable in \(dir): "
                + "build them with `swift build` (a bare `swift run jax2onnx` builds the CLI alone)"
        }
        return r
    }

    /// The claimants for a primitive at an opset, in the order they are tried.
    public func candidates(_ primitive: String, opset: Int) -> [Claim] {
        (claimsByPrimitive[primitive] ?? []).filter { $0.serves(opset: opset) }
    }

    public func allClaims(_ primitive: String) -> [Claim] { claimsByPrimitive[primitive] ?? [] }

    public var primitives: [String] { claimsByPrimitive.keys.sorted() }

    /// Applies one `--pack-option PACK.NAME=VALUE` to every loaded pack of that name (a user's
    /// pack that overrides a built-in one of the same name gets it too).
    public func setOption(_ spec: String) throws {
        guard let eq = spec.firstIndex(of: "="), let dot = spec[..<eq].lastIndex(of: ".") else {
            throw HostError.usage("--pack-option '\(spec)' is not PACK.NAME=VALUE (e.g. NN.strict_nan=true)")
        }
        let packName = String(spec[..<dot]), name = String(spec[spec.index(after: dot)..<eq])
        let value = String(spec[spec.index(after: eq)...])
        let targets = packs.filter { $0.name == packName }
        guard !targets.isEmpty else {
            throw HostError.usage("--pack-option \(spec): no loaded pack is named '\(packName)' (loaded: \(packs.map(\.name).joined(separator: ", ")))")
        }
        for p in targets { try p.setOption(name, to: value) }
    }
}
