import PluginABI

/// A bundle opened for conversion: the mapped file, the constant table, and the program.
public final class Bundle {
    public let file: MappedFile
    public let version: UInt32
    public let name: String?
    public let tensors: [TensorRef]
    public let program: ClosedJaxpr
    public let inputNames: [String]?
    public let outputNames: [String]?

    init(file: MappedFile, version: UInt32, name: String?, tensors: [TensorRef], program: ClosedJaxpr,
         inputNames: [String]?, outputNames: [String]?) {
        self.file = file; self.version = version; self.name = name; self.tensors = tensors
        self.program = program; self.inputNames = inputNames; self.outputNames = outputNames
    }

    /// The raw bytes of constant `index`, straight from the map.
    public func bytes(ofTensor index: Int) -> UnsafeRawBufferPointer {
        let t = tensors[index]
        return UnsafeRawBufferPointer(rebasing: file.bytes[t.offset..<(t.offset + t.nbytes)])
    }
}

/// Reads bundle files (docs/bundle-format.md). Every offset and size is checked against the file
/// before use, so a truncated or corrupt file is an error, never a crash.
public enum BundleReader {
    public static let magic: [UInt8] = Array("J2OBNDL".utf8) + [0]
    public static let supportedVersions: ClosedRange<UInt32> = 1...1
    public static let headerSize = 64

    public static func read(path: String) throws -> Bundle {
        let file = try MappedFile(path: path)
        return try read(file)
    }

    static func read(_ file: MappedFile) throws -> Bundle {
        let path = file.path
        func fail(_ m: String) -> HostError { .bundle(path: path, message: m) }
        let b = file.bytes
        guard b.count >= headerSize else {
            throw fail("file is \(b.count) bytes, shorter than the \(headerSize)-byte header (truncated, or not a bundle)")
        }
        guard Array(b[0..<8]) == magic else { throw fail("not a jax2onnx bundle (bad magic bytes)") }
        func u32(_ at: Int) -> UInt32 { b.loadUnaligned(fromByteOffset: at, as: UInt32.self).littleEndian }
        func u64(_ at: Int) -> UInt64 { b.loadUnaligned(fromByteOffset: at, as: UInt64.self).littleEndian }
        let version = u32(8)
        guard supportedVersions.contains(version) else {
            throw fail("bundle version \(version) is not supported; this host reads versions \(supportedVersions.lowerBound)...\(supportedVersions.upperBound)")
        }
        let (jsonOffset, jsonLength, dataOffset, dataLength) = (u64(16), u64(24), u64(32), u64(40))
        let size = UInt64(b.count)
        guard jsonOffset >= UInt64(headerSize), jsonOffset <= size, jsonLength <= size - jsonOffset else {
            throw fail("JSON section [\(jsonOffset), +\(jsonLength)) lies outside the \(size)-byte file (truncated?)")
        }
        guard dataOffset <= size, dataLength <= size - dataOffset else {
            throw fail("data section [\(dataOffset), +\(dataLength)) lies outside the \(size)-byte file (truncated?)")
        }
        guard dataOffset % 64 == 0 else { throw fail("data section offset \(dataOffset) is not 64-byte aligned") }

        let jsonBytes = UnsafeRawBufferPointer(rebasing: b[Int(jsonOffset)..<Int(jsonOffset + jsonLength)]).bindMemory(to: UInt8.self)
        let doc: JSON
        do { doc = try JSONParser.parse(jsonBytes) } catch let e as JSONError {
            throw fail("\(e) (offset within the JSON section)")
        }
        guard doc["format"]?.stringValue == "jax2onnx-bundle" else { throw fail("JSON 'format' is not \"jax2onnx-bundle\"") }

        var decoder = BundleDecoder(path: path, dataOffset: Int(dataOffset), dataLength: Int(dataLength))
        let tensors = try decoder.tensors(doc["tensors"] ?? .array([]))
        decoder.tensorTable = tensors
        guard let programJSON = doc["program"] else { throw fail("missing 'program'") }
        let program = try decoder.closedJaxpr(programJSON, at: "program")
        let names = { (key: String) -> [String]? in doc[key]?.arrayValue?.compactMap(\.stringValue) }
        return Bundle(file: file, version: version, name: doc["name"]?.stringValue, tensors: tensors,
                      program: program, inputNames: names("input_names"), outputNames: names("output_names"))
    }
}

