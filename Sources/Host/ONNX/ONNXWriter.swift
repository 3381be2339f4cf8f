import Foundation

public struct WriteOptions {
    public var opset: Int
    /// Initializers of at least this many bytes go to the `<model>.onnx.data` sidecar.
    public var externalThreshold: Int = 1 << 20
    /// One self-contained file, no sidecar.
    public var web: Bool = false
    public var producerVersion: String = jax2onnxVersion
    public var modelName: String?
    /// Called with the weight bytes written so far (progress).
    public var onBytes: ((Int) -> Void)?
    /// The bundle's data file, used as the sidecar where the compaction rule allows
    /// (`InPlaceSidecar`); ignored with `web`.
    public var dataInPlace: DataInPlace?

    public init(opset: Int) { self.opset = opset }
}

/// Writes the host graph as an ONNX model. The model's structure and small tensors are encoded
/// into one buffer (`ModelEncoder`); large weights go from the mapped bundle to the file by the
/// kernel: into the sidecar at page-aligned offsets, or (with `web`) appended to the model file
/// as further `graph { initializer {...} }` chunks, which protobuf parsers merge into the one
/// graph. Everything is written to temporary files and renamed at the end, so a failure leaves no
/// partial model and never replaces a good one. With `dataInPlace`, the bundle's data file itself
/// becomes the sidecar where the compaction rule allows (`InPlaceSidecar`).
public enum ONNXWriter {
    /// Protobuf (and so ONNX Runtime) cannot parse a single message of 2 GiB or more.
    static let protobufLimit = Int64(Int32.max)
    /// Sidecar tensors start on page boundaries, so ONNX Runtime can map them instead of reading.
    static let sidecarAlignment: Int64 = 4096

    public static func write(_ g: Graph, to path: String, options: WriteOptions) throws {
        let names = ValueNames(g)
        let outOfLine = g.initializers.map { $0.tensor.bytes.count >= options.externalThreshold }
        let large = outOfLine.indices.filter { outOfLine[$0] }
        if let data = options.dataInPlace, !options.web, !large.isEmpty,
           try InPlaceSidecar.write(g, to: path, options: options, data: data, large: large, names: names,
                                    outOfLine: outOfLine) {
            return
        }
        let sources = WeightSources(g)
        // The sidecar's name is unique to this model (see `commit`): a reader never pairs a
        // model with weights written for another.
        let dataPath = path + "." + OutputFile.randomToken() + ".data"
        let sidecarUsed = !options.web && !large.isEmpty

        // The sidecar layout is fixed by the tensor sizes alone, so the head can point into the
        // sidecar before a byte of it is written.
        var offsets: [Int: Int64] = [:]
        var sidecarEnd: Int64 = 0
        if sidecarUsed {
            for i in large {
                let aligned = (sidecarEnd + sidecarAlignment - 1) / sidecarAlignment * sidecarAlignment
                offsets[i] = aligned
                sidecarEnd = aligned + Int64(g.initializers[i].tensor.bytes.count)
            }
        }
        let encoder = ModelEncoder(g, names: names, options: options, outOfLine: outOfLine,
                                   sidecar: sidecarUsed ? ((dataPath as NSString).lastPathComponent, offsets) : nil)
        let head = encoder.encodeModel()
        let headSize = head.reduce(Int64(0)) { $0 + Int64($1.count) }
        guard headSize < protobufLimit else {
            throw HostError.io("the model structure is over 2 GiB, which a single ONNX file cannot hold")
        }

        // With --web, each large weight follows as its own graph chunk; check the total first so
        // an oversized model fails before anything is written.
        var chunkHeads: [ProtoEncoder] = []
        if options.web {
            var total = headSize
            for i in large {
                let (v, t) = g.initializers[i]
                let chunk = webChunkHead(t, encoder: encoder) { names.write(v, field: ModelEncoder.TensorF.name, to: &$0) }
                total += Int64(chunk.count + t.bytes.count)
                chunkHeads.append(chunk)
            }
            guard total < protobufLimit else {
                throw HostError.io("the model is over 2 GiB, which a single ONNX file cannot hold; drop --web to keep weights in the .onnx.data sidecar")
            }
        }

        var files: [OutputFile] = []
        defer { for f in files { f.discard() } }
        var written = 0
        if sidecarUsed {
            let sidecar = try OutputFile(finalPath: dataPath)
            files.append(sidecar)
            sidecar.preallocate(sidecarEnd)
            var end: Int64 = 0
            for i in large {
                let t = g.initializers[i].tensor
                try sidecar.pad(Int(offsets[i]! - end))
                try t.bytes.withBytes { try sidecar.append($0, from: sources.source(of: t.bytes)) }
                end = offsets[i]! + Int64(t.bytes.count)
                written += t.bytes.count
                options.onBytes?(written)
            }
            try sidecar.close()
        }

        let model = try OutputFile(finalPath: path)
        files.append(model)
        model.preallocate(headSize + chunkHeads.indices.reduce(Int64(0)) {
            $0 + Int64(chunkHeads[$1].count + g.initializers[large[$1]].tensor.bytes.count)
        })
        for piece in head { try piece.withBytes { try model.write($0) } }
        for (k, i) in large.enumerated() where options.web {
            let t = g.initializers[i].tensor
            try chunkHeads[k].withBytes { try model.write($0) }
            try t.bytes.withBytes { try model.append($0, from: sources.source(of: t.bytes)) }
            written += t.bytes.count
            options.onBytes?(written)
        }
        try model.close()
        try commit(model: model, sidecar: sidecarUsed ? files.first : nil)
        files.removeAll()
    }

