import Foundation

/// The fusion table: decomposed forms the lowering produces (whatever library built the model)
/// and the single ONNX op that computes the same thing, with the opset where that op exists.
/// Patterns are written as the formulas they recognise; see Pattern.swift for the notation.
enum Fusions {
    static let all: [Fusion] = [hardSwish, hardSigmoid, relu6, leakyRelu, relu, geluTanh, geluTanhHalfFirst, geluTanhCanonical] + geluErfs + geluErfcs + activationFusions + [softmax, logSoftmax, reshapedSoftmax]
        + layerNorms + rmsNorms + attention + affineFolds + layoutFusions + [gemm, convBias] + flattenTransposes

    // MARK: activations

    static let relu = Fusion(name: "relu", minOpset: 14, pattern: op("Max", v("x"), num(0))) { m, s in
        s.r.dtype(m["x"]).isFloat && s.r.sameShape(m["x"], s.out) ? s.emit("Relu", [m["x"]]) : nil
    }

    /// relu6(x + 3) / 6, jax.nn.hard_sigmoid.
    static let hardSigmoidPattern = op("Div", op("Min", op("Relu", op("Add", v("x"), num(3))), num(6)), num(6))

    static func elementwise(_ m: Match, _ s: FusionSite) -> Bool { s.r.dtype(m["x"]).isFloat && s.r.sameShape(m["x"], s.out) }

    static let hardSigmoid = Fusion(name: "hard-sigmoid", minOpset: 6, pattern: hardSigmoidPattern) { m, s in
        elementwise(m, s) ? s.emit("HardSigmoid", [m["x"]], [Attribute(name: "alpha", value: .float(1.0 / 6)),
                                                             Attribute(name: "beta", value: .float(0.5))]) : nil
    }

    /// x * hard_sigmoid(x), jax.nn.hard_swish.
    static let hardSwish = Fusion(name: "hard-swish", minOpset: 14, pattern: op("Mul", v("x"), hardSigmoidPattern)) { m, s in
        elementwise(m, s) ? s.emit("HardSwish", [m["x"]]) : nil
    }

    /// min(relu(x), 6) as one Clip.
    static let relu6 = Fusion(name: "relu6", minOpset: 13, pattern: op("Min", op("Relu", v("x")), num(6))) { m, s in
        guard elementwise(m, s) else { return nil }
        let lo = s.constant(HostTensor(dtype: s.dtype, dims: [], values: [0]))
        let hi = s.constant(HostTensor(dtype: s.dtype, dims: [], values: [6]))
        return s.emit("Clip", [m["x"], lo, hi])
    }

    /// where(x >= 0, x, alpha * x), jax.nn.leaky_relu.
    static let leakyRelu = Fusion(name: "leaky-relu", minOpset: 6,
                                  pattern: op("Where", op("GreaterOrEqual", v("x"), num(0)), v("x"), op("Mul", v("x"), k("alpha")))) { m, s in
        guard elementwise(m, s), let alpha = s.r.splat(m["alpha"]) else { return nil }
        return s.emit("LeakyRelu", [m["x"]], [Attribute(name: "alpha", value: .float(Float(alpha)))])
    }

    /// x^3 as the lowering writes it.
    static func cube(_ x: Pattern) -> Pattern {
        .either([op("Mul", x, op("Mul", x, x)), op("Pow", x, num(3))])
    }

    /// tanh(sqrt(2/pi) * (x + 0.044715 x^3)), the inner part of the tanh-approximated gelu.
    static let geluTanhInner = op("Tanh", op("Mul", num(0.7978845608028654), op("Add", v("x"), op("Mul", num(0.044715), cube(v("x"))))))

    static func gelu(_ m: Match, _ s: FusionSite, _ approximate: String) -> ValueID? {
        guard s.r.dtype(m["x"]).isFloat, s.r.sameShape(m["x"], s.out) else { return nil }
        return s.emit("Gelu", [m["x"]], [Attribute(name: "approximate", value: .string(Array(approximate.utf8)))])
    }

