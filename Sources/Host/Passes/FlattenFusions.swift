/// A Transpose that only reorders the features a constant weight matrix meets: `reshape(transpose(x),
/// [lead..., K]) @ W` with the leading axes left in place. Permuting W's K rows the same way lets
/// the Reshape read x directly, so the Transpose goes. This is the NHWC flatten in front of a Dense
/// layer after a convolution stack: the convolutions run NCHW and their last Transpose back to
/// NHWC only exists for the flatten.
extension Fusions {
    static let flattenTransposes: [Fusion] = {
        let flat = op("Reshape", op("Transpose", v("x"), as: "t"), k("shape"), as: "flat")
        return [
            Fusion(name: "transpose-into-weights", minOpset: 1, pattern: op("MatMul", flat, k("w"))) { m, s in
                guard let w = permutedWeights(m, s, transB: false) else { return nil }
                return s.emit("MatMul", [reshaped(m, s), s.constant(w)])
            },
            Fusion(name: "transpose-into-weights", minOpset: 1, pattern: op("Gemm", flat, k("w"), k("b"), as: "gemm")) { m, s in
                gemmWithPermutedWeights(m, s, bias: m["b"])
            },
            Fusion(name: "transpose-into-weights", minOpset: 1, pattern: op("Gemm", flat, k("w"), as: "gemm")) { m, s in
                gemmWithPermutedWeights(m, s, bias: nil)
            },
        ]
    }()

    static func reshaped(_ m: Match, _ s: FusionSite) -> ValueID {
        let flatOut = s.r.node(m.nodes["flat"]!).outputs[0]
        return s.emit("Reshape", [m["x"], m["shape"]], dtype: s.r.dtype(flatOut), shape: .some(s.r.shape(flatOut)))
    }

    static func gemmWithPermutedWeights(_ m: Match, _ s: FusionSite, bias: ValueID?) -> ValueID? {
        let gemm = s.r.node(m.nodes["gemm"]!)
        guard (s.r.int(gemm, "transA") ?? 0) == 0,
              let w = permutedWeights(m, s, transB: (s.r.int(gemm, "transB") ?? 0) != 0) else { return nil }
        return s.emit("Gemm", [reshaped(m, s), s.constant(w)] + (bias.map { [$0] } ?? []), gemm.attributes)
    }

    /// W with its K axis reordered from the transposed layout to x's own, or nil when the
    /// Transpose moves a leading axis or the shapes are not all static.
    static func permutedWeights(_ m: Match, _ s: FusionSite, transB: Bool) -> HostTensor? {
        let r = s.r
        let flatOut = r.node(m.nodes["flat"]!).outputs[0]
        guard let perm = r.ints(r.node(m.nodes["t"]!), "perm").map({ $0.map(Int.init) }),
              let xs = r.staticShape(m["x"]), let fs = r.staticShape(flatOut), fs.count >= 2, perm.count == xs.count,
              let wDims = r.constant(m["w"])?.dims, wDims.count == 2 else { return nil }
        let lead = fs.count - 1
        guard lead < xs.count, (0..<lead).allSatisfy({ perm[$0] == $0 && xs[$0] == fs[$0] }) else { return nil }
        let trailing = perm[lead...].map { $0 - lead }
        let dims = Array(xs[lead...])
        let k = dims.reduce(1, *)
        // Only now, with the layout known to fit, read the weight itself (it may be large).
        guard fs[lead] == k, wDims[transB ? 1 : 0] == k, let w = s.tensor(m["w"]) else { return nil }
        let n = w.dims[transB ? 0 : 1]
        // W's K axis, split as the transposed tensor's trailing axes, put back in x's order.
        let transposedDims = trailing.map { dims[$0] }
        let back = inversePermutation(trailing)
        if transB {
            let split = HostTensor(dtype: w.dtype, dims: [n] + transposedDims, values: w.values)
            let t = split.transposed([0] + back.map { $0 + 1 })
            return HostTensor(dtype: w.dtype, dims: [n, k], values: t.values)
        }
        let split = HostTensor(dtype: w.dtype, dims: transposedDims + [n], values: w.values)
        let t = split.transposed(back + [trailing.count])
        return HostTensor(dtype: w.dtype, dims: [k, n], values: t.values)
    }

    static func inversePermutation(_ p: [Int]) -> [Int] {
        var inv = [Int](repeating: 0, count: p.count)
        for (i, d) in p.enumerated() { inv[d] = i }
        return inv
    }
}
