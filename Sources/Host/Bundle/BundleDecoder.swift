import J2OPluginABI

/// A bundle that is well-formed JSON but not a valid program. The JSON path to the problem is
/// filled in as the error unwinds (`within`), so the happy path never builds path strings.
struct DecodeFailure: Error, CustomStringConvertible {
    var path: String
    var message: String
    init(_ message: String, at path: String = "") { self.path = path; self.message = message }
    var description: String { path.isEmpty ? message : "\(path): \(message)" }
}

/// Runs `body`, prefixing `part` to the path of a `DecodeFailure` it throws.
@inline(__always)
private func within<T>(_ part: @autoclosure () -> String, _ body: () throws -> T) throws -> T {
    do { return try body() } catch var f as DecodeFailure {
        f.path = part() + f.path
        throw f
    }
}

private let quote = UInt8(ascii: "\""), openBrace = UInt8(ascii: "{"), openBracket = UInt8(ascii: "[")

/// Decodes the bundle's JSON (docs/bundle-format.md) straight from the mapped bytes into the
/// program model, in one pass and without an intermediate tree. Repeated text is decoded once and
/// shared: primitive names and other strings, dtypes, param keys, avals, literals, whole param
/// sets and source locations are looked up by their exact bytes, which is what keeps a deep
/// model of thousands of near-identical blocks cheap to read.
struct BundleDecoder {
    typealias Bytes = UnsafeBufferPointer<UInt8>

    /// What the top level of the document holds.
    struct Document {
        var name: String?
        var tensors: [TensorRef]
        var program: ClosedJaxpr
        var inputNames: [String]?
        var outputNames: [String]?
        /// Where the data section lives when it is a file of its own (version 2, header flag 1).
        var dataFile: String?
    }

    private var c: JSONCursor
    let dataOffset: Int
    let dataLength: Int
    private(set) var tensorTable: [TensorRef] = []

    private var strings = SharedValues<String>(capacity: 256)
    private var texts = SharedValues<CText>(capacity: 256)
    private var dtypes = SharedValues<DType>()
    private var shapes = SharedValues<[Int64]>()
    private var avals = ValueCache<TensorType>(capacity: 256, recent: 4)
    private var literals = ValueCache<Literal>(recent: 2)
    private var paramSets = ValueCache<ParamNode>(capacity: 256, recent: 8)
    private var sources = ValueCache<SourceLocation?>(capacity: 64, recent: 2)
    /// Set once a nested program has been decoded; a param set holding one is not shared.
    private var sawProgram = false
    private let noParams = ParamNode.fields(kind: J2O_PARAM_DICT, type: nil, names: [], items: [])

    init(json: UnsafeBufferPointer<UInt8>, dataOffset: Int, dataLength: Int) {
        c = JSONCursor(json, arena: ByteArena())
        self.dataOffset = dataOffset; self.dataLength = dataLength
    }

    // MARK: Document

    mutating func document() throws -> Document {
        guard try c.peek() == openBrace else {
            try c.skipValue()
            guard c.atEnd() else { throw c.fail("trailing characters") }
            throw DecodeFailure("JSON 'format' is not \"jax2onnx-bundle\"")
        }
        var formatSeen = false, formatOK = false
        var tensorsMark: JSONCursor.Mark?, tensorsDone = false
        var programMark: JSONCursor.Mark?, program: ClosedJaxpr?
        var nameSeen = false, name: String?
        var inputsSeen = false, inputNames: [String]?
        var outputsSeen = false, outputNames: [String]?
        var dataFileSeen = false, dataFile: String?
        try c.beginObject()
        var first = true
        // The program is decoded where it stands when the members it depends on came first (as
        // the tracer writes them); otherwise it is revisited once the whole object is known.
        while let key = try c.nextKey(&first) {
            if key.equals("format"), !formatSeen {
                formatSeen = true
                formatOK = try optionalString()?.equals("jax2onnx-bundle") ?? false
            } else if key.equals("tensors"), tensorsMark == nil, !tensorsDone {
                if formatOK {
                    tensorTable = try tensors()
                    tensorsDone = true
                } else {
                    tensorsMark = try markAndSkip()
                }
            } else if key.equals("program"), programMark == nil, program == nil {
                if formatOK, tensorsDone {
                    program = try within("program") { try closedJaxpr() }
                } else {
                    programMark = try markAndSkip()
                }
            } else if key.equals("name"), !nameSeen {
                nameSeen = true
                name = try optionalString()?.text
            } else if key.equals("input_names"), !inputsSeen {
                inputsSeen = true
                inputNames = try stringList()
            } else if key.equals("output_names"), !outputsSeen {
                outputsSeen = true
                outputNames = try stringList()
            } else if key.equals("data_file"), !dataFileSeen {
                dataFileSeen = true
                dataFile = try optionalString()?.text
            } else {
                try c.skipValue()
            }
        }
        guard c.atEnd() else { throw c.fail("trailing characters") }
        guard formatOK else { throw DecodeFailure("JSON 'format' is not \"jax2onnx-bundle\"") }
        if !tensorsDone, let m = tensorsMark {
            c.seek(m)
            tensorTable = try tensors()
        }
        if program == nil {
            guard let m = programMark else { throw DecodeFailure("missing 'program'") }
            c.seek(m)
            program = try within("program") { try closedJaxpr() }
        }
        return Document(name: name, tensors: tensorTable, program: program!, inputNames: inputNames,
                        outputNames: outputNames, dataFile: dataFile)
    }

