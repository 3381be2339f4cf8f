/// Value names: the user's names for graph inputs and outputs, short generated ones (`v<id>`)
/// elsewhere. Value ids are unique across the model's subgraphs, so generated names never clash
/// between a subgraph and the graphs enclosing it; a generated name that a user name already
/// takes gets a suffix.
///
/// Only the few values with a non-generated name are looked up; every other name is written as
/// `v` and the id's digits straight into the output, so naming costs no string per value.
struct ValueNames {
    /// Names that are not `v<id>`: graph inputs and outputs, and the rare generated name that had
    /// to dodge a user name.
    private var special: [ValueID: String] = [:]
    /// Whether `special` has an entry for the value, so the common case skips hashing.
    private var isSpecial: [Bool]

    init(_ g: Graph) {
        isSpecial = [Bool](repeating: false, count: g.values.count)
        for (v, n) in g.inputs { special[v] = n }
        for (v, n) in g.outputs { special[v] = n }
        let taken = Set(special.values)
        // A user name spelled exactly like a generated one pushes that value's name aside.
        for name in taken {
            guard name.utf8.first == UInt8(ascii: "v"), let id = ValueID(name.dropFirst()),
                  "v\(id)" == name, Int(id) < g.values.count, special[id] == nil else { continue }
            var n = name
            while taken.contains(n) { n += "_" }
            special[id] = n
        }
        for v in special.keys where Int(v) < isSpecial.count { isSpecial[Int(v)] = true }
    }

    /// The value's name, for the few places that need a String.
    func name(_ v: ValueID) -> String {
        if Int(v) < isSpecial.count, isSpecial[Int(v)], let n = special[v] { return n }
        return "v\(v)"
    }

    /// Writes the value's name as string field `field`.
    @inline(__always)
    func write(_ v: ValueID, field: Int, to e: inout ProtoEncoder) {
        if Int(v) < isSpecial.count, isSpecial[Int(v)], let n = special[v] {
            e.string(field, n)
        } else {
            e.string(field, prefix: "v", UInt64(v))
        }
    }
}
