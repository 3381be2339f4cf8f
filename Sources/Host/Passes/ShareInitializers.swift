import Foundation

/// Makes initializers with identical contents one initializer (tied embeddings, repeated small
/// constants such as shapes and axes). Only tensors that share dtype and dims are candidates; a
/// hash of a few sampled windows picks likely twins, and only those are compared in full, so big
/// distinct weights are never read end to end.
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
                let window = 256
                if raw.count <= 4 * window {
                    h.combine(bytes: raw)
                } else {
                    for k in 0..<4 {
                        let start = (raw.count - window) * k / 3
                        h.combine(bytes: UnsafeRawBufferPointer(rebasing: raw[start..<(start + window)]))
                    }
                }
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
