import Foundation

/// The primitives the pinned JAX registers (scripts/jax-primitives.json, written by
/// scripts/jax-primitives.py from JAX's own modules), split against the loaded packs into
/// claimed, out of scope (with the file's one-line reason) and missing. The host reads names and
/// reasons only; what a primitive means stays in the packs.
public struct PrimitiveCensus {
    public let versions: [(String, String)]
    public let registered: [String]
    public let outOfScope: [String: String]
    /// Why an in-scope primitive is not lowered yet, when the list says.
    public let missingReasons: [String: String]

    public static func load(_ path: String) throws -> PrimitiveCensus {
        guard let data = FileManager.default.contents(atPath: path) else { throw HostError.io("cannot read \(path)") }
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              let entries = root["primitives"] as? [[String: Any]] else {
            throw HostError.usage("\(path) is not a primitive list written by scripts/jax-primitives.py")
        }
        var registered: [String] = [], reasons: [String: String] = [:], missing: [String: String] = [:]
        for e in entries {
            guard let name = e["primitive"] as? String else { throw HostError.usage("\(path): an entry without a primitive name") }
            registered.append(name)
            if let why = e["out_of_scope"] as? String { reasons[name] = why }
            if let why = e["missing"] as? String { missing[name] = why }
        }
        let versions = ((root["versions"] as? [String: String]) ?? [:]).sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        return PrimitiveCensus(versions: versions, registered: registered.sorted(), outOfScope: reasons, missingReasons: missing)
    }

    public func claimed(_ r: Registry) -> [String] { registered.filter { !r.allClaims($0).isEmpty } }
    public func outOfScopeUnclaimed(_ r: Registry) -> [String] { registered.filter { outOfScope[$0] != nil && r.allClaims($0).isEmpty } }
    public func missing(_ r: Registry) -> [String] { registered.filter { outOfScope[$0] == nil && r.allClaims($0).isEmpty } }

    /// The markdown section of docs/coverage.md: the three counts, the reasons, the missing names.
    func markdown(_ r: Registry) -> String {
        let claimed = claimed(r), out = outOfScopeUnclaimed(r), missing = missing(r)
        let against = versions.map { "\($0.0) \($0.1)" }.joined(separator: ", ")
        var s = "\n## Against every primitive JAX registers\n\n"
        s += "\(registered.count) primitives registered by \(against) (`scripts/jax-primitives.json`, from `scripts/jax-primitives.py`):\n\n"
        s += "| claimed | out of scope | missing |\n|---|---|---|\n| \(claimed.count) | \(out.count) | \(missing.count) |\n"
        s += "\n### Out of scope\n\n| reason | primitives |\n|---|---|\n"
        var byReason: [String: [String]] = [:]
        for p in out { byReason[outOfScope[p]!, default: []].append(p) }
        for reason in byReason.keys.sorted() {
            let names = byReason[reason]!.map { "`\($0)`" }.joined(separator: ", ")
            s += "| \(reason.replacingOccurrences(of: "|", with: "\\|")) | \(names) |\n"
        }
        s += "\n### Missing\n\n"
        if missing.isEmpty { return s + "None.\n" }
        var missingByReason: [String: [String]] = [:]
        for p in missing { missingByReason[missingReasons[p] ?? "no reason recorded", default: []].append(p) }
        s += "| why | primitives |\n|---|---|\n"
        for reason in missingByReason.keys.sorted() {
            s += "| \(reason.replacingOccurrences(of: "|", with: "\\|")) | \(missingByReason[reason]!.map { "`\($0)`" }.joined(separator: ", ")) |\n"
        }
        return s
    }
}
