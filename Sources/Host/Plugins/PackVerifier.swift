import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `jax2onnx plugins verify`: checks a pack file's descriptor before anyone depends on it. Loading
/// runs foreign code, so `verifyIsolated` does it in a child process (the CLI re-executed with a
/// hidden subcommand that calls `verify`): a pack that crashes or hangs on load is reported, and
/// the caller survives.
public enum PackVerifier {
    public struct Report {
        /// What the pack is and claims, for the user to read.
        public var lines: [String] = []
        /// Anything that makes the pack unfit to install; empty means it passed.
        public var problems: [String] = []
        public var ok: Bool { problems.isEmpty }
    }

    /// The hidden CLI subcommand the isolated check runs.
    public static let childCommand = ["plugins", "verify-in-process"]
    /// J2O_DTYPE_* codes of the header.
    static let knownDTypes = Set<Int32>(1...20).union([1000])
    /// A pack whose load takes longer than this is reported as hanging.
    public static let timeoutSeconds = 30.0

    /// Loads the pack in this process and checks its descriptor.
    public static func verify(path: String) -> Report {
        var r = Report()
        let pack: LoadedPack
        do { pack = try PackLoader.load(path: path, order: 0) } catch {
            r.problems.append("\(error)")
            return r
        }
        r.lines.append("\(pack.label)  ABI \(pack.abiText) (this host supports \(PackLoader.supportedRange))  \(pack.claims.count) claim\(pack.claims.count == 1 ? "" : "s")")
        if let d = pack.description { r.lines.append("  \(d)") }
        if pack.abiVersion & 0xFFFF > PackLoader.hostABIMinor {
            r.lines.append("  note: built against a newer minor ABI than this host; fields this host does not know are ignored")
        }
        if pack.claims.isEmpty { r.lines.append("  note: the pack claims no primitives") }
        for c in pack.claims {
            var line = "  \(c.primitive)  priority \(c.priority)  opsets \(c.opsetRange)  emits \(c.onnxOps.joined(separator: " "))"
            if let s = c.signature { line += "  typed \(s)" }
            r.lines.append(line)
            r.problems += problems(c, notes: &r.lines)
        }
        if r.ok { exercise(pack) }
        return r
    }

    /// What the child prints before each lowering it runs, so the parent can name the step a
    /// pack that ends the process (`_exit`) was in.
    public static let stepPrefix = "step: "

    /// Runs every claim's lowering on generated equations (0 to 3 operands of the claim's first
    /// dtype, shape [2, 3], no params): a lowering may refuse them, but it must return. A crash,
    /// hang or exit here happens in the disposable child, under PackGuard, and fails the check
    /// before `plugins install` accepts the pack.
    static func exercise(_ pack: LoadedPack) {
        let registry = Registry(packs: [pack])
        for c in pack.claims {
            let opset = min(max(c.minOpset, Converter.supportedOpsets.lowerBound), c.maxOpset ?? OpSchemas.maxOpset)
            let dtype = DType.byBundleName.first { $0.value == (c.dtypes.first ?? .f32) }?.key ?? "f32"
            for operands in 0...3 {
                print("\(stepPrefix)lowering '\(c.primitive)' with \(operands) operand\(operands == 1 ? "" : "s")")
                fflush(stdout)
                let json = generatedProgram(c.primitive, operands: operands, dtype: dtype)
                do {
                    let bundle = try json.withUnsafeBytes { try BundleReader.read(bytes: $0, name: "verify.jaxpr") }
                    _ = try Lowerer(bundle: bundle, registry: registry, opset: opset).run()
                } catch {
                    // Refusing an equation it cannot lower is the pack's right.
                }
            }
        }
    }

    /// A bundle of one equation of `primitive` over `operands` inputs, with one result.
    static func generatedProgram(_ primitive: String, operands: Int, dtype: String) -> [UInt8] {
        let aval = "{\"dtype\":\"\(dtype)\",\"shape\":[2,3]}"
        let ins = (0..<operands).map { "{\"id\":\($0 + 1),\"aval\":\(aval)}" }.joined(separator: ",")
        let uses = (0..<operands).map { "{\"var\":\($0 + 1)}" }.joined(separator: ",")
        var name = ""
        for ch in primitive.unicodeScalars { name += ch == "\"" || ch == "\\" || ch.value < 0x20 ? "_" : String(ch) }
        let text = """
        {"format":"jax2onnx-bundle","version":1,"tensors":[],"program":{"jaxpr":{"constvars":[],"invars":[\(ins)],\
        "outvars":[{"var":100}],"eqns":[{"prim":"\(name)","in":[\(uses)],"out":[{"id":100,"aval":\(aval)}],"params":{}}]},"consts":[]}}
        """
        let json = Array(text.utf8)
        let dataOffset = (64 + json.count + 63) / 64 * 64
        var out = Array("J2OBNDL".utf8) + [0]
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func u64(_ v: Int) { withUnsafeBytes(of: UInt64(v).littleEndian) { out += $0 } }
        u32(1); u32(0); u64(64); u64(json.count); u64(dataOffset); u64(0)
        out += [UInt8](repeating: 0, count: 16)
        out += json
        out += [UInt8](repeating: 0, count: dataOffset - out.count)
        return out
    }