/// Turns the bundle's JSON into the program model, with a path in every error message.
struct BundleDecoder {
    let path: String
    let dataOffset: Int
    let dataLength: Int
    var tensorTable: [TensorRef] = []

    init(path: String, dataOffset: Int, dataLength: Int) {
        self.path = path; self.dataOffset = dataOffset; self.dataLength = dataLength
    }

    func fail(_ at: String, _ m: String) -> HostError { .bundle(path: path, message: "\(at): \(m)") }

    func tensors(_ j: JSON) throws -> [TensorRef] {
        guard let items = j.arrayValue else { throw fail("tensors", "expected an array") }
        return try items.enumerated().map { k, t in
            let at = "tensors[\(k)]"
            guard let dt = t["dtype"]?.stringValue, let shapeJ = t["shape"]?.arrayValue,
                  let off = t["offset"]?.intValue, let n = t["nbytes"]?.intValue else {
                throw fail(at, "needs dtype, shape, offset and nbytes")
            }
            let shape = try shapeJ.map { d -> Int64 in
                guard let v = d.intValue, v >= 0 else { throw fail(at, "constant shapes are non-negative integers") }
                return v
            }
            guard off >= 0, n >= 0, off % 64 == 0 else { throw fail(at, "offset \(off) must be a non-negative multiple of 64") }
            guard off <= Int64(dataLength), n <= Int64(dataLength) - off else {
                throw fail(at, "bytes [\(off), +\(n)) lie outside the \(dataLength)-byte data section (truncated?)")
            }
            let dtype = DType(bundleName: dt)
            if dtype.byteWidth > 0 {
                var count: Int64 = 1
                for d in shape {
                    let (m, o) = count.multipliedReportingOverflow(by: d)
                    guard !o else { throw fail(at, "element count overflows") }
                    count = m
                }
                guard count * Int64(dtype.byteWidth) == n else {
                    throw fail(at, "nbytes \(n) does not match \(dt)\(shape) (\(count * Int64(dtype.byteWidth)) bytes)")
                }
            }
            return TensorRef(dtype: dtype, shape: shape, offset: dataOffset + Int(off), nbytes: Int(n))
        }
    }

    func tensorIndex(_ j: JSON?, at: String) throws -> Int {
        guard let k = j?.intValue, k >= 0, k < tensorTable.count else {
            throw fail(at, "tensor index \(j.map { "\($0)" } ?? "missing") is not in the tensor table (\(tensorTable.count) entries)")
        }
        return Int(k)
    }

    func aval(_ j: JSON?, at: String) throws -> TensorType {
        guard let j else { throw fail(at, "missing aval") }
        if let kind = j["kind"]?.stringValue { _ = kind; return TensorType(.opaque, []) }
        guard let dt = j["dtype"]?.stringValue, let shape = j["shape"]?.arrayValue else {
            throw fail(at, "aval needs dtype and shape")
        }
        let dims: [Dim] = try shape.map { d in
            switch d {
            case let .int(v) where v >= 0: return .known(v)
            case let .string(s) where !s.isEmpty: return .symbolic(s)
            default: throw fail(at, "a dimension is a non-negative integer or a symbolic expression string")
            }
        }
        // An extended dtype (a PRNG key) with a declared physical form is that form throughout the
        // graph: its element dtype, with the element's dims appended.
        if let p = j["physical"], let pdt = p["dtype"]?.stringValue, let pshape = p["shape"]?.arrayValue {
            let extra: [Dim] = try pshape.map { d in
                guard let v = d.intValue, v >= 0 else { throw fail(at, "a physical dimension is a non-negative integer") }
                return .known(Int64(v))
            }
            return TensorType(DType(bundleName: pdt), dims + extra)
        }
        return TensorType(DType(bundleName: dt), dims)
    }

