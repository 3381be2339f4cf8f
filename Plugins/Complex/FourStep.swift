import Foundation
import PluginKit

/// A long power-of-two transform without ONNX DFT (which opsets before 17 lack): Cooley–Tukey's
/// four steps on n = n1·n2. With j = n2·j1 + j2 and k = k1 + n1·k2,
/// X_k = Σ_j2 e^(∓2πi·j2·k1/n) (Σ_j1 x_j e^(∓2πi·j1·k1/n1)) e^(∓2πi·j2·k2/n2):
/// length-n1 transforms over j1, a twiddle multiply, length-n2 transforms over j2, and a transpose
/// to k's order. Each short transform is a MatMul (or splits again), so the constants grow as
/// n·(n1 + n2) instead of n², and the error stays that of an FFT.
func fourStep(_ x: Value, n: Int, inverse: Bool, _ g: GraphBuilder) throws -> Value {
    guard let shape = x.shape else { throw LoweringError.invalid("fft of an operand of unknown shape") }
    let lead = Array(shape.dropLast(2)), r = lead.count
    var n1 = 1
    while n1 * n1 < n { n1 <<= 1 }
    let n2 = n / n1
    let (d1, d2) = (Dim.known(Int64(n1)), Dim.known(Int64(n2)))
    // [.., j1, j2] -> [.., j2, j1]: transform j1 into k1.
    let split = try x.reshape(lead + [d1, d2, 2]).transpose(Array(0..<r) + [r + 1, r, r + 2])
    let first = try transformLast(split, n: n1, inverse: inverse, g).with(shape: lead + [d2, d1, 2])
    let sign: Double = inverse ? 1 : -1
    var twiddle = [Double]()
    twiddle.reserveCapacity(2 * n)
    for j2 in 0..<n2 {
        for k1 in 0..<n1 {
            let a = Twiddles.angle(j2, k1, n)
            twiddle += [cos(a), sign * sin(a)]
        }
    }
    let turned = try g.complexProduct(first, constTensor(twiddle, x.dtype.part, [Int64(n2), Int64(n1), 2], g))
        .with(shape: lead + [d2, d1, 2])
    // [.., j2, k1] -> [.., k1, j2]: transform j2 into k2, then k = k1 + n1·k2 is [.., k2, k1].
    let second = try transformLast(turned.transpose(Array(0..<r) + [r + 1, r, r + 2]), n: n2, inverse: inverse, g)
        .with(shape: lead + [d1, d2, 2])
    return try second.transpose(Array(0..<r) + [r + 1, r, r + 2]).reshape(lead + [.known(Int64(n)), 2])
}
