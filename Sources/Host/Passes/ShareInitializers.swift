import Foundation

/// Makes initializers with identical contents one initializer (tied embeddings, repeated small
/// constants such as shapes and axes). Only tensors that share dtype and dims are compared, so
/// the byte comparison touches only real candidates; content is hashed once per candidate.
struct ShareInitializers: GraphPass {
    let name = "share-initializers"

    struct Key: Hashable {
        let dtype: DType
        let dims: [Int64]
        let hash: Int
    }

    func run(_ g: Graph, opset: Int) {
        var sameType: [[Int64]: Int] = [:]
        for (_, t) in g.initializers { sameType[t.dims, default: 0] += 1 }
        let r = Rewriter(g, opset: opset)
        var seen: [Key: [ValueID]] = [:]
        var merged = false
        for (v, t) in g.initializers where sameType[t.dims]! > 1 {
            let hash = t.bytes.withBytes { raw -> Int in
                var h = Hasher()
                h.combine(bytes: raw)
                return h.finalize()
            }
            let key = Key(dtype: t.dtype, dims: t.dims, hash: hash)
            if let twin = seen[key]?.first(where: { w in Self.equal(g.initializer(of: w)!, t) }) {
                r.replace(v, with: twin)
                merged = true
            } else {
                seen[key, default: []].append(v)
            }
        }
        if merged { r.commit() }
    }

    static func equal(_ a: Initializer, _ b: Initializer) -> Bool {
        a.bytes.withBytes { x in b.bytes.withBytes { y in x.count == y.count && (x.count == 0 || memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0) } }
    }
}
