import PluginKit

/// `fft` over the trailing `fft_lengths.count` axes, one axis at a time: FFT and IFFT transform
/// each; RFFT transforms the last axis from real then the others; IRFFT the others then the last
/// axis back to real. `Plan` picks how each 1-D transform is computed (docs/complex.md has the
/// measurements behind it).
enum FFTKind: Int { case fft = 0, ifft, rfft, irfft }

enum Plan {
    /// A MatMul with a twiddle matrix: fastest for short lengths, exact to rounding at any length,
    /// but its [2n, 2n] constant grows as n².
    case matMul
    /// ONNX DFT: faster from n = 256 on, accurate for powers of two only (ONNX Runtime's kernel
    /// loses accuracy as n² for other lengths).
    case dft
    /// Bluestein's chirp transform: a length-n DFT as a circular convolution done with
    /// power-of-two DFTs, for long lengths that are not powers of two.
    case bluestein
    /// Below opset 17, which has no DFT: long powers of two split into MatMul transforms
    /// (FourStep.swift), and Bluestein's power-of-two transforms do the same.
    case fourStep

    static let matMulLimit = 128, otherLengthLimit = 1024
    /// Below opset 17 there is no DFT: twiddle MatMuls serve every length up to this one (a
    /// [2n, 2n] f32 constant of 32 MiB at the limit); longer ones still emit DFT, which the host
    /// refuses naming the op and opset 17.
    static let noDFTLimit = 2048

    init(_ n: Int, opset: Int) {
        let powerOfTwo = n & (n - 1) == 0
        if opset < 17 && n <= Plan.noDFTLimit { self = .matMul; return }
        if n <= Plan.matMulLimit || (!powerOfTwo && n <= Plan.otherLengthLimit) { self = .matMul }
        else if !powerOfTwo { self = .bluestein }
        else { self = opset >= 17 ? .dft : .fourStep }
    }
}

func fftLowering() -> Lowering {
    Lowering("fft", emits: ["MatMul", "Reshape", "Transpose", "DFT", "Unsqueeze", "Squeeze", "Slice", "Concat", "Gather",
                            "Mul", "Neg", "Pad", "Cast", "Add", "Sub"],
             priority: 10, note: "MatMul with twiddles for short n, DFT for long powers of two, Bluestein otherwise") { e, g in
        let p = try e.require("fft_type")
        guard let raw = p.int, let kind = FFTKind(rawValue: raw) ?? kindNamed(p.string) else {
            throw LoweringError.invalid("fft_type \(p.string ?? "?") is not FFT, IFFT, RFFT or IRFFT")
        }
        let lengths = try e.ints("fft_lengths")
        let out = try e.output(0)
        let rank = out.shape.count
        let axes = Array((rank - lengths.count)..<rank)
        var x = try e.input(0)
        let part = out.dtype.isComplex ? out.dtype.part : out.dtype
        switch kind {
        case .fft, .ifft:
            for (a, n) in zip(axes, lengths) { x = try complexDFT(x, axis: a, rank: rank, n: n, inverse: kind == .ifft, g) }
        case .rfft:
            x = try realDFT(x.cast(to: part).with(shape: x.shape), n: lengths.last!, g)
            for (a, n) in zip(axes, lengths).dropLast() { x = try complexDFT(x, axis: a, rank: rank, n: n, inverse: false, g) }
        case .irfft:
            for (a, n) in zip(axes, lengths).dropLast() { x = try complexDFT(x, axis: a, rank: rank, n: n, inverse: true, g) }
            x = try inverseRealDFT(x, n: lengths.last!, g)
        }
        return [x.with(shape: out.shape + (out.dtype.isComplex ? [2] : []))]
    }
}

func kindNamed(_ s: String?) -> FFTKind? {
    guard let s else { return nil }
    for (name, k) in [("IRFFT", FFTKind.irfft), ("RFFT", .rfft), ("IFFT", .ifft), ("FFT", .fft)] where s.hasSuffix(name) { return k }
    return nil
}

/// A 1-D complex transform along JAX axis `axis` of complex storage [..., 2].
func complexDFT(_ x: Value, axis: Int, rank: Int, n: Int, inverse: Bool, _ g: GraphBuilder) throws -> Value {
    guard let shape = x.shape else { throw LoweringError.invalid("fft of an operand of unknown shape") }
    // Bring the axis last among JAX's axes; the (real, imag) axis stays last.
    let perm = (0..<rank).filter { $0 != axis } + [axis, rank]
    let inv = (0...rank).map { perm.firstIndex(of: $0)! }
    let moved = try x.transpose(perm)
    let lead = Array(perm.dropLast(2).map { shape[$0] })
    return try transformLast(moved, n: n, inverse: inverse, g).with(shape: lead + [.known(Int64(n)), 2]).transpose(inv)
}