    /// jax.nn.gelu(approximate=True): x * (0.5 * (1 + tanh(...))).
    static let geluTanh = Fusion(name: "gelu-tanh", minOpset: 20,
                                 pattern: op("Mul", v("x"), op("Mul", num(0.5), op("Add", num(1), geluTanhInner)))) { m, s in
        gelu(m, s, "tanh")
    }

    /// (x * (1 + tanh(...))) * 0.5, the canonical order (constant factors outermost).
    static let geluTanhCanonical = Fusion(name: "gelu-tanh", minOpset: 20,
                                          pattern: op("Mul", op("Mul", v("x"), op("Add", num(1), geluTanhInner)), num(0.5))) { m, s in
        gelu(m, s, "tanh")
    }

    /// (0.5 * x) * (1 + tanh(...)), the order other libraries write it in.
    static let geluTanhHalfFirst = Fusion(name: "gelu-tanh", minOpset: 20,
                                          pattern: op("Mul", op("Mul", num(0.5), v("x")), op("Add", num(1), geluTanhInner))) { m, s in
        gelu(m, s, "tanh")
    }

    /// 1 + erf(x / sqrt 2).
    static let onePlusErf = op("Add", num(1), op("Erf", .either([op("Mul", v("x"), num(0.7071067811865476)),
                                                                 op("Div", v("x"), num(1.4142135623730951))])))

    /// x * 0.5 * (1 + erf(x / sqrt 2)) in its usual spellings.
    static let geluErfs: [Fusion] = [
        op("Mul", op("Mul", num(0.5), v("x")), onePlusErf),
        op("Mul", v("x"), op("Mul", num(0.5), onePlusErf)),
        op("Mul", op("Mul", v("x"), onePlusErf), num(0.5)),
    ].map { Fusion(name: "gelu-erf", minOpset: 20, pattern: $0) { m, s in gelu(m, s, "none") } }

    // MARK: normalisations

    static func reduce(_ kind: String, _ x: Pattern, as name: String) -> Pattern {
        .either([op(kind, x, k(name + ".axes"), as: name), op(kind, x, as: name)])
    }

    /// softmax(x) = exp(x - max(x)) / sum(exp(x - max(x))), over one axis, keepdims.
    static let softmax = Fusion(name: "softmax", minOpset: 13,
                                pattern: op("Div", op("Exp", op("Sub", v("x"), reduce("ReduceMax", v("x"), as: "max")), as: "e"),
                                            reduce("ReduceSum", op("Exp", op("Sub", v("x"), reduce("ReduceMax", v("x"), as: "max")), as: "e"), as: "sum"))) { m, s in
        guard let axis = singleAxis(m, s, ["max", "sum"]) else { return nil }
        return s.emit("Softmax", [m["x"]], [Attribute(name: "axis", value: .int(Int64(axis)))])
    }

    /// log_softmax(x) = (x - max) - log(sum(exp(x - max))).
    static let logSoftmax = Fusion(name: "log-softmax", minOpset: 13,
                                   pattern: op("Sub", op("Sub", v("x"), reduce("ReduceMax", v("x"), as: "max"), as: "shifted"),
                                               op("Log", reduce("ReduceSum", op("Exp", op("Sub", v("x"), reduce("ReduceMax", v("x"), as: "max"), as: "shifted")), as: "sum")))) { m, s in
        guard let axis = singleAxis(m, s, ["max", "sum"]) else { return nil }
        return s.emit("LogSoftmax", [m["x"]], [Attribute(name: "axis", value: .int(Int64(axis)))])
    }