    func variable(_ j: JSON, at: String) throws -> Variable {
        guard let id = j["id"]?.intValue else { throw fail(at, "variable needs an integer id") }
        return Variable(id: Int(id), type: try aval(j["aval"], at: at))
    }

    func atom(_ j: JSON, at: String) throws -> Atom {
        if let v = j["var"] {
            guard let id = v.intValue else { throw fail(at, "'var' must be an integer id") }
            return .variable(Int(id))
        }
        guard let lit = j["lit"] else { throw fail(at, "an atom is {\"var\": id} or {\"lit\": ...}") }
        let type = try aval(lit["aval"], at: at)
        if let t = lit["tensor"] { return .literal(Literal(type: type, value: .tensor(try tensorIndex(t, at: at)))) }
        switch lit["value"] {
        case let .int(v)?: return .literal(Literal(type: type, value: .int(v)))
        case let .double(v)?: return .literal(Literal(type: type, value: .double(v)))
        case let .bool(v)?: return .literal(Literal(type: type, value: .bool(v)))
        case let special? where special["$"]?.stringValue == "float":
            return .literal(Literal(type: type, value: .double(try nonFinite(special, at: at))))
        default: throw fail(at, "literal needs a scalar 'value' or a 'tensor'")
        }
    }

    func nonFinite(_ j: JSON, at: String) throws -> Double {
        switch j["v"]?.stringValue {
        case "nan": return .nan
        case "inf": return .infinity
        case "-inf": return -.infinity
        default: throw fail(at, "float tag takes \"nan\", \"inf\" or \"-inf\"")
        }
    }

    func jaxpr(_ j: JSON, at: String) throws -> Jaxpr {
        func list(_ key: String) throws -> [JSON] {
            guard let v = j[key] else { return [] }
            guard let a = v.arrayValue else { throw fail(at, "'\(key)' must be an array") }
            return a
        }
        let constvars = try list("constvars").enumerated().map { try variable($1, at: "\(at).constvars[\($0)]") }
        let invars = try list("invars").enumerated().map { try variable($1, at: "\(at).invars[\($0)]") }
        let outvars = try list("outvars").enumerated().map { try atom($1, at: "\(at).outvars[\($0)]") }
        let eqns = try list("eqns").enumerated().map { try equation($1, at: "\(at).eqns[\($0)]") }
        return Jaxpr(constvars: constvars, invars: invars, outvars: outvars, equations: eqns)
    }

    func closedJaxpr(_ j: JSON, at: String) throws -> ClosedJaxpr {
        guard let inner = j["jaxpr"] else { throw fail(at, "closed jaxpr needs 'jaxpr'") }
        let jx = try jaxpr(inner, at: "\(at).jaxpr")
        let consts = try (j["consts"]?.arrayValue ?? []).enumerated().map { k, c -> ConstantValue in
            if let t = c["tensor"] { return .tensor(try tensorIndex(t, at: "\(at).consts[\(k)]")) }
            return .opaque(c["opaque"]?.stringValue ?? "opaque")
        }
        guard consts.count == jx.constvars.count else {
            throw fail(at, "\(consts.count) consts for \(jx.constvars.count) constvars")
        }
        return ClosedJaxpr(jaxpr: jx, consts: consts)
    }

