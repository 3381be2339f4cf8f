/// Layout left around per-example layers once they are batched (jax.vmap over Equinox's CHW
/// modules):
///
/// - a pooling window that runs over [N*C, 1, H, W] between two Reshapes is the same pooling
///   over [N, C, H, W] (pooling treats every channel alike, and both layouts hold the elements
///   in the same order), followed by the outer Reshape only when it is not to [N, C, H', W'];
/// - a Dense applied to column vectors, `transpose(W @ transpose(X) + b)` with W [out, in] and
///   b [out, 1], is `X @ W^T + b`: one Gemm with transB;
/// - the same Dense vmapped over more than one axis (Equinox's Linear over a sequence): X
///   [..., in] rotated to [in, ...] and flattened to [in, M], then W @ it reshaped to [out, ...],
///   plus b [out, 1, ..., 1], rotated back to [..., out], is `X @ W^T + b` on X itself: the 3-D
///   MatMul and Add every other spelling of that layer optimizes to.
extension Fusions {
    static let layoutFusions: [Fusion] = pooledPerChannel + transposedDense + transposedBatchedDense

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

    static let transposedBatchedDense: [Fusion] = {
        // perm [r-1, 0, ..., r-2] moves the feature axis first; [1, ..., r-1, 0] moves it back.
        let featuresFirst: (Node, Rewriter) -> Bool = { n, r in
            guard let p = r.ints(n, "perm"), p.count >= 3 else { return false }
            let rotated: [Int] = [p.count - 1] + Array(0..<(p.count - 1))
            return p.map { Int($0) } == rotated
        }
        let featuresLast: (Node, Rewriter) -> Bool = { n, r in
            guard let p = r.ints(n, "perm"), p.count >= 3 else { return false }
            let rotated: [Int] = Array(1..<p.count) + [0]
            return p.map { Int($0) } == rotated
        }
        let flat = op("Reshape", op("Transpose", v("x"), where: featuresFirst), k("flat.shape"), as: "flat")
        let product = op("Reshape", op("MatMul", k("w"), flat), k("out.shape"), as: "product")
        return [op("Transpose", op("Add", product, k("b")), where: featuresLast), op("Transpose", product, where: featuresLast)].map {
            Fusion(name: "transposed-dense", minOpset: 13, pattern: $0, build: batchedDense)
        }
    }()

    static func batchedDense(_ m: Match, _ s: FusionSite) -> ValueID? {
        let r = s.r
        guard r.dtype(m["x"]).isFloat, let xs = r.staticShape(m["x"]), xs.count >= 3,
              let w = s.tensor(m["w"]), w.dims.count == 2, w.dims[1] == xs[xs.count - 1],
              let flat = r.staticShape(r.node(m.nodes["flat"]!).outputs[0]),
              let product = r.staticShape(r.node(m.nodes["product"]!).outputs[0]) else { return nil }
        let batch = Array(xs.dropLast())
        guard flat == [xs[xs.count - 1], batch.reduce(1, *)], product == [w.dims[0]] + batch else { return nil }
        var y = s.emit("MatMul", [m["x"], s.constant(w.transposed([1, 0]))],
                       shape: .some((batch + [w.dims[0]]).map { .known($0) }))
        if let bv = m.values["b"] {
            // b must vary along the output features only: [out, 1, ..., 1], [out] or a scalar.
            guard let b = s.tensor(bv), b.count == Int(w.dims[0]) || b.count == 1,
                  b.dims.count <= xs.count, b.dims.dropFirst().allSatisfy({ $0 == 1 }) else { return nil }
            let bias = b.count == 1 ? b.with(dims: []) : b.with(dims: [Int64(b.count)])
            y = s.emit("Add", [y, s.constant(bias)])
        }
        return y
    }
}