    private mutating func stringList() throws -> [String]? {
        guard try c.peek() == openBracket else { try c.skipValue(); return nil }
        var out: [String] = []
        try c.beginArray()
        var first = true
        while try c.nextElement(&first) {
            if let s = try optionalString() { out.append(s.text) }
        }
        return out
    }

    // MARK: Tensors

    private mutating func tensors() throws -> [TensorRef] {
        guard try c.peek() == openBracket else { throw DecodeFailure("expected an array", at: "tensors") }
        var out: [TensorRef] = []
        try c.beginArray()
        var first = true
        while try c.nextElement(&first) {
            let k = out.count
            let item = try within("tensors[\(k)]") { try tensor() }
            out.append(item)
        }
        return out
    }

    private mutating func tensor() throws -> TensorRef {
        var dt: Bytes?, shape: [Int64]?, offset: Int64?, nbytes: Int64?
        if try c.peek() == openBrace {
            try c.beginObject()
            var first = true
            while let key = try c.nextKey(&first) {
                if key.equals("dtype") { dt = try optionalString() }
                else if key.equals("shape") { shape = try constantShape() }
                else if key.equals("offset") { offset = try optionalInt() }
                else if key.equals("nbytes") { nbytes = try optionalInt() }
                else { try c.skipValue() }
            }
        } else {
            try c.skipValue()
        }
        guard let dt, let shape, let off = offset, let n = nbytes else {
            throw DecodeFailure("needs dtype, shape, offset and nbytes")
        }
        guard off >= 0, n >= 0, off % 64 == 0 else { throw DecodeFailure("offset \(off) must be a non-negative multiple of 64") }
        guard off <= Int64(dataLength), n <= Int64(dataLength) - off else {
            throw DecodeFailure("bytes [\(off), +\(n)) lie outside the \(dataLength)-byte data section (truncated?)")
        }
        let dtype = self.dtype(dt)
        if dtype.byteWidth > 0 {
            var count: Int64 = 1
            for d in shape {
                let (m, o) = count.multipliedReportingOverflow(by: d)
                guard !o else { throw DecodeFailure("element count overflows") }
                count = m
            }
            let (total, o) = count.multipliedReportingOverflow(by: Int64(dtype.byteWidth))
            guard !o, total == n else {
                throw DecodeFailure("nbytes \(n) does not match \(dt.text)\(shape) (\(o ? "too many" : String(total)) bytes)")
            }
        }
        return TensorRef(dtype: dtype, shape: shape, offset: dataOffset + Int(off), nbytes: Int(n))
    }

    /// A constant's shape (nil when not an array); repeated shapes share one array.
    private mutating func constantShape() throws -> [Int64]? {
        guard try c.peek() == openBracket else { try c.skipValue(); return nil }
        let start = c.mark
        try c.skipValue()
        let raw = c.bytes(since: start)
        let h = SharedValues<[Int64]>.hash(raw)
        if let s = shapes.find(raw, hash: h) { return s }
        let end = c.mark
        c.seek(start)
        var dims: [Int64] = []
        try c.beginArray()
        var first = true
        while try c.nextElement(&first) {
            guard let v = try optionalInt(), v >= 0 else { throw DecodeFailure("constant shapes are non-negative integers") }
            dims.append(v)
        }
        c.seek(end)
        shapes.insert(raw, hash: h, dims)
        return dims
    }

