/// Encodes the host graph as an ONNX ModelProto straight into protobuf bytes. Field numbers and
/// order follow onnx.proto (proto2: set fields are written even when empty, repeated scalars are
/// not packed), so the output is byte for byte what a protobuf library would produce.
///
/// Weights listed in `external` are written as references into the sidecar; weights in `skipped`
/// are left out (the caller appends them to the file as further graph chunks).
struct ModelEncoder {
    let g: Graph
    let names: ValueNames
    let options: WriteOptions
    /// Large initializers, by index into `g.initializers`, that the head does not inline.
    let outOfLine: [Bool]
    /// Where each out-of-line initializer sits in the sidecar; nil when they are not referenced
    /// from the head at all (`--web`).
    let sidecar: (name: String, offsets: [Int: Int64])?
    /// Encoded metadata_props fields of each provenance entry, back to back.
    private var provenance = ProtoEncoder(capacity: 1 << 12)
    private var provenanceStart: [Int] = [0]

    init(_ g: Graph, names: ValueNames, options: WriteOptions, outOfLine: [Bool],
         sidecar: (name: String, offsets: [Int: Int64])?) {
        self.g = g
        self.names = names
        self.options = options
        self.outOfLine = outOfLine
        self.sidecar = sidecar
        // Only the provenance of nodes that survived optimization is encoded.
        var used = [Bool](repeating: false, count: g.provenance.count)
        func mark(_ nodes: [Node]) {
            nodes.withUnsafeBufferPointer { buf in
                for i in buf.indices {
                    let k = Int(buf[i].origin)
                    if k >= 0 && k < used.count { used[k] = true }
                    if !buf[i].attributes.isEmpty { for sub in buf[i].subgraphs { mark(sub.nodes) } }
                }
            }
        }
        mark(g.nodes)
        for f in g.functions { mark(f.nodes) }
        provenanceStart = [Int](repeating: 0, count: g.provenance.count + 1)
        g.provenance.withUnsafeBufferPointer { ps in
            for k in ps.indices {
                if used[k] { Self.provenanceProps(ps[k], into: &provenance) }
                provenanceStart[k + 1] = provenance.count
            }
        }
    }

    /// A size to start the buffer at, so that it rarely grows (each growth copies it).
    func estimatedSize() -> Int {
        var inline = 0
        for (i, entry) in g.initializers.enumerated() where !outOfLine[i] { inline += entry.tensor.bytes.count + 32 }
        return inline + g.nodes.count * 96 + provenance.count + (1 << 16)
    }

    // MARK: field numbers (onnx.proto)

    private enum Model { static let irVersion = 1, producerName = 2, producerVersion = 3, graph = 7, opsetImport = 8, functions = 25 }
    private enum FunctionF { static let name = 1, input = 4, output = 5, node = 7, opsetImport = 9, domain = 10 }
    private enum OpsetID { static let domain = 1, version = 2 }
    private enum GraphF { static let node = 1, name = 2, initializer = 5, input = 11, output = 12 }
    private enum NodeF { static let input = 1, output = 2, name = 3, opType = 4, attribute = 5, domain = 7, metadataProps = 9 }
    private enum AttrF { static let name = 1, f = 2, i = 3, s = 4, t = 5, g = 6, floats = 7, ints = 8, type = 20 }
    private enum AttrType { static let float: Int64 = 1, int: Int64 = 2, string: Int64 = 3, tensor: Int64 = 4,
                                       graph: Int64 = 5, floats: Int64 = 6, ints: Int64 = 7 }
    enum TensorF { static let dims = 1, dataType = 2, name = 8, rawData = 9, externalData = 13, dataLocation = 14 }
    private enum ValueInfoF { static let name = 1, type = 2 }
    private enum TypeF { static let tensorType = 1, elemType = 1, shape = 2 }
    private enum DimF { static let dim = 1, value = 1, param = 2 }
    private enum Entry { static let key = 1, value = 2 }
    private static let externalLocation: Int64 = 1

    // MARK: model

