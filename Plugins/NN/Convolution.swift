import PluginKit

/// conv_general_dilated as ONNX Conv: operands transposed from their dimension numbers to Conv's
/// [N, C, spatial...] and [O, I, spatial...], the result transposed to the output spec.
/// XLA features Conv lacks: lhs dilation (a transposed convolution) is ConvTranspose when the
/// padding stays within the kernel's reach and the strides are 1, else zeros inserted between
/// input elements; negative padding crops; batch_group_count folds batch groups into channel
/// groups. Types ONNX Runtime's Conv lacks (f64, integers) take a MatMul over unfolded windows.
func lowerConvolution(_ eqn: Equation, _ g: GraphBuilder) throws -> [Value] {
    let out = try eqn.output(0)
    if try eqn.input(0).isComplex || eqn.input(1).isComplex { return try lowerComplexConvolution(eqn, g) }
    let p = try ConvolutionParams(eqn)
    return [try convolution(try eqn.input(0), try eqn.input(1), p, dtype: out.dtype, shape: out.shape, g)]
}

/// What conv_general_dilated's params say, read and checked once.
struct ConvolutionParams {
    let lhsSpec: [Int], rhsSpec: [Int], outSpec: [Int]
    let strides: [Int], lhsDilation: [Int], rhsDilation: [Int]
    let pads: [(lo: Int, hi: Int)]
    let groups: Int, batchGroups: Int

    init(_ eqn: Equation) throws {
        let dn = try eqn.require("dimension_numbers")
        guard let lhsSpec = (dn["lhs_spec"] ?? dn[0])?.ints, let rhsSpec = (dn["rhs_spec"] ?? dn[1])?.ints,
              let outSpec = (dn["out_spec"] ?? dn[2])?.ints else {
            throw LoweringError.invalid("conv_general_dilated dimension_numbers is not (lhs_spec, rhs_spec, out_spec)")
        }
        let spatial = lhsSpec.count - 2
        guard spatial >= 1 else { throw LoweringError.unsupported("convolution without spatial dimensions") }
        let (x, w) = (try eqn.input(0), try eqn.input(1))
        try checkPermutation(lhsSpec, rank: (x.isComplex ? x.jaxShape?.count : x.rank) ?? lhsSpec.count)
        try checkPermutation(rhsSpec, rank: (w.isComplex ? w.jaxShape?.count : w.rank) ?? lhsSpec.count)
        try checkPermutation(outSpec, rank: eqn.output(0).rank)
        guard rhsSpec.count == lhsSpec.count else { throw LoweringError.invalid("conv_general_dilated operands differ in rank") }
        (self.lhsSpec, self.rhsSpec, self.outSpec) = (lhsSpec, rhsSpec, outSpec)
        strides = intsOr(eqn, "window_strides", spatial)
        lhsDilation = intsOr(eqn, "lhs_dilation", spatial)
        rhsDilation = intsOr(eqn, "rhs_dilation", spatial)
        pads = try padPairs(eqn)
        groups = (try? eqn.int("feature_group_count")) ?? 1
        batchGroups = (try? eqn.int("batch_group_count")) ?? 1
        guard groups >= 1, batchGroups >= 1, [strides, lhsDilation, rhsDilation].allSatisfy({ $0.count == spatial && $0.allSatisfy { $0 >= 1 && $0 <= 1 << 20 } }),
              pads.count == spatial, pads.allSatisfy({ $0.lo.magnitude <= 1 << 20 && $0.hi.magnitude <= 1 << 20 }) else {
            throw LoweringError.invalid("conv_general_dilated strides, dilations, padding or group counts are out of range")
        }
        // XLA's shape rule: the input's features are the kernel's input features times the
        // feature groups; the kernel's output features split into both kinds of group.
        let xs = (x.isComplex ? x.jaxShape : x.shape) ?? [], ws = (w.isComplex ? w.jaxShape : w.shape) ?? []
        if xs.count == lhsSpec.count, ws.count == rhsSpec.count, let c = xs[lhsSpec[1]].value, let i = ws[rhsSpec[1]].value,
           let o = ws[rhsSpec[0]].value {
            let (need, o1) = i.multipliedReportingOverflow(by: Int64(groups))
            let (split, o2) = Int64(groups).multipliedReportingOverflow(by: Int64(batchGroups))
            guard !o1, !o2, c == need, o % split == 0 else {
                throw LoweringError.invalid("conv_general_dilated: \(c) input features for a kernel of \(i) input and \(o) output features in \(groups) feature and \(batchGroups) batch groups")
            }
        }
    }
}

