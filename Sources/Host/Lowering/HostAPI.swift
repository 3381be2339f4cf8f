import J2OPluginABI

/// The function table handed to every pack (j2o_host_api). Each entry resolves the opaque context
/// back to its LoweringContext; misuse is recorded there rather than trapping, so a buggy pack
/// gets an error message that names it instead of crashing the host.
enum HostAPI {
    static func context(_ p: OpaquePointer?) -> LoweringContext {
        Unmanaged<LoweringContext>.fromOpaque(UnsafeRawPointer(p!)).takeUnretainedValue()
    }

    static func param(_ p: j2o_param?) -> ParamNode? { ParamNode.from(p) }

    static func text(_ c: CText?, _ len: UnsafeMutablePointer<Int>?) -> UnsafePointer<CChar>? {
        len?.pointee = c?.count ?? 0
        return c.map { UnsafePointer($0.pointer) }
    }

    static func string(_ p: UnsafePointer<CChar>?, _ len: Int) -> String {
        guard let p else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: p, count: len).bindMemory(to: UInt8.self), as: UTF8.self)
    }

    /// Reports one dimension the way the ABI describes it.
    static func dim(_ ctx: LoweringContext, _ shape: [Dim]?, _ axis: Int32,
                    _ symbol: UnsafeMutablePointer<UnsafePointer<CChar>?>?, _ len: UnsafeMutablePointer<Int>?) -> Int64 {
        symbol?.pointee = nil; len?.pointee = 0
        guard let shape, axis >= 0, Int(axis) < shape.count else { return Int64(J2O_DIM_UNKNOWN) }
        switch shape[Int(axis)] {
        case let .known(n): return n
        case let .symbolic(s):
            let c = ctx.lowerer.cstring(s)
            symbol?.pointee = UnsafePointer(c.pointer); len?.pointee = c.count
            return Int64(J2O_DIM_SYMBOLIC)
        }
    }

    static func addAttribute(_ c: OpaquePointer?, _ node: j2o_node, _ name: UnsafePointer<CChar>?, _ value: AttributeValue) {
        let ctx = context(c)
        guard let n = ctx.nodeIndex(node, "attribute"), let name else { return }
        ctx.graph.setAttribute(node: n, Attribute(name: String(cString: name), value: value))
    }

    /// One immutable table for the process. Packs re-enter the host (inline_program) while a
    /// lowering call holds the pointer, so it must not be a Swift `var` accessed inout.
    static let table: UnsafePointer<j2o_host_api> = {
        let p = UnsafeMutablePointer<j2o_host_api>.allocate(capacity: 1)
        p.initialize(to: functions)
        return UnsafePointer(p)
    }()

    private static let functions = j2o_host_api(
        api_version: UInt32(J2O_ABI_MAJOR) << 16 | UInt32(J2O_ABI_MINOR),
        struct_size: UInt32(MemoryLayout<j2o_host_api>.size),
        primitive: { c, len in
            text(context(c).claim.primitiveText, len)
        },
        opset: { c in Int32(context(c).lowerer.opset) },
        input_count: { c in Int32(context(c).equation.inputs.count) },
        output_count: { c in Int32(context(c).equation.outputs.count) },
        input: { c, i in context(c).input(Int(i)) },
        output_used: { c, i in
            let outs = context(c).equation.outputs
            return i >= 0 && Int(i) < outs.count && outs[Int(i)].id != nil ? 1 : 0
        },
        output_dtype: { c, i in
            let outs = context(c).equation.outputs
            return i >= 0 && Int(i) < outs.count ? outs[Int(i)].type.dtype.rawValue : J2O_DTYPE_UNDEFINED
        },
        output_rank: { c, i in
            let outs = context(c).equation.outputs
            return i >= 0 && Int(i) < outs.count ? Int32(outs[Int(i)].type.shape.count) : J2O_DIM_UNKNOWN
        },
        output_dim: { c, i, axis, sym, len in
            let ctx = context(c)
            let outs = ctx.equation.outputs
            return dim(ctx, i >= 0 && Int(i) < outs.count ? outs[Int(i)].type.shape : nil, axis, sym, len)
        },
        value_dtype: { c, v in
            let ctx = context(c)
            guard ctx.validValue(v, "value_dtype") else { return J2O_DTYPE_UNDEFINED }
            _ = ctx.dtype(v)
            return ctx.graph.jaxDType(v).rawValue
        },
        value_rank: { c, v in
            let ctx = context(c)
            guard ctx.validValue(v, "value_rank"), let s = ctx.graph.values[Int(v)].shape else { return J2O_DIM_UNKNOWN }
            return Int32(s.count)
        },
        value_dim: { c, v, axis, sym, len in
            let ctx = context(c)
            guard ctx.validValue(v, "value_dim") else { return Int64(J2O_DIM_UNKNOWN) }
            return dim(ctx, ctx.graph.values[Int(v)].shape, axis, sym, len)
        },
        constant_data: { c, v, data, nbytes in
            let ctx = context(c)
            guard ctx.validValue(v, "constant_data"), let t = ctx.graph.initializer(of: v) else { return 0 }
            switch t.bytes {
            case let .mapped(b): data?.pointee = b.baseAddress
            case .owned:
                // Owned bytes live in the graph's initializer list; hand out a stable copy.
                data?.pointee = ctx.lowerer.stableBytes(for: v, t.bytes)
            }
            nbytes?.pointee = t.bytes.count
            return 1
        },
        param: { c, name in
            guard let name else { return nil }
            return context(c).equation.params.field(String(cString: name))?.opaquePointer
        },
        param_kind: { p in param(p)?.kind ?? J2O_PARAM_NONE },
        param_int: { p in param(p)?.int ?? 0 },
        param_float: { p in param(p)?.double ?? 0 },
        param_string: { p, len in text(param(p)?.displayText, len) },
        param_dtype: { p in param(p)?.dtype.rawValue ?? J2O_DTYPE_UNDEFINED },
        param_count: { p in Int32(param(p)?.items.count ?? 0) },
        param_item: { p, i in
            guard let node = param(p), i >= 0, Int(i) < node.items.count else { return nil }
            return node.items[Int(i)].opaquePointer
        },
        param_field: { p, name in
            guard let name else { return nil }
            return param(p)?.field(String(cString: name))?.opaquePointer
        },
        param_field_name: { p, i, len in
            guard let node = param(p), i >= 0, Int(i) < node.fieldNames.count else { len?.pointee = 0; return nil }
            return text(node.fieldNames[Int(i)], len)
        },
        param_type_name: { p, len in text(param(p)?.typeName, len) },
        param_array: { c, p in
            let ctx = context(c)
            guard let node = param(p), node.kind == J2O_PARAM_ARRAY else { ctx.misuse("param_array: not an array param"); return 0 }
            return ctx.lowerer.tensorValue(node.tensor)
        },
        constant: { c, dtype, rank, dims, data, nbytes in
            let ctx = context(c)
            let dt = DType(rawValue: dtype)
            guard rank >= 0, rank == 0 || dims != nil else { ctx.misuse("constant: bad rank or dims"); return 0 }
            let shape = (0..<Int(rank)).map { dims![$0] }
            guard shape.allSatisfy({ $0 >= 0 }) else { ctx.misuse("constant: negative dimension in \(shape)"); return 0 }
            guard let expected = checkedByteCount(shape, dt) else { ctx.misuse("constant: \(dt)\(shape) is too large"); return 0 }
            guard dt.byteWidth > 0, Int64(nbytes) == expected, nbytes == 0 || data != nil else {
                ctx.misuse("constant: \(nbytes) bytes given for \(dt)\(shape), expected \(expected)"); return 0
            }
            guard ctx.lowerer.reserveMemory(nbytes) else {
                ctx.misuse("constant: \(dt)\(shape) would take the constants this program makes past --max-memory (\(ctx.lowerer.maxMemory) bytes)")
                return 0
            }
            let bytes = nbytes == 0 ? [] : Array(UnsafeRawBufferPointer(start: data, count: nbytes))
            return ctx.graph.addInitializer(Initializer(dtype: dt, dims: shape, bytes: .owned(bytes)))
        },
        node: { c, op, domain, inputs, count, outputs in
            let ctx = context(c)
            guard let op else { ctx.misuse("node: op_type is NULL"); return 0 }
            if let domain, domain.pointee != 0, String(cString: domain) != "ai.onnx" {
                ctx.misuse("node: domain '\(String(cString: domain))' is not supported (ABI 1.0 emits the default ONNX domain only)")
                return 0
            }
            guard count >= 0, outputs >= 0, count == 0 || inputs != nil else { ctx.misuse("node: bad input or output count"); return 0 }
            let ins = (0..<Int(count)).map { inputs![$0] }
            for (k, v) in ins.enumerated() where v != 0 && !ctx.validValue(v, "node \(String(cString: op)) input \(k)") { return 0 }
            return ctx.addNode(String(cString: op), ins, outputCount: Int(outputs))
        },
        node_output: { c, node, i in
            let ctx = context(c)
            guard let n = ctx.nodeIndex(node, "node_output") else { return 0 }
            let outs = ctx.graph.nodes[n].outputs
            guard i >= 0, Int(i) < outs.count else { ctx.misuse("node_output(\(i)): the node has \(outs.count) outputs"); return 0 }
            return outs[Int(i)]
        },
        attr_int: { c, n, name, v in addAttribute(c, n, name, .int(v)) },
        attr_float: { c, n, name, v in addAttribute(c, n, name, .float(v)) },
        attr_string: { c, n, name, s, len in
            addAttribute(c, n, name, .string(s == nil ? [] : Array(UnsafeRawBufferPointer(start: s, count: len))))
        },
        attr_ints: { c, n, name, vs, count in
            addAttribute(c, n, name, .ints(count == 0 ? [] : Array(UnsafeBufferPointer(start: vs, count: count))))
        },
        attr_floats: { c, n, name, vs, count in
            addAttribute(c, n, name, .floats(count == 0 ? [] : Array(UnsafeBufferPointer(start: vs, count: count))))
        },
        attr_tensor: { c, n, name, v in
            let ctx = context(c)
            guard ctx.validValue(v, "attr_tensor"), let t = ctx.graph.initializer(of: v) else {
                ctx.misuse("attr_tensor: value \(v) is not a constant"); return
            }
            addAttribute(c, n, name, .tensor(t))
        },
        bind_output: { c, i, v in context(c).bind(Int(i), v) },
        dim_value: { c, expr, len in
            let ctx = context(c)
            do { return try ctx.lowerer.dimValue(string(expr, len)) } catch {
                ctx.misuse("\(error)"); return 0
            }
        },
        inline_program: { c, p, inputs, count, outputs, outCount in
            let ctx = context(c)
            let lowerer = ctx.lowerer
            guard let node = param(p), node.kind == J2O_PARAM_JAXPR || node.kind == J2O_PARAM_CLOSED_JAXPR else {
                ctx.misuse("inline_program: the param is not a program"); return J2O_ERROR
            }
            let jaxpr = node.jaxpr ?? node.closedJaxpr!.jaxpr
            guard count >= 0, count == 0 || inputs != nil else { ctx.misuse("inline_program: bad inputs"); return J2O_ERROR }
            let ins = (0..<Int(count)).map { inputs![$0] }
            for v in ins where !ctx.validValue(v, "inline_program input") { return J2O_ERROR }
            guard Int(outCount) == jaxpr.outvars.count, outCount == 0 || outputs != nil else {
                ctx.misuse("inline_program: the program has \(jaxpr.outvars.count) outputs, \(outCount) requested"); return J2O_ERROR
            }
            do {
                let outs = try lowerer.inline(jaxpr, consts: node.closedJaxpr?.consts, inputs: ins)
                for (k, v) in outs.enumerated() { outputs![k] = v }
                return J2O_OK
            } catch let e as HostError {
                lowerer.nestedFailure = lowerer.nestedFailure ?? e
                return J2O_ERROR
            } catch {
                lowerer.nestedFailure = lowerer.nestedFailure ?? .conversion(["\(error)"])
                return J2O_ERROR
            }
        },
        error: { c, msg, len in
            context(c).message = string(msg, len)
            context(c).reported = J2O_ERROR
            return J2O_ERROR
        },
        decline: { c, msg, len in
            context(c).message = string(msg, len)
            context(c).reported = J2O_DECLINE
            return J2O_DECLINE
        },
        subgraph_begin: { c in context(c).beginSubgraph() },
        subgraph_input: { c, handle, dtype, rank, dims, symbols in
            let ctx = context(c)
            guard ctx.currentSubgraph(handle, "subgraph_input") != nil else { return 0 }
            var shape: [Dim]? = nil
            if rank != J2O_DIM_UNKNOWN {
                guard rank >= 0, rank == 0 || dims != nil else { ctx.misuse("subgraph_input: bad rank or dims"); return 0 }
                var known: [Dim] = []
                for axis in 0..<Int(rank) {
                    let d = dims![axis]
                    if d >= 0 {
                        known.append(.known(d))
                    } else if d == Int64(J2O_DIM_SYMBOLIC), let text = symbols?[axis] {
                        known.append(.symbolic(String(cString: text)))
                    } else if d == Int64(J2O_DIM_UNKNOWN) {
                        known = []; break
                    } else {
                        ctx.misuse("subgraph_input: dimension \(axis) is \(d) (symbolic without an expression?)"); return 0
                    }
                }
                shape = known.count == Int(rank) ? known : nil
            }
            return ctx.graph.addSubgraphInput(DType(rawValue: dtype), shape)
        },
        subgraph_end: { c, handle, outputs, count in
            let ctx = context(c)
            guard count >= 0, count == 0 || outputs != nil else { ctx.misuse("subgraph_end: bad outputs"); return J2O_ERROR }
            return ctx.endSubgraph(handle, outputs: (0..<Int(count)).map { outputs![$0] }) ? J2O_OK : J2O_ERROR
        },
        attr_graph: { c, n, name, handle in
            let ctx = context(c)
            guard let name else { ctx.misuse("attr_graph: name is NULL"); return }
            ctx.attachSubgraph(handle, to: n, name: String(cString: name))
        },
        shape_value: { c, dims, count in
            let ctx = context(c)
            guard count >= 0, count == 0 || dims != nil else { ctx.misuse("shape_value: bad dims or count"); return 0 }
            var texts: [String] = []
            for i in 0..<Int(count) {
                guard let d = dims![i] else { ctx.misuse("shape_value: dims[\(i)] is NULL"); return 0 }
                texts.append(String(cString: d))
            }
            do { return try ctx.lowerer.shapeValue(texts) } catch {
                ctx.misuse("\(error)"); return 0
            }
        },
        option: { c, name, len in
            len?.pointee = 0
            guard let name else { return nil }
            return text(context(c).claim.pack.optionText(String(cString: name)), len)
        },
        target: { c, len in
            let lowerer = context(c).lowerer
            return text(lowerer.cstring(lowerer.target.name), len)
        },
        supports: { c, op, domain, opset, dtype in
            guard let op else { return 0 }
            let lowerer = context(c).lowerer
            let d = domain.map { String(cString: $0) } ?? ""
            return lowerer.target.supports(String(cString: op), domain: d, opset: opset > 0 ? Int(opset) : lowerer.opset,
                                           dtype: DType(rawValue: dtype)) ? 1 : 0
        }
    )
}
