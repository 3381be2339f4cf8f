import J2OPluginABI

/// Drives the lowering of a bundle's program into the host graph: binds inputs and constants,
/// hands every equation to its claimants in dispatch order, verifies what each pack emitted, and
/// collects the graph outputs. Nested programs (`inline_program`) come back through here.
public final class Lowerer {
    public let bundle: Bundle
    public let registry: Registry
    public let opset: Int
    /// The deployment target: packs ask it what runs (ABI 1.5) and every emitted node is checked against it.
    public let target: RuntimeProfile
    public let graph = Graph()

    /// JAX variable id to the graph value that holds it.
    var env: [Int: ValueID] = [:]
    var literalCache: [LiteralKey: ValueID] = [:]
    var tensorCache: [Int: ValueID] = [:]
    struct ReshapedKey: Hashable { let tensor: Int; let dims: [Int64] }
    var reshapedTensors: [ReshapedKey: ValueID] = [:]
    var dimCache: [String: ValueID] = [:]
    /// Where each symbol of the top-level inputs can be read at runtime: (graph input, axis).
    var symbolSources: [String: (ValueID, Int)] = [:]
    /// Symbols that occur only inside an input dimension such as `4*k` or `B + 1`, read back from it.
    var derivedSymbols: [String: SymbolDerivation] = [:]
    /// Interned C strings handed to packs (primitive names, symbols).
    var cstrings: [String: CText] = [:]
    /// A failure inside a nested program, reported in preference to the outer pack's status.
    var nestedFailure: HostError?
    /// Equation indices from the top level down, for messages.
    var equationPath: [Int] = []
    /// The function-scope instance being lowered (Graph.functionScopes), -1 outside any; the
    /// provenance of every node records it.
    var currentFunction: Int32 = -1
    /// `--functions auto`: group equations into function scopes by the module path of their name stack.
    var moduleScopes = false
    /// Called after each top-level equation with the number lowered so far (progress).
    var onEquation: ((Int) -> Void)?
    var stableConstantBytes: [ValueID: UnsafeMutableRawPointer] = [:]
    /// The registry's claimants per primitive at this opset, looked up once per primitive.
    var claimants: [String: [Claim]] = [:]

    /// Bytes the host may allocate for constants packs create (index grids, tables); refused past
    /// it, before the copy is made.
    public var maxMemory = MemoryLimit.defaultBytes
    var reservedMemory = 0

    func reserveMemory(_ bytes: Int) -> Bool {
        let (total, o) = reservedMemory.addingReportingOverflow(bytes)
        guard !o, total <= maxMemory else { return false }
        reservedMemory = total
        return true
    }

    public init(bundle: Bundle, registry: Registry, opset: Int, target: RuntimeProfile = .spec) {
        self.bundle = bundle; self.registry = registry; self.opset = opset; self.target = target
        graph.keepAlive.append(bundle.file)
        if bundle.hasSeparateDataFile { graph.keepAlive.append(bundle.dataFile) }
    }

    deinit { for p in stableConstantBytes.values { p.deallocate() } }

    struct LiteralKey: Hashable {
        let dtype: Int32
        let bits: UInt64
    }

    func cstring(_ s: String) -> CText {
        if let c = cstrings[s] { return c }
        let c = CText(s)
        cstrings[s] = c
        return c
    }

    // MARK: the top level