    /// The one axis every named reduction reduces, all with keepdims, on a float x of the root's shape.
    static func singleAxis(_ m: Match, _ s: FusionSite, _ names: [String]) -> Int? {
        guard s.r.dtype(m["x"]).isFloat, s.r.sameShape(m["x"], s.out) else { return nil }
        var axis: Int?
        for n in names {
            let node = s.r.node(m.nodes[n]!)
            guard s.r.keepDims(node), let axes = s.r.reduceAxes(node), axes.count == 1 else { return nil }
            if let a = axis, a != axes[0] { return nil }
            axis = axes[0]
        }
        return axis
    }

    /// mean(x) over trailing axes: ReduceMean (Canonicalize turns sum / n into it), or sum / n
    /// where the sum has other readers; the reduced axes kept either by the reduction or by a
    /// Reshape/Unsqueeze after it. The reduction is bound as `name.sum`.
    static func mean(_ x: Pattern, _ name: String) -> (kept: Pattern, flat: Pattern) {
        let flat = Pattern.either([reduce("ReduceMean", x, as: name + ".sum"),
                                   op("Div", reduce("ReduceSum", x, as: name + ".sum"), k(name + ".n"), as: name)])
        let kept = Pattern.either([op("Reshape", flat, k(name + ".shape")), op("Unsqueeze", flat, k(name + ".axes2")), flat])
        return (kept, flat)
    }

    static func square(_ x: Pattern) -> Pattern { .either([op("Mul", x, x), op("Pow", x, num(2))]) }
    static func rsqrt(_ x: Pattern) -> Pattern {
        .either([op("Reciprocal", op("Sqrt", x)), op("Div", num(1), op("Sqrt", x)), op("Pow", x, num(-0.5))])
    }

    /// LayerNorm variants: variance as E[x^2] - E[x]^2 (flax clamps it at 0, by hand it is not)
    /// or as E[(x - mean)^2] (jnp.var, equinox); normalised by a product with rsqrt or a quotient
    /// by sqrt, eps inside the root; with or without scale and bias.
    static let layerNorms: [Fusion] = {
        let x = v("x")
        let m = mean(x, "mean")
        let centered = op("Sub", x, m.kept, as: "centered")
        let fastVar = op("Sub", mean(square(x), "meansq").flat, square(m.flat))
        let clamped = Pattern.either([op("Relu", fastVar), fastVar])
        let fastVarKept = Pattern.either([op("Reshape", clamped, k("var.shape")), op("Unsqueeze", clamped, k("var.axes2")), clamped])
        let twoPass = mean(square(centered), "var").kept
        // Equinox clamps even this variance at 0, which changes nothing.
        let twoPassVar = Pattern.either([op("Relu", twoPass), twoPass])
        var out: [Fusion] = []
        for variance in [fastVarKept, twoPassVar] {
            let inv = rsqrt(op("Add", variance, k("eps")))
            // A fusion's root must be an op, so the two normalising forms are listed, not `either`.
            let normalized = [op("Mul", centered, inv), op("Div", centered, op("Sqrt", op("Add", variance, k("eps"))))]
            let bodies = [op("Mul", centered, op("Mul", inv, k("scale"))), op("Mul", .either(normalized), k("scale"))] + normalized
            for body in bodies {
                out.append(Fusion(name: "layer-norm", minOpset: 17, pattern: op("Add", body, k("bias")), build: layerNorm))
                out.append(Fusion(name: "layer-norm", minOpset: 17, pattern: body, build: layerNorm))
            }
        }
        return out
    }()

    /// The trailing axes a mean reduces, checked against its divisor; nil unless they are trailing.
    static func trailingMeanAxes(_ m: Match, _ s: FusionSite, _ name: String, of x: ValueID) -> Int? {
        let r = s.r
        guard let sumNode = m.nodes[name + ".sum"], let axes = r.reduceAxes(r.node(sumNode)),
              let shape = r.staticShape(x), let rank = r.rank(x), !axes.isEmpty,
              axes == Array((rank - axes.count)..<rank) else { return nil }
        // A ReduceMean divides by the count itself; sum / n must divide by it.
        guard let divisor = m.values[name + ".n"] else { return axes[0] }
        let count = axes.map { shape[$0] }.reduce(1, *)
        return Double(count) == r.splat(divisor) ? axes[0] : nil
    }