    /// The ModelProto as consecutive pieces: the fields before the graph with the graph's tag and
    /// length, the graph's body, and the fields after it. The graph, nearly all of the model, is
    /// encoded on its own so its length prefix never has to shift it.
    func encodeModel() -> [ProtoEncoder] {
        var graph = ProtoEncoder(capacity: estimatedSize())
        encodeTopGraph(into: &graph)
        var head = ProtoEncoder(capacity: 256)
        head.int(Model.irVersion, Int64(OpSchemas.irVersion(forOpset: options.opset)))
        head.string(Model.producerName, "jax2onnx-swift")
        head.string(Model.producerVersion, options.producerVersion)
        head.tag(Model.graph, .lengthDelimited)
        head.varint(graph.count)
        var tail = ProtoEncoder(capacity: 64)
        encodeOpsetImports(field: Model.opsetImport, into: &tail)
        for f in g.functions {
            let m = tail.begin(Model.functions)
            encodeFunction(f, into: &tail)
            tail.end(m)
        }
        return [head, graph, tail]
    }

    /// The default domain at the target opset, and version 1 of each local functions' domain.
    private func encodeOpsetImports(field: Int, into e: inout ProtoEncoder) {
        let opset = e.begin(field)
        e.string(OpsetID.domain, "")
        e.int(OpsetID.version, Int64(options.opset))
        e.end(opset)
        var seen = Set<String>()
        for f in g.functions where seen.insert(f.domain).inserted {
            let m = e.begin(field)
            e.string(OpsetID.domain, f.domain)
            e.int(OpsetID.version, 1)
            e.end(m)
        }
    }

    /// A FunctionProto: formal inputs and outputs by value name, the body's nodes (which may call
    /// other local functions).
    private func encodeFunction(_ f: FunctionDef, into e: inout ProtoEncoder) {
        e.string(FunctionF.name, f.name)
        for v in f.inputs { names.write(v, field: FunctionF.input, to: &e) }
        for v in f.outputs { names.write(v, field: FunctionF.output, to: &e) }
        f.nodes.withUnsafeBufferPointer { buf in
            for i in buf.indices { encodeNode(buf, i, scope: 0, field: FunctionF.node, into: &e) }
        }
        encodeOpsetImports(field: FunctionF.opsetImport, into: &e)
        e.string(FunctionF.domain, f.domain)
    }

    private func encodeTopGraph(into e: inout ProtoEncoder) {
        encodeNodes(g.nodes, scope: 0, into: &e)
        e.string(GraphF.name, options.modelName ?? "jax2onnx")
        g.initializers.withUnsafeBufferPointer { inits in
            for i in inits.indices where !outOfLine[i] {
                let m = e.begin(GraphF.initializer)
                let v = inits[i].value
                encodeTensorHeader(inits[i].tensor, into: &e) { names.write(v, field: TensorF.name, to: &$0) }
                inits[i].tensor.bytes.withBytes { e.bytes(TensorF.rawData, $0) }
                e.end(m)
            }
        }
        if let sidecar {
            for (i, (v, t)) in g.initializers.enumerated() where outOfLine[i] {
                let m = e.begin(GraphF.initializer)
                encodeTensorHeader(t, into: &e) { names.write(v, field: TensorF.name, to: &$0) }
                encodeEntry(TensorF.externalData, "location", sidecar.name, into: &e)
                encodeEntry(TensorF.externalData, "offset", sidecar.offsets[i]!, into: &e)
                encodeEntry(TensorF.externalData, "length", Int64(t.bytes.count), into: &e)
                e.int(TensorF.dataLocation, Self.externalLocation)
                e.end(m)
            }
        }
        for (v, name) in g.inputs {
            let m = e.begin(GraphF.input)
            encodeValueInfo(v, into: &e) { $0.string(ValueInfoF.name, name) }
            e.end(m)
        }
        for (v, name) in g.outputs {
            let m = e.begin(GraphF.output)
            encodeValueInfo(v, into: &e) { $0.string(ValueInfoF.name, name) }
            e.end(m)
        }
    }