    private func tensorIndexFailure(_ shown: String) -> DecodeFailure {
        DecodeFailure("tensor index \(shown) is not in the tensor table (\(tensorTable.count) entries)")
    }

    /// A tensor-table index at the cursor.
    private mutating func tensorIndex() throws -> Int {
        c.skipSpace()
        let start = c.mark
        guard let k = try optionalInt(), k >= 0, k < tensorTable.count else {
            throw tensorIndexFailure(c.bytes(since: start).text)
        }
        return Int(k)
    }

    /// A tensor-table index at `m`, which may be missing.
    private mutating func tensorIndex(at m: JSONCursor.Mark?) throws -> Int {
        guard let m else { throw tensorIndexFailure("missing") }
        c.seek(m)
        return try tensorIndex()
    }

    // MARK: Programs

    private mutating func closedJaxpr() throws -> ClosedJaxpr {
        var jx: Jaxpr?
        var consts: [ConstantValue] = []
        if try c.peek() == openBrace {
            try c.beginObject()
            var first = true
            while let key = try c.nextKey(&first) {
                if key.equals("jaxpr"), jx == nil {
                    jx = try within(".jaxpr") { try jaxpr() }
                } else if key.equals("consts"), try c.peek() == openBracket {
                    consts = []
                    try c.beginArray()
                    var f = true
                    while try c.nextElement(&f) {
                        let k = consts.count
                        let item = try within(".consts[\(k)]") { try constant() }
                        consts.append(item)
                    }
                } else {
                    try c.skipValue()
                }
            }
        } else {
            try c.skipValue()
        }
        guard let jx else { throw DecodeFailure("closed jaxpr needs 'jaxpr'") }
        guard consts.count == jx.constvars.count else {
            throw DecodeFailure("\(consts.count) consts for \(jx.constvars.count) constvars")
        }
        return ClosedJaxpr(jaxpr: jx, consts: consts)
    }

    private mutating func constant() throws -> ConstantValue {
        var tensor: Int?, opaque: Bytes?
        if try c.peek() == openBrace {
            try c.beginObject()
            var first = true
            while let key = try c.nextKey(&first) {
                if key.equals("tensor"), tensor == nil { tensor = try tensorIndex() }
                else if key.equals("opaque") { opaque = try optionalString() }
                else { try c.skipValue() }
            }
        } else {
            try c.skipValue()
        }
        if let tensor { return .tensor(tensor) }
        return .opaque(opaque.map { $0.text } ?? "opaque")
    }

    private mutating func jaxpr() throws -> Jaxpr {
        var constvars: [Variable] = [], invars: [Variable] = [], outvars: [Atom] = [], eqns: [Equation] = []
        guard try c.peek() == openBrace else {
            try c.skipValue()
            return Jaxpr(constvars: [], invars: [], outvars: [], equations: [])
        }
        try c.beginObject()
        var first = true
        while let key = try c.nextKey(&first) {
            if key.equals("constvars") {
                constvars = try list("constvars") { try $0.variable() }
            } else if key.equals("invars") {
                invars = try list("invars") { try $0.variable() }
            } else if key.equals("outvars") {
                outvars = try list("outvars") { try $0.atom() }
            } else if key.equals("eqns") {
                eqns = try list("eqns") { try $0.equation() }
            } else {
                try c.skipValue()
            }
        }
        return Jaxpr(constvars: constvars, invars: invars, outvars: outvars, equations: eqns)
    }

    /// A jaxpr member's array, each element decoded by `element`; errors name the element's index.
    private mutating func list<T>(_ key: String, _ element: (inout BundleDecoder) throws -> T) throws -> [T] {
        try beginList(key)
        var items: [T] = []
        var first = true
        while try c.nextElement(&first) {
            let k = items.count
            items.append(try within(".\(key)[\(k)]") { try element(&self) })
        }
        return items
    }

    /// Opens the array a jaxpr member must be.
    private mutating func beginList(_ key: String) throws {
        guard try c.peek() == openBracket else { throw DecodeFailure("'\(key)' must be an array") }
        try c.beginArray()
    }