    func equation(_ j: JSON, at: String) throws -> Equation {
        guard let prim = j["prim"]?.stringValue else { throw fail(at, "equation needs 'prim'") }
        let here = "\(at) (\(prim))"
        let ins = try (j["in"]?.arrayValue ?? []).enumerated().map { try atom($1, at: "\(here).in[\($0)]") }
        let outs = try (j["out"]?.arrayValue ?? []).enumerated().map { k, o -> EquationOutput in
            if o["drop"]?.boolValue == true { return EquationOutput(id: nil, type: try aval(o["aval"], at: "\(here).out[\(k)]")) }
            let v = try variable(o, at: "\(here).out[\(k)]")
            return EquationOutput(id: v.id, type: v.type)
        }
        let params: ParamNode
        switch j["params"] {
        case nil, .null?: params = .fields(kind: J2O_PARAM_DICT, type: nil, [])
        case let .object(fields)?:
            params = .fields(kind: J2O_PARAM_DICT, type: nil, try fields.map { ($0.0, try param($0.1, at: "\(here).params.\($0.0)")) })
        default: throw fail(here, "'params' must be an object")
        }
        var source: SourceLocation?
        if let s = j["src"], let file = s["file"]?.stringValue, let line = s["line"]?.intValue {
            source = SourceLocation(file: file, line: Int(line), function: s["fn"]?.stringValue)
        }
        return Equation(primitive: prim, inputs: ins, outputs: outs, params: params, source: source,
                        scope: j["scope"]?.stringValue)
    }

    func param(_ j: JSON, at: String) throws -> ParamNode {
        switch j {
        case .null: return .none
        case let .bool(b): return .bool(b)
        case let .int(v): return .int(v)
        case let .double(d): return .float(d)
        case let .string(s): return .string(s)
        case let .array(items): return .list(try items.enumerated().map { try param($1, at: "\(at)[\($0)]") })
        case .object:
            let tag = j["$"]?.stringValue ?? ""
            switch tag {
            case "float": return .float(try nonFinite(j, at: at))
            case "dtype": return .dtype(j["v"]?.stringValue ?? "")
            case "dim": return .dim(j["v"]?.stringValue ?? "")
            case "enum":
                let value: Int64
                switch j["value"] { case let .int(v)?: value = v; case let .bool(b)?: value = b ? 1 : 0; default: value = 0 }
                return .enumMember(type: j["type"]?.stringValue ?? "", name: j["name"]?.stringValue ?? "", value: value)
            case "record", "dict":
                guard case let .object(fields)? = tag == "record" ? j["fields"] : j["v"] else {
                    throw fail(at, "\(tag) needs an object of fields")
                }
                return .fields(kind: tag == "record" ? J2O_PARAM_RECORD : J2O_PARAM_DICT, type: j["type"]?.stringValue,
                               try fields.map { ($0.0, try param($0.1, at: "\(at).\($0.0)")) })
            case "jaxpr":
                guard let v = j["v"] else { throw fail(at, "jaxpr param needs 'v'") }
                return .program(try jaxpr(v, at: at))
            case "closed_jaxpr":
                guard let v = j["v"] else { throw fail(at, "closed_jaxpr param needs 'v'") }
                return .program(try closedJaxpr(v, at: at))
            case "array":
                let k = try tensorIndex(j["tensor"], at: at)
                return .array(tensor: k, dtype: tensorTable[k].dtype)
            case "scalar":
                let dt = j["dtype"]?.stringValue ?? ""
                switch j["v"] {
                case let .int(v)?: return .scalar(dtype: dt, int: v, double: Double(v))
                case let .double(d)?: return .scalar(dtype: dt, int: nil, double: d)
                case let .bool(b)?: return .scalar(dtype: dt, int: b ? 1 : 0, double: b ? 1 : 0)
                case let special?: return .scalar(dtype: dt, int: nil, double: try nonFinite(special, at: at))
                case nil: throw fail(at, "scalar needs 'v'")
                }
            default:
                // Unknown kinds (and "opaque") stay opaque: a later tracer may know more than this host.
                return .opaque(type: j["type"]?.stringValue ?? tag, repr: j["repr"]?.stringValue ?? "")
            }
        }
    }
}