    public func run(inputNames: [String]? = nil, outputNames: [String]? = nil) throws -> Graph {
        let program = bundle.program
        let jaxpr = program.jaxpr
        let inNames = inputNames ?? bundle.inputNames ?? []
        let outNames = outputNames ?? bundle.outputNames ?? []
        guard !jaxpr.outvars.isEmpty else {
            throw HostError.conversion(["the program has no outputs; an ONNX model needs at least one"])
        }
        try Self.checkNames(inputs: jaxpr.invars.indices.map { $0 < inNames.count ? inNames[$0] : "in_\($0)" },
                            outputs: jaxpr.outvars.indices.map { $0 < outNames.count ? outNames[$0] : "out_\($0)" })
        for (i, v) in jaxpr.invars.enumerated() {
            guard v.type.dtype != .opaque else {
                throw HostError.conversion(["input \(i) has a type ONNX cannot represent (\(v.type)); pass it as an array"])
            }
            let name = i < inNames.count ? inNames[i] : "in_\(i)"
            let value = graph.addInput(name: name, type: v.type)
            env[v.id] = value
            for (axis, d) in v.type.shape.enumerated() {
                if case let .symbolic(s) = d, symbolSources[s] == nil, (try? DimExpr.parse(s)) == .symbol(s) {
                    symbolSources[s] = (value, axis)
                }
            }
        }
        deriveSymbols(jaxpr.invars)
        try bindConstants(program)
        try lowerEquations(jaxpr)
        var used = Set<ValueID>()
        for (i, atom) in jaxpr.outvars.enumerated() {
            var v = try value(of: atom)
            let info = graph.values[Int(v)]
            // A graph output must be a node's own, uniquely named result.
            if info.producer < 0 || used.contains(v) {
                let n = graph.addNode("Identity", [v], outputCount: 1)
                let out = graph.nodes[n].outputs[0]
                graph.setType(out, dtype: info.dtype)
                graph.setShape(out, info.shape)
                if info.complex { graph.markComplex(out) }
                v = out
            }
            used.insert(v)
            if case let .variable(id) = atom, let t = typeOf(variable: id, in: jaxpr) { graph.setShape(v, t.storage.shape) }
            graph.addOutput(v, name: i < outNames.count ? outNames[i] : "out_\(i)")
        }
        return graph
    }

    /// Graph inputs and outputs share one namespace in ONNX: a name used twice (from the bundle,
    /// the command line, or a default such as `out_0` that a given name repeats) is refused.
    static func checkNames(inputs: [String], outputs: [String]) throws {
        var seen = Set<String>()
        var problems: [String] = []
        for (kind, names) in [("input", inputs), ("output", outputs)] {
            for (i, n) in names.enumerated() {
                if n.isEmpty { problems.append("\(kind) \(i) has an empty name") }
                else if !seen.insert(n).inserted { problems.append("\(kind) \(i) is named '\(n)', a name already used by another graph input or output") }
            }
        }
        guard problems.isEmpty else { throw HostError.conversion(problems) }
    }

    func typeOf(variable id: Int, in jaxpr: Jaxpr) -> TensorType? {
        if let v = jaxpr.invars.first(where: { $0.id == id }) { return v.type }
        for e in jaxpr.equations.reversed() { for o in e.outputs where o.id == id { return o.type } }
        return nil
    }

    func bindConstants(_ program: ClosedJaxpr) throws {
        for (v, c) in zip(program.jaxpr.constvars, program.consts) {
            switch c {
            case let .tensor(k): env[v.id] = tensorValue(k, as: v.type)
            case .opaque:
                // Bound lazily: only an error if an equation actually reads it.
                continue
            }
        }
    }

    func tensorValue(_ k: Int) -> ValueID {
        if let v = tensorCache[k] { return v }
        let t = bundle.tensors[k]
        let v = graph.addInitializer(Initializer(dtype: t.dtype, dims: t.shape, bytes: .mapped(bundle.bytes(ofTensor: k))))
        tensorCache[k] = v
        return v
    }

    /// A constvar's tensor in the shape its jaxpr declares. A writer may store a 0-d constant as
    /// one element of shape [1] (numpy's ascontiguousarray does); the jaxpr's type is the truth,
    /// or a captured scalar would give a scan's stacked output a spurious axis.
    func tensorValue(_ k: Int, as declared: TensorType) -> ValueID {
        let t = bundle.tensors[k]
        let dims = declared.shape.compactMap(\.value)
        guard dims.count == declared.shape.count, dims != t.shape, t.dtype == declared.dtype,
              dims.reduce(1, *) == t.shape.reduce(1, *) else { return tensorValue(k) }
        if let v = reshapedTensors[ReshapedKey(tensor: k, dims: dims)] { return v }
        let v = graph.addInitializer(Initializer(dtype: t.dtype, dims: dims, bytes: .mapped(bundle.bytes(ofTensor: k))))
        reshapedTensors[ReshapedKey(tensor: k, dims: dims)] = v
        return v
    }

    // MARK: equations

