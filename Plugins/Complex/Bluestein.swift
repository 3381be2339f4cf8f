import Foundation
import PluginKit

/// Bluestein's transform of complex storage [..., n, 2] along its last JAX axis. With
/// 2jk = j² + k² - (k - j)², X_k = w_k Σ_j (x_j w_j) conj(w_(k-j)) for the chirp w_j = e^(∓iπj²/n):
/// a chirp multiply, a circular convolution of power-of-two length M ≥ 2n - 1 (DFT, multiply by
/// the filter's spectrum, inverse DFT), and a chirp multiply again. Only power-of-two DFTs run,
/// which ONNX Runtime computes accurately (or four-step MatMuls below opset 17); the filter's
/// spectrum is a constant made here.
func bluestein(_ x: Value, n: Int, inverse: Bool, _ g: GraphBuilder) throws -> Value {
    guard let shape = x.shape else { throw LoweringError.invalid("fft of an operand of unknown shape") }
    let lead = Array(shape.dropLast(2)), axis = lead.count
    var m = 1
    while m < 2 * n - 1 { m <<= 1 }
    let sign: Double = inverse ? 1 : -1
    // j² mod 2n keeps the angle small, so the chirp is exact to rounding for large j.
    let chirp = (0..<n).map { j -> (Double, Double) in
        let a = Double.pi * Double((j * j) % (2 * n)) / Double(n)
        return (cos(a), sign * sin(a))
    }
    var filter = [(Double, Double)](repeating: (0, 0), count: m)
    for j in 0..<n {
        filter[j] = (chirp[j].0, -chirp[j].1)
        if j > 0 { filter[m - j] = filter[j] }
    }
    // Unnormalized here; the inverse DFT's 1/M then makes the product a circular convolution.
    let spectrumOfFilter = Radix2.transform(filter)
    let t = x.dtype.part
    let scale = inverse ? 1 / Double(n) : 1
    let w = try constTensor(chirp.flatMap { [$0.0, $0.1] }, t, [Int64(n), 2], g)
    let wOut = try constTensor(chirp.flatMap { [$0.0 * scale, $0.1 * scale] }, t, [Int64(n), 2], g)
    let b = try constTensor(spectrumOfFilter.flatMap { [$0.0, $0.1] }, t, [Int64(m), 2], g)

    var pads = [Int64](repeating: 0, count: 2 * (axis + 2))
    pads[axis + 2 + axis] = Int64(m - n)
    let padded = try g.op("Pad", g.complexProduct(x, w), g.int64s(pads), shape: lead + [.known(Int64(m)), 2])
    let spectrum = try transformLast(padded, n: m, inverse: false, g).with(shape: lead + [.known(Int64(m)), 2])
    let conv = try transformLast(g.complexProduct(spectrum, b).with(shape: lead + [.known(Int64(m)), 2]), n: m, inverse: true, g)
    let head = try g.op("Slice", conv, g.int64s([0]), g.int64s([Int64(n)]), g.int64s([axis]),
                        shape: lead + [.known(Int64(n)), 2])
    return try g.complexProduct(head, wOut)
}

/// An in-place iterative radix-2 FFT (forward, unnormalized) in double precision, for constants.
enum Radix2 {
    static func transform(_ input: [(Double, Double)]) -> [(Double, Double)] {
        var a = input
        let n = a.count
        var j = 0
        for i in 1..<n {
            var bit = n >> 1
            while j & bit != 0 { j ^= bit; bit >>= 1 }
            j |= bit
            if i < j { a.swapAt(i, j) }
        }
        var len = 2
        while len <= n {
            let step = -2 * Double.pi / Double(len)
            for start in stride(from: 0, to: n, by: len) {
                for k in 0..<len / 2 {
                    let (c, s) = (cos(step * Double(k)), sin(step * Double(k)))
                    let u = a[start + k], v = a[start + k + len / 2]
                    let t = (v.0 * c - v.1 * s, v.0 * s + v.1 * c)
                    a[start + k] = (u.0 + t.0, u.1 + t.1)
                    a[start + k + len / 2] = (u.0 - t.0, u.1 - t.1)
                }
            }
            len <<= 1
        }
        return a
    }
}