/// The real convolution of x by w (real tensors of JAX's shapes) producing `dtype` of `shape`.
func convolution(_ x0: Value, _ w0: Value, _ p: ConvolutionParams, dtype: DType, shape: [Dim], _ g: GraphBuilder) throws -> Value {
    let (lhsSpec, rhsSpec, outSpec) = (p.lhsSpec, p.rhsSpec, p.outSpec)
    let spatial = lhsSpec.count - 2
    // XLA accumulates in the preferred (output) type. ONNX Runtime's Conv computes in f32 only;
    // f64 and integer convolutions are MatMuls over the unfolded windows instead (narrow
    // integers wrap the same when multiplied and summed in 32 bits and cast back).
    let compute: DType
    switch dtype {
    case .f32, .f16, .bf16: compute = .f32
    case .f64, .i32, .i64, .u32, .u64: compute = dtype
    case .i8, .i16: compute = .i32
    case .u8, .u16: compute = .u32
    default: throw LoweringError.unsupported("conv_general_dilated producing \(dtype)")
    }
    let out = (dtype: dtype, shape: shape)
    // An empty operand (a size-0 batch, feature, spatial or kernel dim) leaves every output
    // element a sum over nothing: zeros, which ONNX Runtime's Conv refuses to compute.
    let operandDims = (x0.shape ?? []) + (w0.shape ?? []) + out.shape
    if operandDims.contains(where: { $0.value == 0 }) {
        return try g.scalar(0, out.dtype).expand(out.shape)
    }
    let useConv = compute == .f32
    let (strides, lhsDilation, rhsDilation) = (p.strides, p.lhsDilation, p.rhsDilation)
    var pads = p.pads
    let (groups, batchGroups) = (p.groups, p.batchGroups)
    let spatialAxes = Array(2..<(2 + spatial))

    var x = try x0.cast(to: compute).with(shape: x0.shape).transpose(lhsSpec)
    let w = try w0.cast(to: compute).with(shape: w0.shape).transpose(rhsSpec)

    if useConv, lhsDilation.contains(where: { $0 > 1 }), strides.allSatisfy({ $0 == 1 }), batchGroups == 1,
       let kernel = w.shape?.dropFirst(2).map(\.value) as? [Int64],
       groups == 1 || w.shape?.allSatisfy({ $0.value != nil }) == true {
        // A transposed convolution: correlating the zero-dilated input with W is ConvTranspose
        // with W flipped and its feature axes swapped, when the padding stays within the kernel.
        let reach = zip(kernel, rhsDilation).map { (Int($0.0) - 1) * $0.1 }
        let begin = zip(reach, pads).map { $0.0 - $0.1.lo }, end = zip(reach, pads).map { $0.0 - $0.1.hi }
        if (begin + end).allSatisfy({ $0 >= 0 }) {
            let y = try g.op("ConvTranspose", x, transposedKernel(w, groups: groups, g), attributes: [
                "strides": .ints(lhsDilation), "dilations": .ints(rhsDilation), "pads": .ints(begin + end),
                "group": .int(Int64(groups)),
            ], shape: outSpec.map { out.shape[$0] })
            return try y.transpose(inversePermutation(outSpec)).cast(from: compute, to: out.dtype).with(shape: out.shape)
        }
    }
    if lhsDilation.contains(where: { $0 > 1 }) {
        x = try dilate(x, lhsDilation, axes: spatialAxes, fill: g.scalar(0, compute), g)
    }
    (x, pads) = try cropNegativePads(x, pads, axes: spatialAxes, g)

    if batchGroups > 1 {
        // Output feature group k sees batch slice k of the input: [G*N', C] -> [N', G*C].
        let s = try knownShape(x, "batch_group_count")
        let n = s[0] / batchGroups
        let rest = s[2...].map { Dim.known(Int64($0)) }
        x = try x.reshape([.known(Int64(batchGroups)), .known(Int64(n)), .known(Int64(s[1]))] + rest)
            .transpose([1, 0] + Array(2..<(s.count + 1)))
            .reshape([.known(Int64(n)), .known(Int64(batchGroups * s[1]))] + rest)
    }

    let outPerm = inversePermutation(outSpec)
    if !useConv {
        let y = try unfoldedConvolution(x, w, strides: strides, dilations: rhsDilation, pads: pads,
                                        groups: groups * batchGroups, outShape: outSpec.map { out.shape[$0] }, compute, g)
        return try y.transpose(outPerm).cast(from: compute, to: out.dtype).with(shape: out.shape)
    }
    let y = try g.op("Conv", x, w, attributes: [
        "strides": .ints(strides), "dilations": .ints(rhsDilation),
        "pads": .ints(pads.map(\.lo) + pads.map(\.hi)), "group": .int(Int64(groups * batchGroups)),
    ], shape: outSpec.map { out.shape[$0] })
    return try y.transpose(outPerm).cast(from: compute, to: out.dtype).with(shape: out.shape)
}

