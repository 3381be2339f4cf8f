import Foundation

/// Before any lowering starts, checks that every primitive in the program (nested programs
/// included) has a claimant at the target opset, and lists *all* that do not, each with the
/// source lines that use it, so a user fixes everything in one round.
public enum Preflight {
    public struct Unclaimed {
        public var primitive: String
        public var locations: [SourceLocation?]
        /// Opsets at which some pack would lower it, when there are any.
        public var otherOpsets: [String]
    }

    public static func unclaimed(_ program: Jaxpr, registry: Registry, opset: Int) -> [Unclaimed] {
        var order: [String] = []
        var byPrimitive: [String: Unclaimed] = [:]
        var known: [String: Bool] = [:]
        program.forEachEquation { e in
            let ok: Bool
            if let k = known[e.primitive] { ok = k } else {
                ok = !registry.candidates(e.primitive, opset: opset).isEmpty
                known[e.primitive] = ok
            }
            guard !ok else { return }
            if byPrimitive[e.primitive] == nil {
                order.append(e.primitive)
                byPrimitive[e.primitive] = Unclaimed(primitive: e.primitive, locations: [],
                                                     otherOpsets: registry.allClaims(e.primitive).map { "\($0.pack.label) at opsets \($0.opsetRange)" })
            }
            byPrimitive[e.primitive]!.locations.append(e.source)
        }
        return order.map { byPrimitive[$0]! }
    }

    /// The error lines for a set of unclaimed primitives.
    public static func report(_ missing: [Unclaimed], opset: Int) -> [String] {
        let width = missing.map(\.primitive.count).max() ?? 0
        var lines = ["\(missing.count) primitive\(missing.count == 1 ? " has" : "s have") no lowering at opset \(opset):"]
        for m in missing {
            var seen = Set<String>()
            let places = m.locations.map { $0?.description ?? "unknown location" }.filter { seen.insert($0).inserted }
            let shown = places.prefix(8).joined(separator: ", ")
            let more = places.count > 8 ? " and \(places.count - 8) more" : ""
            var line = "  " + m.primitive.padding(toLength: width, withPad: " ", startingAt: 0) + "  at " + shown + more
            if !m.otherOpsets.isEmpty { line += " (claimed by " + m.otherOpsets.joined(separator: "; ") + ")" }
            lines.append(line)
        }
        return lines
    }
}