    static func layerNorm(_ m: Match, _ s: FusionSite) -> ValueID? {
        let r = s.r, x = m["x"]
        guard r.dtype(x) == .f32 || r.dtype(x) == .f64 || r.dtype(x) == .f16, r.sameShape(x, s.out),
              let axis = trailingMeanAxes(m, s, "mean", of: x), let eps = r.splat(m["eps"]), eps >= 0,
              let shape = r.staticShape(x) else { return nil }
        if m.nodes["meansq.sum"] != nil { guard trailingMeanAxes(m, s, "meansq", of: x) == axis else { return nil } }
        if m.nodes["var.sum"] != nil { guard trailingMeanAxes(m, s, "var", of: x) == axis else { return nil } }
        let normShape = Array(shape[axis...])
        func parameter(_ name: String, default value: Double) -> ValueID? {
            guard let v = m.values[name] else {
                return s.constant(HostTensor(dtype: r.dtype(x), dims: normShape, values: .init(repeating: value, count: Int(normShape.reduce(1, *)))))
            }
            guard var t = s.tensor(v) else { return nil }
            // The parameter must vary over the normalised axes only.
            let lead = t.dims.count - normShape.count
            guard lead >= 0, t.dims[..<lead].allSatisfy({ $0 == 1 }) else { return nil }
            let tail = Array(t.dims[lead...])
            guard tail.count == normShape.count, zip(tail, normShape).allSatisfy({ $0 == $1 || $0 == 1 }) else { return nil }
            t = HostTensor(dtype: t.dtype, dims: tail, values: t.values)
            t = HostTensor(dtype: t.dtype, dims: normShape, values: t.expanded(to: normShape))
            return s.constant(t)
        }
        guard let scale = parameter("scale", default: 1) else { return nil }
        var inputs = [x, scale]
        if m.values["bias"] != nil { guard let b = parameter("bias", default: 0) else { return nil }; inputs.append(b) }
        return s.emit("LayerNormalization", inputs, [
            Attribute(name: "axis", value: .int(Int64(axis))), Attribute(name: "epsilon", value: .float(Float(eps))),
        ])
    }

    /// RMSNorm: x * rsqrt(mean(x^2) + eps), or x / sqrt(mean(x^2) + eps), times an optional
    /// scale on either side of the product; opset 23's RMSNormalization.
    static let rmsNorms: [Fusion] = {
        let x = v("x")
        let shifted = op("Add", mean(square(x), "mean").kept, k("eps"))
        let normalized = [op("Mul", x, rsqrt(shifted)), op("Div", x, op("Sqrt", shifted))]
        return ([op("Mul", x, op("Mul", rsqrt(shifted), k("scale"))), op("Mul", .either(normalized), k("scale"))] + normalized)
            .map { Fusion(name: "rms-norm", minOpset: 23, pattern: $0, build: rmsBuild) }
    }()

    static func rmsBuild(_ m: Match, _ s: FusionSite) -> ValueID? {
        let r = s.r, x = m["x"]
        guard r.dtype(x).isFloat, r.sameShape(x, s.out), let axis = trailingMeanAxes(m, s, "mean", of: x),
              let eps = r.splat(m["eps"]), let shape = r.staticShape(x) else { return nil }
        let normShape = Array(shape[axis...])
        let count = Int(normShape.reduce(1, *))
        var scale: HostTensor
        if let v = m.values["scale"] {
            guard let t = s.tensor(v) else { return nil }
            let lead = t.dims.count - normShape.count
            guard lead >= 0, t.dims[..<lead].allSatisfy({ $0 == 1 }), Array(t.dims[lead...]) == normShape else { return nil }
            scale = HostTensor(dtype: t.dtype, dims: normShape, values: t.values)
        } else {
            scale = HostTensor(dtype: r.dtype(x), dims: normShape, values: .init(repeating: 1, count: count))
        }
        return s.emit("RMSNormalization", [x, s.constant(scale)], [
            Attribute(name: "axis", value: .int(Int64(axis))), Attribute(name: "epsilon", value: .float(Float(eps))),
        ])
    }

