/// Merges nodes that compute the same thing: same op, same (already merged) inputs, same
/// attributes. One forward sweep with a hash table, so chains of duplicates collapse in order.
/// Ops with hidden state or randomness are never merged.
///
/// The table is open addressing over node indices, keyed by a hash of op, resolved inputs and
/// attributes, and compared against the stored node itself: no key is ever built, so a graph of
/// tens of thousands of nodes costs no allocation per node.
struct CommonSubexpressions: GraphPass {
    let name = "common-subexpressions"
    static let impure: Set<String> = ["RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike",
                                      "Bernoulli", "Multinomial", "Dropout"]

    func run(_ g: Graph, opset: Int) {
        let r = Rewriter(g, opset: opset)
        var capacity = 16
        while capacity < 2 * g.nodes.count { capacity <<= 1 }
        let mask = capacity - 1
        var slotNode = [Int32](repeating: -1, count: capacity)
        var slotHash = [Int](repeating: 0, count: capacity)
        for i in 0..<g.nodes.count {
            let n = g.nodes[i]
            guard !Self.impure.contains(n.op), let attrHash = Self.attributeHash(n.attributes) else { continue }
            var h = Self.hash(n.op) ^ (attrHash &* 0x1E37_79B9_7F4A_7C15)
            for v in n.inputs { h = Self.mix(h, Int(v == 0 ? 0 : r.resolve(v))) }
            var slot = h & mask
            var first = -1
            while slotNode[slot] >= 0 {
                let k = Int(slotNode[slot])
                if slotHash[slot] == h, Self.same(n, g.nodes[k], r) { first = k; break }
                slot = (slot + 1) & mask
            }
            if first >= 0 {
                r.remove(i)
                for (a, b) in zip(n.outputs, g.nodes[first].outputs) { r.replace(a, with: b) }
            } else {
                slotNode[slot] = Int32(i)
                slotHash[slot] = h
            }
        }
        r.commit()
    }

    static func mix(_ h: Int, _ x: Int) -> Int { (h ^ x) &* 0x100_0000_01B3 &+ (h >> 29) }

    static func hash(_ s: String) -> Int {
        var h = 0x2545_F491_4F6C_DD1D
        for b in s.utf8 { h = mix(h, Int(b)) }
        return h
    }

    static func same(_ a: Node, _ b: Node, _ r: Rewriter) -> Bool {
        guard a.op == b.op, a.inputs.count == b.inputs.count, a.attributes.count == b.attributes.count else { return false }
        for (x, y) in zip(a.inputs, b.inputs) where (x == 0 ? 0 : r.resolve(x)) != (y == 0 ? 0 : r.resolve(y)) { return false }
        for x in a.attributes {
            guard let y = b.attributes.first(where: { $0.name == x.name }), equal(x.value, y.value) else { return false }
        }
        return true
    }

    static func equal(_ a: AttributeValue, _ b: AttributeValue) -> Bool {
        switch (a, b) {
        case let (.int(x), .int(y)): return x == y
        case let (.float(x), .float(y)): return x.bitPattern == y.bitPattern
        case let (.string(x), .string(y)): return x == y
        case let (.ints(x), .ints(y)): return x == y
        case let (.floats(x), .floats(y)): return x.count == y.count && zip(x, y).allSatisfy { $0.bitPattern == $1.bitPattern }
        default: return false
        }
    }

    /// An order-independent hash of the attributes; nil for attributes not compared (graphs, tensors).
    static func attributeHash(_ attributes: [Attribute]) -> Int? {
        var total = 0
        for a in attributes {
            var h = hash(a.name)
            switch a.value {
            case let .int(x): h = mix(mix(h, 1), Int(truncatingIfNeeded: x))
            case let .float(x): h = mix(mix(h, 2), Int(x.bitPattern))
            case let .string(x): h = mix(h, 3); for b in x { h = mix(h, Int(b)) }
            case let .ints(x): h = mix(h, 4); for e in x { h = mix(h, Int(truncatingIfNeeded: e)) }
            case let .floats(x): h = mix(h, 5); for e in x { h = mix(h, Int(e.bitPattern)) }
            default: return nil
            }
            total &+= h
        }
        return total
    }
}
