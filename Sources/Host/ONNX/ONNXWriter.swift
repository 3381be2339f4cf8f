import Foundation
import SwiftProtobuf

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

    public init(opset: Int) { self.opset = opset }
}

/// Writes the host graph as an ONNX model. The protobuf message holds only structure and small
/// tensors; large weights stream from the mapped bundle straight to the file: into the sidecar,
/// or (with `web`) appended to the model file as further `graph { initializer {...} }` chunks,
/// which protobuf parsers merge into the one graph. Everything is written to temporary files and
/// renamed at the end, so a failure leaves no partial model and never replaces a good one.
public enum ONNXWriter {
    /// Protobuf (and so ONNX Runtime) cannot parse a single message of 2 GiB or more.
    static let protobufLimit = Int64(Int32.max)

    public static func write(_ g: Graph, to path: String, options: WriteOptions) throws {
        let naming = Naming(g)
        let large = Set(g.initializers.indices.filter { g.initializers[$0].tensor.bytes.count >= options.externalThreshold })
        var model = modelProto(g, naming, options: options, skip: large)

        let dataPath = path + ".data"
        let dataName = (dataPath as NSString).lastPathComponent
        var pending: [(temp: String, final: String)] = []
        defer { for p in pending { unlink(p.temp) } }

        var written = 0
        if !options.web && !large.isEmpty {
            let sink = try FileSink(finalPath: dataPath)
            pending.append((sink.tempPath, dataPath))
            var offset: Int64 = 0
            for i in large.sorted() {
                let (v, t) = g.initializers[i]
                // Page-aligned offsets let ONNX Runtime map the weights instead of reading them.
                let aligned = (offset + 4095) / 4096 * 4096
                try sink.pad(Int(aligned - offset))
                var proto = tensorHeader(t, name: naming.name(v))
                proto.dataLocation = .external
                proto.externalData = [entry("location", dataName), entry("offset", String(aligned)), entry("length", String(t.bytes.count))]
                model.graph.initializer.append(proto)
                try t.bytes.withBytes { try sink.write($0) }
                offset = aligned + Int64(t.bytes.count)
                written += t.bytes.count
                options.onBytes?(written)
            }
            try sink.close()
        }

        let sink = try FileSink(finalPath: path)
        pending.append((sink.tempPath, path))
        let head = try model.serializedBytes() as [UInt8]
        var total = Int64(head.count)
        try head.withUnsafeBytes { try sink.write($0) }
        if options.web {
            for i in large.sorted() {
                let (v, t) = g.initializers[i]
                let header: [UInt8] = try tensorHeader(t, name: naming.name(v)).serializedBytes()
                let n = t.bytes.count
                let tensorLen = header.count + 1 + Varint.size(n) + n
                let graphLen = 1 + Varint.size(tensorLen) + tensorLen
                var prefix: [UInt8] = [0x3A]          // ModelProto.graph (field 7, length-delimited)
                Varint.append(graphLen, to: &prefix)
                prefix.append(0x2A)                   // GraphProto.initializer (field 5)
                Varint.append(tensorLen, to: &prefix)
                prefix += header
                prefix.append(0x4A)                   // TensorProto.raw_data (field 9)
                Varint.append(n, to: &prefix)
                total += Int64(prefix.count + n)
                guard total < protobufLimit else {
                    throw HostError.io("the model is over 2 GiB, which a single ONNX file cannot hold; drop --web to keep weights in the .onnx.data sidecar")
                }
                try prefix.withUnsafeBytes { try sink.write($0) }
                try t.bytes.withBytes { try sink.write($0) }
                written += n
                options.onBytes?(written)
            }
        }
        guard total < protobufLimit else {
            throw HostError.io("the model structure is over 2 GiB, which a single ONNX file cannot hold")
        }
        try sink.close()
        // The sidecar first: a model file never points at a missing or stale sidecar.
        for p in pending {
            guard rename(p.temp, p.final) == 0 else {
                throw HostError.io("cannot move the output into place at '\(p.final)': \(String(cString: strerror(errno)))")
            }
        }
        pending.removeAll()
    }