    // MARK: attention

    /// softmax(q @ k^T * scale [+ mask | where(mask, ., fill)]) @ v over [B, H, S, D] operands, as
    /// opset 23's Attention with an explicit scale (its default would be 1/sqrt(D)).
    static let attention: [Fusion] = {
        let qk = op("MatMul", v("q"), v("kt"), as: "qk")
        let scores = Pattern.either([op("Div", qk, k("scale"), as: "scaled"), op("Mul", qk, k("scale"), as: "scaled"), qk])
        let masked = Pattern.either([op("Add", scores, v("mask")), op("Where", v("cond"), scores, k("fill")), scores])
        return [Fusion(name: "attention", minOpset: 23, pattern: op("MatMul", op("Softmax", masked, as: "softmax"), v("v")), build: attentionBuild)]
    }()

    static func attentionBuild(_ m: Match, _ s: FusionSite) -> ValueID? {
        let r = s.r
        let q = m["q"], kt = m["kt"], values = m["v"]
        guard r.dtype(q).isFloat, let qs = r.shape(q), let ks = r.shape(kt), let vs = r.shape(values),
              qs.count == 4, ks.count == 4, vs.count == 4, let axis = r.int(r.node(m.nodes["softmax"]!), "axis"),
              axis == 3 || axis == -1, r.shape(s.out)?.count == 4 else { return nil }
        var scale = 1.0
        if let c = m.values["scale"], let scaled = m.nodes["scaled"] {
            guard let x = r.splat(c), x != 0 else { return nil }
            scale = r.node(scaled).op == "Div" ? 1 / x : x
        }
        let swap: [Int64] = [0, 1, 3, 2]
        var kShape = ks
        kShape.swapAt(2, 3)
        let key = s.emit("Transpose", [kt], [Attribute(name: "perm", value: .ints(swap))], shape: .some(kShape))
        var inputs = [q, key, values]
        // ONNX Runtime wants the mask's last two axes to be exactly [q_len, kv_len] (it does not
        // broadcast them), and it zeroes a row whose every score is masked at the float's lowest
        // value, where JAX gives the row's uniform average: such fills are raised to -1e30, which
        // masks as completely and leaves a fully masked row uniform.
        func fitsScores(_ shape: [Dim]?) -> Bool {
            guard let shape, shape.count == 4 else { return false }
            return shape[2] == qs[2] && shape[3] == ks[3]
        }
        if let mask = m.values["mask"] {
            guard r.dtype(mask) == r.dtype(q), maskFitsKernel(r.shape(mask), q: qs, k: ks, target: r.g.target) && (r.g.target.name == RuntimeProfile.spec.name || fitsScores(r.shape(mask))) else { return nil }
            if r.isConstant(mask) {
                guard let t = s.tensor(mask), t.values.allSatisfy({ $0 >= -1e30 }) else { return nil }
            } else if let p = r.producer(mask) {
                for c in r.node(p).inputs where c != 0 && r.isConstant(c) {
                    guard let t = s.tensor(c), t.values.allSatisfy({ $0 >= -1e30 }) else { return nil }
                }
            }
            inputs.append(mask)
        } else if let cond = m.values["cond"] {
            guard let fill = r.splat(m["fill"]), fill <= -1e4, r.dtype(cond) == .bool, let cs = r.shape(cond),
                  maskFitsKernel(cs, q: qs, k: ks, target: r.g.target),
                  r.g.target.name == RuntimeProfile.spec.name || fitsScores(cs) else { return nil }
            let zero = s.constant(HostTensor(dtype: r.dtype(q), dims: [], values: [0]))
            let lowest = s.constant(HostTensor(dtype: r.dtype(q), dims: [], values: [max(fill, -1e30)]))
            let additive = s.emit("Where", [cond, zero, lowest], dtype: r.dtype(q), shape: .some(cs))
            inputs.append(additive)
        }
        return s.emit("Attention", inputs, [Attribute(name: "scale", value: .float(Float(scale)))])
    }