    private mutating func variable() throws -> Variable {
        var id: Int64?, type: TensorType?
        if try c.peek() == openBrace {
            try c.beginObject()
            var first = true
            while let key = try c.nextKey(&first) {
                if key.equals("id") { id = try optionalInt() }
                else if key.equals("aval") { type = try aval() }
                else { try c.skipValue() }
            }
        } else {
            try c.skipValue()
        }
        guard let id else { throw DecodeFailure("variable needs an integer id") }
        guard let type else { throw DecodeFailure("missing aval") }
        return Variable(id: Int(id), type: type)
    }

    private mutating func output() throws -> EquationOutput {
        var id: Int64?, type: TensorType?, drop = false
        if try c.peek() == openBrace {
            try c.beginObject()
            var first = true
            while let key = try c.nextKey(&first) {
                if key.equals("id") { id = try optionalInt() }
                else if key.equals("aval") { type = try aval() }
                else if key.equals("drop") { drop = try optionalBool() ?? false }
                else { try c.skipValue() }
            }
        } else {
            try c.skipValue()
        }
        if drop {
            guard let type else { throw DecodeFailure("missing aval") }
            return EquationOutput(id: nil, type: type)
        }
        guard let id else { throw DecodeFailure("variable needs an integer id") }
        guard let type else { throw DecodeFailure("missing aval") }
        return EquationOutput(id: Int(id), type: type)
    }

    private mutating func atom() throws -> Atom {
        var sawVar = false, id: Int64?
        var lit: (mark: JSONCursor.Mark, raw: Bytes)?, known: Literal?
        if try c.peek() == openBrace {
            try c.beginObject()
            var first = true
            while let key = try c.nextKey(&first) {
                if key.equals("var"), !sawVar {
                    sawVar = true
                    id = try optionalInt()
                } else if key.equals("lit"), lit == nil, known == nil {
                    c.skipSpace()
                    if let hit = literals.ahead(&c) {
                        known = hit
                        continue
                    }
                    let m = c.mark
                    try c.skipValue()
                    lit = (m, c.bytes(since: m))
                } else {
                    try c.skipValue()
                }
            }
        } else {
            try c.skipValue()
        }
        if sawVar {
            guard let id else { throw DecodeFailure("'var' must be an integer id") }
            return .variable(Int(id))
        }
        if let known { return .literal(known) }
        guard let lit else { throw DecodeFailure("an atom is {\"var\": id} or {\"lit\": ...}") }
        let (found, key) = literals.find(lit.raw)
        if let found { return .literal(found) }
        let l = try reread(from: lit.mark) { try $0.literal() }
        literals.store(l, as: key)
        return .literal(l)
    }

    private mutating func literal() throws -> Literal {
        var avalAt: JSONCursor.Mark?, tensorAt: JSONCursor.Mark?, valueAt: JSONCursor.Mark?
        if try c.peek() == openBrace {
            try c.beginObject()
            var first = true
            while let key = try c.nextKey(&first) {
                if key.equals("aval"), avalAt == nil { avalAt = try markAndSkip() }
                else if key.equals("tensor"), tensorAt == nil { tensorAt = try markAndSkip() }
                else if key.equals("value"), valueAt == nil { valueAt = try markAndSkip() }
                else { try c.skipValue() }
            }
        } else {
            try c.skipValue()
        }
        guard let avalAt else { throw DecodeFailure("missing aval") }
        c.seek(avalAt)
        let type = try aval()
        if tensorAt != nil { return Literal(type: type, value: .tensor(try tensorIndex(at: tensorAt))) }
        let bad = DecodeFailure("literal needs a scalar 'value' or a 'tensor'")
        guard let valueAt else { throw bad }
        c.seek(valueAt)
        switch try c.peek() {
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return Literal(type: type, value: .bool(try optionalBool()!))
        case openBrace:
            guard let v = try floatTag() else { throw bad }
            return Literal(type: type, value: .double(v))
        case quote, openBracket, UInt8(ascii: "n"): throw bad
        default:
            switch try c.number() {
            case let .int(v): return Literal(type: type, value: .int(v))
            case let .double(v): return Literal(type: type, value: .double(v))
            }
        }
    }

    /// `{"$": "float", "v": "nan" | "inf" | "-inf"}` at the cursor: the value, or nil when the
    /// object is not a float tag.
    private mutating func floatTag() throws -> Double? {
        var tag: Bytes?, v: Bytes?
        try c.beginObject()
        var first = true
        while let key = try c.nextKey(&first) {
            if key.equals("$"), tag == nil { tag = try optionalString() }
            else if key.equals("v"), v == nil { v = try optionalString() }
            else { try c.skipValue() }
        }
        guard tag?.equals("float") == true else { return nil }
        return try nonFinite(v)
    }