    static func entry(_ k: String, _ v: String) -> Onnx_StringStringEntryProto {
        var e = Onnx_StringStringEntryProto()
        e.key = k
        e.value = v
        return e
    }

    static func tensorHeader(_ t: Initializer, name: String) -> Onnx_TensorProto {
        var p = Onnx_TensorProto()
        p.name = name
        p.dims = t.dims
        p.dataType = t.dtype.rawValue
        return p
    }

    static func tensorProto(_ t: Initializer, name: String) -> Onnx_TensorProto {
        var p = tensorHeader(t, name: name)
        p.rawData = t.bytes.withBytes { Data($0) }
        return p
    }

    static func valueInfo(_ g: Graph, _ v: ValueID, name: String) -> Onnx_ValueInfoProto {
        var vi = Onnx_ValueInfoProto()
        vi.name = name
        let info = g.values[Int(v)]
        var tt = Onnx_TypeProto.Tensor()
        tt.elemType = info.dtype.rawValue
        if let shape = info.shape {
            var sp = Onnx_TensorShapeProto()
            sp.dim = shape.map { d in
                var dim = Onnx_TensorShapeProto.Dimension()
                switch d {
                case let .known(n): dim.dimValue = n
                case let .symbolic(s): dim.dimParam = s
                }
                return dim
            }
            tt.shape = sp
        }
        var type = Onnx_TypeProto()
        type.tensorType = tt
        vi.type = type
        return vi
    }

    static func modelProto(_ g: Graph, _ naming: Naming, options: WriteOptions, skip: Set<Int>) -> Onnx_ModelProto {
        var graph = Onnx_GraphProto()
        graph.name = options.modelName ?? "jax2onnx"
        graph.input = g.inputs.map { valueInfo(g, $0.value, name: $0.name) }
        graph.output = g.outputs.map { valueInfo(g, $0.value, name: $0.name) }
        for (i, (v, t)) in g.initializers.enumerated() where !skip.contains(i) {
            graph.initializer.append(tensorProto(t, name: naming.name(v)))
        }
        var provenanceProps: [[Onnx_StringStringEntryProto]] = g.provenance.map { p in
            var props = [entry("jax2onnx.pack", p.pack), entry("jax2onnx.primitive", p.primitive)]
            if let s = p.source { props.append(entry("jax2onnx.source", s.description)) }
            if let s = p.scope { props.append(entry("jax2onnx.scope", s)) }
            return props
        }
        graph.node = nodeProtos(g, g.nodes, prefix: "n", naming, provenanceProps)
        provenanceProps.removeAll()
        var model = Onnx_ModelProto()
        model.irVersion = OpSchemas.irVersion(forOpset: options.opset)
        model.producerName = "jax2onnx-swift"
        model.producerVersion = options.producerVersion
        var opset = Onnx_OperatorSetIdProto()
        opset.domain = ""
        opset.version = Int64(options.opset)
        model.opsetImport = [opset]
        model.graph = graph
        return model
    }

    /// Node names are unique across the model: `n<i>` at the top level, `s<scope>n<i>` in subgraphs.
    static func nodeProtos(_ g: Graph, _ nodes: [Node], prefix: String, _ naming: Naming,
                           _ provenance: [[Onnx_StringStringEntryProto]]) -> [Onnx_NodeProto] {
        var out: [Onnx_NodeProto] = []
        out.reserveCapacity(nodes.count)
        for (i, n) in nodes.enumerated() {
            var node = Onnx_NodeProto()
            node.opType = n.op
            node.name = "\(prefix)\(i)"
            node.input = n.inputs.map { $0 == 0 ? "" : naming.name($0) }
            node.output = n.outputs.map { naming.name($0) }
            node.attribute = n.attributes.map { attributeProto($0, g, naming, provenance) }
            if n.origin >= 0 { node.metadataProps = provenance[Int(n.origin)] }
            out.append(node)
        }
        return out
    }

