import PluginKit

/// reduce_window_{max,min,sum}: the axes a window actually touches (size, stride, padding or
/// dilation other than trivial) become the spatial axes of an ONNX pool, every other axis is
/// batch or channel, so JAX's NHWC pools with (1, k, k, 1) windows are one Transpose to NCHW, the
/// pool, and the Transpose back. Max is MaxPool, min is MaxPool of the negation, sum is a Conv
/// with a kernel of ones (exact zero padding, dilation at every opset). Windows ONNX pools cannot
/// take (base dilation, more than three window axes, integer types) combine strided slices of the
/// padded input with Max/Min/Add instead.
enum WindowReduction: String {
    case max, min, sum, prod

    var combine: String {
        switch self {
        case .max: return "Max"
        case .min: return "Min"
        case .sum: return "Add"
        case .prod: return "Mul"
        }
    }
}

/// The reduction's identity in `t`: what XLA pads windows with.
func identity(_ r: WindowReduction, _ t: DType, _ g: GraphBuilder) throws -> Value {
    switch (r, t) {
    case (.sum, _): return try g.scalar(0, t)
    case (.prod, _): return try g.scalar(1, t)
    case (.max, _) where t.isFloat: return try g.scalar(-.infinity, t)
    case (.min, _) where t.isFloat: return try g.scalar(.infinity, t)
    case (.max, .i64): return try g.constant([Int64.min], dtype: t, shape: [])
    case (.min, .i64): return try g.constant([Int64.max], dtype: t, shape: [])
    case (.max, .i32): return try g.constant([Int32.min], dtype: t, shape: [])
    case (.min, .i32): return try g.constant([Int32.max], dtype: t, shape: [])
    case (.max, .u32), (.max, .u64), (.max, .u8), (.max, .u16), (.max, .bool): return try g.scalar(0, t)
    case (.min, .u32): return try g.constant([UInt32.max], dtype: t, shape: [])
    case (.min, .u64): return try g.constant([UInt64.max], dtype: t, shape: [])
    case (.min, .bool): return try g.scalar(1, t)
    case (.max, .i8): return try g.scalar(-128, t)
    case (.min, .i8): return try g.scalar(127, t)
    case (.max, .i16): return try g.scalar(-32768, t)
    case (.min, .i16): return try g.scalar(32767, t)
    case (.min, .u8): return try g.scalar(255, t)
    case (.min, .u16): return try g.scalar(65535, t)
    default: throw LoweringError.unsupported("reduce_window_\(r.rawValue) on \(t)")
    }
}

struct WindowParams {
    var dims: [Int], strides: [Int], pads: [(lo: Int, hi: Int)], baseDilation: [Int], windowDilation: [Int]

    init(_ eqn: Equation, rank: Int) throws {
        dims = try eqn.ints("window_dimensions")
        strides = intsOr(eqn, "window_strides", rank)
        pads = try padPairs(eqn)
        baseDilation = intsOr(eqn, "base_dilation", rank)
        windowDilation = intsOr(eqn, "window_dilation", rank)
        guard [dims.count, strides.count, pads.count, baseDilation.count, windowDilation.count].allSatisfy({ $0 == rank }) else {
            throw LoweringError.invalid("\(eqn.primitive) window params do not match the operand's rank \(rank)")
        }
        // Sizes a hostile bundle could make overflow the window arithmetic are refused up front.
        let limit = 1 << 20
        guard (dims + strides + baseDilation + windowDilation).allSatisfy({ $0 >= 1 && $0 <= limit }),
              pads.allSatisfy({ $0.lo.magnitude <= limit && $0.hi.magnitude <= limit }) else {
            throw LoweringError.invalid("\(eqn.primitive) window sizes, strides, dilations or padding are out of range")
        }
    }

    /// Axes the window changes; the others pass through untouched.
    var active: [Int] {
        (0..<dims.count).filter { a in
            dims[a] != 1 || strides[a] != 1 || pads[a].lo != 0 || pads[a].hi != 0 || baseDilation[a] != 1
        }
    }
}

func lowerReduceWindow(_ r: WindowReduction) -> LowerFunction {
    { eqn, g in
        let x = try eqn.input(0)
        let out = try eqn.output(0)
        // JAX keeps the rank; a bundle that does not would index past the operand's axes.
        guard let rank = x.rank, rank == out.rank else {
            throw LoweringError.invalid("\(eqn.primitive): operand rank \(x.rank.map(String.init) ?? "unknown") differs from the output's \(out.rank)")
        }
        let w = try WindowParams(eqn, rank: rank)
        if w.active.isEmpty { return [x] }
        // ONNX Runtime's Conv is f32 only: an f64 sum stays exact on the slice route.
        if x.dtype.isFloat, r != .prod, !(r == .sum && x.dtype == .f64), w.active.count <= 3, w.baseDilation.allSatisfy({ $0 == 1 }) {
            return [try pooled(r, x, w, out, g)]
        }
        return [try slicedWindows(r, x, w, out, g)]
    }
}

