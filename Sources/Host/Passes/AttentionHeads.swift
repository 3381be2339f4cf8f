/// Attention over heads split out of a hidden axis: `Reshape` of q, k and v from [..., H*D] to
/// [B, S, H, D], `Transpose` to [B, H, S, D], the 4-D Attention, then `Transpose` back and a
/// `Reshape` that merges the heads again. That is what every multi-head attention layer writes
/// around its scaled dot product. Opset 23's Attention takes the 3-D form [B, S, H*D] itself
/// (q_num_heads, kv_num_heads), so the four Transposes go: in ONNX Runtime 1.32 the 3-D kernel
/// is about 40% faster than the 4-D one with its transposes at BERT-base-like sizes
/// (B 2, S 32, 4 heads of 16). A scalar Mul of q between the Reshape and the Transpose
/// (the 1/sqrt(D) many layers apply to q) folds into the kernel's scale.
///
/// These run after LayoutChains, which composes the fusion's own key transpose with the layer's,
/// and after DeadCode, so the transposes it replaced no longer count as readers.
extension Fusions {
    static let attentionHeads: [Fusion] = {
        let heads: (Node, Rewriter) -> Bool = { n, r in r.ints(n, "perm") == [0, 2, 1, 3] }
        func split(_ name: String) -> Pattern {
            op("Transpose", op("Reshape", v(name), k(name + ".shape"), as: name + ".split"), where: heads)
        }
        let scaledQ = op("Transpose", op("Mul", op("Reshape", v("q"), k("q.shape"), as: "q.split"), k("q.scale"), as: "q.mul"), where: heads)
        var out: [Fusion] = []
        for q in [split("q"), scaledQ] {
            for attention in [op("Attention", q, split("k"), split("v"), v("mask"), as: "attention"),
                              op("Attention", q, split("k"), split("v"), as: "attention")] {
                out.append(Fusion(name: "attention-heads", minOpset: 23,
                                  pattern: op("Reshape", op("Transpose", attention, where: heads), k("out.shape")),
                                  build: attentionHeadsBuild))
            }
        }
        return out
    }()

    static func attentionHeadsBuild(_ m: Match, _ s: FusionSite) -> ValueID? {
        let r = s.r
        let attention = r.node(m.nodes["attention"]!)
        // Only the plain form the attention fusion emits: a scale and nothing else.
        guard attention.outputs.count == 1, attention.attributes.allSatisfy({ $0.name == "scale" }),
              case let .float(scale)? = attention.attribute("scale"),
              let qs = r.staticShape(r.node(m.nodes["q.split"]!).outputs[0]),
              let ks = r.staticShape(r.node(m.nodes["k.split"]!).outputs[0]),
              let vs = r.staticShape(r.node(m.nodes["v.split"]!).outputs[0]),
              qs.count == 4, ks.count == 4, vs.count == 4, qs[0] == ks[0], ks[0] == vs[0],
              ks[1] == vs[1], ks[2] == vs[2], qs[3] == ks[3], ks[2] > 0, qs[2] % ks[2] == 0 else { return nil }
        var factor = 1.0
        if let c = m.values["q.scale"] {
            guard let x = r.splat(c), x.isFinite else { return nil }
            factor = x
        }
        func hidden(_ x: ValueID, _ shape: [Int64]) -> ValueID {
            let target = [shape[0], shape[1], shape[2] * shape[3]]
            let dims = s.constant(HostTensor(dtype: .i64, dims: [3], exact: target))
            return s.emit("Reshape", [x, dims], dtype: r.dtype(x), shape: .some(target.map { .known($0) }))
        }
        var inputs = [hidden(m["q"], qs), hidden(m["k"], ks), hidden(m["v"], vs)]
        if let mask = m.values["mask"] { inputs.append(mask) }
        let merged = [qs[0], qs[1], qs[2] * vs[3]]
        let y = s.emit("Attention", inputs, [
            Attribute(name: "q_num_heads", value: .int(qs[2])), Attribute(name: "kv_num_heads", value: .int(ks[2])),
            Attribute(name: "scale", value: .float(Float(Double(scale) * factor))),
        ], shape: .some(merged.map { .known($0) }))
        return s.emit("Reshape", [y, m["out.shape"]])
    }
}
