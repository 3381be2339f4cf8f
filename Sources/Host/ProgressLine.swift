import Foundation

/// The progress line a long conversion shows on stderr: nothing for the first two seconds (most
/// conversions finish sooner), then one self-overwriting line per phase at most ten times a
/// second, erased when the conversion ends. Cheap to call per equation: it looks at the clock only
/// every 256 ticks.
public final class ProgressLine {
    let enabled: Bool
    private let start = Date()
    private var ticks = 0
    private var lastDraw = Date.distantPast
    private var drawn = false
    /// JAX2ONNX_PROGRESS_DELAY (seconds) moves the two-second threshold, so tests can see the line.
    static let delay: TimeInterval = ProcessInfo.processInfo.environment["JAX2ONNX_PROGRESS_DELAY"].flatMap(Double.init) ?? 2
    static let interval: TimeInterval = 0.1

    public init(enabled: Bool) { self.enabled = enabled }

    /// `done` of `total` units of the named phase.
    func update(_ phase: String, _ done: Int, _ total: Int, unit: String, force: Bool = false) {
        guard enabled else { return }
        ticks += 1
        guard force || ticks & 255 == 0 else { return }
        let now = Date()
        guard now.timeIntervalSince(start) >= Self.delay, now.timeIntervalSince(lastDraw) >= Self.interval else { return }
        lastDraw = now
        let percent = total > 0 ? Int(Double(done) / Double(total) * 100) : 100
        let line = String(format: "\r\u{1B}[K%@: %d%% (%@ of %@ %@), %.1f s", phase, percent,
                          Self.count(done), Self.count(total), unit, now.timeIntervalSince(start))
        FileHandle.standardError.write(line.data(using: .utf8)!)
        drawn = true
    }

    /// Clears the line so the shell prompt or the report starts clean.
    func finish() {
        guard drawn else { return }
        FileHandle.standardError.write("\r\u{1B}[K".data(using: .utf8)!)
        drawn = false
    }

    static func count(_ n: Int) -> String {
        n >= 10_000_000 ? "\(n / 1_000_000)M" : n >= 10_000 ? "\(n / 1000)k" : "\(n)"
    }
}