/// A 1-D complex transform along the last JAX axis of complex storage [..., n, 2].
func transformLast(_ x: Value, n: Int, inverse: Bool, _ g: GraphBuilder) throws -> Value {
    guard let shape = x.shape else { throw LoweringError.invalid("fft of an operand of unknown shape") }
    let lead = Array(shape.dropLast(2))
    switch Plan(n, opset: g.opset) {
    case .matMul:
        let w = try constTensor(Twiddles.complex(n, inverse: inverse), x.dtype.part, [Int64(2 * n), Int64(2 * n)], g)
        let flat = try x.reshape(lead + [.known(Int64(2 * n))])
        return try g.op("MatMul", flat, w, shape: lead + [.known(Int64(2 * n))]).reshape(lead + [.known(Int64(n)), 2])
    case .dft: return try dftNode(x, axis: lead.count, rank: lead.count + 2, inverse: inverse, onesided: false, g)
    case .bluestein: return try bluestein(x, n: n, inverse: inverse, g)
    case .fourStep: return try fourStep(x, n: n, inverse: inverse, g)
    }
}

/// The one-sided transform of a real signal along its last axis: [..., n] to complex [..., n/2+1, 2].
func realDFT(_ x: Value, n: Int, _ g: GraphBuilder) throws -> Value {
    guard let shape = x.shape else { throw LoweringError.invalid("fft of an operand of unknown shape") }
    let lead = Array(shape.dropLast()), m = Int64(n / 2 + 1)
    switch Plan(n, opset: g.opset) {
    case .matMul:
        let w = try constTensor(Twiddles.real(n), x.dtype, [Int64(n), 2 * m], g)
        return try g.op("MatMul", x, w, shape: lead + [.known(2 * m)]).reshape(lead + [.known(m), 2])
    case .bluestein, .fourStep:
        let full = try transformLast(g.withZeroImag(x).with(shape: lead + [.known(Int64(n)), 2]), n: n, inverse: false, g)
        return try g.op("Slice", full, g.int64s([0]), g.int64s([m]), g.int64s([lead.count]), shape: lead + [.known(m), 2])
    case .dft: break
    }
    let signal = try x.unsqueeze([-1])
    return try dftNode(signal, axis: shape.count - 1, rank: shape.count + 1, inverse: false, onesided: true, g)
        .with(shape: lead + [.known(m), 2])
}

/// The real signal [..., n] whose one-sided spectrum is complex storage [..., n/2+1, 2].
func inverseRealDFT(_ x: Value, n: Int, _ g: GraphBuilder) throws -> Value {
    guard let shape = x.shape else { throw LoweringError.invalid("fft of an operand of unknown shape") }
    let lead = Array(shape.dropLast(2)), m = n / 2 + 1
    if Plan(n, opset: g.opset) == .matMul {
        let w = try constTensor(Twiddles.inverseReal(n), x.dtype.part, [Int64(2 * m), Int64(n)], g)
        return try g.op("MatMul", x.reshape(lead + [.known(Int64(2 * m))]), w, shape: lead + [.known(Int64(n))])
    }
    // DFT has no complex-to-real inverse: rebuild the full Hermitian spectrum, bins m..n-1 being
    // the conjugates of bins n-m..1, and keep the real part of the inverse.
    let axis = lead.count
    let mirrored = try g.op("Slice", x, g.int64s([Int64(n - m)]), g.int64s([0]), g.int64s([axis]), g.int64s([-1]))
    let conj = try g.op("Mul", mirrored, constTensor([1, -1], x.dtype.part, [2], g))
    let full = try g.op("Concat", x, conj, attributes: ["axis": .int(Int64(axis))], shape: lead + [.known(Int64(n)), 2])
    let signal = try transformLast(full, n: n, inverse: true, g)
    return try g.op("Gather", signal, g.constant([Int64(0)], dtype: .i64, shape: []), attributes: ["axis": .int(-1)],
                    shape: lead + [.known(Int64(n))])
}

/// ONNX DFT along `axis` of a [..., n, 1 or 2] signal. Opset 17 takes the axis as an attribute,
/// opset 20 as an input. DFT wants a batch axis before the signal's, so a rank-2 input gets one.
func dftNode(_ x: Value, axis: Int, rank: Int, inverse: Bool, onesided: Bool, _ g: GraphBuilder) throws -> Value {
    if axis == 0 {
        let y = try dftNode(x.unsqueeze([0]), axis: 1, rank: rank + 1, inverse: inverse, onesided: onesided, g)
        return try y.squeeze([0])
    }
    let flags: KeyValuePairs<String, Attr> = ["inverse": .int(inverse ? 1 : 0), "onesided": .int(onesided ? 1 : 0)]
    if g.opset >= 20 {
        return try g.op("DFT", x, nil, g.constant([Int64(axis)], dtype: .i64, shape: []), attributes: flags)
    }
    return try g.op("DFT", x, attributes: ["inverse": .int(inverse ? 1 : 0), "onesided": .int(onesided ? 1 : 0),
                                            "axis": .int(Int64(axis))])
}