    /// A subgraph: its inputs and outputs typed, its nodes; constants stay top-level initializers
    /// and outer values are read by name (ONNX outer-scope references).
    static func graphProto(_ sub: Subgraph, _ g: Graph, _ naming: Naming,
                           _ provenance: [[Onnx_StringStringEntryProto]]) -> Onnx_GraphProto {
        var graph = Onnx_GraphProto()
        graph.name = "s\(sub.scope)"
        graph.input = sub.inputs.map { valueInfo(g, $0, name: naming.name($0)) }
        graph.output = sub.outputs.map { valueInfo(g, $0, name: naming.name($0)) }
        graph.node = nodeProtos(g, sub.nodes, prefix: "s\(sub.scope)n", naming, provenance)
        return graph
    }

    static func attributeProto(_ a: Attribute, _ g: Graph, _ naming: Naming,
                               _ provenance: [[Onnx_StringStringEntryProto]]) -> Onnx_AttributeProto {
        var p = Onnx_AttributeProto()
        p.name = a.name
        switch a.value {
        case let .int(v): p.type = .int; p.i = v
        case let .float(v): p.type = .float; p.f = v
        case let .string(v): p.type = .string; p.s = Data(v)
        case let .ints(v): p.type = .ints; p.ints = v
        case let .floats(v): p.type = .floats; p.floats = v
        case let .tensor(t): p.type = .tensor; p.t = tensorProto(t, name: "")
        case let .graph(sub): p.type = .graph; p.g = graphProto(sub, g, naming, provenance)
        }
        return p
    }

    /// Value names: the user's names for graph inputs and outputs, short generated ones elsewhere.
    /// Value ids are unique across the model's subgraphs, so generated names never clash between
    /// a subgraph and the graphs enclosing it; a generated name that a user name already takes
    /// gets a suffix.
    struct Naming {
        var names: [ValueID: String] = [:]
        var taken = Set<String>()
        init(_ g: Graph) {
            for (v, n) in g.inputs { names[v] = n }
            for (v, n) in g.outputs { names[v] = n }
            taken = Set(names.values)
        }
        func name(_ v: ValueID) -> String {
            if let n = names[v] { return n }
            var n = "v\(v)"
            while taken.contains(n) { n += "_" }
            return n
        }
    }
}

enum Varint {
    static func size(_ n: Int) -> Int {
        var n = UInt64(n), s = 1
        while n >= 0x80 { n >>= 7; s += 1 }
        return s
    }
    static func append(_ n: Int, to out: inout [UInt8]) {
        var n = UInt64(n)
        while n >= 0x80 { out.append(UInt8(n & 0x7F) | 0x80); n >>= 7 }
        out.append(UInt8(n))
    }
}

/// A file written under a temporary name beside its final path (so the rename is atomic).
final class FileSink {
    let fd: Int32
    let tempPath: String
    var closed = false

    init(finalPath: String) throws {
        let dir = (finalPath as NSString).deletingLastPathComponent
        let base = (finalPath as NSString).lastPathComponent
        tempPath = (dir.isEmpty ? "" : dir + "/") + ".\(base).tmp-\(getpid())"
        fd = open(tempPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw HostError.io("cannot write '\(finalPath)': \(String(cString: strerror(errno)))")
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard var p = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            let n = Glibc.write(fd, p, min(left, 1 << 30))
            if n < 0 {
                if errno == EINTR { continue }
                throw HostError.io("write to '\(tempPath)' failed: \(String(cString: strerror(errno)))")
            }
            p += n
            left -= n
        }
    }

    func pad(_ n: Int) throws {
        guard n > 0 else { return }
        try [UInt8](repeating: 0, count: n).withUnsafeBytes { try write($0) }
    }

    func close() throws {
        guard !closed else { return }
        closed = true
        guard Glibc.close(fd) == 0 else { throw HostError.io("closing '\(tempPath)' failed: \(String(cString: strerror(errno)))") }
    }

    deinit { if !closed { _ = Glibc.close(fd) } }
}