    /// What is wrong with one claim (overlapping duplicates and malformed signatures already fail
    /// the load). `notes` collects what is worth knowing but legal.
    static func problems(_ c: Claim, notes: inout [String]) -> [String] {
        var out: [String] = []
        let name = "claim '\(c.primitive)'"
        if let hi = c.maxOpset, hi < c.minOpset {
            out.append("\(name): its opset range \(c.minOpset)..\(hi) is empty")
            return out
        }
        if c.minOpset > OpSchemas.maxOpset {
            out.append("\(name) starts at opset \(c.minOpset); this host knows ONNX up to opset \(OpSchemas.maxOpset)")
            return out
        }
        // Emitting nothing is legal (copy binds its input); the host then checks no op list.
        if c.onnxOps.isEmpty { notes.append("note: \(name) lists no ONNX ops, so the host cannot hold it to a list") }
        let opsets = c.minOpset...min(c.maxOpset ?? OpSchemas.maxOpset, OpSchemas.maxOpset)
        var listed = Set<String>()
        for op in c.onnxOps {
            if !listed.insert(op).inserted { out.append("\(name) lists ONNX op '\(op)' twice"); continue }
            guard OpSchemas.introduced(op) != nil else {
                out.append("\(name) lists ONNX op '\(op)', which does not exist in any ONNX opset")
                continue
            }
            // The list is what the lowering *may* emit: an op newer than the claim's first opset is
            // fine as long as the lowering picks it by opset, but one that exists nowhere in the
            // range can never be emitted legally.
            let present = opsets.filter { OpSchemas.schema(op, opset: $0) != nil }
            if present.isEmpty {
                out.append("\(name) lists ONNX op '\(op)', which does not exist at any opset the claim serves (\(c.opsetRange))")
            } else if present.count < opsets.count {
                notes.append("note: \(name): ONNX op '\(op)' exists only at opsets \(present.first!)-\(present.last!) of \(c.opsetRange); the lowering must not emit it elsewhere")
            }
        }
        for d in c.dtypes where !knownDTypes.contains(d.rawValue) {
            out.append("\(name) lists unknown dtype code \(d.rawValue)")
        }
        return out
    }

    /// Runs `verify` in a child process (`executable` re-run with `childCommand`). The child prints
    /// the report and exits 0 (passed) or 1 (problems); anything else is the pack's fault.
    public static func verifyIsolated(path: String, executable: String) -> Report {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = childCommand + [path]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        var r = Report()
        do { try p.run() } catch {
            r.problems.append("cannot start the verifier process '\(executable)': \(error)")
            return r
        }
        let pid = p.processIdentifier
        let timer = DispatchWorkItem { if p.isRunning { kill(pid, SIGKILL) } }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeoutSeconds, execute: timer)
        // stderr drains on its own queue so neither pipe can fill up and stall the child.
        let errData = DispatchQueue(label: "verify-stderr")
        let errSink = TextSink()
        errData.async { errSink.text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self) }
        let stdoutText = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        timer.cancel()
        errData.sync {}
        let stderrText = errSink.text
        let lines = stdoutText.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var step = "loading"
        for l in lines where !l.isEmpty {
            if l.hasPrefix("problem: ") { r.problems.append(String(l.dropFirst(9))) }
            else if l.hasPrefix(stepPrefix) { step = String(l.dropFirst(stepPrefix.count)) }
            else { r.lines.append(l) }
        }
        switch (p.terminationReason, p.terminationStatus) {
        case (.exit, 0), (.exit, 1):
            // Exit 1 with no problem listed: PackGuard ended the child (a crash, hang or exit it
            // caught) and its stderr line names the call; the step says which generated equation.
            if p.terminationStatus == 1 && r.problems.isEmpty {
                r.problems.append("verification failed while \(step): \(stderrText.trimmingCharacters(in: .whitespacesAndNewlines))")
            }
        case (.uncaughtSignal, SIGKILL):
            r.problems.append("the pack did not finish \(step) within \(Int(timeoutSeconds)) s (killed)")
        case (.uncaughtSignal, let sig):
            r.problems.append("the pack crashed while \(step) (signal \(sig): \(String(cString: strsignal(sig))))")
        case (.exit, let code):
            let tail = stderrText.split(separator: "\n").suffix(3).joined(separator: " | ")
            r.problems.append("the pack ended the verifier process while \(step) (exit \(code))\(tail.isEmpty ? "" : ": " + tail)")
        @unknown default:
            r.problems.append("the verifier process ended abnormally")
        }
        return r
    }

    /// What the child prints: report lines as they are, problems marked for the parent.
    public static func childOutput(_ r: Report) -> String {
        (r.lines + r.problems.map { "problem: " + $0.replacingOccurrences(of: "\n", with: " ") }).joined(separator: "\n") + "\n"
    }
}

private final class TextSink: @unchecked Sendable { var text = "" }
