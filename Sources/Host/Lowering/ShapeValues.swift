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
        // Canonical text, so "B*T" and "(B)*(T)" share one value.
        let key = dims.map(\.description)
        if let v = shapeCache[key] { return v }
        var parts: [ValueID] = []
        var run: [Int64] = []
        func flush() {
            guard !run.isEmpty else { return }
            parts.append(int64Constant(run))
            run = []
        }
        for (d, text) in zip(dims, texts) {
            if case let .constant(c) = d { run.append(c); continue }
            flush()
            parts.append(try dimValue(text))
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
        shapeCache[key] = v
        return v
    }

    private func int64Constant(_ values: [Int64]) -> ValueID {
        let bytes = values.flatMap { withUnsafeBytes(of: $0.littleEndian) { Array($0) } }
        return graph.addInitializer(Initializer(dtype: .i64, dims: [Int64(values.count)], bytes: .owned(bytes)))
    }
}