    func lowerEquations(_ jaxpr: Jaxpr) throws {
        let top = equationPath.isEmpty
        let base = currentFunction
        defer { currentFunction = base }
        // `--functions auto`: the module instances open at this level, outermost first. A name
        // stack is relative to its program, so a nested program's modules nest in the instance
        // its call equation belongs to.
        var open: [(component: Substring, scope: Int32)] = []
        for (index, eqn) in jaxpr.equations.enumerated() {
            equationPath.append(index)
            defer { equationPath.removeLast() }
            if moduleScopes {
                let path = ModulePath.components(eqn.scope)
                var keep = 0
                while keep < open.count, keep < path.count, open[keep].component == path[keep] { keep += 1 }
                open.removeLast(open.count - keep)
                for c in path[keep...] {
                    let mark = FunctionMark(name: ModulePath.functionName(c), domain: ModulePath.domain, unique: false)
                    open.append((c, graph.addFunctionScope(FunctionScope(mark: mark, parent: open.last?.scope ?? base))))
                }
                currentFunction = open.last?.scope ?? base
            }
            try lower(eqn)
            if top { onEquation?(index + 1) }
        }
    }

    /// Lowers a nested program in place with the given bindings; returns its outputs.
    func inline(_ jaxpr: Jaxpr, consts: [ConstantValue]?, inputs: [ValueID]) throws -> [ValueID] {
        var rest = inputs[...]
        if let consts {
            for (v, c) in zip(jaxpr.constvars, consts) { if case let .tensor(k) = c { env[v.id] = tensorValue(k, as: v.type) } }
        } else {
            for v in jaxpr.constvars {
                guard let x = rest.popFirst() else { throw HostError.conversion(["inline_program: too few inputs for the program's constvars"]) }
                env[v.id] = x
            }
        }
        guard rest.count == jaxpr.invars.count else {
            throw HostError.conversion(["inline_program: the program takes \(jaxpr.invars.count) inputs, got \(rest.count)"])
        }
        for (v, x) in zip(jaxpr.invars, rest) {
            env[v.id] = x
            // A value the pack made (a slice, a cast) gets the type the program declares for it,
            // so the program's equations see its shape.
            if graph.values[Int(x)].shape == nil { graph.setShape(x, v.type.storage.shape) }
            if graph.values[Int(x)].dtype == .undefined, v.type.dtype != .opaque { graph.setType(x, dtype: v.type.dtype.complexStorage) }
            if v.type.dtype.isComplex { graph.markComplex(x) }
        }
        try lowerEquations(jaxpr)
        return try jaxpr.outvars.map { try value(of: $0) }
    }

    func lower(_ eqn: Equation) throws {
        if let mark = eqn.function {
            let enclosing = currentFunction
            currentFunction = graph.addFunctionScope(FunctionScope(mark: mark, parent: enclosing))
            defer { currentFunction = enclosing }
            try lowerClaimed(eqn)
        } else {
            try lowerClaimed(eqn)
        }
    }

    private func lowerClaimed(_ eqn: Equation) throws {
        let claims: [Claim]
        if let known = claimants[eqn.primitive] { claims = known } else {
            claims = registry.candidates(eqn.primitive, opset: opset)
            claimants[eqn.primitive] = claims
        }
        var declines: [String] = []
        let subject = eqn.inputs.first.flatMap(operandDType) ?? eqn.outputs.first?.type.dtype
        for claim in claims {
            if let dtype = subject, !claim.accepts(dtype) {
                declines.append("\(claim.pack.label) does not lower \(dtype) (it takes \(claim.dtypes.map(\.description).joined(separator: ", ")))")
                continue
            }
            let mark = graph.mark()
            let ctx = LoweringContext(lowerer: self, equation: eqn, claim: claim, mark: mark)
            let status = withExtendedLifetime(ctx) {
                PackGuard.lowering(claim, equation: equationPath) { claim.invoke(ctx) }
            }
            if ctx.abandonOpenSubgraphs(), status == J2O_OK {
                ctx.misuse("returned with a subgraph still open (every subgraph_begin needs its subgraph_end)")
            }
            if let nested = nestedFailure {
                nestedFailure = nil
                throw nested
            }
            if let misuse = ctx.misuse { throw failure(eqn, claim, misuse) }
            switch status {
            case J2O_OK:
                if let problem = ctx.finish() { throw failure(eqn, claim, problem) }
                return
            case J2O_DECLINE:
                rollback(to: mark)
                declines.append("\(claim.pack.label) declined: \(ctx.message ?? "no reason given")")
            case J2O_ERROR:
                throw failure(eqn, claim, ctx.message ?? "lowering failed without a message")
            default:
                throw failure(eqn, claim, "returned unknown status \(status)")
            }
        }
        if claims.isEmpty {
            throw HostError.conversion(["\(where_(eqn)): no pack lowers '\(eqn.primitive)' at opset \(opset)"])
        }
        throw HostError.conversion(["\(where_(eqn)): every pack declined '\(eqn.primitive)':"] + declines.map { "  " + $0 })
    }