/// The pool route: active axes last, the rest folded into ONNX's batch and channel axes.
func pooled(_ r: WindowReduction, _ x0: Value, _ w: WindowParams, _ out: TensorType, _ g: GraphBuilder) throws -> Value {
    // A window wider than its padded axis leaves no output there: an empty result, which ONNX
    // Runtime's pools and Conv refuse to compute (they reject the input shape).
    if out.shape.contains(.known(0)) { return try g.scalar(0, out.dtype).expand(out.shape) }
    let active = w.active
    let passive = (0..<out.rank).filter { !active.contains($0) }
    let t = x0.dtype
    let compute: DType = t == .f64 ? .f64 : .f32
    var x = try x0.cast(to: compute).with(shape: x0.shape).transpose(passive + active)
    guard let inShape = x.shape else { throw LoweringError.unsupported("reduce_window on an operand of unknown rank") }
    let passiveDims = Array(inShape.prefix(passive.count))
    let activeOut = active.map { out.shape[$0] }
    // ONNX pools want exactly [N, C, spatial...].
    switch passive.count {
    case 0: x = try x.unsqueeze([0, 1])
    case 1: x = try x.unsqueeze([1])
    case 2: break
    default: x = try x.reshape([Dim.product(passiveDims), 1] + inShape.suffix(active.count))
    }
    let spatialAxes = Array(2..<(2 + active.count))
    var pads = active.map { w.pads[$0] }
    (x, pads) = try cropNegativePads(x, pads, axes: spatialAxes, g)
    let kernel = active.map { w.dims[$0] }
    let dilations = active.map { w.windowDilation[$0] }
    let strides = active.map { w.strides[$0] }
    var y: Value
    switch r {
    case .max, .min:
        // ONNX Runtime rejects pads as large as the kernel; those are padded explicitly with -inf.
        let windowInPadding = zip(pads, kernel).contains(where: { $0.0.lo >= $0.1 || $0.0.hi >= $0.1 })
        if windowInPadding {
            x = try padConstant(x, pads, axes: spatialAxes, fill: g.scalar(r == .max ? -.infinity : .infinity, compute), g)
            pads = pads.map { _ in (0, 0) }
        }
        if r == .min { x = try g.op("Neg", x, shape: x.shape) }
        let attrs: KeyValuePairs<String, Attr> = [
            "kernel_shape": .ints(kernel), "strides": .ints(strides), "dilations": .ints(dilations),
            "pads": .ints(pads.map(\.lo) + pads.map(\.hi)),
        ]
        y = try g.op("MaxPool", x, attributes: attrs)
        // ONNX Runtime's MaxPool starts from the lowest finite value, so a window holding only
        // -inf gives -3.4e38 where XLA gives -inf. A window can lie wholly in the padding here,
        // and -inf data is what strict_nan asks to get exactly: a pooled mask of values above
        // -inf puts -inf back where there are none.
        let strict = try g.boolOption("strict_nan")
        if windowInPadding || strict {
            let aboveNegInf = try g.op("Cast", g.op("Not", g.op("IsInf", x, attributes: ["detect_positive": .int(0)])),
                                       attributes: ["to": .int(Int64(compute.rawValue))])
            let some = try g.op("Greater", g.op("MaxPool", aboveNegInf, attributes: attrs), g.scalar(0, compute))
            y = try g.op("Where", some, y, g.scalar(-.infinity, compute))
        }
        if r == .min { y = try g.op("Neg", y) }
        // MaxPool skips NaN; XLA's max and min propagate it, so on request a pooled NaN mask puts
        // it back. Off by default, as other exporters emit MaxPool as it is.
        guard strict else { break }
        let nanMask = try g.op("Cast", g.op("IsNaN", x), attributes: ["to": .int(Int64(compute.rawValue))])
        let hasNaN = try g.op("Greater", g.op("MaxPool", nanMask, attributes: attrs), g.scalar(0, compute))
        y = try g.op("Where", hasNaN, g.scalar(.nan, compute), y)
    case .sum:
        // A channel axis larger than 1 is one group per channel with the same kernel.
        var channels: Int64 = 1
        if passive.count == 2 {
            guard let c = inShape[1].value else { throw LoweringError.unsupported("reduce_window_sum over a symbolic channel axis") }
            channels = c
        }
        let count = Int(channels) * kernel.reduce(1, *)
        let kernelTensor = try g.constant(Array(repeating: Float(1), count: count), dtype: .f32,
                                          shape: [channels, 1] + kernel.map(Int64.init))
        y = try g.op("Conv", x, kernelTensor, attributes: [
            "kernel_shape": .ints(kernel), "strides": .ints(strides), "dilations": .ints(dilations),
            "pads": .ints(pads.map(\.lo) + pads.map(\.hi)), "group": .int(channels),
        ])
    case .prod:
        throw LoweringError.unsupported("reduce_window product as a pool")
    }
    switch passive.count {
    case 0: y = try y.squeeze([0, 1])
    case 1: y = try y.squeeze([1])
    case 2: break
    default: y = try y.reshape(passiveDims + activeOut)
    }
    y = y.with(shape: passiveDims + activeOut)
    return try y.transpose(inversePermutation(passive + active)).cast(from: compute, to: t).with(shape: out.shape)
}

