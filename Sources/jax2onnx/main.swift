import ArgumentParser
import ExitGuard
import Foundation
import Host

/// Options every command that loads packs shares.
struct PackOptions: ParsableArguments {
    @Option(name: .customLong("plugins"), help: ArgumentHelp(
        "A folder of lowering packs (*.so) or one pack file; repeatable. Searched before $JAX2ONNX_PLUGIN_PATH and the built-in packs, so a pack here wins ties.",
        valueName: "dir"))
    var plugins: [String] = []

    @Option(name: .customLong("pack-timeout"), help: ArgumentHelp(
        "Seconds one call into a pack (its loading, or one lowering) may take before the run ends with exit 1 naming the pack; 0 waits forever.",
        valueName: "seconds"))
    var packTimeout: Double = PackGuard.defaultTimeout

    @Flag(name: .customLong("strict-packs"), help: "Fail when any pack on the search path cannot be loaded, instead of skipping it with a warning.")
    var strictPacks = false

    func validate() throws {
        guard packTimeout >= 0, packTimeout.isFinite else { throw ValidationError("--pack-timeout must be a non-negative number of seconds") }
    }

    /// Loads the packs under PackGuard: from here on a pack that crashes, hangs or exits ends the
    /// run with one line naming it. Packs that cannot load are skipped with a warning.
    func registry() throws -> Registry {
        guardPacks(timeout: packTimeout)
        let r = try Registry.load(SearchPath(plugins: plugins), strict: strictPacks)
        var err = StandardError()
        for e in r.skipped { print("warning: skipping a pack: \(e)", to: &err) }
        return r
    }
}

/// Installs PackGuard and routes `_exit` and `_Exit` through it, so a pack ending the process by
/// any of exit, quick_exit, _exit or _Exit is named.
func guardPacks(timeout: Double) {
    PackGuard.install(timeout: timeout)
    j2o_set_exit_hook { PackGuard.exitDuringCall() }
}

struct Jax2ONNX: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jax2onnx",
        abstract: "Convert traced JAX programs (JAXPR bundles) to ONNX through plugin lowering packs.",
        discussion: """
        Exit codes: 0 success; 1 the model could not be converted (unsupported primitives, a pack \
        error, verification); 2 usage or I/O error (missing file, malformed bundle, broken pack).
        """,
        version: "jax2onnx-swift \(jax2onnxVersion)",
        subcommands: [Convert.self, Inspect.self, Plugins.self, CoverageCommand.self])

    @Flag(name: .customLong("coverage"), help: "List every primitive the loaded packs claim, and who wins each.")
    var coverage = false

    @Option(help: "Coverage output format: table, json or markdown.")
    var format: String = "table"

    @Option(name: .customLong("jax-primitives"), help: ArgumentHelp(
        "With --format markdown: count JAX's registered primitives (claimed, out of scope, missing) from this list.",
        valueName: "scripts/jax-primitives.json"))
    var jaxPrimitives: String?

    @OptionGroup var packs: PackOptions

    func run() throws {
        guard coverage else { throw CleanExit.helpRequest(self) }
        try CoverageCommand.print(packs: packs, format: format, jaxPrimitives: jaxPrimitives)
    }
}

