/// All loaded packs and their claims, with the dispatch rule of the design: for a primitive at an
/// opset, the claim with the highest priority wins; on a tie the pack found earlier on the search
/// path wins. Later claimants stay in line behind it (tried when the winner declines) and are
/// reported as shadowed.
public final class Registry {
    public let packs: [LoadedPack]
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

    /// Loads every pack on the search path, in order. Any file that fails to load is an error.
    public static func load(_ path: SearchPath) throws -> Registry {
        let files = try path.packFiles()
        return Registry(packs: try files.enumerated().map { try PackLoader.load(path: $1, order: $0) })
    }

    /// The claimants for a primitive at an opset, in the order they are tried.
    public func candidates(_ primitive: String, opset: Int) -> [Claim] {
        (claimsByPrimitive[primitive] ?? []).filter { $0.serves(opset: opset) }
    }

    public func allClaims(_ primitive: String) -> [Claim] { claimsByPrimitive[primitive] ?? [] }

    public var primitives: [String] { claimsByPrimitive.keys.sorted() }
}
