import Foundation

/// Per-pass wall times on stderr when J2O_PASS_TIMES=1, for finding which pass a graph makes slow.
enum PassTimes {
    static let enabled = ProcessInfo.processInfo.environment["J2O_PASS_TIMES"] == "1"

    /// Runs body, and when enabled reports its milliseconds under the label.
    static func measure<R>(_ label: String, _ body: () throws -> R) rethrows -> R {
        guard enabled else { return try body() }
        let start = DispatchTime.now().uptimeNanoseconds
        let result = try body()
        let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        note("pass \(label): \(String(format: "%.1f", ms)) ms")
        return result
    }

    static func note(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }
}
