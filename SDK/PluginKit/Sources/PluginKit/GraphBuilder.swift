import PluginABI

/// An attribute value for `GraphBuilder.node`.
public enum Attr {
    case int(Int64)
    case float(Float)
    case string(String)
    case ints([Int64])
    case floats([Float])
    case tensor(Value)
    /// A subgraph built with `GraphBuilder.subgraph` (If branches, Loop and Scan bodies).
    case graph(Subgraph)

    public static func ints(_ v: [Int]) -> Attr { .ints(v.map(Int64.init)) }
}

/// Emits ONNX through the host API. Every lowering gets one; its helpers read like the ONNX they
/// emit and skip no-op nodes (identity transposes, same-type casts, reshapes to the same shape).
public final class GraphBuilder {
    public let ctx: OpaquePointer
    public let api: UnsafePointer<j2o_host_api>
    public let opset: Int

    init(ctx: OpaquePointer, api: UnsafePointer<j2o_host_api>) {
        self.ctx = ctx; self.api = api
        opset = Int(api.pointee.opset(ctx))
    }

    // MARK: nodes

    /// One node of the default ONNX domain; `nil` inputs are omitted optional inputs.
    public func node(_ op: String, _ inputs: [Value?], outputs: Int = 1,
                     attributes: KeyValuePairs<String, Attr> = [:]) throws -> [Value] {
        try emitForTarget(op, inputs, outputs: outputs, attributes: attributes).map { Value(id: $0, shape: nil, graph: self) }
    }

    /// Emits one node with its attributes; returns the host's node handle.
    func emit(_ op: String, _ inputs: [Value?], outputs: Int, attributes: KeyValuePairs<String, Attr>) throws -> j2o_node {
        // The ids go to the host on the stack: most nodes are emitted once and never looked at again.
        let n = withUnsafeTemporaryAllocation(of: j2o_value.self, capacity: max(1, inputs.count)) { ids in
            for (k, v) in inputs.enumerated() { ids[k] = v?.id ?? 0 }
            return api.pointee.node(ctx, op, nil, ids.baseAddress, Int32(inputs.count), Int32(outputs))
        }
        guard n != 0 else { throw LoweringError.invalid("the host refused node \(op)") }
        for (name, a) in attributes {
            switch a {
            case let .int(v): api.pointee.attr_int(ctx, n, name, v)
            case let .float(v): api.pointee.attr_float(ctx, n, name, v)
            case let .string(s): api.pointee.attr_string(ctx, n, name, s, s.utf8.count)
            case let .ints(v): v.withUnsafeBufferPointer { api.pointee.attr_ints(ctx, n, name, $0.baseAddress, $0.count) }
            case let .floats(v): v.withUnsafeBufferPointer { api.pointee.attr_floats(ctx, n, name, $0.baseAddress, $0.count) }
            case let .tensor(t): api.pointee.attr_tensor(ctx, n, name, t.id)
            case let .graph(sub): api.pointee.attr_graph(ctx, n, name, sub.handle)
            }
        }
        return n
    }

    /// A single-output node, optionally with the shape the caller knows it has.
    public func op(_ op: String, _ inputs: Value?..., attributes: KeyValuePairs<String, Attr> = [:],
                   shape: [Dim]? = nil) throws -> Value {
        Value(id: try emitForTarget(op, inputs, outputs: 1, attributes: attributes)[0], shape: shape, graph: self)
    }

    public func op(_ op: String, _ inputs: [Value?], attributes: KeyValuePairs<String, Attr> = [:],
                   shape: [Dim]? = nil) throws -> Value {
        Value(id: try emitForTarget(op, inputs, outputs: 1, attributes: attributes)[0], shape: shape, graph: self)
    }

    // MARK: constants

    public func constant(_ dtype: DType, shape: [Int64], bytes: UnsafeRawBufferPointer) throws -> Value {
        let v = shape.withUnsafeBufferPointer {
            api.pointee.constant(ctx, dtype.rawValue, Int32(shape.count), $0.baseAddress, bytes.baseAddress, bytes.count)
        }
        guard v != 0 else { throw LoweringError.invalid("the host refused a \(dtype) constant of shape \(shape)") }
        return Value(id: v, shape: shape.map { .known($0) }, graph: self)
    }

    public func constant<T>(_ values: [T], dtype: DType, shape: [Int64]? = nil) throws -> Value {
        try values.withUnsafeBytes { try constant(dtype, shape: shape ?? [Int64(values.count)], bytes: $0) }
    }

