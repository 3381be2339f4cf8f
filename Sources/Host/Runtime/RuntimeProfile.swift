/// A deployment target as data: the (op, opset range, dtype) kernels it runs. The host refuses a
/// node its target lacks and hands the table to packs (ABI 1.5 `supports`), so a lowering picks a
/// form the target runs. `onnx` is the specification alone and accepts every valid node.
public final class RuntimeProfile {
    public let name: String
    /// Op to its kernel rows; nil for the spec-only target.
    let rows: [String: [Row]]?

    struct Row {
        var first: Int
        var last: Int
        /// Constraint name to the dtype codes a kernel accepts; nil = any.
        var constraints: [Substring: Set<Int32>?]
    }

    init(name: String, rows: [String: [Row]]?) { self.name = name; self.rows = rows }

    public static let names = ["ort-cpu", "onnx", "ort-web"]

    public static func named(_ name: String) -> RuntimeProfile? {
        switch name {
        case "ort-cpu": return ortCPU
        case "ort-web": return ortWeb
        case "onnx": return spec
        default: return nil
        }
    }

    public static let spec = RuntimeProfile(name: "onnx", rows: nil)
    public static let ortCPU = RuntimeProfile(name: "ort-cpu", rows: parse(ortCPUProfileTable))
    /// ONNX Runtime Web runs the CPU provider's kernels compiled to WebAssembly; the profile drops
    /// what its WebGPU provider (the reason to deploy to a browser) cannot hold, float64, so a web
    /// model never falls back to the slow path for it. See docs/runtime-profiles.md.
    public static let ortWeb = RuntimeProfile(name: "ort-web", rows: parse(ortCPUProfileTable).mapValues { rows in
        rows.map { row in
            var r = row
            for (k, v) in r.constraints { r.constraints[k] = v.map { $0.subtracting(webExcluded) } }
            return r
        }
    })
    static let webExcluded: Set<Int32> = [DType.f64.rawValue]

    /// Number of (op, opset range) rows, for reports.
    public var rowCount: Int { rows?.values.reduce(0) { $0 + $1.count } ?? 0 }

    static func parse(_ text: String) -> [String: [Row]] {
        var out: [String: [Row]] = [:]
        for line in text.split(separator: "\n") {
            let f = line.split(separator: ";", omittingEmptySubsequences: false)
            guard f.count == 4, let first = Int(f[1]), let last = Int(f[2]) else { continue }
            var cons: [Substring: Set<Int32>?] = [:]
            for c in f[3].split(separator: ",") {
                let kv = c.split(separator: "=", maxSplits: 1)
                guard kv.count == 2 else { continue }
                cons[kv[0]] = kv[1] == "*" ? .some(nil) : Set(kv[1].split(separator: ".").compactMap { Int32($0) })
            }
            out[String(f[0]), default: []].append(Row(first: first, last: last == 0 ? Int.max : last, constraints: cons))
        }
        return out
    }

    /// The kernel row ORT would pick for `op` in a model of `opset`, for the version of the op's
    /// schema in force there. ORT's rule (kernel_registry.cc): a kernel registered without an end
    /// version serves only the schema version it starts at; a versioned one, every schema version
    /// in its range. So RandomUniform, registered from opset 1 on, has no kernel for its opset-22
    /// schema.
    func row(_ op: String, opset: Int) -> Row? {
        guard let list = rows?[op] else { return nil }
        let version = OpSchemas.schema(op, opset: opset)?.since ?? opset
        return list.first { $0.last == Int.max ? $0.first == version : $0.first <= version && version <= $0.last }
    }

    /// The constraint a dtype question is about: output 0's type variable when an input shares it
    /// (Add, Where), else input 0's (Equal, Cast, Shape), else output 0's (ConstantOfShape).
    static func keyedConstraint(_ s: OpSchema) -> Substring? {
        let isVar = { (f: OpSchema.Formal) -> Substring? in f.constraint.flatMap { s.constraints[$0] != nil ? $0 : nil } }
        let out = s.outputs.first.flatMap(isVar)
        if let out, s.inputs.contains(where: { $0.constraint == out }) { return out }
        return s.inputs.first.flatMap(isVar) ?? out
    }

    /// Whether the target runs `op` at `opset` for element type `dtype` (the type of the op's main
    /// operand, see keyedConstraint). Other domains than the
    /// default are only known to the spec target.
    public func supports(_ op: String, domain: String = "", opset: Int, dtype: DType) -> Bool {
        guard rows != nil else { return true }
        guard domain.isEmpty || domain == "ai.onnx", let row = row(op, opset: opset) else { return false }
        guard let schema = OpSchemas.schema(op, opset: opset), let key = Self.keyedConstraint(schema),
              let allowed = row.constraints[key] else { return true }
        return allowed?.contains(dtype.rawValue) ?? true
    }

    /// Why the target cannot run node `n`, or nil. Each constraint the kernel is typed on is
    /// checked against the first value bound to it.
    func problem(_ g: Graph, _ n: Node, opset: Int) -> String? {
        guard rows != nil else { return nil }
        guard let row = row(n.op, opset: opset) else {
            return "target \(name) has no kernel for \(n.op) at opset \(opset)"
        }
        guard let schema = OpSchemas.schema(n.op, opset: opset) else { return nil }
        for (constraint, allowed) in row.constraints {
            guard let allowed else { continue }
            var bound: DType?
            for (k, v) in n.inputs.enumerated() where v != 0 {
                if OpSchema.formal(schema.inputs, at: k)?.constraint == constraint { bound = g.values[Int(v)].dtype; break }
            }
            if bound == nil {
                for (k, v) in n.outputs.enumerated() where v != 0 {
                    if OpSchema.formal(schema.outputs, at: k)?.constraint == constraint { bound = g.values[Int(v)].dtype; break }
                }
            }
            guard let dt = bound, dt != .undefined, !allowed.contains(dt.rawValue) else { continue }
            return "target \(name) has no \(n.op) kernel for \(dt) at opset \(opset) (it runs \(n.op) for "
                + allowed.sorted().map { "\(DType(rawValue: $0))" }.joined(separator: ", ") + ")"
        }
        return nil
    }
}
