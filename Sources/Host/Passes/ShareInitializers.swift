import Foundation

/// Makes initializers with identical contents one initializer (tied embeddings, repeated small
/// constants such as shapes and axes). Only tensors that share dtype and dims are candidates; a
/// hash of a few sampled windows picks likely twins, and only those are compared in full, so big
/// distinct weights are never read end to end.
struct ShareInitializers: GraphPass {
    let name = "share-initializers"

    /// dtype, dims and a sample of the bytes, hashed into one word; the dims and bytes of a likely
    /// twin are compared in full, so a collision costs a comparison, never a wrong merge.
    func run(_ g: Graph, opset: Int) {
        let count = g.initializers.count
        var dimsHash = [Int](repeating: 0, count: count)
        var sameDims: [Int: Int] = [:]
        sameDims.reserveCapacity(count)
        for k in 0..<count {
            var h = 0x51_7CC1_B727_220A
            for d in g.initializers[k].tensor.dims { h = CommonSubexpressions.mix(h, Int(truncatingIfNeeded: d)) }
            dimsHash[k] = h
            sameDims[h, default: 0] += 1
        }
        let r = Rewriter(g, opset: opset)
        var seen: [Int: [Int]] = [:]
        seen.reserveCapacity(count)
        var merged = false
        for k in 0..<count where sameDims[dimsHash[k]]! > 1 {
            let (v, t) = g.initializers[k]
            let sample = t.bytes.withBytes { raw -> Int in
                let window = 256
                if raw.count <= 4 * window { return Self.hash(raw) }
                var h = 0
                for j in 0..<4 {
                    let start = (raw.count - window) * j / 3
                    h = CommonSubexpressions.mix(h, Self.hash(UnsafeRawBufferPointer(rebasing: raw[start..<(start + window)])))
                }
                return h
            }
            let key = CommonSubexpressions.mix(CommonSubexpressions.mix(dimsHash[k], Int(t.dtype.rawValue)), sample)
            if let twin = seen[key]?.first(where: { w in
                let u = g.initializers[w].tensor
                return u.dtype == t.dtype && u.dims == t.dims && Self.equal(u, t)
            }) {
                r.replace(v, with: g.initializers[twin].value)
                merged = true
            } else {
                seen[key, default: []].append(k)
            }
        }
        if merged { r.commit() }
    }

    /// FNV-1a over the bytes, eight at a time: the tensors here are small, so a cheap hash beats
    /// a strong one.
    static func hash(_ raw: UnsafeRawBufferPointer) -> Int {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        var i = 0
        while i + 8 <= raw.count {
            h = (h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0x100_0000_01B3
            i += 8
        }
        while i < raw.count { h = (h ^ UInt64(raw[i])) &* 0x100_0000_01B3; i += 1 }
        return Int(truncatingIfNeeded: h ^ (h >> 32))
    }

    static func equal(_ a: Initializer, _ b: Initializer) -> Bool {
        a.bytes.withBytes { x in b.bytes.withBytes { y in x.count == y.count && (x.count == 0 || memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0) } }
    }
}