    public func int64s(_ v: [Int64]) throws -> Value { try constant(v, dtype: .i64) }
    public func int64s(_ v: [Int]) throws -> Value { try int64s(v.map(Int64.init)) }

    /// A scalar of the given element type (a rank-0 tensor).
    /// An integer type takes x truncated toward zero; a NaN, an infinity or a value outside the
    /// type (a hostile fill value, say) throws instead of trapping in the conversion.
    public func scalar(_ x: Double, _ dtype: DType) throws -> Value {
        func exact<T: BinaryInteger>(_: T.Type) throws -> T {
            guard x.isFinite, let v = T(exactly: x.rounded(.towardZero)) else {
                throw LoweringError.invalid("\(x) is not a value of \(dtype)")
            }
            return v
        }
        switch dtype {
        case .f32: return try constant([Float(x)], dtype: dtype, shape: [])
        case .f64: return try constant([x], dtype: dtype, shape: [])
        case .f16: return try constant([Float16(Float(x)).bitPattern], dtype: dtype, shape: [])
        case .bf16: return try constant([bfloat16(Float(x))], dtype: dtype, shape: [])
        case .i8: return try constant([try exact(Int8.self)], dtype: dtype, shape: [])
        case .i16: return try constant([try exact(Int16.self)], dtype: dtype, shape: [])
        case .i32: return try constant([try exact(Int32.self)], dtype: dtype, shape: [])
        case .i64: return try constant([try exact(Int64.self)], dtype: dtype, shape: [])
        case .u8: return try constant([try exact(UInt8.self)], dtype: dtype, shape: [])
        case .u16: return try constant([try exact(UInt16.self)], dtype: dtype, shape: [])
        case .u32: return try constant([try exact(UInt32.self)], dtype: dtype, shape: [])
        case .u64: return try constant([try exact(UInt64.self)], dtype: dtype, shape: [])
        case .bool: return try constant([UInt8(x != 0 ? 1 : 0)], dtype: dtype, shape: [])
        default: throw LoweringError.unsupported("no scalar constant of type \(dtype)")
        }
    }

    func bfloat16(_ f: Float) -> UInt16 {
        if f.isNaN { return 0x7FC0 }
        let b = f.bitPattern
        return UInt16(truncatingIfNeeded: (b &+ 0x7FFF &+ ((b >> 16) & 1)) >> 16)
    }

    // MARK: shapes

    /// A dimension as an int64[1] tensor: a constant, or computed at runtime for symbolic dims.
    public func dimTensor(_ d: Dim) throws -> Value {
        switch d {
        case let .known(n): return try int64s([n])
        case let .symbolic(s):
            let v = api.pointee.dim_value(ctx, s, s.utf8.count)
            guard v != 0 else { throw LoweringError.invalid("cannot evaluate dimension '\(s)'") }
            return Value(id: v, shape: [1], graph: self)
        }
    }

    /// A shape as an int64[n] tensor (a constant when every dim is known). Symbolic shapes come
    /// from the host's shape_value, whose nodes do not count against the claim's op list.
    public func shapeTensor(_ dims: [Dim]) throws -> Value {
        if let known = dims.map(\.value) as? [Int64] { return try int64s(known) }
        if let v = try hostShapeValue(dims) { return v }
        // A host older than shape_value: the Concat is then the lowering's own node.
        let parts = try dims.map { try dimTensor($0) }
        return try op("Concat", parts.map { Optional($0) }, attributes: ["axis": .int(0)], shape: [.known(Int64(dims.count))])
    }

    public func reshape(_ x: Value, _ dims: [Dim]) throws -> Value {
        if let s = x.shape, s == dims { return x }
        let allowZero = dims.contains(.known(0))
        if allowZero, opset < 14, let k = dims.firstIndex(of: .known(0)) {
            // Reshape-13 reads a 0 as "keep the input's dim" and has no allowzero. The result is
            // empty: first ones with a -1 at the first empty axis (inferred as 0), then the target
            // with a 0 there, which keeps that 0. More empty axes are broadcast to.
            var thinSpec = [Int64](repeating: 1, count: dims.count)
            thinSpec[k] = -1
            let thin = try op("Reshape", x, int64s(thinSpec), shape: thinSpec.map { .known($0 == -1 ? 0 : $0) })
            if dims.filter({ $0 == .known(0) }).count > 1 { return try expand(thin, dims) }
            return try op("Reshape", thin, shapeTensor(dims), shape: dims)
        }
        return try op("Reshape", x, reshapeTarget(x, dims, allowZero: allowZero),
                      attributes: allowZero ? ["allowzero": .int(1)] : [:], shape: dims)
    }