    /// What a claim's dtype list is matched against (see j2o_claim.dtypes).
    func operandDType(_ atom: Atom) -> DType? {
        switch atom {
        case .literal(let l): return l.type.dtype
        case .variable(let id):
            guard let v = env[id] else { return nil }
            let d = graph.jaxDType(v)
            return d == .undefined ? nil : d
        }
    }

    func rollback(to mark: Graph.Mark) {
        graph.rollback(to: mark)
        let limit = ValueID(mark.values)
        literalCache = literalCache.filter { $0.value < limit }
        tensorCache = tensorCache.filter { $0.value < limit }
        reshapedTensors = reshapedTensors.filter { $0.value < limit }
        dimCache = dimCache.filter { $0.value < limit }
        env = env.filter { $0.value < limit }
        for (v, p) in stableConstantBytes where v >= limit {
            p.deallocate()
            stableConstantBytes[v] = nil
        }
    }

    /// After a subgraph closes: forgets JAX variables and cached dimensions bound to values inside
    /// it, which the enclosing graph cannot see.
    func forgetInvisibleValues() {
        let scope = graph.currentScope
        env = env.filter { graph.isVisible($0.value, from: scope) }
        dimCache = dimCache.filter { graph.isVisible($0.value, from: scope) }
    }

    func where_(_ eqn: Equation) -> String {
        var s = "equation \(equationPath.map(String.init).joined(separator: ">")) (\(eqn.primitive))"
        if let src = eqn.source { s += " at \(src)" }
        return s
    }

    func failure(_ eqn: Equation, _ claim: Claim, _ message: String) -> HostError {
        .conversion(["\(where_(eqn)): pack \(claim.pack.label) (\(claim.pack.path)): \(message)"])
    }

    // MARK: values

    func value(of atom: Atom) throws -> ValueID {
        switch atom {
        case let .variable(id):
            guard let v = env[id] else {
                throw HostError.conversion(["variable \(id) is used but has no value (an opaque constant, or a malformed bundle)"])
            }
            return v
        case let .literal(lit): return literalValue(lit)
        }
    }

    func literalValue(_ lit: Literal) -> ValueID {
        let bits: UInt64
        switch lit.value {
        case let .tensor(k): return tensorValue(k)
        case let .int(i): bits = UInt64(bitPattern: i)
        case let .double(d): bits = d.bitPattern
        case let .bool(b): bits = b ? 1 : 0
        }
        let key = LiteralKey(dtype: lit.type.dtype.rawValue, bits: bits)
        if let v = literalCache[key] { return v }
        let bytes = ScalarEncoding.bytes(lit.value, as: lit.type.dtype)
        let v = graph.addInitializer(Initializer(dtype: lit.type.dtype, dims: [], bytes: .owned(bytes)))
        literalCache[key] = v
        return v
    }

    // MARK: dimensions

    /// The runtime value (int64[1]) of a dimension expression, built once per graph.
    func dimValue(_ text: String) throws -> ValueID {
        if let v = dimCache[text] { return v }
        let expr: DimExpr
        do { expr = try DimExpr.parse(text) } catch { throw HostError.conversion(["\(error)"]) }
        let v = try emitDim(expr)
        dimCache[text] = v
        return v
    }