    /// A subgraph: its inputs and outputs typed, its nodes; constants stay top-level initializers
    /// and outer values are read by name (ONNX outer-scope references).
    private func encodeSubgraph(_ sub: Subgraph, into e: inout ProtoEncoder) {
        encodeNodes(sub.nodes, scope: sub.scope, into: &e)
        e.string(GraphF.name, prefix: "s", UInt64(sub.scope))
        for v in sub.inputs {
            let m = e.begin(GraphF.input)
            encodeValueInfo(v, into: &e) { names.write(v, field: ValueInfoF.name, to: &$0) }
            e.end(m)
        }
        for v in sub.outputs {
            let m = e.begin(GraphF.output)
            encodeValueInfo(v, into: &e) { names.write(v, field: ValueInfoF.name, to: &$0) }
            e.end(m)
        }
    }

    // MARK: nodes

    /// Node names are unique across the model: `n<i>` at the top level, `s<scope>n<i>` in subgraphs.
    private func encodeNodes(_ nodes: [Node], scope: Int32, into e: inout ProtoEncoder) {
        // Through the buffer, so that reading a node does not copy (and retain) its fields.
        nodes.withUnsafeBufferPointer { buf in
            for i in buf.indices { encodeNode(buf, i, scope: scope, into: &e) }
        }
    }

    @inline(__always)
    private func encodeNode(_ buf: UnsafeBufferPointer<Node>, _ i: Int, scope: Int32, field: Int = GraphF.node,
                            into e: inout ProtoEncoder) {
        let m = e.begin(field)
        buf[i].inputs.withUnsafeBufferPointer { ins in
            for v in ins {
                if v == 0 { e.tag(NodeF.input, .lengthDelimited); e.byte(0) } else { names.write(v, field: NodeF.input, to: &e) }
            }
        }
        buf[i].outputs.withUnsafeBufferPointer { outs in
            for v in outs { names.write(v, field: NodeF.output, to: &e) }
        }
        if scope == 0 {
            e.string(NodeF.name, prefix: "n", UInt64(i))
        } else {
            let s = UInt64(scope), k = UInt64(i)
            e.tag(NodeF.name, .lengthDelimited)
            e.varint(2 + ProtoEncoder.digits(s) + ProtoEncoder.digits(k))
            e.byte(UInt8(ascii: "s"))
            e.decimal(s)
            e.byte(UInt8(ascii: "n"))
            e.decimal(k)
        }
        e.string(NodeF.opType, buf[i].op)
        if !buf[i].attributes.isEmpty {
            buf[i].attributes.withUnsafeBufferPointer { attrs in
                for k in attrs.indices {
                    let am = e.begin(NodeF.attribute)
                    encodeAttribute(attrs[k], into: &e)
                    e.end(am)
                }
            }
        }
        if !buf[i].domain.isEmpty { e.string(NodeF.domain, buf[i].domain) }
        let origin = Int(buf[i].origin)
        if origin >= 0 {
            provenance.withBytes { e.raw(UnsafeRawBufferPointer(rebasing: $0[provenanceStart[origin]..<provenanceStart[origin + 1]])) }
        }
        e.end(m)
    }

    private func encodeAttribute(_ a: Attribute, into e: inout ProtoEncoder) {
        e.string(AttrF.name, a.name)
        let type: Int64
        switch a.value {
        case let .int(v):
            e.int(AttrF.i, v); type = AttrType.int
        case let .float(v):
            e.float(AttrF.f, v); type = AttrType.float
        case let .string(v):
            e.bytes(AttrF.s, v); type = AttrType.string
        case let .ints(v):
            for x in v { e.int(AttrF.ints, x) }
            type = AttrType.ints
        case let .floats(v):
            for x in v { e.float(AttrF.floats, x) }
            type = AttrType.floats
        case let .tensor(t):
            let m = e.begin(AttrF.t)
            encodeTensorHeader(t, into: &e) { $0.string(TensorF.name, "") }
            t.bytes.withBytes { e.bytes(TensorF.rawData, $0) }
            e.end(m)
            type = AttrType.tensor
        case let .graph(sub):
            let m = e.begin(AttrF.g)
            encodeSubgraph(sub, into: &e)
            e.end(m)
            type = AttrType.graph
        }
        e.int(AttrF.type, type)
    }