    private func nonFinite(_ v: Bytes?) throws -> Double {
        if v?.equals("nan") == true { return .nan }
        if v?.equals("inf") == true { return .infinity }
        if v?.equals("-inf") == true { return -.infinity }
        throw DecodeFailure("float tag takes \"nan\", \"inf\" or \"-inf\"")
    }

    // MARK: Shared values

    /// Skips the value at the cursor: where it started and its bytes, the key it is shared by.
    private mutating func skipped() throws -> (start: JSONCursor.Mark, raw: UnsafeBufferPointer<UInt8>) {
        let start = c.mark
        try c.skipValue()
        return (start, c.bytes(since: start))
    }

    /// Decodes the value that starts at `start` (already skipped once), then returns the cursor
    /// to where it was.
    private mutating func reread<T>(from start: JSONCursor.Mark, _ decode: (inout BundleDecoder) throws -> T) throws -> T {
        let end = c.mark
        c.seek(start)
        let value = try decode(&self)
        c.seek(end)
        return value
    }

    // MARK: Avals

    /// An aval; a repeat of one already read is shared.
    private mutating func aval() throws -> TensorType {
        c.skipSpace()
        if let hit = avals.ahead(&c) { return hit }
        let (start, raw) = try skipped()
        let (found, key) = avals.find(raw)
        if let found { return found }
        let t = try reread(from: start) { try $0.newAval() }
        avals.store(t, as: key)
        return t
    }

    private mutating func newAval() throws -> TensorType {
        guard try c.peek() == openBrace else {
            try c.skipValue()
            throw DecodeFailure("aval needs dtype and shape")
        }
        var kind = false, dt: Bytes?, dims: [Dim]?, badDim = false
        var physicalDtype: Bytes?, physicalDims: [Int64]?, badPhysicalDim = false
        try c.beginObject()
        var first = true
        while let key = try c.nextKey(&first) {
            if key.equals("kind") {
                if try optionalString() != nil { kind = true }
            } else if key.equals("dtype"), dt == nil {
                dt = try optionalString()
            } else if key.equals("shape"), dims == nil, try c.peek() == openBracket {
                var d: [Dim] = []
                try c.beginArray()
                var f = true
                while try c.nextElement(&f) {
                    if try c.peek() == quote {
                        let s = try c.string()
                        if s.isEmpty { badDim = true } else { d.append(.symbolic(string(s))) }
                    } else if let v = try optionalInt(), v >= 0 {
                        d.append(.known(v))
                    } else {
                        badDim = true
                    }
                }
                dims = d
            } else if key.equals("physical"), try c.peek() == openBrace {
                try c.beginObject()
                var f = true
                while let pkey = try c.nextKey(&f) {
                    if pkey.equals("dtype") {
                        physicalDtype = try optionalString()
                    } else if pkey.equals("shape"), try c.peek() == openBracket {
                        var d: [Int64] = []
                        try c.beginArray()
                        var g = true
                        while try c.nextElement(&g) {
                            if let v = try optionalInt(), v >= 0 { d.append(v) } else { badPhysicalDim = true }
                        }
                        physicalDims = d
                    } else {
                        try c.skipValue()
                    }
                }
            } else {
                try c.skipValue()
            }
        }
        if kind { return TensorType(.opaque, []) }
        guard let dt, let dims else { throw DecodeFailure("aval needs dtype and shape") }
        guard !badDim else { throw DecodeFailure("a dimension is a non-negative integer or a symbolic expression string") }
        try Self.checkSize(dims.compactMap(\.value) + (physicalDims ?? []))
        // An extended dtype (a PRNG key) with a declared physical form is that form throughout the
        // graph: its element dtype, with the element's dims appended.
        if let physicalDtype, let physicalDims {
            guard !badPhysicalDim else { throw DecodeFailure("a physical dimension is a non-negative integer") }
            return TensorType(dtype(physicalDtype), dims + physicalDims.map { .known($0) })
        }
        return TensorType(dtype(dt), dims)
    }

    /// Every size a lowering or pass computes from an aval (element counts, byte counts, strides)
    /// fits in Int64 when the known dims of one value multiply to at most 2^56 elements, and its
    /// rank stays within what a shape can hold.
    static let maxElements: Int64 = 1 << 56
    static let maxRank = 64

