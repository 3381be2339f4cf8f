import PluginABI
#if canImport(Glibc)
import Glibc
#endif

/// A subgraph built through the host (ABI 1.1), to attach as a graph attribute:
///
///     let body = try g.subgraph(eqn.require("body_jaxpr"), inputs: [...], outputs: n)
///     try g.node("Loop", [trips, cond] + carried, outputs: n, attributes: ["body": .graph(body)])
public struct Subgraph {
    public let handle: j2o_graph
}

/// One input of a subgraph being built.
public enum SubgraphInput {
    /// A formal input of this type (symbolic dims allowed).
    case typed(TensorType)
    /// A formal input of this element type whose shape is left unknown (a loop-carried value
    /// whose shape changes between iterations).
    case unshaped(DType)
    /// A value of the enclosing graph, read from inside the subgraph (an ONNX outer-scope
    /// reference); it is not a formal input.
    case outer(Value)

    public var isFormal: Bool { if case .outer = self { return false }; return true }
}

extension GraphBuilder {
    /// Whether the host can build subgraphs (it has ABI 1.1's subgraph functions).
    public var buildsSubgraphs: Bool {
        let end = MemoryLayout<j2o_host_api>.offset(of: \j2o_host_api.attr_graph)! + MemoryLayout<UnsafeRawPointer>.size
        return Int(api.pointee.struct_size) >= end
    }

    /// Builds a subgraph: its formal inputs are the `.typed` and `.unshaped` entries, in order;
    /// `body` gets one value per entry (outer values as they are), emits the subgraph's nodes into
    /// it, and returns its outputs.
    public func subgraph(inputs: [SubgraphInput], _ body: ([Value]) throws -> [Value]) throws -> Subgraph {
        guard buildsSubgraphs else { throw LoweringError.unsupported("the host is too old to build subgraphs (needs ABI 1.1)") }
        let a = api.pointee
        let handle = a.subgraph_begin(ctx)
        guard handle != 0 else { throw LoweringError.invalid("the host refused to begin a subgraph") }
        var ended = false
        defer {
            // A failed body still closes its subgraph, so the pack can go on (or report) cleanly.
            if !ended { _ = a.subgraph_end(ctx, handle, nil, 0) }
        }
        var args: [Value] = []
        for input in inputs {
            switch input {
            case let .outer(v): args.append(v)
            case let .unshaped(dtype):
                let v = a.subgraph_input(ctx, handle, dtype.rawValue, J2O_DIM_UNKNOWN, nil, nil)
                guard v != 0 else { throw LoweringError.invalid("the host refused a subgraph input") }
                args.append(Value(id: v, shape: nil, graph: self))
            case let .typed(t):
                let dims = t.shape.map { $0.value ?? Int64(J2O_DIM_SYMBOLIC) }
                let texts = t.shape.map { d -> UnsafeMutablePointer<CChar>? in
                    if case let .symbolic(s) = d { return strdup(s) }
                    return nil
                }
                defer { texts.forEach { free($0) } }
                let symbols = texts.map { UnsafePointer($0) }
                let v = dims.withUnsafeBufferPointer { d in
                    symbols.withUnsafeBufferPointer { s in
                        a.subgraph_input(ctx, handle, t.dtype.rawValue, Int32(t.rank), d.baseAddress, s.baseAddress)
                    }
                }
                guard v != 0 else { throw LoweringError.invalid("the host refused a subgraph input of type \(t)") }
                args.append(Value(id: v, shape: t.shape, graph: self))
            }
        }
        let outs = try body(args).map(\.id)
        ended = true
        let status = outs.withUnsafeBufferPointer { a.subgraph_end(ctx, handle, $0.baseAddress, Int32($0.count)) }
        guard status == J2O_OK else { throw LoweringError.invalid("the host refused the subgraph") }
        return Subgraph(handle: handle)
    }

    /// Lowers a nested program (a jaxpr param) as a subgraph: `inputs` bind the program's inputs
    /// (constvars first for an open jaxpr, then invars), each a formal input of the subgraph or a
    /// captured outer value; the program's `outputs` results are the subgraph's outputs.
    public func subgraph(_ program: Param, inputs: [SubgraphInput], outputs: Int) throws -> Subgraph {
        try subgraph(inputs: inputs) { args in try inline(program, args, outputs: outputs) }
    }
}
