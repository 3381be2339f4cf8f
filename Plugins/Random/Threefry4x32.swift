import PluginKit

/// Threefry-4x32 with 20 rounds (Skein's schedule), the block cipher under JAX's threefry4x32
/// PRNG impl: add-rotate-xor mixing of word pairs that alternate each round, and a key injection
/// (with the injection number added) after every fourth round.
func threefry4x32Lowering() -> Lowering {
    Lowering("threefry4x32", emits: ["Add", "Expand"] + GraphBuilder.bitwiseOps, dtypes: [.u32],
             note: "20-round Threefry-4x32 in uint32 arithmetic") { eqn, g in
        let shape = try eqn.output(0).shape
        let t = Threefry(g: g, shape: shape)
        let i = try (0..<8).map { try eqn.input($0) }
        let parity = try t.xor(t.xor(t.xor(i[0], i[1]), t.xor(i[2], i[3])), t.u32(Threefry.parity))
        let ks = Array(i[0..<4]) + [parity]
        var x = try (0..<4).map { try t.add(i[4 + $0], ks[$0]) }
        for round in 0..<20 {
            let (r0, r1) = rotations4x32[round % 8]
            // Even rounds mix (x0, x1) and (x2, x3); odd rounds (x0, x3) and (x2, x1).
            let (p, q) = round % 2 == 0 ? (1, 3) : (3, 1)
            x[0] = try t.add(x[0], x[p]); x[p] = try t.xor(x[0], t.rotl(x[p], r0))
            x[2] = try t.add(x[2], x[q]); x[q] = try t.xor(x[2], t.rotl(x[q], r1))
            if round % 4 == 3 {
                let j = round / 4
                for w in 0..<4 { x[w] = try t.add(x[w], ks[(1 + j + w) % 5]) }
                x[3] = try t.add(x[3], t.u32(UInt32(1 + j)))
            }
        }
        return try x.map { try g.expand($0, shape) }
    }
}

private let rotations4x32: [(UInt32, UInt32)] = [(10, 26), (11, 21), (13, 27), (23, 5), (6, 20), (17, 11), (25, 10), (18, 20)]
