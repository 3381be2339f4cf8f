import Foundation

/// Bundle in, ONNX out: the whole conversion as the CLI and the tests run it.
public struct ConvertOptions {
    public var opset: Int = 23
    public var optimize = true
    public var web = false
    public var externalThreshold = 1 << 20
    public var inputNames: [String]?
    public var outputNames: [String]?
    /// Ceiling on constants the conversion creates (`--max-memory`).
    public var maxMemory = MemoryLimit.defaultBytes
    /// Where a long conversion reports how far it got; nil for silence.
    public var progress: ProgressLine?
    /// Compute bf16 graphs in f32 (see UpcastBF16); runs with or without the optimizer.
    public var upcastBF16 = false
    /// The runtime the model must load and run in (docs/runtime-profiles.md).
    public var target: RuntimeProfile = .ortCPU
    /// Which calls become ONNX local functions (docs/functions.md).
    public var functions = FunctionsMode.decorated
    /// Use the bundle's data file as the model's sidecar when it sits beside the output
    /// (`--data-in-place`; docs/bundle-format.md). A data file `to_onnx` made for this output is
    /// removed when the conversion fails.
    public var dataInPlace = false
    public init() {}
}

public enum FunctionsMode: String, CaseIterable {
    /// Every module the name stack records, besides the decorated calls.
    case auto
    /// Only calls of `onnx_function`-decorated code.
    case decorated
    /// A flat graph: every nested program inlined.
    case none
}

public struct ConversionReport {
    public var equations = 0
    public var histogramBefore: [String: Int] = [:]
    public var histogramAfter: [String: Int] = [:]
    public var nodes = 0
    public var initializers = 0
    public var initializerBytes = 0
    public var seconds: [String: Double] = [:]
    /// The local functions written, with the nodes of each body (nested calls count as one).
    public var functions: [(name: String, domain: String, nodes: Int)] = []
}

public enum Converter {
    public static let supportedOpsets = 13...OpSchemas.maxOpset

    public static func convert(bundlePath: String, outputPath: String, registry: Registry,
                               options: ConvertOptions) throws -> ConversionReport {
        var report = ConversionReport()
        var clock = Date()
        func lap(_ name: String) { report.seconds[name] = Date().timeIntervalSince(clock); clock = Date() }

        guard supportedOpsets.contains(options.opset) else {
            throw HostError.usage("opset \(options.opset) is not supported; choose one of \(supportedOpsets.lowerBound)...\(supportedOpsets.upperBound)")
        }
        try OutputFile.checkNotInput(output: outputPath, input: bundlePath)
        let bundle = try BundleReader.read(path: bundlePath)
        if bundle.hasSeparateDataFile { try OutputFile.checkNotInput(output: outputPath, input: bundle.dataFile.path) }
        var inPlace: DataInPlace?
        if options.dataInPlace, bundle.hasSeparateDataFile {
            let dataPath = bundle.dataFile.path
            if DataInPlace.sideBySide(dataPath, outputPath) {
                let adopt = DataInPlace.isTemporary(dataPath, for: outputPath)
                if adopt || !options.web { inPlace = DataInPlace(file: bundle.dataFile, adopt: adopt) }
            }
        }
        // A temporary data file made for this output is this run's to remove on every failure,
        // and after a rewrite (compaction, --web) that left it unused; after an in-place commit
        // it has been renamed and this finds nothing.
        defer { if let d = inPlace, d.adopt { unlink(d.file.path) } }
        lap("read")
        let (missing, equations) = Preflight.scan(bundle.program.jaxpr, registry: registry, opset: options.opset)
        guard missing.isEmpty else {
            let skipped = registry.skipped.map { "  skipped (it might have claimed them): \($0)" }
            let hint = registry.builtinHint.map { ["hint: " + $0] } ?? []
            throw HostError.conversion(Preflight.report(missing, opset: options.opset) + skipped + hint)
        }
        report.equations = equations

        let lowerer = Lowerer(bundle: bundle, registry: registry, opset: options.opset, target: options.target)
        lowerer.moduleScopes = options.functions == .auto
        lowerer.maxMemory = options.maxMemory
        if let progress = options.progress {
            let total = bundle.program.jaxpr.equations.count
            lowerer.onEquation = { done in progress.update("lowering", done, total, unit: "equations") }
        }
        defer { options.progress?.finish() }
        let graph = try lowerer.run(inputNames: options.inputNames, outputNames: options.outputNames)
        lap("lower")
        report.histogramBefore = histogram(graph)
        graph.target = options.target
        try ShapeTruth.check(graph, opset: options.opset, stage: "after lowering")
        if options.upcastBF16 { UpcastBF16().run(graph, opset: options.opset) }
        if options.optimize { Pipeline.run(Pipeline.standard(), on: graph, opset: options.opset) }
        try Verifier.verify(graph, opset: options.opset, target: options.target)
        try ShapeTruth.check(graph, opset: options.opset, stage: "after optimizing")
        report.histogramAfter = histogram(graph)
        if options.functions != .none { Outline.run(graph) }
        report.functions = graph.functions.map { (name: $0.name, domain: $0.domain, nodes: $0.nodes.count) }
        lap("optimize")

        var w = WriteOptions(opset: options.opset)
        w.web = options.web
        w.externalThreshold = options.externalThreshold
        w.modelName = bundle.name
        w.dataInPlace = inPlace
        if let progress = options.progress {
            let total = graph.initializers.reduce(0) { $0 + $1.tensor.bytes.count }
            w.onBytes = { done in progress.update("writing", done, total, unit: "bytes", force: true) }
        }
        try ONNXWriter.write(graph, to: outputPath, options: w)
        lap("write")
        report.nodes = report.histogramAfter.values.reduce(0, +)
        report.initializers = graph.initializers.count
        report.initializerBytes = graph.initializers.reduce(0) { $0 + $1.tensor.bytes.count }
        return report
    }

    /// Op counts, nodes inside subgraphs included.
    static func histogram(_ g: Graph) -> [String: Int] {
        var h: [String: Int] = [:]
        func count(_ nodes: [Node]) {
            for n in nodes {
                h[n.op, default: 0] += 1
                for sub in n.subgraphs { count(sub.nodes) }
            }
        }
        count(g.nodes)
        return h
    }
}
