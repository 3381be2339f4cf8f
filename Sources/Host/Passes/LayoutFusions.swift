/// Layout left around per-example layers once they are batched (jax.vmap over Equinox's CHW
/// modules):
///
/// - a pooling window that runs over [N*C, 1, H, W] between two Reshapes is the same pooling
///   over [N, C, H, W] (pooling treats every channel alike, and both layouts hold the elements
///   in the same order), followed by the outer Reshape only when it is not to [N, C, H', W'];
/// - a Dense applied to column vectors, `transpose(W @ transpose(X) + b)` with W [out, in] and
///   b [out, 1], is `X @ W^T + b`: one Gemm with transB.
extension Fusions {
    static let layoutFusions: [Fusion] = pooledPerChannel + transposedDense

    static let pooledPerChannel: [Fusion] = ["MaxPool", "AveragePool", "LpPool"].map { pool in
        Fusion(name: "pool-per-channel", minOpset: 1,
               pattern: op("Reshape", op(pool, op("Reshape", v("x"), k("in.shape"), as: "in"), as: "pool"), k("out.shape"))) { m, s in
            let r = s.r
            let poolNode = r.node(m.nodes["pool"]!)
            guard poolNode.outputs.count == 1, let xs = r.staticShape(m["x"]), xs.count >= 3,
                  let folded = r.staticShape(r.node(m.nodes["in"]!).outputs[0]), folded.count == xs.count,
                  folded[0] == xs[0] * xs[1], folded[1] == 1, Array(folded[2...]) == Array(xs[2...]),
                  let pooled = r.staticShape(poolNode.outputs[0]), let outShape = r.staticShape(s.out) else { return nil }
            let natural = [xs[0], xs[1]] + Array(pooled[2...])
            // The outer Reshape may be the next layer's first node; the pooling stays the pool's.
            let y = s.emit(pool, [m["x"]], poolNode.attributes, shape: .some(natural.map { .known($0) }), origin: poolNode.origin)
            return outShape == natural ? y : s.emit("Reshape", [y, m["out.shape"]])
        }
    }

    static let transposedDense: [Fusion] = {
        let swapped: (Node, Rewriter) -> Bool = { n, r in r.ints(n, "perm") == [1, 0] }
        let product = op("MatMul", k("w"), op("Transpose", v("x"), where: swapped))
        return [op("Transpose", op("Add", product, k("b")), where: swapped), op("Transpose", product, where: swapped)].map {
            Fusion(name: "transposed-dense", minOpset: 13, pattern: $0) { m, s in
                let r = s.r
                guard r.dtype(m["x"]).isFloat, r.rank(m["x"]) == 2, let w = r.staticShape(m["w"]), w.count == 2,
                      let xs = r.staticShape(m["x"]), xs[1] == w[1] else { return nil }
                var inputs = [m["x"], m["w"]]
                if let bv = m.values["b"] {
                    guard let b = s.tensor(bv), b.count == Int(w[0]) || b.count == 1,
                          b.dims.count <= 2, b.dims.count < 2 || b.dims[1] == 1 else { return nil }
                    inputs.append(s.constant(HostTensor(dtype: b.dtype, dims: [Int64(b.count)], values: b.values)))
                }
                return s.emit("Gemm", inputs, [Attribute(name: "transB", value: .int(1))])
            }
        }
    }()
}