/// The general route: pad (and dilate) with the identity, then combine one strided slice per
/// window position.
func slicedWindows(_ r: WindowReduction, _ x0: Value, _ w: WindowParams, _ out: TensorType, _ g: GraphBuilder) throws -> Value {
    let t = x0.dtype
    // ONNX Runtime's Max/Min/Add/Mul cover 32- and 64-bit numbers and floats.
    let compute: DType
    switch t {
    case .f32, .f64, .i32, .i64: compute = t
    case .f16, .bf16: compute = .f32
    case .i8, .i16: compute = .i32
    case .u8, .u16, .u32: compute = r == .sum || r == .prod ? .u32 : .i64
    case .u64: compute = .u64
    case .bool where r == .max || r == .min: compute = .i32
    default: throw LoweringError.unsupported("reduce_window_\(r.rawValue) on \(t)")
    }
    let active = w.active
    let positions = active.map { w.dims[$0] }.reduce(1, *)
    guard positions <= 4096 else { throw LoweringError.unsupported("reduce_window with \(positions) window positions") }
    // Bools compute as 0/1 in i32, so their identities are false (max) and true (min).
    // The identity of t, not of the wider compute type: i16 pads with 32767, not Int32.max.
    let fill = t == .bool ? try g.scalar(r == .max ? 0 : 1, compute) : try identity(r, t, g).cast(to: compute)
    var x = try x0.cast(to: compute).with(shape: x0.shape)
    x = try dilate(x, active.map { w.baseDilation[$0] }, axes: active, fill: fill, g)
    var pads = active.map { w.pads[$0] }
    (x, pads) = try cropNegativePads(x, pads, axes: active, g)
    x = try padConstant(x, pads, axes: active, fill: fill, g)
    // A symbolic output axis is sliced to its end and then cut to its size, which only the
    // graph knows: the strided slice from a window offset holds at least that many elements.
    let outDims = active.map { out.shape[$0] }
    let symbolic = outDims.indices.filter { outDims[$0].value == nil }
    let symbolicAxes = symbolic.map { active[$0] }
    let cutEnds = symbolic.isEmpty ? nil : try g.shapeTensor(symbolic.map { outDims[$0] })
    var acc: Value?
    var offset = Array(repeating: 0, count: active.count)
    for _ in 0..<positions {
        let starts = offset.enumerated().map { k, o in o * w.windowDilation[active[k]] }
        // An empty output axis ends where it starts: s - stride + 1 could be negative, which
        // Slice reads as counted from the end.
        let ends = starts.enumerated().map { k, s -> Int in
            guard let n = outDims[k].value.map(Int.init) else { return Int.max }
            return n == 0 ? s : s + (n - 1) * w.strides[active[k]] + 1
        }
        var slice = try g.op("Slice", x, g.int64s(starts), g.int64s(ends), g.int64s(active),
                             g.int64s(active.map { w.strides[$0] }), shape: symbolic.isEmpty ? out.shape : nil)
        if let cutEnds {
            slice = try g.op("Slice", slice, g.int64s(symbolic.map { _ in 0 }), cutEnds, g.int64s(symbolicAxes), shape: out.shape)
        }
        acc = try acc.map { try g.op(r.combine, $0, slice, shape: out.shape) } ?? slice
        for k in (0..<offset.count).reversed() {
            offset[k] += 1
            if offset[k] < w.dims[active[k]] { break }
            offset[k] = 0
        }
    }
    return try acc!.cast(from: compute, to: t).with(shape: out.shape)
}

/// The generic reduce_window, for bodies that are one max/min/add/mul of the two operands (what
/// `lax.reduce_window` traces to when its init value is not the reduction's identity, or for
/// `b * a` style lambdas). XLA skips padding and base-dilation holes and starts every window
/// from the init value, so this is the identity-padded window reduction combined once with init.
func lowerGenericReduceWindow(_ eqn: Equation, _ g: GraphBuilder) throws -> [Value] {
    guard eqn.inputs.count == 2 else {
        throw LoweringError.unsupported("reduce_window over \(eqn.inputs.count / 2) operands (only one operand and its init value)")
    }
    let body = try eqn.require("jaxpr").string ?? ""
    var kinds: [String: WindowReduction] = ["max": .max, "min": .min, "add": .sum, "mul": .prod]
    if try eqn.input(0).dtype == .bool { kinds["or"] = .max; kinds["and"] = .min }
    guard let r = kinds.first(where: { prim, _ in
        body == "(i0, i1) { v0 = \(prim)(i0, i1) } (v0)" || body == "(i0, i1) { v0 = \(prim)(i1, i0) } (v0)"
    })?.value else {
        throw LoweringError.unsupported("reduce_window with the body \(body) (only a single max, min, add or mul of the two operands, or and/or on bools)")
    }
    let x = try eqn.input(0)
    let windowed = try lowerReduceWindow(r)(eqn, g)[0]
    let compute = elementwiseType(x.dtype)
    let y = try g.op(r.combine, windowed.cast(from: x.dtype, to: compute), eqn.input(1).cast(to: compute))
    return [try y.cast(from: compute, to: x.dtype)]
}
