import Foundation
import J2OPluginABI

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
        scan(program, registry: registry, opset: opset).unclaimed
    }

    /// The unclaimed primitives and the number of equations (nested ones included), in one walk.
    public static func scan(_ program: Jaxpr, registry: Registry, opset: Int) -> (unclaimed: [Unclaimed], equations: Int) {
        var order: [String] = []
        var byPrimitive: [String: Unclaimed] = [:]
        var known: [String: Bool] = [:]
        var count = 0
        // Deep models repeat a handful of primitives: most equations match the previous one's.
        var last = "", lastOK = true
        forEachEquation(program) { e in
            count += 1
            let ok: Bool
            if e.primitive == last { ok = lastOK } else if let k = known[e.primitive] { ok = k } else {
                ok = !registry.candidates(e.primitive, opset: opset).isEmpty
                known[e.primitive] = ok
            }
            last = e.primitive; lastOK = ok
            guard !ok else { return }
            if byPrimitive[e.primitive] == nil {
                order.append(e.primitive)
                byPrimitive[e.primitive] = Unclaimed(primitive: e.primitive, locations: [],
                                                     otherOpsets: registry.allClaims(e.primitive).map { "\($0.pack.label) at opsets \($0.opsetRange)" })
            }
            byPrimitive[e.primitive]!.locations.append(e.source)
        }
        return (order.map { byPrimitive[$0]! }, count)
    }

    /// Every equation here and in nested programs, depth first (as Jaxpr.forEachEquation), looking
    /// only into the kinds of params that can hold a program: most params are leaves.
    static func forEachEquation(_ j: Jaxpr, _ body: (Equation) -> Void) {
        for e in j.equations {
            body(e)
            forEachProgram(e.params) { forEachEquation($0, body) }
        }
    }

    static func forEachProgram(_ p: ParamNode, _ body: (Jaxpr) -> Void) {
        switch p.kind {
        case J2O_PARAM_JAXPR: if let j = p.jaxpr { body(j) }
        case J2O_PARAM_CLOSED_JAXPR: if let c = p.closedJaxpr { body(c.jaxpr) }
        case J2O_PARAM_LIST, J2O_PARAM_RECORD, J2O_PARAM_DICT:
            for item in p.items { forEachProgram(item, body) }
        default: return
        }
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
