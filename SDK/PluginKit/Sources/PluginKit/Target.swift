import PluginABI

/// The runtime the model is for (ABI 1.5): a lowering asks what runs there and picks that form.
/// On a host older than 1.5 there is no target to ask, and everything valid ONNX is assumed to run.
extension GraphBuilder {
    var hostHasTarget: Bool {
        Int(api.pointee.struct_size) >= MemoryLayout<j2o_host_api>.offset(of: \.supports)! + MemoryLayout<UnsafeRawPointer>.size
    }

    /// The target's name: "ort-cpu", "ort-web", "onnx" (the specification alone).
    public var target: String {
        guard hostHasTarget, let read = api.pointee.target else { return "onnx" }
        var len = 0
        guard let p = read(ctx, &len) else { return "onnx" }
        return String(decoding: UnsafeRawBufferPointer(start: p, count: len).bindMemory(to: UInt8.self), as: UTF8.self)
    }

    /// Whether the target runs `op` (default ONNX domain) with `dtype` as its main operand's type,
    /// at the target opset or at `opset`.
    public func supports(_ op: String, _ dtype: DType, opset: Int? = nil) -> Bool {
        guard hostHasTarget, let ask = api.pointee.supports else { return true }
        return ask(ctx, op, nil, Int32(opset ?? 0), dtype.rawValue) != 0
    }

    /// Emits a node, in float32 when it must be: if an input is bfloat16 or float16 and the target
    /// has no kernel for the op in that type but has one for float32, those inputs are cast up and
    /// the float32 outputs rounded back, as JAX computes each such op (in f32, rounded per op).
    /// Returns the node's outputs.
    func emitForTarget(_ op: String, _ inputs: [Value?], outputs: Int,
                       attributes: KeyValuePairs<String, Attr>) throws -> [j2o_value] {
        if let widened = try emitNarrowArithmetic(op, inputs, outputs: outputs, attributes: attributes) { return widened }
        if hostHasTarget, op != "Cast", let low = inputs.lazy.compactMap({ $0?.dtype }).first(where: { $0 == .bf16 || $0 == .f16 }),
           !supports(op, low), supports(op, .f32) {
            var wide: [Value?] = []
            for v in inputs {
                guard let v else { wide.append(nil); continue }
                wide.append(v.dtype == low ? try cast(v, to: .f32) : v)
            }
            let n = try emit(op, wide, outputs: outputs, attributes: attributes)
            return try (0..<Int32(outputs)).map { k in
                let out = Value(id: api.pointee.node_output(ctx, n, k), shape: nil, graph: self)
                return out.dtype == .f32 ? try cast(out, to: low).id : out.id
            }
        }
        let n = try emit(op, inputs, outputs: outputs, attributes: attributes)
        return (0..<Int32(outputs)).map { api.pointee.node_output(ctx, n, $0) }
    }
}
