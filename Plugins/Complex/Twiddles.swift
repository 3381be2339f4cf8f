import Foundation
import PluginKit

/// The DFT as a matrix over interleaved (real, imag) storage, for the MatMul lowering of `fft`.
/// Angles are reduced mod n in integers before the trigonometry, so large j·k lose no precision.
enum Twiddles {
    static func angle(_ j: Int, _ k: Int, _ n: Int) -> Double { 2 * Double.pi * Double((j * k) % n) / Double(n) }

    /// [2n, 2n]: row 2j+s (input j, part s), column 2k+p (output k, part p); y = x · W computes
    /// y_k = scale · Σ_j x_j e^(±iθ), θ = 2πjk/n (minus forward, plus inverse).
    static func complex(_ n: Int, inverse: Bool) -> [Double] {
        let sign: Double = inverse ? 1 : -1, scale = inverse ? 1 / Double(n) : 1
        var w = [Double](repeating: 0, count: 4 * n * n)
        for j in 0..<n {
            for k in 0..<n {
                let c = cos(angle(j, k, n)) * scale, s = sign * sin(angle(j, k, n)) * scale
                // (xr + i xi)(c + i s) = (xr c - xi s) + i (xr s + xi c)
                w[(2 * j) * 2 * n + 2 * k] = c
                w[(2 * j + 1) * 2 * n + 2 * k] = -s
                w[(2 * j) * 2 * n + 2 * k + 1] = s
                w[(2 * j + 1) * 2 * n + 2 * k + 1] = c
            }
        }
        return w
    }

    /// [n, 2m], m = n/2 + 1: the one-sided forward transform of a real signal.
    static func real(_ n: Int) -> [Double] {
        let m = n / 2 + 1
        var w = [Double](repeating: 0, count: n * 2 * m)
        for j in 0..<n {
            for k in 0..<m {
                w[j * 2 * m + 2 * k] = cos(angle(j, k, n))
                w[j * 2 * m + 2 * k + 1] = -sin(angle(j, k, n))
            }
        }
        return w
    }

    /// [2m, n]: the real inverse of a one-sided spectrum. Bins other than 0 and n/2 stand for
    /// themselves and their conjugate mirror (weight 2); the imaginary parts of bins 0 and n/2
    /// meet sin = 0 and drop out, as in JAX.
    static func inverseReal(_ n: Int) -> [Double] {
        let m = n / 2 + 1
        var w = [Double](repeating: 0, count: 2 * m * n)
        for k in 0..<m {
            let weight = (k == 0 || 2 * k == n ? 1.0 : 2.0) / Double(n)
            for j in 0..<n {
                w[(2 * k) * n + j] = weight * cos(angle(j, k, n))
                w[(2 * k + 1) * n + j] = -weight * sin(angle(j, k, n))
            }
        }
        return w
    }
}
