import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Knows which pack call is in flight, so a pack that crashes (SIGSEGV, SIGBUS, SIGILL, SIGFPE,
/// SIGTRAP, SIGABRT), hangs past `--pack-timeout`, or calls `exit` (or, in the CLI, `_exit`) ends the process with exit 1 and
/// one line naming the pack, its path, the primitive and the equation. The host never tries to
/// continue after a pack faulted: its state is unknown.
///
/// The handler reads only what was stored before the call (pointers to C strings that live as long
/// as the pack, a few integers) and writes with write(2): nothing in it allocates or locks. A fault
/// outside a pack call goes to the handler that was there before (the Swift runtime's backtracer),
/// so a host bug still reads as one.
public enum PackGuard {
    /// Seconds a single pack call (entry or lowering) may run; 0 disables the watchdog.
    public static let defaultTimeout = 600.0
    static let signals: [Int32] = [SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGABRT]
    static let maxDepth = 16

    struct State {
        var active: Int32 = 0
        /// 0: lowering an equation; 1: loading (constructors and the entry function).
        var loading: Int32 = 0
        var pack: UnsafePointer<CChar>? = nil
        var path: UnsafePointer<CChar>? = nil
        var primitive: UnsafePointer<CChar>? = nil
        var depth: Int32 = 0
        var equation: (Int32, Int32, Int32, Int32, Int32, Int32, Int32, Int32,
                       Int32, Int32, Int32, Int32, Int32, Int32, Int32, Int32) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        /// CLOCK_MONOTONIC nanoseconds after which the watchdog ends the process; 0 = none.
        var deadline: UInt64 = 0
        var timeoutSeconds: Int64 = 0
    }

    /// Allocated once and never freed: the handler and the watchdog read it at any time.
    nonisolated(unsafe) static let state: UnsafeMutablePointer<State> = {
        let p = UnsafeMutablePointer<State>.allocate(capacity: 1)
        p.initialize(to: State())
        return p
    }()
    nonisolated(unsafe) static var previous: [Int32: sigaction] = [:]
    nonisolated(unsafe) static var timeoutNanos: UInt64 = 0
    nonisolated(unsafe) static var installed = false

    /// Installs the handlers, the exit hook and (for a positive timeout) the watchdog thread. The
    /// CLI calls it once before loading packs; in-process users (tests, the fuzzer) leave it off.
    public static func install(timeout: Double = defaultTimeout) {
        _ = state
        timeoutNanos = timeout > 0 ? UInt64(min(timeout, 1e9) * 1e9) : 0
        state.pointee.timeoutSeconds = Int64(timeout.rounded(.up))
        guard !installed else { return }
        installed = true
        // A pack that overflows its stack faults on the guard page: the handler needs its own stack.
        let altSize = 1 << 16
        var alt = stack_t()
        alt.ss_sp = UnsafeMutableRawPointer.allocate(byteCount: altSize, alignment: 16)
        alt.ss_size = altSize
        alt.ss_flags = 0
        sigaltstack(&alt, nil)
        for sig in signals {
            var action = sigaction()
            action.__sigaction_handler.sa_sigaction = { sig, _, _ in PackGuard.fault(sig) }
            action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER
            sigemptyset(&action.sa_mask)
            var old = sigaction()
            sigaction(sig, &action, &old)
            previous[sig] = old
        }
        atexit { PackGuard.exitDuringCall() }
        at_quick_exit { PackGuard.exitDuringCall() }
        if timeoutNanos > 0 {
            let t = Thread { PackGuard.watch() }
            t.name = "pack-watchdog"
            t.start()
        }
    }

    // MARK: marking calls

    /// A saved outer call, restored when a nested one (a lowering's inline_program) returns.
    public struct Saved {
        let value: State
    }

    @inline(__always)
    static func enter(pack: UnsafePointer<CChar>?, path: UnsafePointer<CChar>?, primitive: UnsafePointer<CChar>?,
                      equation: [Int], loading: Bool) -> Saved {
        let s = state
        let saved = Saved(value: s.pointee)
        s.pointee.active = 0
        s.pointee.pack = pack; s.pointee.path = path; s.pointee.primitive = primitive
        s.pointee.loading = loading ? 1 : 0
        let n = min(equation.count, maxDepth)
        s.pointee.depth = Int32(n)
        withUnsafeMutableBytes(of: &s.pointee.equation) { raw in
            let out = raw.bindMemory(to: Int32.self)
            for k in 0..<n { out[k] = Int32(truncatingIfNeeded: equation[k]) }
        }
        s.pointee.deadline = timeoutNanos > 0 ? now() &+ timeoutNanos : 0
        s.pointee.active = 1
        return saved
    }

    @inline(__always)
    static func leave(_ saved: Saved) {
        let s = state
        s.pointee.active = 0
        var restored = saved.value
        // The outer call's clock restarts: the time spent in the host's nested work is not its own.
        if restored.active != 0, timeoutNanos > 0 { restored.deadline = now() &+ timeoutNanos }
        let active = restored.active
        restored.active = 0
        s.pointee = restored
        s.pointee.active = active
    }

    /// Runs `body` as a call into a pack's lowering of `primitive` at `equation`.
    @inline(__always)
    static func lowering<T>(_ claim: Claim, equation: [Int], _ body: () -> T) -> T {
        let saved = enter(pack: UnsafePointer(claim.pack.labelText.pointer), path: UnsafePointer(claim.pack.pathText.pointer),
                          primitive: UnsafePointer(claim.primitiveText.pointer), equation: equation, loading: false)
        defer { leave(saved) }
        return body()
    }

    /// Runs `body` as the loading of the pack at `path` (dlopen runs its constructors, then its entry).
    static func loading<T>(path: CText, _ body: () throws -> T) rethrows -> T {
        let saved = enter(pack: nil, path: UnsafePointer(path.pointer), primitive: nil, equation: [], loading: true)
        defer { leave(saved) }
        return try body()
    }

    // MARK: reporting (async-signal-safe)

    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    static func fault(_ sig: Int32) {
        let s = state
        guard s.pointee.active != 0 else {
            // Not a pack's fault: hand it back to whoever handled it before and let it recur.
            if var old = previous[sig] { sigaction(sig, &old, nil) } else { signal(sig, SIG_DFL) }
            return
        }
        let name: StaticString
        switch sig {
        case SIGSEGV: name = "crashed (SIGSEGV, invalid memory access)"
        case SIGBUS: name = "crashed (SIGBUS, bus error)"
        case SIGILL: name = "crashed (SIGILL, illegal instruction or a trap)"
        case SIGFPE: name = "crashed (SIGFPE, arithmetic fault)"
        case SIGTRAP: name = "crashed (SIGTRAP, a trap)"
        default: name = "aborted (SIGABRT)"
        }
        report(name)
    }

    /// Reports the pack in flight, if any, and ends the process with exit 1; returns otherwise.
    /// Registered with atexit and at_quick_exit; the CLI also hands it to its `_exit` (ExitGuard),
    /// which a pack's `_exit` binds to.
    public static func exitDuringCall() {
        guard state.pointee.active != 0 else { return }
        report("called exit")
    }

    static func watch() {
        while true {
            usleep(100_000)
            let s = state
            let d = s.pointee.deadline
            if s.pointee.active != 0, d != 0, now() > d { report("did not return within --pack-timeout", timeout: true) }
        }
    }

    /// Writes `jax2onnx: error: pack P (PATH) <what> while lowering 'prim' at equation 3>1` and
    /// ends the process with exit 1.
    static func report(_ what: StaticString, timeout: Bool = false) -> Never {
        let s = state.pointee
        func put(_ p: UnsafePointer<CChar>?) { if let p { _ = write(2, p, strlen(p)) } }
        func put(_ t: StaticString) { _ = write(2, t.utf8Start, t.utf8CodeUnitCount) }
        func put(int v: Int64) {
            var buf: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                      UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            withUnsafeMutableBytes(of: &buf) { b in
                var x = v < 0 ? 0 : UInt64(v), i = b.count
                repeat { i -= 1; b[i] = UInt8(48 + x % 10); x /= 10 } while x > 0 && i > 0
                _ = write(2, b.baseAddress! + i, b.count - i)
            }
        }
        put("jax2onnx: error: ")
        if s.loading != 0 {
            put("pack at "); put(s.path); put(" "); put(what); put(" while loading")
        } else {
            put("pack "); put(s.pack); put(" ("); put(s.path); put(") "); put(what)
            put(" while lowering '"); put(s.primitive); put("' at equation ")
            var e = s.equation
            withUnsafeBytes(of: &e) { raw in
                let list = raw.bindMemory(to: Int32.self)
                for k in 0..<Int(s.depth) {
                    if k > 0 { put(">") }
                    put(int: Int64(list[k]))
                }
            }
        }
        if timeout { put(" ("); put(int: s.timeoutSeconds); put(" s)") }
        put("\n")
        // Reported once: the CLI's _exit runs exitDuringCall, which must not report again.
        state.pointee.active = 0
        _exit(1)
    }
}