    static func checkSize(_ dims: [Int64]) throws {
        guard dims.count <= maxRank else { throw DecodeFailure("rank \(dims.count) exceeds \(maxRank)") }
        var n: Int64 = 1
        for d in dims where d > 0 {
            let (m, o) = n.multipliedReportingOverflow(by: d)
            guard !o, m <= maxElements else { throw DecodeFailure("shape \(dims) has more than 2^56 elements") }
            n = m
        }
    }

    // MARK: Equations

    private mutating func equation() throws -> Equation {
        var prim: String?
        do {
            guard try c.peek() == openBrace else {
                try c.skipValue()
                throw DecodeFailure("equation needs 'prim'")
            }
            var inputs: [Atom] = [], outputs: [EquationOutput] = []
            var params: ParamNode?, source: SourceLocation?, scope: String?
            var function: FunctionMark?
            try c.beginObject()
            var first = true
            while let key = try c.nextKey(&first) {
                if key.equals("prim") {
                    if let b = try optionalString() { prim = string(b) }
                } else if key.equals("in"), try c.peek() == openBracket {
                    // Most equations are binary; sizing for two saves a regrowth per equation.
                    inputs.reserveCapacity(2)
                    try c.beginArray()
                    var f = true
                    while try c.nextElement(&f) {
                        let k = inputs.count
                        let item = try within(".in[\(k)]") { try atom() }
                        inputs.append(item)
                    }
                } else if key.equals("out"), try c.peek() == openBracket {
                    try c.beginArray()
                    var f = true
                    while try c.nextElement(&f) {
                        let k = outputs.count
                        let item = try within(".out[\(k)]") { try output() }
                        outputs.append(item)
                    }
                } else if key.equals("params") {
                    switch try c.peek() {
                    case UInt8(ascii: "n"): try c.literal("null")
                    case openBrace: params = try within(".params") { try paramSet() }
                    default: throw DecodeFailure("'params' must be an object")
                    }
                } else if key.equals("src") {
                    source = try sourceLocation()
                } else if key.equals("scope") {
                    if let b = try optionalString() { scope = string(b) }
                } else if key.equals("function") {
                    function = try within(".function") { try functionMark() }
                } else {
                    try c.skipValue()
                }
            }
            guard let prim else { throw DecodeFailure("equation needs 'prim'") }
            return Equation(primitive: prim, inputs: inputs, outputs: outputs, params: params ?? noParams,
                            source: source, scope: scope, function: function)
        } catch var f as DecodeFailure {
            if let prim { f.path = " (\(prim))" + f.path }
            throw f
        }
    }

    /// An equation's "function" record; null means none.
    private mutating func functionMark() throws -> FunctionMark? {
        if try c.peek() == UInt8(ascii: "n") { try c.literal("null"); return nil }
        guard try c.peek() == openBrace else { throw DecodeFailure("'function' must be an object") }
        var name: String?, domain = "custom", unique = false
        try c.beginObject()
        var first = true
        while let key = try c.nextKey(&first) {
            if key.equals("name") { name = try optionalString().map { string($0) } }
            else if key.equals("domain") { if let b = try optionalString() { domain = string(b) } }
            else if key.equals("unique") { unique = try optionalBool() ?? false }
            else { try c.skipValue() }
        }
        guard let name, !name.isEmpty else { throw DecodeFailure("'function' needs a non-empty 'name'") }
        return FunctionMark(name: name, domain: domain, unique: unique)
    }

    /// Where an equation came from; repeats (every equation of a block shares its line) are shared.
    private mutating func sourceLocation() throws -> SourceLocation? {
        c.skipSpace()
        if let hit = sources.ahead(&c) { return hit }
        let (start, raw) = try skipped()
        let (found, key) = sources.find(raw)
        if let found { return found }
        let end = c.mark
        c.seek(start)
        var file: Bytes?, line: Int64?, fn: Bytes?
        if try c.peek() == openBrace {
            try c.beginObject()
            var first = true
            while let key = try c.nextKey(&first) {
                if key.equals("file") { file = try optionalString() }
                else if key.equals("line") { line = try optionalInt() }
                else if key.equals("fn") { fn = try optionalString() }
                else { try c.skipValue() }
            }
        }
        c.seek(end)
        var s: SourceLocation?
        if let file, let line {
            var function: String?
            if let fn { function = string(fn) }
            s = SourceLocation(file: string(file), line: Int(line), function: function)
        }
        sources.store(s, as: key)
        return s
    }