    private func emitDim(_ e: DimExpr) throws -> ValueID {
        let key = e.description
        if let v = dimCache[key] { return v }
        let v: ValueID
        switch e {
        case let .constant(c):
            v = graph.addInitializer(Initializer(dtype: .i64, dims: [1], bytes: .owned(ScalarEncoding.bytes(.int(c), as: .i64))))
        case let .symbol(s):
            guard let (input, axis) = symbolSources[s] else {
                v = try derivedSymbol(s)
                break
            }
            v = inputDim(input, axis: axis)
        case let .add(a, b): v = try binary("Add", a, b)
        case let .sub(a, b): v = try binary("Sub", a, b)
        case let .mul(a, b): v = try binary("Mul", a, b)
        case let .call("floordiv", a, b) where !a.isNonNegative:
            // Div truncates toward zero; a - mod(a, b) is a multiple of b, so it floors even for a
            // negative intermediate such as B - 5 (Mod takes the divisor's sign, like JAX's mod).
            v = try binary("Div", .sub(a, .call("mod", a, b)), b)
        case let .call(f, a, b):
            v = try binary(["floordiv": "Div", "mod": "Mod", "max": "Max", "min": "Min"][f]!, a, b)
        }
        graph.setType(v, dtype: .i64)
        graph.setShape(v, [.known(1)])
        dimCache[key] = v
        return v
    }

    private func binary(_ op: String, _ a: DimExpr, _ b: DimExpr) throws -> ValueID {
        let x = try emitDim(a), y = try emitDim(b)
        return graph.nodes[graph.addNode(op, [x, y], outputCount: 1)].outputs[0]
    }
}

/// Little-endian bytes of one scalar in a given element type.
enum ScalarEncoding {
    static func bytes(_ v: LiteralValue, as dtype: DType) -> [UInt8] {
        let d: Double, i: Int64
        switch v {
        case let .int(x): d = Double(x); i = x
        case let .double(x): d = x; i = x.isFinite ? Int64(exactly: x.rounded(.towardZero)) ?? 0 : 0
        case let .bool(b): d = b ? 1 : 0; i = b ? 1 : 0
        case .tensor: return []
        }
        func raw<T>(_ x: T) -> [UInt8] { withUnsafeBytes(of: x) { Array($0) } }
        switch dtype {
        case .f32: return raw(Float(d).bitPattern.littleEndian)
        case .f64: return raw(d.bitPattern.littleEndian)
        case .f16: return raw(Float16(Float(d)).bitPattern.littleEndian)
        case .bf16: return raw(bfloat16Bits(Float(d)).littleEndian)
        case .bool: return [d != 0 ? 1 : 0]
        case .i8: return raw(Int8(truncatingIfNeeded: i))
        case .u8: return raw(UInt8(truncatingIfNeeded: i))
        case .i16: return raw(Int16(truncatingIfNeeded: i).littleEndian)
        case .u16: return raw(UInt16(truncatingIfNeeded: i).littleEndian)
        case .i32: return raw(Int32(truncatingIfNeeded: i).littleEndian)
        case .u32: return raw(UInt32(truncatingIfNeeded: i).littleEndian)
        case .i64: return raw(i.littleEndian)
        case .u64:
            // Above Int64's range a double still names a UInt64, saturating at 2^64 and beyond.
            if case let .double(x) = v, x >= 9.2e18 { return raw((UInt64(exactly: x.rounded(.towardZero)) ?? .max).littleEndian) }
            return raw(UInt64(bitPattern: i).littleEndian)
        default: return []
        }
    }

    /// Round-to-nearest-even float32 to bfloat16.
    static func bfloat16Bits(_ f: Float) -> UInt16 {
        if f.isNaN { return 0x7FC0 }
        let b = f.bitPattern
        let rounding = UInt32(0x7FFF) + ((b >> 16) & 1)
        return UInt16(truncatingIfNeeded: (b &+ rounding) >> 16)
    }
}

extension Lowerer {
    /// A copy of an owned constant's bytes that stays valid for the conversion (constant_data
    /// hands out pointers the pack may read after further emits reallocate the graph's arrays).
    func stableBytes(for v: ValueID, _ bytes: TensorBytes) -> UnsafeRawPointer? {
        if let p = stableConstantBytes[v] { return UnsafeRawPointer(p) }
        let p = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 64)
        bytes.withBytes { if let b = $0.baseAddress { p.copyMemory(from: b, byteCount: $0.count) } }
        stableConstantBytes[v] = p
        return UnsafeRawPointer(p)
    }
}
