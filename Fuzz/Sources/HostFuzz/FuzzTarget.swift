import Host
#if canImport(Glibc)
import Glibc
#endif

/// libFuzzer target: one input is one bundle file. It goes through everything a conversion does,
/// in memory: the bundle reader, preflight, lowering through the built-in packs, the optimizer,
/// the verifier, and the model encoder. Any crash, sanitizer report or timeout is a bug; an
/// input the host refuses (a thrown HostError) is the expected outcome for most mutants. A
/// conversion that succeeds is checked again by the host's own verifier and must encode.

/// The built-in packs next to this executable, loaded once.
nonisolated(unsafe) let registry: Registry = {
    do { return try Registry.load(SearchPath(plugins: [], environment: [:])) } catch {
        fatalError("cannot load the built-in packs: \(error)")
    }
}()

/// Conversions that succeeded (exit 0) in this process, reported at exit.
nonisolated(unsafe) var converted = 0

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> Int32 {
    _ = registry
    atexit { if converted > 0 { fputs("HostFuzz: \(converted) inputs converted\n", stderr) } }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    do {
        let bundle = try BundleReader.read(bytes: bytes, name: "fuzz.jaxpr")
        for opset in [23] {
            try convert(bundle, opset: opset)
        }
    } catch is HostError {
        // Refused with a message: what a hostile input should get.
    } catch {
        fatalError("a conversion threw a non-HostError: \(error)")
    }
    return 0
}

func convert(_ bundle: Bundle, opset: Int) throws {
    let (missing, _) = Preflight.scan(bundle.program.jaxpr, registry: registry, opset: opset)
    guard missing.isEmpty else { return }
    let lowerer = Lowerer(bundle: bundle, registry: registry, opset: opset)
    // Small enough that a hostile index table is refused quickly, large enough for the seeds.
    lowerer.maxMemory = 64 << 20
    let graph = try lowerer.run()
    Pipeline.run(Pipeline.standard(), on: graph, opset: opset)
    try Verifier.verify(graph, opset: opset)
    // Exit 0 from here on: the host's own checks must hold again, and the model must encode.
    try Verifier.verify(graph, opset: opset)
    _ = ONNXWriter.encodeInMemory(graph, opset: opset)
    converted += 1
}

// MARK: structure-aware mutation

/// Most byte mutations of a bundle break its header (the JSON length moves). This mutator keeps
/// the header consistent: it mutates the JSON section (or, one time in eight, the data section)
/// with libFuzzer's own mutator and rebuilds the header around the result.
@_silgen_name("LLVMFuzzerMutate")
func libFuzzerMutate(_ data: UnsafeMutablePointer<UInt8>, _ size: Int, _ maxSize: Int) -> Int

@_cdecl("LLVMFuzzerCustomMutator")
public func fuzzMutate(_ data: UnsafeMutablePointer<UInt8>, _ size: Int, _ maxSize: Int, _ seed: UInt32) -> Int {
    guard let parts = BundleParts(UnsafeRawBufferPointer(start: data, count: size)) else {
        return libFuzzerMutate(data, size, maxSize)
    }
    var json = parts.json, blob = parts.data
    let room = max(0, maxSize - size - 128)
    if seed % 8 == 0, !blob.isEmpty {
        let before = blob.count
        blob += [UInt8](repeating: 0, count: min(room, 256))
        let n = blob.withUnsafeMutableBufferPointer { libFuzzerMutate($0.baseAddress!, before, $0.count) }
        blob.removeLast(blob.count - n)
    } else {
        let before = json.count
        json += [UInt8](repeating: 0, count: min(room, 1024))
        let n = json.withUnsafeMutableBufferPointer { libFuzzerMutate($0.baseAddress!, before, $0.count) }
        json.removeLast(json.count - n)
    }
    let out = BundleParts.assemble(json: json, data: blob)
    guard out.count <= maxSize else { return libFuzzerMutate(data, size, maxSize) }
    out.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: out.count) }
    return out.count
}

/// The JSON and data sections of a well-formed bundle header.
struct BundleParts {
    let json: [UInt8]
    let data: [UInt8]

    init?(_ b: UnsafeRawBufferPointer) {
        guard b.count >= 64, b[0] == 0x4A, b[1] == 0x32 else { return nil }
        func u64(_ at: Int) -> Int { Int(truncatingIfNeeded: b.loadUnaligned(fromByteOffset: at, as: UInt64.self).littleEndian) }
        let (jo, jl, d0, dl) = (u64(16), u64(24), u64(32), u64(40))
        guard jo >= 64, jl >= 0, jo <= b.count, jl <= b.count - jo, d0 >= 0, d0 <= b.count, dl >= 0, dl <= b.count - d0 else { return nil }
        json = Array(b[jo..<(jo + jl)])
        data = Array(b[d0..<(d0 + dl)])
    }

    static func assemble(json: [UInt8], data: [UInt8]) -> [UInt8] {
        let dataOffset = (64 + json.count + 63) / 64 * 64
        var out = Array("J2OBNDL".utf8) + [0]
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func u64(_ v: Int) { withUnsafeBytes(of: UInt64(v).littleEndian) { out += $0 } }
        u32(1); u32(0); u64(64); u64(json.count); u64(dataOffset); u64(data.count)
        out += [UInt8](repeating: 0, count: 16)
        out += json
        out += [UInt8](repeating: 0, count: dataOffset - out.count)
        out += data
        return out
    }
}

// MARK: entry

/// SwiftPM links an executable target's entry as `HostFuzz_main`; it hands over to libFuzzer's
/// driver, which parses the usual libFuzzer flags.
@_silgen_name("LLVMFuzzerRunDriver")
func libFuzzerRunDriver(_ argc: UnsafeMutablePointer<Int32>,
                        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                        _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> Int32) -> Int32

@_cdecl("HostFuzz_main")
public func hostFuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var count = argc
    var args = argv
    return libFuzzerRunDriver(&count, &args) { fuzzOneInput($0, $1) }
}
