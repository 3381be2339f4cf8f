/// Max and min pooling lower with a guard that restores JAX's NaN propagation, because ONNX
/// leaves NaN in MaxPool unspecified and ONNX Runtime keeps a NaN only when it is first in its
/// window: `Where(MaxPool(Cast(IsNaN(x))) > 0, NaN, pool)`, four extra nodes and a second pool.
/// Like the ONNX exporters of other frameworks, the default export uses MaxPool as it is: this
/// table drops the guard unless the conversion asks for strict NaN semantics (`--strict-nan`).
/// Results differ only for NaN inputs inside a pooling window.
extension Fusions {
    static let poolNaNGuards: [Fusion] = [dropGuard(op("MaxPool", v("x"), as: "pool")),
                                          dropGuard(op("Neg", op("MaxPool", v("x"), as: "pool"), as: "result"))]

    static func dropGuard(_ pooled: Pattern) -> Fusion {
        let mask = op("MaxPool", op("Cast", op("IsNaN", v("x"))), as: "maskPool")
        let pattern = op("Where", op("Greater", mask, num(0)), k("nan"), pooled)
        return Fusion(name: "drop-pool-nan-guard", minOpset: 1, pattern: pattern) { m, s in
            let window = ["kernel_shape", "strides", "dilations", "pads"]
            let maskPool = s.r.node(m.nodes["maskPool"]!), pool = s.r.node(m.nodes["pool"]!)
            guard let fill = s.r.splat(m["nan"]), fill.isNaN,
                  window.allSatisfy({ s.r.ints(maskPool, $0) == s.r.ints(pool, $0) }) else { return nil }
            // The pooled value (and its Neg) must survive: emit them anew, the match removes them.
            var y = s.emit("MaxPool", [m["x"]], pool.attributes, dtype: s.r.dtype(pool.outputs[0]), shape: s.r.shape(pool.outputs[0]))
            if m.nodes["result"] != nil { y = s.emit("Neg", [y]) }
            return y
        }
    }
}
