/// `convert --upcast-bf16`: makes a bf16 graph compute in f32, for runtimes without bf16
/// kernels (ONNX Runtime's CPU provider runs almost nothing in bf16 but Cast).
///
/// Every bf16 value becomes f32: graph inputs, initializers and constant attributes (exact
/// widenings), and every intermediate. Explicit conversions keep their rounding: a Cast to bf16
/// stays and is followed by a Cast back to f32, so the program still rounds where JAX's
/// convert_element_type does. bf16 graph outputs are rounded to bf16 precision and returned
/// as f32. The model's interface therefore changes from bf16 to f32 (f32 holds every bf16
/// value exactly); arithmetic between explicit conversions keeps f32 precision where JAX would
/// round each op to bf16, so results agree with JAX to bf16 precision, not bit for bit.
public struct UpcastBF16: GraphPass {
    public let name = "upcast-bf16"
    public init() {}

    public func run(_ g: Graph, opset: Int) {
        let bf16Code = Int64(DType.bf16.rawValue), f32Code = Int64(DType.f32.rawValue)
        var rename: [ValueID: ValueID] = [:]
        var rounded: Set<ValueID> = []
        var keepBF16: Set<ValueID> = []
        let bf16Outputs = Set(g.outputs.map(\.value).filter { g.values[Int($0)].dtype == .bf16 })

        // If branches and Loop/Scan bodies are widened like the top level: their values share
        // the one value table (retyped below), their Casts to bf16 get the same Cast back, and
        // a body output that was such a Cast reads the widened value.
        func widenNodes(_ nodes: [Node], scope: Int32) -> [Node] {
        var newNodes: [Node] = []
        for var node in nodes {
            node.inputs = node.inputs.map { rename[$0] ?? $0 }
            for sub in node.subgraphs {
                g.replaceNodes(widenNodes(sub.nodes, scope: sub.scope), in: sub)
                sub.outputs = sub.outputs.map { rename[$0] ?? $0 }
            }
            for (k, a) in node.attributes.enumerated() {
                switch a.value {
                case let .tensor(t) where t.dtype == .bf16:
                    node.attributes[k].value = .tensor(widen(t))
                case let .int(code) where code == bf16Code && a.name == "dtype":
                    node.attributes[k].value = .int(f32Code)
                default: break
                }
            }
            newNodes.append(node)
            if node.op == "Cast", case let .int(to)? = node.attribute("to"), to == bf16Code {
                let out = node.outputs[0]
                keepBF16.insert(out)
                let back = roundTrip(from: out, g, widenOnly: true)
                g.values[Int(back.value)].scope = scope
                newNodes.append(back.nodes[0])
                rename[out] = back.value
                rounded.insert(back.value)
            }
        }
        return newNodes
        }
        var newNodes = widenNodes(g.nodes, scope: 0)
        for v in 1..<g.values.count where g.values[v].dtype == .bf16 && !keepBF16.contains(ValueID(v)) {
            g.setType(ValueID(v), dtype: .f32)
        }
        g.replaceInitializers(g.initializers.map { (v, t) in (v, t.dtype == .bf16 ? widen(t) : t) })
        for (k, out) in g.outputs.enumerated() {
            let v = rename[out.value] ?? out.value
            // Outputs that were bf16 are rounded to bf16 precision once more, unless they just were.
            if bf16Outputs.contains(out.value), !rounded.contains(v) {
                let r = roundTrip(from: v, g, widenOnly: false)
                newNodes += r.nodes
                g.replaceOutput(at: k, with: r.value)
            } else {
                g.replaceOutput(at: k, with: v)
            }
        }
        g.replaceNodes(newNodes)
    }

    /// Cast(to bf16) then Cast(to f32) after v, or only the Cast to f32 when v is bf16 already.
    private func roundTrip(from v: ValueID, _ g: Graph, widenOnly: Bool) -> (nodes: [Node], value: ValueID) {
        var nodes: [Node] = []
        var cur = v
        let shape = g.values[Int(v)].shape
        for to in widenOnly ? [DType.f32] : [.bf16, .f32] {
            let i = g.addNode("Cast", [cur], outputCount: 1)
            g.setAttribute(node: i, Attribute(name: "to", value: .int(Int64(to.rawValue))))
            let out = g.nodes[i].outputs[0]
            g.setType(out, dtype: to)
            g.setShape(out, shape)
            nodes.append(g.nodes[i])
            cur = out
        }
        return (nodes, cur)
    }

    /// bf16 bytes widened to f32: the bf16 pattern is the top half of the f32 one.
    private func widen(_ t: Initializer) -> Initializer {
        var out = [UInt8]()
        t.bytes.withBytes { raw in
            out.reserveCapacity(raw.count * 2)
            for i in stride(from: 0, to: raw.count - 1, by: 2) {
                out += [0, 0, raw[i], raw[i + 1]]
            }
        }
        return Initializer(dtype: .f32, dims: t.dims, bytes: .owned(out))
    }
}