    // MARK: Params

    /// An equation's params object; an identical one seen before is shared (it holds no program).
    private mutating func paramSet() throws -> ParamNode {
        if let hit = paramSets.ahead(&c) { return hit }
        let (start, raw) = try skipped()
        let (found, key) = paramSets.find(raw)
        if let found { return found }
        let outer = sawProgram
        sawProgram = false
        let (names, items) = try reread(from: start) { try $0.fields() }
        let node = ParamNode.fields(kind: J2O_PARAM_DICT, type: nil, names: names, items: items)
        if !sawProgram { paramSets.store(node, as: key) }
        sawProgram = sawProgram || outer
        return node
    }

    /// The members of the object at the cursor, as param field names and values.
    private mutating func fields() throws -> (names: [CText], items: [ParamNode]) {
        var names: [CText] = [], items: [ParamNode] = []
        try c.beginObject()
        var first = true
        while let key = try c.nextKey(&first) {
            names.append(text(key))
            let item = try within(".\(key.text)") { try param() }
            items.append(item)
        }
        return (names, items)
    }

    private mutating func param() throws -> ParamNode {
        switch try c.peek() {
        case UInt8(ascii: "n"): try c.literal("null"); return .none
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return .bool(try optionalBool()!)
        case quote: return .string(text(try c.string()))
        case openBracket:
            var items: [ParamNode] = []
            try c.beginArray()
            var first = true
            while try c.nextElement(&first) {
                let k = items.count
                let item = try within("[\(k)]") { try param() }
                items.append(item)
            }
            return .list(items)
        case openBrace: return try taggedParam()
        default:
            switch try c.number() {
            case let .int(v): return .int(v)
            case let .double(d): return .float(d)
            }
        }
    }

