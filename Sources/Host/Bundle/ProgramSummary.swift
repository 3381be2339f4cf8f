/// A one-line, canonical text of a nested program, handed to packs as the `param_string` of a
/// JAXPR / CLOSED_JAXPR param, so a pack can recognise a simple body (reduce_window's `max` of
/// its two operands) without the ABI exposing the program's structure. Names are positional:
/// constvars `c0..`, invars `i0..`, equation results `v0..` in order; literals print their value.
/// Equation params are not shown. Example: `(i0, i1) { v0 = max(i0, i1) } (v0)`.
extension Jaxpr {
    public var summary: String {
        var names: [Int: String] = [:]
        for (k, v) in constvars.enumerated() { names[v.id] = "c\(k)" }
        for (k, v) in invars.enumerated() { names[v.id] = "i\(k)" }
        var next = 0
        func atom(_ a: Atom) -> String {
            switch a {
            case let .variable(id): return names[id] ?? "?"
            case let .literal(l):
                switch l.value {
                case let .int(v): return String(v)
                case let .double(v): return String(v)
                case let .bool(v): return String(v)
                case .tensor: return "tensor"
                }
            }
        }
        var body: [String] = []
        for e in equations {
            let outs = e.outputs.map { o -> String in
                let n = "v\(next)"
                next += 1
                if let id = o.id { names[id] = n }
                return n
            }
            body.append("\(outs.joined(separator: ", ")) = \(e.primitive)(\(e.inputs.map(atom).joined(separator: ", ")))")
        }
        let ins = (constvars.indices.map { "c\($0)" } + invars.indices.map { "i\($0)" }).joined(separator: ", ")
        return "(\(ins)) { \(body.joined(separator: "; ")) } (\(outvars.map(atom).joined(separator: ", ")))"
    }
}
