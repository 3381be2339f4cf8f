/// Whole shapes as runtime values (shape_value): the one way packs turn a list of dims, some of
/// them symbolic, into the int64[n] tensor Reshape, Expand, Slice and friends take. The nodes are
/// the host's (no origin), so they never count against the calling claim's op list, and each
/// distinct list is built once per graph.
extension Lowerer {
    func shapeValue(_ texts: [String]) throws -> ValueID {
        var dims: [DimExpr] = []
        for t in texts {
            do { dims.append(try DimExpr.parse(t)) } catch { throw HostError.conversion(["shape_value: \(error)"]) }
        }
        // Canonical text, so "B*T" and "(B)*(T)" share one value. Whole shapes live in dimCache
        // beside single dims (a bracketed key no expression can have), so whatever forgets or
        // rolls back cached dims does the same for shapes.
        let key = "[" + dims.map(\.description).joined(separator: ", ") + "]"
        if let v = dimCache[key] { return v }
        var parts: [ValueID] = []
        var run: [Int64] = []
        func flush() {
            guard !run.isEmpty else { return }
            parts.append(int64Constant(run))
            run = []
        }
        for (d, text) in zip(dims, texts) {
            if d.symbols.isEmpty, let c = d.evaluate([:]) { run.append(c); continue }
            flush()
            do { parts.append(try dimValue(text)) } catch {
                throw HostError.conversion(["cannot compute the shape (\(texts.joined(separator: ", "))) at runtime: \(error)"])
            }
        }
        flush()
        if parts.isEmpty { parts = [int64Constant([])] }
        let v: ValueID
        if parts.count == 1 {
            v = parts[0]
        } else {
            let n = graph.addNode("Concat", parts, outputCount: 1)
            graph.setAttribute(node: n, Attribute(name: "axis", value: .int(0)))
            v = graph.nodes[n].outputs[0]
            graph.setType(v, dtype: .i64)
            graph.setShape(v, [.known(Int64(dims.count))])
        }
        dimCache[key] = v
        return v
    }

    func int64Constant(_ values: [Int64]) -> ValueID {
        let bytes = values.flatMap { withUnsafeBytes(of: $0.littleEndian) { Array($0) } }
        return graph.addInitializer(Initializer(dtype: .i64, dims: [Int64(values.count)], bytes: .owned(bytes)))
    }
}

/// How to read a symbol S back from an input dimension `scale*S + offset` (scale > 0).
struct SymbolDerivation {
    let input: ValueID
    let axis: Int
    let scale: Int64
    let offset: Int64
}

extension Lowerer {
    /// Records, for symbols no input has as a plain dimension, an input dimension linear in them
    /// (`4*k`, `B + 1`, `2*T - 1`), so a model exported with such a dim can still read the symbol.
    func deriveSymbols(_ invars: [Variable]) {
        for v in invars {
            guard let value = env[v.id] else { continue }
            for (axis, d) in v.type.shape.enumerated() {
                guard case let .symbolic(text) = d, let e = try? DimExpr.parse(text), e.symbols.count == 1,
                      let s = e.symbols.first, symbolSources[s] == nil, derivedSymbols[s] == nil,
                      let (scale, offset) = e.linear(in: s), scale > 0 else { continue }
                derivedSymbols[s] = SymbolDerivation(input: value, axis: axis, scale: scale, offset: offset)
            }
        }
    }

    /// One dimension of `input` as int64[1]: Shape's start/end (opset 15), else Shape and Gather.
    func inputDim(_ input: ValueID, axis: Int) -> ValueID {
        let n = graph.addNode("Shape", [input], outputCount: 1)
        var v = graph.nodes[n].outputs[0]
        if opset >= 15 {
            graph.setAttribute(node: n, Attribute(name: "start", value: .int(Int64(axis))))
            graph.setAttribute(node: n, Attribute(name: "end", value: .int(Int64(axis + 1))))
        } else {
            graph.setType(v, dtype: .i64)
            v = graph.nodes[graph.addNode("Gather", [v, int64Constant([Int64(axis)])], outputCount: 1)].outputs[0]
        }
        graph.setType(v, dtype: .i64)
        graph.setShape(v, [.known(1)])
        return v
    }

    /// The runtime value (int64[1]) of a symbol read through its derivation.
    func derivedSymbol(_ s: String) throws -> ValueID {
        guard let d = derivedSymbols[s] else {
            throw HostError.conversion(["symbol '\(s)' does not appear in the dimensions of any model input (as '\(s)' or as a multiple of it plus a constant), so its size cannot be read at runtime"])
        }
        var v = inputDim(d.input, axis: d.axis)
        func step(_ op: String, _ k: Int64) {
            let c = int64Constant([k])
            v = graph.nodes[graph.addNode(op, [v, c], outputCount: 1)].outputs[0]
            graph.setType(v, dtype: .i64)
            graph.setShape(v, [.known(1)])
        }
        graph.setType(v, dtype: .i64)
        graph.setShape(v, [.known(1)])
        if d.offset != 0 { step("Sub", d.offset) }
        if d.scale != 1 { step("Div", d.scale) }
        return v
    }
}

extension DimExpr {
    /// (a, c) when the expression is a*s + c for every value of s (its only symbol), else nil.
    func linear(in s: String) -> (Int64, Int64)? {
        guard let c = evaluate([s: 0]), let a1 = evaluate([s: 1]) else { return nil }
        let (a, o) = a1.subtractingReportingOverflow(c)
        guard !o else { return nil }
        for x: Int64 in [2, 3, 7, 64, 1000, 123_457] {
            let (ax, o1) = a.multipliedReportingOverflow(by: x)
            let (y, o2) = ax.addingReportingOverflow(c)
            guard !o1, !o2, evaluate([s: x]) == y else { return nil }
        }
        return (a, c)
    }
}

extension DimExpr {
    /// Certainly >= 0 for every value of the symbols (sizes are), judged by the form alone.
    var isNonNegative: Bool {
        switch self {
        case let .constant(c): return c >= 0
        case .symbol: return true
        case .sub: return false
        case let .add(a, b), let .mul(a, b): return a.isNonNegative && b.isNonNegative
        case let .call(f, a, b):
            return f == "max" ? a.isNonNegative || b.isNonNegative : a.isNonNegative && b.isNonNegative
        }
    }
}
