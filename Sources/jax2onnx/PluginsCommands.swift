import ArgumentParser
import Foundation
import Host

/// `jax2onnx plugins verify PACK.so`: the descriptor checks of PackVerifier, run in a child process.
struct VerifyPack: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a pack file in a separate process: ABI, claims, declared ONNX ops at their opsets, typed signatures; then run each claim's lowering on generated equations.")
    @Argument(help: ArgumentHelp("The pack to check.", valueName: "PACK.so")) var packs: [String]

    func run() throws {
        var failed = false
        for path in packs {
            let r = try VerifyPack.check(path)
            print("\(path):")
            for l in r.lines { print(l.hasPrefix("  ") ? l : "  " + l) }
            if r.ok { print("  OK") } else {
                failed = true
                for p in r.problems { print("  problem: \(p)") }
            }
        }
        if failed { throw ExitCode(1) }
    }

    static func check(_ path: String) throws -> PackVerifier.Report {
        guard FileManager.default.fileExists(atPath: path) else { throw HostError.io("pack '\(path)' does not exist") }
        guard let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else {
            throw HostError.io("cannot find this executable to run the verifier process")
        }
        return PackVerifier.verifyIsolated(path: path, executable: exe)
    }
}

/// The child half of `verify`: loads one pack in this (disposable) process.
struct VerifyInProcess: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: PackVerifier.childCommand[1], shouldDisplay: false)
    @Argument var path: String

    func run() throws {
        // A pack that crashes here is the expected failure being tested for: no core file.
        var noCore = rlimit(rlim_cur: 0, rlim_max: 0)
        _ = setrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &noCore)
        // A crash, hang or exit while loading or lowering is then named on stderr, which the
        // parent quotes; the timeout stays under the parent's, which kills a child that hangs.
        guardPacks(timeout: PackVerifier.timeoutSeconds / 3)
        let r = PackVerifier.verify(path: path)
        print(PackVerifier.childOutput(r), terminator: "")
        if !r.ok { throw ExitCode(1) }
    }
}

/// `jax2onnx plugins install PACK.so`: verify, then copy into the per-user pack folder, which is on
/// the search path.
struct InstallPack: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "install",
        abstract: "Verify a pack and copy it into the per-user pack folder ($XDG_DATA_HOME/jax2onnx/packs or ~/.local/share/jax2onnx/packs).")
    @Argument(help: ArgumentHelp("The pack to install.", valueName: "PACK.so")) var path: String

    func run() throws {
        let r = try VerifyPack.check(path)
        guard r.ok else {
            var err = StandardError()
            print("error: not installing '\(path)': it fails verification:", to: &err)
            for p in r.problems { print("  \(p)", to: &err) }
            throw ExitCode(1)
        }
        guard let dir = SearchPath.userPackDirectory() else {
            throw HostError.usage("cannot find a per-user folder: set XDG_DATA_HOME or HOME")
        }
        let fm = FileManager.default
        do { try fm.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
            throw HostError.io("cannot create '\(dir)': \(error.localizedDescription)")
        }
        var name = (path as NSString).lastPathComponent
        if !name.hasSuffix(".so") { name += ".so" }
        let target = (dir as NSString).appendingPathComponent(name)
        // Copy beside the target and rename over it, so a running conversion never sees half a file.
        let staging = target + ".partial"
        try? fm.removeItem(atPath: staging)
        do {
            try fm.copyItem(atPath: path, toPath: staging)
            let replaced = fm.fileExists(atPath: target)
            guard rename(staging, target) == 0 else { throw HostError.io("cannot move the pack into place: \(String(cString: strerror(errno)))") }
            print("\(replaced ? "replaced" : "installed") \(r.lines.first.map { String($0.prefix { $0 != " " }) } ?? name) as \(target)")
        } catch let e as HostError { throw e } catch {
            try? fm.removeItem(atPath: staging)
            throw HostError.io("cannot copy '\(path)' to '\(dir)': \(error.localizedDescription)")
        }
    }
}