    /// An object param, read by its `"$"` tag (which may come after the members it governs).
    private mutating func taggedParam() throws -> ParamNode {
        var tag: Bytes?, type: Bytes?, name: Bytes?, dtypeName: Bytes?, repr: Bytes?
        var v: JSONCursor.Mark?, value: JSONCursor.Mark?, fieldsAt: JSONCursor.Mark?, tensor: JSONCursor.Mark?
        try c.beginObject()
        var first = true
        while let key = try c.nextKey(&first) {
            if key.equals("$"), tag == nil { tag = try optionalString() }
            else if key.equals("v"), v == nil { v = try markAndSkip() }
            else if key.equals("type"), type == nil { type = try optionalString() }
            else if key.equals("name"), name == nil { name = try optionalString() }
            else if key.equals("value"), value == nil { value = try markAndSkip() }
            else if key.equals("fields"), fieldsAt == nil { fieldsAt = try markAndSkip() }
            else if key.equals("tensor"), tensor == nil { tensor = try markAndSkip() }
            else if key.equals("dtype"), dtypeName == nil { dtypeName = try optionalString() }
            else if key.equals("repr"), repr == nil { repr = try optionalString() }
            else { try c.skipValue() }
        }
        let end = c.mark
        defer { c.seek(end) }
        let kindTag = tag ?? Bytes(start: nil, count: 0)
        if kindTag.equals("float") {
            return .float(try nonFinite(try string(at: v)))
        } else if kindTag.equals("dtype") {
            let n = try string(at: v) ?? Bytes(start: nil, count: 0)
            return .dtype(dtype(n), name: text(n))
        } else if kindTag.equals("dim") {
            return .dim(text(try string(at: v) ?? Bytes(start: nil, count: 0)))
        } else if kindTag.equals("enum") {
            var n: Int64 = 0
            if let value {
                c.seek(value)
                switch try c.peek() {
                case UInt8(ascii: "t"), UInt8(ascii: "f"): n = try optionalBool()! ? 1 : 0
                default: n = try optionalInt() ?? 0
                }
            }
            return .enumMember(type: text(type ?? Bytes(start: nil, count: 0)), name: text(name ?? Bytes(start: nil, count: 0)), value: n)
        } else if kindTag.equals("record") || kindTag.equals("dict") {
            let isRecord = kindTag.equals("record")
            let at = isRecord ? fieldsAt : v
            guard let at else { throw DecodeFailure("\(kindTag.text) needs an object of fields") }
            c.seek(at)
            guard try c.peek() == openBrace else { throw DecodeFailure("\(kindTag.text) needs an object of fields") }
            let (names, items) = try fields()
            var typeName: CText?
            if let type { typeName = text(type) }
            return .fields(kind: isRecord ? J2O_PARAM_RECORD : J2O_PARAM_DICT, type: typeName, names: names, items: items)
        } else if kindTag.equals("jaxpr") {
            guard let v else { throw DecodeFailure("jaxpr param needs 'v'") }
            c.seek(v)
            sawProgram = true
            return .program(try jaxpr())
        } else if kindTag.equals("closed_jaxpr") {
            guard let v else { throw DecodeFailure("closed_jaxpr param needs 'v'") }
            c.seek(v)
            sawProgram = true
            return .program(try closedJaxpr())
        } else if kindTag.equals("array") {
            let k = try tensorIndex(at: tensor)
            return .array(tensor: k, dtype: tensorTable[k].dtype)
        } else if kindTag.equals("scalar") {
            let dt = dtype(dtypeName ?? Bytes(start: nil, count: 0))
            guard let v else { throw DecodeFailure("scalar needs 'v'") }
            c.seek(v)
            switch try c.peek() {
            case UInt8(ascii: "t"), UInt8(ascii: "f"):
                let b = try optionalBool()!
                return .scalar(dtype: dt, int: b ? 1 : 0, double: b ? 1 : 0)
            case openBrace:
                var sv: Bytes?
                try c.beginObject()
                var f = true
                while let key = try c.nextKey(&f) {
                    if key.equals("v"), sv == nil { sv = try optionalString() } else { try c.skipValue() }
                }
                return .scalar(dtype: dt, int: nil, double: try nonFinite(sv))
            case quote, openBracket, UInt8(ascii: "n"):
                try c.skipValue()
                return .scalar(dtype: dt, int: nil, double: try nonFinite(nil))
            default:
                switch try c.number() {
                case let .int(i): return .scalar(dtype: dt, int: i, double: Double(i))
                case let .double(d): return .scalar(dtype: dt, int: nil, double: d)
                }
            }
        } else {
            // Unknown kinds (and "opaque") stay opaque: a later tracer may know more than this host.
            return .opaque(type: text(type ?? kindTag), repr: text(repr ?? Bytes(start: nil, count: 0)))
        }
    }

    // MARK: Values

    private mutating func markAndSkip() throws -> JSONCursor.Mark {
        c.skipSpace()
        let m = c.mark
        try c.skipValue()
        return m
    }

    private mutating func string(at m: JSONCursor.Mark?) throws -> Bytes? {
        guard let m else { return nil }
        c.seek(m)
        return try optionalString()
    }

    private mutating func optionalString() throws -> Bytes? {
        if try c.peek() == quote { return try c.string() }
        try c.skipValue()
        return nil
    }

    private mutating func optionalInt() throws -> Int64? {
        let b = try c.peek()
        if b == UInt8(ascii: "-") || (b >= 0x30 && b <= 0x39) {
            if case let .int(v) = try c.number() { return v }
            return nil
        }
        try c.skipValue()
        return nil
    }

    private mutating func optionalBool() throws -> Bool? {
        switch try c.peek() {
        case UInt8(ascii: "t"): try c.literal("true"); return true
        case UInt8(ascii: "f"): try c.literal("false"); return false
        default: try c.skipValue(); return nil
        }
    }

    /// Shared decoded text.
    private mutating func string(_ b: Bytes) -> String {
        let h = SharedValues<String>.hash(b)
        if let s = strings.find(b, hash: h) { return s }
        let s = b.text
        strings.insert(b, hash: h, s)
        return s
    }

    /// Shared NUL-terminated text for the ABI.
    private mutating func text(_ b: Bytes) -> CText {
        let h = SharedValues<CText>.hash(b)
        if let t = texts.find(b, hash: h) { return t }
        let t = CText(b.text)
        texts.insert(b, hash: h, t)
        return t
    }

    private mutating func dtype(_ b: Bytes) -> DType {
        let h = SharedValues<DType>.hash(b)
        if let d = dtypes.find(b, hash: h) { return d }
        let d = DType(bundleName: b.text)
        dtypes.insert(b, hash: h, d)
        return d
    }
}