struct CoverageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "coverage", abstract: "Same as --coverage.")
    @Option(help: "table, json or markdown.") var format: String = "table"
    @Option(name: .customLong("jax-primitives"), help: ArgumentHelp(
        "With --format markdown: count JAX's registered primitives from this list.", valueName: "scripts/jax-primitives.json"))
    var jaxPrimitives: String?
    @OptionGroup var packs: PackOptions

    func run() throws { try CoverageCommand.print(packs: packs, format: format, jaxPrimitives: jaxPrimitives) }

    static func print(packs: PackOptions, format: String, jaxPrimitives: String? = nil) throws {
        guard let f = Coverage.Format(rawValue: format) else {
            throw HostError.usage("unknown --format '\(format)'; use table, json or markdown")
        }
        let census = try jaxPrimitives.map { try PrimitiveCensus.load($0) }
        Swift.print(Coverage.render(try packs.registry(), format: f, census: census), terminator: "")
    }
}

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Convert a JAXPR bundle to an ONNX model.")

    @Argument(help: ArgumentHelp("The bundle written by the Python tracer.", valueName: "IN.jaxpr")) var input: String
    @Option(name: .shortAndLong, help: ArgumentHelp("The ONNX model to write.", valueName: "OUT.onnx")) var output: String
    @Option(help: "Target ONNX opset.") var opset: Int = 23
    @OptionGroup var packs: PackOptions
    @Flag(help: "Keep initializers of 1 MiB or more in OUT.onnx.data beside the model (the default).")
    var externalData = false
    @Flag(help: "Write one self-contained file (no .onnx.data sidecar); limited to 2 GiB.") var web = false
    @Flag(name: .customLong("data-in-place"), help: ArgumentHelp(
        "Use the bundle's data file as the model's sidecar when it sits beside OUT.onnx, so the weights are not copied.",
        discussion: "For a bundle whose constants are in a file of their own (written with save_bundle(..., data_file=...)). The sidecar OUT.onnx.<hex>.data becomes a second name (a hard link) of that file; weights the optimizer creates are appended to it, and a failed run cuts them off again. The bundle stays convertible. When the model would leave over 10% or 64 MiB of the file unreferenced (dropped constants), or the file is elsewhere or cannot be linked, a compact sidecar is written instead. See docs/bundle-format.md."))
    var dataInPlace = false
    @Option(parsing: .upToNextOption, help: "Names for the model inputs, in order.") var inputNames: [String] = []
    @Option(parsing: .upToNextOption, help: "Names for the model outputs, in order.") var outputNames: [String] = []
    @Option(help: ArgumentHelp(
        "The runtime the model must run in: ort-cpu (ONNX Runtime's CPU provider, the default), ort-web (ONNX Runtime Web; implied by --web) or onnx (the specification alone).",
        discussion: "Nodes the target has no kernel for are never written: packs pick forms it runs (bf16 math in f32 on ort-cpu) and the conversion fails naming op, dtype and equation otherwise. See docs/runtime-profiles.md.",
        valueName: "name"))
    var target: String?
    @Flag(help: "Skip the graph optimizer.") var noOptimize = false
    @Flag(name: .customLong("upcast-bf16"), help: ArgumentHelp(
        "Compute bf16 graphs in f32, for runtimes without bf16 kernels (ONNX Runtime's CPU provider).",
        discussion: "bf16 inputs, outputs and weights become f32 (exact widenings; outputs are rounded to bf16 precision). Explicit conversions to bf16 still round; other ops keep f32 precision, so results match JAX to bf16 precision."))
    var upcastBF16 = false
    @Option(help: ArgumentHelp(
        "Which calls become ONNX local functions: auto (every module the name stack records), decorated (onnx_function calls) or none (a flat graph).",
        valueName: "auto|decorated|none"))
    var functions: String = "decorated"
    @Option(name: .customLong("pack-option"), help: ArgumentHelp(
        "Set an option a pack declares, as PACK.NAME=VALUE; repeatable. `jax2onnx plugins` lists each pack's options.",
        discussion: "Options choose among correct lowerings, e.g. NN.strict_nan=true. The name and the value's kind are checked before lowering starts.",
        valueName: "pack.name=value"))
    var packOption: [String] = []
    @Flag(name: .customLong("strict-nan"), help: ArgumentHelp(
        "Same as --pack-option NN.strict_nan=true --pack-option Lax.strict_nan=true: max and min pooling and reductions propagate NaN as JAX does.",
        discussion: "ONNX leaves NaN in MaxPool unspecified and ONNX Runtime drops a NaN unless it is first in its window. By default the NN pack emits MaxPool as it is, as other exporters do; with this option each pool carries a guard (a second pool over the NaN mask and a Where) so a NaN in a window gives NaN, as in JAX; ReduceMax/ReduceMin (which skip NaN in ONNX Runtime) get a NaN count and a Where. The optimizer keeps whatever the pack chose."))
    var strictNaN = false
    @Option(name: .customLong("max-memory"), help: ArgumentHelp(
        "Largest total size of the constants a conversion may create (index tables, folded tensors), e.g. 4G or 512M; the program is refused before allocating more.",
        valueName: "bytes"))
    var maxMemory: String = "4G"
    @Flag(help: "Print the ONNX op histogram before and after optimization, and timings.") var report = false
    @Flag(help: "Never show the progress line (shown on a terminal when a conversion takes over two seconds).")
    var quiet = false
    @Flag(help: "Show the progress line even when stderr is not a terminal.") var progress = false

    func validate() throws {
        if web && externalData { throw ValidationError("--web and --external-data exclude each other") }
        if web && dataInPlace { throw ValidationError("--web and --data-in-place exclude each other") }
        if quiet && progress { throw ValidationError("--quiet and --progress exclude each other") }
        if FunctionsMode(rawValue: functions) == nil { throw ValidationError("--functions takes auto, decorated or none, not '\(functions)'") }
        if Convert.bytes(maxMemory) == nil { throw ValidationError("--max-memory takes a size such as 4G, 512M or 1000000") }
    }

    func run() throws {
        var o = ConvertOptions()
        o.opset = opset
        o.optimize = !noOptimize
        o.upcastBF16 = upcastBF16
        let targetName = target ?? (web ? "ort-web" : "ort-cpu")
        guard let profile = RuntimeProfile.named(targetName) else {
            throw HostError.usage("unknown --target '\(targetName)'; use one of \(RuntimeProfile.names.joined(separator: ", "))")
        }
        o.target = profile
        o.functions = FunctionsMode(rawValue: functions)!
        o.web = web
        o.dataInPlace = dataInPlace
        o.inputNames = inputNames.isEmpty ? nil : inputNames
        o.outputNames = outputNames.isEmpty ? nil : outputNames
        o.maxMemory = Convert.bytes(maxMemory)!
        if progress || (!quiet && isatty(STDERR_FILENO) != 0) { o.progress = ProgressLine(enabled: true) }
        guard FileManager.default.fileExists(atPath: input) else { throw HostError.io("input bundle '\(input)' does not exist") }
        let registry = try packs.registry()
        for spec in packOption { try registry.setOption(spec) }
        if strictNaN {
            try registry.setOption("NN.strict_nan=true")
            try registry.setOption("Lax.strict_nan=true")
        }
        let r = try Converter.convert(bundlePath: input, outputPath: output, registry: registry, options: o)
        if report { printReport(r) }
    }

    /// A size with an optional K, M, G or T suffix (powers of 1024).
    static func bytes(_ text: String) -> Int? {
        let units: [Character: Int] = ["K": 10, "M": 20, "G": 30, "T": 40]
        var digits = Substring(text.uppercased()), shift = 0
        if digits.hasSuffix("B") { digits = digits.dropLast() }
        if let u = digits.last, let s = units[u] { shift = s; digits = digits.dropLast() }
        guard let n = Int(digits), n >= 0, n <= Int.max >> shift else { return nil }
        return n << shift
    }

    func printReport(_ r: ConversionReport) {
        var err = StandardError()
        print("\(r.equations) equations -> \(r.nodes) nodes, \(r.initializers) initializers (\(r.initializerBytes) bytes)", to: &err)
        let ops = Set(r.histogramBefore.keys).union(r.histogramAfter.keys).sorted()
        print("op".padding(toLength: 24, withPad: " ", startingAt: 0) + "  before  after", to: &err)
        for op in ops {
            let b = r.histogramBefore[op] ?? 0, a = r.histogramAfter[op] ?? 0
            print(op.padding(toLength: 24, withPad: " ", startingAt: 0) + "  " + String(b).padding(toLength: 6, withPad: " ", startingAt: 0) + "  \(a)", to: &err)
        }
        if !r.functions.isEmpty {
            print("functions (nodes per body; a nested call counts as one):", to: &err)
            for f in r.functions { print("  \(f.domain).\(f.name)".padding(toLength: 40, withPad: " ", startingAt: 0) + "  \(f.nodes)", to: &err) }
        }
        let t = ["read", "lower", "optimize", "write"].map { "\($0) \(String(format: "%.1f", (r.seconds[$0] ?? 0) * 1000)) ms" }
        print("time: " + t.joined(separator: ", "), to: &err)
    }
}

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the primitives a bundle uses, who claims each, and what is missing where.")
    @Argument(help: ArgumentHelp("The bundle to inspect.", valueName: "IN.jaxpr")) var input: String
    @Option(help: "Target ONNX opset.") var opset: Int = 23
    @OptionGroup var packs: PackOptions

    func run() throws {
        let bundle = try BundleReader.read(path: input)
        let registry = try packs.registry()
        var counts: [String: Int] = [:]
        var order: [String] = []
        var total = 0
        var calls: [String: Int] = [:], functionOrder: [String] = []
        bundle.program.jaxpr.forEachEquation { e in
            if counts[e.primitive] == nil { order.append(e.primitive) }
            counts[e.primitive, default: 0] += 1
            total += 1
            if let f = e.function {
                let key = "\(f.domain).\(f.name)" + (f.unique ? " (unique)" : "")
                if calls[key] == nil { functionOrder.append(key) }
                calls[key, default: 0] += 1
            }
        }
        let j = bundle.program.jaxpr
        print("\(input): \(total) equations, \(order.count) primitives, \(j.invars.count) inputs, \(j.outvars.count) outputs, \(bundle.tensors.count) constants")
        let width = max(9, order.map(\.count).max() ?? 0)
        for p in order.sorted() {
            let claims = registry.candidates(p, opset: opset)
            let who = claims.first.map { c in
                c.pack.label + (claims.count > 1 ? " (shadows \(claims.dropFirst().map(\.pack.label).joined(separator: ", ")))" : "")
            } ?? "MISSING"
            print("  " + p.padding(toLength: width, withPad: " ", startingAt: 0) + "  x\(counts[p]!)".padding(toLength: 7, withPad: " ", startingAt: 0) + "  " + who)
        }
        if !functionOrder.isEmpty {
            print("onnx_function calls (each a local function unless --functions none; `convert --report` shows their bodies):")
            for f in functionOrder { print("  \(f)  x\(calls[f]!)") }
        }
        let missing = Preflight.unclaimed(j, registry: registry, opset: opset)
        if !missing.isEmpty {
            print(Preflight.report(missing, opset: opset).joined(separator: "\n"))
            throw ExitCode(1)
        }
    }
}