    /// ONNX lets attn_mask broadcast to [B, H, Sq, Skv], but ONNX Runtime's kernel (1.32) wants a
    /// 2-D to 4-D mask whose last two dims are Sq and Skv themselves: a [B, 1, 1, T] padding mask
    /// fails at run time ("inconsistent q_sequence_length"). For a runtime target, fuse only those.
    static func maskFitsKernel(_ mask: [Dim]?, q: [Dim], k: [Dim], target: RuntimeProfile) -> Bool {
        guard target.name != RuntimeProfile.spec.name else { return true }
        guard let mask, (2...4).contains(mask.count) else { return false }
        return mask[mask.count - 2] == q[2] && mask[mask.count - 1] == k[3]
    }

    // MARK: linear layers

    /// y = x @ W (+ b) followed by a per-output-channel affine `y * c`, `y + c`, `y - c`, `y / c`
    /// with constant c: folded into W and b, so an inference BatchNorm after a Dense or Conv
    /// costs nothing. For MatMul the channel is the last axis; for Conv it is axis 1.
    static let affineFolds: [Fusion] = {
        var out: [Fusion] = []
        for arith in ["Mul", "Add", "Sub", "Div"] {
            out.append(Fusion(name: "fold-affine-matmul", minOpset: 1,
                              pattern: op(arith, op("Add", op("MatMul", v("x"), k("w"), as: "mm"), k("b"), as: "bias"), k("c"))) { m, s in
                foldIntoMatMul(arith, m, s)
            })
            // Add(MatMul, c) is already the canonical form (bias); the others become it.
            if arith != "Add" {
                out.append(Fusion(name: "fold-affine-matmul", minOpset: 1,
                                  pattern: op(arith, op("MatMul", v("x"), k("w"), as: "mm"), k("c"))) { m, s in
                    foldIntoMatMul(arith, m, s)
                })
            }
            out.append(Fusion(name: "fold-affine-conv", minOpset: 1,
                              pattern: op(arith, .either([op("Conv", v("x"), k("w"), k("b"), as: "conv"), op("Conv", v("x"), k("w"), as: "conv")]), k("c"))) { m, s in
                foldIntoConv(arith, m, s)
            })
        }
        return out
    }()

    /// c as one value per output channel of length n (broadcast over every other axis), or nil.
    static func perChannel(_ c: HostTensor, channels n: Int64, axis: Int, rank: Int) -> [Double]? {
        guard c.dims.count <= rank else { return nil }
        let padded = [Int64](repeating: 1, count: rank - c.dims.count) + c.dims
        for (i, d) in padded.enumerated() where i != axis && d != 1 { return nil }
        if padded[axis] == n { return c.values }
        if padded[axis] == 1 { return [Double](repeating: c.values[0], count: Int(n)) }
        return nil
    }

    static func apply(_ arith: String, _ w: inout HostTensor, _ b: inout [Double], _ c: [Double], channelStride: (Int) -> Int) -> Bool {
        switch arith {
        case "Mul", "Div":
            let f = arith == "Mul" ? c : c.map { 1 / $0 }
            guard f.allSatisfy({ $0.isFinite }) else { return false }
            for i in 0..<w.values.count { w.values[i] *= f[channelStride(i)] }
            for j in b.indices { b[j] *= f[j] }
        case "Add": for j in b.indices { b[j] += c[j] }
        case "Sub": for j in b.indices { b[j] -= c[j] }
        default: return false
        }
        return true
    }

