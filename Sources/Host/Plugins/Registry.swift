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
        return r
    }

    /// The claimants for a primitive at an opset, in the order they are tried.
    public func candidates(_ primitive: String, opset: Int) -> [Claim] {
        (claimsByPrimitive[primitive] ?? []).filter { $0.serves(opset: opset) }
    }

    public func allClaims(_ primitive: String) -> [Claim] { claimsByPrimitive[primitive] ?? [] }

    public var primitives: [String] { claimsByPrimitive.keys.sorted() }
}
