/// Reading node attributes and constant inputs the way several passes need them.
extension Rewriter {
    func int(_ n: Node, _ name: String) -> Int64? {
        if case let .int(x)? = n.attribute(name) { return x }
        return nil
    }

    func string(_ n: Node, _ name: String) -> String? {
        if case let .string(x)? = n.attribute(name) { return String(decoding: x, as: UTF8.self) }
        return nil
    }

    func ints(_ n: Node, _ name: String) -> [Int64]? {
        if case let .ints(x)? = n.attribute(name) { return x }
        return nil
    }

    /// ONNX axes (a negative one counts from the end) as indices into a rank-`rank` operand; nil
    /// when one falls outside it or, unless `repeats` allows it, one is given twice. Every rule
    /// that reads axes a damaged bundle may have made goes through here.
    static func normalizedAxes(_ axes: [Int64], rank: Int, repeats: Bool = false) -> [Int]? {
        var out: [Int] = []
        out.reserveCapacity(axes.count)
        for a in axes { guard let x = normalizedAxis(a, rank: rank) else { return nil }; out.append(x) }
        return repeats || Set(out).count == out.count ? out : nil
    }

    static func normalizedAxis(_ a: Int64, rank: Int) -> Int? {
        let x = a < 0 ? a &+ Int64(rank) : a
        return x >= 0 && x < Int64(rank) ? Int(x) : nil
    }

    /// The integer contents of a constant value (axes, shapes, perms).
    func intValues(_ v: ValueID) -> [Int64]? {
        guard let t = constant(v), t.dtype == .i64 || t.dtype == .i32, let h = HostTensor(t, limit: 1 << 16) else { return nil }
        return h.exact
    }

    func rank(_ v: ValueID) -> Int? { shape(v)?.count }

    /// A Reduce* node's axes (attribute before opset 18 for most reductions, input after),
    /// normalised to non-negative; nil when they are not static. Empty input axes mean "all".
    func reduceAxes(_ n: Node) -> [Int]? {
        guard let r = rank(n.inputs[0]) else { return nil }
        var axes: [Int64]
        if n.inputs.count > 1, n.inputs[1] != 0 {
            guard let a = intValues(n.inputs[1]) else { return nil }
            axes = a
        } else if let a = ints(n, "axes") {
            axes = a
        } else {
            axes = []
        }
        if axes.isEmpty {
            if int(n, "noop_with_empty_axes") == 1 { return nil }
            return Array(0..<r)
        }
        // Axes outside the rank make the node invalid; the verifier reports it, the passes leave it.
        return Self.normalizedAxes(axes, rank: r, repeats: true)?.sorted()
    }

    func keepDims(_ n: Node) -> Bool { (int(n, "keepdims") ?? 1) != 0 }

    /// The value's static element count, if its shape is known.
    func elementCount(_ v: ValueID) -> Int64? { staticShape(v).flatMap(HostTensor.count) }

    /// Whether two values certainly have the same shape (symbolic dims compared by name).
    func sameShape(_ a: ValueID, _ b: ValueID) -> Bool {
        guard let x = shape(a), let y = shape(b) else { return false }
        return x == y
    }

    /// A new i64 constant.
    func int64Constant(_ values: [Int64]) -> ValueID {
        addConstant(HostTensor(dtype: .i64, dims: [Int64(values.count)], exact: values))
    }
}