struct Plugins: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the loaded packs: name, version, ABI, path, and shadowed claims.",
        subcommands: [VerifyPack.self, InstallPack.self, VerifyInProcess.self])
    @OptionGroup var packs: PackOptions

    func run() throws {
        let r = try packs.registry()
        if r.packs.isEmpty { print("no packs found (searched --plugins, $\(SearchPath.environmentVariable), and next to the executable)") }
        for p in r.packs {
            print("\(p.label)  ABI \(p.abiText)  \(p.claims.count) claims  \(p.path)")
            if let d = p.description { print("    \(d)") }
            for o in p.options {
                print("    option \(p.name).\(o.name) (\(o.kind.rawValue), default \(o.defaultValue.isEmpty ? "\"\"" : o.defaultValue)): \(o.help)")
            }
            for c in p.claims {
                let all = r.allClaims(c.primitive)
                if let winner = all.first, winner.pack !== p, winner.serves(opset: c.minOpset) {
                    print("    shadowed: \(c.primitive) (by \(winner.pack.label))")
                }
            }
        }
    }
}

struct StandardError: TextOutputStream {
    mutating func write(_ s: String) { FileHandle.standardError.write(Data(s.utf8)) }
}

// Usage errors exit 2 (not ArgumentParser's 64) and host errors with their own codes, as one
// "error:" message on stderr and never a stack trace.
do {
    var command = try Jax2ONNX.parseAsRoot()
    try command.run()
} catch let e as HostError {
    var err = StandardError()
    print("error: \(e)", to: &err)
    exit(e.exitCode)
} catch let e as ExitCode {
    exit(e.rawValue)
} catch {
    let code = Jax2ONNX.exitCode(for: error)
    if code == .success { Jax2ONNX.exit(withError: error) }
    var err = StandardError()
    print(Jax2ONNX.fullMessage(for: error), to: &err)
    exit(2)
}