    /// Moves the sidecar, then the model into place, and removes the sidecars of the models this
    /// one replaced. The sidecar has a name no other model uses, so the model always reads the
    /// weights written with it; the step runs under an exclusive flock on the output folder, so
    /// two concurrent conversions to one path each rename and clean up as a unit and neither
    /// deletes the other's sidecar before its model is in place. A reader holding an older model
    /// may find that model's sidecar gone (an error), never another model's weights.
    static func commit(model: OutputFile, sidecar: OutputFile?) throws {
        try commit(model: model, sidecarTemp: sidecar?.tempPath, sidecarFinal: sidecar?.finalPath)
    }

    /// `commit` for a sidecar that is any file under a temporary name (the bundle's data file).
    static func commit(model: OutputFile, sidecarTemp: String?, sidecarFinal: String?) throws {
        let path = model.finalPath
        let dir = (path as NSString).deletingLastPathComponent
        let lock = open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if lock >= 0 { while flock(lock, LOCK_EX) != 0 && errno == EINTR {} }
        defer { if lock >= 0 { close(lock) } }
        if let sidecarTemp, let sidecarFinal {
            guard rename(sidecarTemp, sidecarFinal) == 0 else {
                throw HostError.io("cannot move the weights into place at '\(sidecarFinal)': \(String(cString: strerror(errno)))")
            }
        }
        do { try model.moveIntoPlace() } catch {
            if let sidecarFinal { unlink(sidecarFinal) }
            throw error
        }
        OutputFile.removeStaleTemporaries(in: dir)
        removeSidecars(of: path, except: sidecarFinal)
    }

    /// `NAME.<16 hex>.data` beside the model, but `keep`.
    static func removeSidecars(of path: String, except keep: String?) {
        let dir = (path as NSString).deletingLastPathComponent
        let base = (path as NSString).lastPathComponent
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir.isEmpty ? "." : dir) else { return }
        for name in names where name.hasPrefix(base + ".") && name.hasSuffix(".data") {
            let token = name.dropFirst(base.count + 1).dropLast(5)
            guard token.count == 16, token.allSatisfy(\.isHexDigit) else { continue }
            let full = (dir.isEmpty ? "" : dir + "/") + name
            if full != keep { unlink(full) }
        }
    }

    /// The whole model as bytes, every weight inline (no files): what the fuzzer checks encodes.
    public static func encodeInMemory(_ g: Graph, opset: Int) -> [UInt8] {
        var options = WriteOptions(opset: opset)
        options.externalThreshold = Int.max
        let encoder = ModelEncoder(g, names: ValueNames(g), options: options,
                                   outOfLine: g.initializers.map { _ in false }, sidecar: nil)
        var out: [UInt8] = []
        for piece in encoder.encodeModel() { piece.withBytes { out += $0 } }
        return out
    }

    /// `graph { initializer { <header> raw_data: <n bytes follow> } }`: everything of a --web
    /// weight chunk but the weight bytes themselves.
    static func webChunkHead(_ t: Initializer, encoder: ModelEncoder,
                             name: (inout ProtoEncoder) -> Void) -> ProtoEncoder {
        var header = ProtoEncoder(capacity: 256)
        encoder.encodeTensorHeader(t, into: &header, name: name)
        let n = t.bytes.count
        let tensorLen = header.count + 1 + ProtoEncoder.varintSize(UInt64(n)) + n
        let graphLen = 1 + ProtoEncoder.varintSize(UInt64(tensorLen)) + tensorLen
        var chunk = ProtoEncoder(capacity: header.count + 32)
        chunk.tag(7, .lengthDelimited)                   // ModelProto.graph
        chunk.varint(graphLen)
        chunk.tag(5, .lengthDelimited)                   // GraphProto.initializer
        chunk.varint(tensorLen)
        header.withBytes { chunk.raw($0) }
        chunk.tag(ModelEncoder.TensorF.rawData, .lengthDelimited)
        chunk.varint(n)
        return chunk
    }
}

/// Finds, for weight bytes borrowed from a mapped file, that file's descriptor and the offset of
/// the bytes in it, so the kernel can copy them.
struct WeightSources {
    private var files: [(start: UInt, end: UInt, fd: Int32)] = []

    init(_ g: Graph) {
        for case let f as MappedFile in g.keepAlive {
            guard let base = f.bytes.baseAddress else { continue }
            let start = UInt(bitPattern: base)
            files.append((start, start + UInt(f.bytes.count), f.descriptor))
        }
    }

    func source(of bytes: TensorBytes) -> (fd: Int32, offset: Int64)? {
        guard case let .mapped(b) = bytes, let p = b.baseAddress else { return nil }
        let start = UInt(bitPattern: p)
        for f in files where f.start <= start && start + UInt(b.count) <= f.end {
            return (f.fd, Int64(start - f.start))
        }
        return nil
    }
}