    static func foldIntoMatMul(_ arith: String, _ m: Match, _ s: FusionSite) -> ValueID? {
        let r = s.r, x = m["x"]
        guard r.dtype(x) == .f32 || r.dtype(x) == .f64, var w = s.tensor(m["w"]), w.dims.count == 2,
              let rank = r.rank(s.out), let c = s.tensor(m["c"]),
              let cs = perChannel(c, channels: w.dims[1], axis: rank - 1, rank: rank) else { return nil }
        let n = Int(w.dims[1])
        var b = [Double](repeating: 0, count: n)
        if let bv = m.values["b"] {
            guard let bt = s.tensor(bv), let bs = perChannel(bt, channels: w.dims[1], axis: rank - 1, rank: rank) else { return nil }
            b = bs
        }
        guard apply(arith, &w, &b, cs, channelStride: { $0 % n }) else { return nil }
        let mm = s.emit("MatMul", [x, s.constant(w)], shape: r.shape(r.node(m.nodes["mm"]!).outputs[0]))
        let hasBias = m.values["b"] != nil || arith == "Add" || arith == "Sub"
        guard hasBias else { return mm }
        return s.emit("Add", [mm, s.constant(HostTensor(dtype: w.dtype, dims: [Int64(n)], values: b))])
    }

    static func foldIntoConv(_ arith: String, _ m: Match, _ s: FusionSite) -> ValueID? {
        let r = s.r, x = m["x"]
        let conv = r.node(m.nodes["conv"]!)
        guard r.dtype(x) == .f32 || r.dtype(x) == .f64, var w = s.tensor(m["w"]), w.dims.count >= 3,
              let rank = r.rank(s.out), let c = s.tensor(m["c"]),
              let cs = perChannel(c, channels: w.dims[0], axis: 1, rank: rank) else { return nil }
        let n = Int(w.dims[0])
        let perFilter = w.values.count / n
        var b = [Double](repeating: 0, count: n)
        if let bv = m.values["b"] {
            guard let bt = s.tensor(bv), bt.count == n else { return nil }
            b = bt.values
        }
        guard apply(arith, &w, &b, cs, channelStride: { $0 / perFilter }) else { return nil }
        let bias = s.constant(HostTensor(dtype: w.dtype, dims: [Int64(n)], values: b))
        return s.emit("Conv", [x, s.constant(w), bias], conv.attributes)
    }

    /// 2-D x @ W + b as one Gemm.
    static let gemm = Fusion(name: "gemm", minOpset: 13, pattern: op("Add", op("MatMul", v("x"), v("w")), k("b"))) { m, s in
        let r = s.r
        guard r.rank(m["x"]) == 2, r.rank(m["w"]) == 2, r.dtype(m["x"]).isFloat, let n = r.staticShape(m["w"])?[1],
              let b = s.tensor(m["b"]), b.count == Int(n) || b.count == 1, let outShape = r.shape(s.out), outShape.count == 2,
              r.shape(s.out) == [r.shape(m["x"])![0], .known(n)] else { return nil }
        let bias = s.constant(HostTensor(dtype: b.dtype, dims: [Int64(b.count)], values: b.values))
        return s.emit("Gemm", [m["x"], m["w"], bias])
    }

    /// Conv then a per-channel bias add as Conv's own bias.
    static let convBias = Fusion(name: "conv-bias", minOpset: 1, pattern: op("Add", op("Conv", v("x"), v("w"), as: "conv"), k("c"))) { m, s in
        let r = s.r
        let conv = r.node(m.nodes["conv"]!)
        guard let rank = r.rank(s.out), let ws = r.staticShape(m["w"]), let c = s.tensor(m["c"]),
              let cs = perChannel(c, channels: ws[0], axis: 1, rank: rank), r.sameShape(conv.outputs[0], s.out) else { return nil }
        let bias = s.constant(HostTensor(dtype: c.dtype, dims: [ws[0]], values: cs))
        return s.emit("Conv", [m["x"], m["w"], bias], conv.attributes)
    }
}
