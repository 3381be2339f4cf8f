/// Merges nodes that compute the same thing: same op, same (already merged) inputs, same
/// attributes. One forward sweep with a hash table, so chains of duplicates collapse in order.
/// Ops with hidden state or randomness are never merged.
struct CommonSubexpressions: GraphPass {
    let name = "common-subexpressions"
    static let impure: Set<String> = ["RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike",
                                      "Bernoulli", "Multinomial", "Dropout"]

    struct Key: Hashable {
        let op: String
        let inputs: [ValueID]
        let attributes: String
    }

    func run(_ g: Graph, opset: Int) {
        let r = Rewriter(g, opset: opset)
        var seen: [Key: Int] = [:]
        for i in 0..<g.nodes.count {
            let n = g.nodes[i]
            guard !Self.impure.contains(n.op), let attrs = Self.describe(n.attributes) else { continue }
            let key = Key(op: n.op, inputs: n.inputs.map { $0 == 0 ? 0 : r.resolve($0) }, attributes: attrs)
            if let first = seen[key] {
                r.remove(i)
                for (a, b) in zip(n.outputs, g.nodes[first].outputs) { r.replace(a, with: b) }
            } else {
                seen[key] = i
            }
        }
        r.commit()
    }

    /// A canonical text of the attributes; nil for attributes not compared (graphs, tensors).
    static func describe(_ attributes: [Attribute]) -> String? {
        if attributes.isEmpty { return "" }
        var parts: [String] = []
        for a in attributes.sorted(by: { $0.name < $1.name }) {
            switch a.value {
            case let .int(x): parts.append("\(a.name)=i\(x)")
            case let .float(x): parts.append("\(a.name)=f\(x.bitPattern)")
            case let .string(x): parts.append("\(a.name)=s\(x)")
            case let .ints(x): parts.append("\(a.name)=I\(x)")
            case let .floats(x): parts.append("\(a.name)=F\(x.map(\.bitPattern))")
            default: return nil
            }
        }
        return parts.joined(separator: ";")
    }
}
