import PluginABI

/// The equation being lowered: its inputs as graph values, JAX's types for its outputs, and its
/// params.
public struct Equation {
    public let primitive: String
    public let inputs: [Value]
    public let outputs: [TensorType]
    let ctx: OpaquePointer
    let api: UnsafePointer<j2o_host_api>

    init(ctx: OpaquePointer, api: UnsafePointer<j2o_host_api>, graph: GraphBuilder) {
        self.ctx = ctx; self.api = api
        let a = api.pointee
        var len = 0
        let p = a.primitive(ctx, &len)
        primitive = p.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: len), as: UTF8.self) } ?? ""
        func dim(_ size: Int64, _ sym: UnsafePointer<CChar>?, _ n: Int) -> Dim {
            if size >= 0 { return .known(size) }
            return .symbolic(sym.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: n), as: UTF8.self) } ?? "?")
        }
        inputs = (0..<a.input_count(ctx)).map { i in
            let v = a.input(ctx, i)
            let rank = a.value_rank(ctx, v)
            let shape: [Dim]? = rank < 0 ? nil : (0..<rank).map { axis in
                var sym: UnsafePointer<CChar>?
                var n = 0
                return dim(a.value_dim(ctx, v, axis, &sym, &n), sym, n)
            }
            return Value(id: v, shape: shape, graph: graph)
        }
        outputs = (0..<a.output_count(ctx)).map { i in
            let rank = max(0, a.output_rank(ctx, i))
            return TensorType(dtype: DType(rawValue: a.output_dtype(ctx, i)), shape: (0..<rank).map { axis in
                var sym: UnsafePointer<CChar>?
                var n = 0
                return dim(a.output_dim(ctx, i, axis, &sym, &n), sym, n)
            })
        }
    }

    public var opset: Int { Int(api.pointee.opset(ctx)) }
    /// Operand `i`; an equation with fewer operands than its primitive takes is an error in the
    /// bundle, reported instead of trapping.
    public func input(_ i: Int) throws -> Value {
        guard inputs.indices.contains(i) else {
            throw LoweringError.invalid("\(primitive) has \(inputs.count) operand\(inputs.count == 1 ? "" : "s"); its lowering needs operand \(i)")
        }
        return inputs[i]
    }

    /// The JAX type of result `i`, with the same check as `input`.
    public func output(_ i: Int) throws -> TensorType {
        guard outputs.indices.contains(i) else {
            throw LoweringError.invalid("\(primitive) has \(outputs.count) result\(outputs.count == 1 ? "" : "s"); its lowering needs result \(i)")
        }
        return outputs[i]
    }
    public func outputUsed(_ i: Int) -> Bool { api.pointee.output_used(ctx, Int32(i)) != 0 }

    public func param(_ name: String) -> Param? {
        api.pointee.param(ctx, name).map { Param(raw: $0, api: api) }
    }

    /// A param that must be there; its absence is an error in the equation.
    public func require(_ name: String) throws -> Param {
        guard let p = param(name), !p.isNone else { throw LoweringError.invalid("\(primitive) has no '\(name)' param") }
        return p
    }

    public func ints(_ name: String) throws -> [Int] {
        guard let v = try require(name).ints else { throw LoweringError.invalid("\(primitive) param '\(name)' is not a list of ints") }
        return v
    }

    /// A list of dims (ints or symbolic expressions), e.g. `slice_sizes` under a symbolic shape.
    public func dims(_ name: String) throws -> [Dim] {
        guard let v = try require(name).dims else { throw LoweringError.invalid("\(primitive) param '\(name)' is not a list of dimensions") }
        return v
    }

    public func int(_ name: String) throws -> Int {
        guard let v = try require(name).int else { throw LoweringError.invalid("\(primitive) param '\(name)' is not an int") }
        return v
    }
}