/// Conv's [O, I/G, k...] kernel as ConvTranspose's [I, O/G, k...], spatially flipped. Grouped
/// kernels need static dims (they are regrouped by Reshape); ungrouped ones only a known rank.
func transposedKernel(_ w: Value, groups: Int, _ g: GraphBuilder) throws -> Value {
    guard let rank = w.rank, rank >= 3 else { throw LoweringError.unsupported("a transposed convolution's kernel of unknown rank") }
    let axes = Array(2..<rank)
    let swapped: Value
    if groups == 1 {
        swapped = try w.transpose([1, 0] + axes)
    } else {
        let s = try knownShape(w, "a grouped transposed convolution's kernel")
        let k = s.dropFirst(2).map { Dim.known(Int64($0)) }
        let o = s[0], ig = s[1]
        swapped = try w.reshape([.known(Int64(groups)), .known(Int64(o / groups)), .known(Int64(ig))] + k)
            .transpose([0, 2, 1] + Array(3..<(rank + 1)))
            .reshape([.known(Int64(groups * ig)), .known(Int64(o / groups))] + k)
    }
    return try g.op("Slice", swapped, g.int64s(axes.map { _ in Int64(-1) }), g.int64s(axes.map { _ in Int64.min }),
                    g.int64s(axes), g.int64s(axes.map { _ in Int64(-1) }), shape: swapped.shape)
}

/// A convolution as one batched MatMul: each kernel position's strided slice of the zero-padded
/// input is stacked beside the channels ([N, C, P, L], L the output positions), so
/// [G, O/G, C/G*P] x [N, G, C/G*P, L] is the whole convolution in the compute type.
func unfoldedConvolution(_ x0: Value, _ w: Value, strides: [Int], dilations: [Int], pads: [(lo: Int, hi: Int)],
                         groups: Int, outShape: [Dim], _ t: DType, _ g: GraphBuilder) throws -> Value {
    // The output-feature dim may be symbolic (a kernel traced with a polymorphic leading dim):
    // it only passes through the MatMul's rows. The window and input-feature dims shape the
    // unfolding and must be known.
    guard let wShape = w.shape, wShape.count >= 3, let kernelDims = wShape.dropFirst(2).map(\.value) as? [Int64] else {
        throw LoweringError.unsupported("a convolution kernel with symbolic spatial dimensions (f64 and integer convolutions unfold the kernel)")
    }
    let kernel = kernelDims.map(Int.init)
    let spatial = kernel.count
    let axes = Array(2..<(2 + spatial))
    let x = try padConstant(x0, pads, axes: axes, fill: g.scalar(0, t), g)
    guard let outSpatial = outShape.dropFirst(2).map(\.value) as? [Int64], let c = x.shape?[1].value else {
        throw LoweringError.unsupported("an unfolded convolution needs static spatial and channel dimensions")
    }
    let positions = kernel.reduce(1, *)
    guard positions <= 1024 else { throw LoweringError.unsupported("an unfolded convolution with \(positions) kernel positions") }
    var slices: [Value?] = []
    var offset = Array(repeating: 0, count: spatial)
    for _ in 0..<positions {
        let starts = (0..<spatial).map { offset[$0] * dilations[$0] }
        let ends = (0..<spatial).map { starts[$0] + (Int(outSpatial[$0]) - 1) * strides[$0] + 1 }
        let s = try g.op("Slice", x, g.int64s(starts), g.int64s(ends), g.int64s(axes), g.int64s(strides))
        slices.append(try s.unsqueeze([2]))
        for k in (0..<spatial).reversed() {
            offset[k] += 1
            if offset[k] < kernel[k] { break }
            offset[k] = 0
        }
    }
    let stacked = slices.count == 1 ? slices[0]! : try g.op("Concat", slices, attributes: ["axis": .int(2)])
    let n = outShape[0]
    let cg = Int(c) / groups
    let perGroup: Dim = wShape[0].value.map { .known($0 / Int64(groups)) }
        ?? (groups == 1 ? wShape[0] : .symbolic("floordiv(\(wShape[0]), \(groups))"))
    let length = outSpatial.reduce(1, *)
    let cols = try stacked.reshape([n, .known(Int64(groups)), .known(Int64(cg * positions)), .known(length)])
    let rows = try w.reshape([.known(Int64(groups)), perGroup, .known(Int64(cg * positions))])
    let y = try g.op("MatMul", rows, cols, shape: [n, .known(Int64(groups)), perGroup, .known(length)])
    return try y.reshape(outShape)
}