    // MARK: tensors and types

    /// dims, data_type, then the name (fields 1, 2, 8); the caller adds the data fields after it.
    func encodeTensorHeader(_ t: Initializer, into e: inout ProtoEncoder, name: (inout ProtoEncoder) -> Void) {
        for d in t.dims { e.int(TensorF.dims, d) }
        e.int(TensorF.dataType, Int64(t.dtype.rawValue))
        name(&e)
    }

    private func encodeValueInfo(_ v: ValueID, into e: inout ProtoEncoder, name: (inout ProtoEncoder) -> Void) {
        name(&e)
        let info = g.values[Int(v)]
        let type = e.begin(ValueInfoF.type)
        let tensor = e.begin(TypeF.tensorType)
        e.int(TypeF.elemType, Int64(info.dtype.rawValue))
        if let shape = info.shape {
            let sm = e.begin(TypeF.shape)
            for d in shape {
                let dm = e.begin(DimF.dim)
                switch d {
                case let .known(n): e.int(DimF.value, n)
                // "?…" is a size shape inference could not derive, named only so it differs from
                // every other (ShapeInference.unknown): to ONNX it is a dim with neither field.
                case let .symbolic(s): if !s.hasPrefix("?") { e.string(DimF.param, s) }
                }
                e.end(dm)
            }
            e.end(sm)
        }
        e.end(tensor)
        e.end(type)
    }

    private func encodeEntry(_ field: Int, _ key: String, _ value: String, into e: inout ProtoEncoder) {
        let m = e.begin(field)
        e.string(Entry.key, key)
        e.string(Entry.value, value)
        e.end(m)
    }

    private func encodeEntry(_ field: Int, _ key: String, _ value: Int64, into e: inout ProtoEncoder) {
        let m = e.begin(field)
        e.string(Entry.key, key)
        e.tag(Entry.value, .lengthDelimited)
        let n = UInt64(max(value, 0))     // sizes and offsets
        e.varint(ProtoEncoder.digits(n))
        e.decimal(n)
        e.end(m)
    }

    /// The provenance of a node as metadata_props entries: pack, primitive, source and scope.
    private static func provenanceProps(_ p: Provenance, into e: inout ProtoEncoder) {
        func key(_ key: StaticString) {
            e.tag(Entry.key, .lengthDelimited)
            e.varint(key.utf8CodeUnitCount)
            e.raw(UnsafeRawBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount))
        }
        func entry(_ k: StaticString, _ value: String) {
            let m = e.begin(NodeF.metadataProps)
            key(k)
            e.string(Entry.value, value)
            e.end(m)
        }
        entry("jax2onnx.pack", p.pack)
        entry("jax2onnx.primitive", p.primitive)
        if let s = p.source {
            // SourceLocation.description, written in place: "file:line" or "file:line (function)".
            let m = e.begin(NodeF.metadataProps)
            key("jax2onnx.source")
            let line = UInt64(s.line.magnitude)
            var length = s.file.utf8.count + 1 + (s.line < 0 ? 1 : 0) + ProtoEncoder.digits(line)
            if let f = s.function { length += f.utf8.count + 3 }
            e.tag(Entry.value, .lengthDelimited)
            e.varint(length)
            e.utf8(s.file)
            e.byte(UInt8(ascii: ":"))
            if s.line < 0 { e.byte(UInt8(ascii: "-")) }
            e.decimal(line)
            if let f = s.function {
                e.byte(UInt8(ascii: " "))
                e.byte(UInt8(ascii: "("))
                e.utf8(f)
                e.byte(UInt8(ascii: ")"))
            }
            e.end(m)
        }
        if let s = p.scope { entry("jax2onnx.scope", s) }
    }
}