    /// Reshape's shape input. Symbolic dims cost runtime arithmetic, so those Reshape can work out
    /// itself go as 0 (copy the input's dim at that axis) or one -1 (whatever the rest leaves);
    /// only what remains is computed. The first symbolic dim takes the -1: its expression tends
    /// to be the product (B*T) that would cost the most to compute.
    func reshapeTarget(_ x: Value, _ dims: [Dim], allowZero: Bool) throws -> Value {
        guard !allowZero else { return try shapeTensor(dims) }
        var spec = dims
        for (i, d) in dims.enumerated() where d.value == nil {
            if let s = x.shape, i < s.count, s[i] == d { spec[i] = .known(0) }
        }
        if let first = spec.firstIndex(where: { $0.value == nil }) { spec[first] = .known(-1) }
        return try shapeTensor(spec)
    }

    public func transpose(_ x: Value, _ perm: [Int]) throws -> Value {
        try checkPermutation(perm, rank: x.shape?.count ?? perm.count)
        if perm == Array(0..<perm.count) { return x }
        return try op("Transpose", x, attributes: ["perm": .ints(perm)], shape: x.shape.map { s in perm.map { s[$0] } })
    }

    public func cast(_ x: Value, to dtype: DType) throws -> Value {
        if x.dtype == dtype { return x }
        return try op("Cast", x, attributes: ["to": .int(Int64(dtype.rawValue))], shape: x.shape)
    }

    public func unsqueeze(_ x: Value, _ axes: [Int]) throws -> Value {
        if axes.isEmpty { return x }
        var shape = x.shape
        if var s = shape {
            // Negative axes count from the end of the result, as ONNX reads them.
            let rank = s.count + axes.count
            for a in axes.map({ $0 < 0 ? $0 + rank : $0 }).sorted() {
                guard a >= 0, a <= s.count else { throw LoweringError.invalid("unsqueeze axes \(axes) out of range for rank \(rank)") }
                s.insert(1, at: a)
            }
            shape = s
        }
        return try op("Unsqueeze", x, int64s(axes), shape: shape)
    }

    public func squeeze(_ x: Value, _ axes: [Int]) throws -> Value {
        if axes.isEmpty { return x }
        if let s = x.shape { _ = try checkAxes(axes, rank: s.count) }
        let shape = x.shape.map { s in s.enumerated().filter { !axes.contains($0.offset) }.map(\.element) }
        return try op("Squeeze", x, int64s(axes), shape: shape)
    }

    /// Broadcasts to `dims` (numpy rules); vanishes when the shape already matches.
    public func expand(_ x: Value, _ dims: [Dim]) throws -> Value {
        if let s = x.shape, s == dims { return x }
        var x = x
        // Broadcasting 1 to 0 is legal ONNX, but ONNX Runtime's Expand keeps the 1 there: make
        // those axes empty first (a Slice to nothing), so Expand only copies.
        if var s = x.shape, s.count == dims.count, dims.contains(.known(0)) {
            let axes = dims.indices.filter { dims[$0] == .known(0) && s[$0] != .known(0) }
            if !axes.isEmpty {
                for a in axes { s[a] = .known(0) }
                let zeros = [Int64](repeating: 0, count: axes.count)
                x = try op("Slice", x, int64s(zeros), int64s(zeros), int64s(axes.map(Int64.init)), shape: s)
            }
        }
        if let s = x.shape, s == dims { return x }
        // Where x already has the target dim, 1 broadcasts to it: no runtime value needed there.
        var spec = dims
        if let s = x.shape, s.count == dims.count {
            for i in dims.indices where dims[i].value == nil && s[i] == dims[i] { spec[i] = .known(1) }
        }
        return try op("Expand", x, shapeTensor(spec), shape: dims)
    }

    // MARK: nested programs

    /// Lowers a nested program (a jaxpr param) in place; its equations go through dispatch.
    public func inline(_ program: Param, _ inputs: [Value], outputs: Int) throws -> [Value] {
        var outs = [j2o_value](repeating: 0, count: outputs)
        let ids = inputs.map(\.id)
        let status = ids.withUnsafeBufferPointer { i in
            outs.withUnsafeMutableBufferPointer { o in
                api.pointee.inline_program(ctx, program.raw, i.baseAddress, Int32(i.count), o.baseAddress, Int32(outputs))
            }
        }
        guard status == J2O_OK else { throw LoweringError.invalid("the nested program failed to lower") }
        return outs.map { Value(id: $0, shape: nil, graph: self) }
    }
}
