import PluginABI
#if canImport(Glibc)
import Glibc
#endif

/// A lowering: (equation, graph) to the values of the equation's outputs, in order.
public typealias LowerFunction = (Equation, GraphBuilder) throws -> [Value]

/// One claim of a pack: a primitive, the ONNX ops its lowering may emit, and the lowering.
public struct Lowering {
    public var primitive: String
    public var ops: [String]
    public var priority: Int32
    public var minOpset: Int32
    public var maxOpset: Int32
    public var note: String?
    /// The dtypes of the first operand (first output if none) this lowering takes; empty = any.
    /// The host skips the claim for others, and the coverage page lists them.
    public var dtypes: [DType]
    public var lower: LowerFunction

    public init(_ primitive: String, emits ops: [String], priority: Int32 = 0, opsets: ClosedRange<Int32>? = nil,
                minOpset: Int32 = 13, dtypes: [DType] = [], note: String? = nil, lower: @escaping LowerFunction) {
        // Lists are often assembled from shared helpers' lists; the host refuses a claim naming
        // an op twice, so repeats are dropped here (first mention kept).
        var seen = Set<String>()
        self.primitive = primitive; self.ops = ops.filter { seen.insert($0).inserted }; self.priority = priority
        self.minOpset = opsets?.lowerBound ?? minOpset; self.maxOpset = opsets?.upperBound ?? 0
        self.dtypes = dtypes; self.note = note; self.lower = lower
    }
}

/// A pack: a name, a version, and its lowerings. `descriptor` builds the C descriptor once; the
/// pack's `@_cdecl("jax2onnx_pack")` function returns it:
///
///     let pack = Pack(name: "MyPack", version: "1.0.0", lowerings: [...])
///     @_cdecl("jax2onnx_pack") public func jax2onnxPack() -> UnsafeRawPointer { pack.descriptor }
public final class Pack {
    public let name: String
    public let version: String
    public let lowerings: [Lowering]
    /// Settings the user may give the pack (`--pack-option NAME.option=value`); see Options.swift.
    public let options: [PackOption]
    public private(set) lazy var descriptor: UnsafeRawPointer = build()
    private let summary: String?

    public init(name: String, version: String, description: String? = nil, options: [PackOption] = [],
                lowerings: [Lowering]) {
        self.name = name; self.version = version; self.summary = description; self.lowerings = lowerings
        self.options = options
    }

    /// The descriptor and everything it points to live for the life of the process.
    private func build() -> UnsafeRawPointer {
        func keep(_ s: String) -> UnsafePointer<CChar> { UnsafePointer(strdup(s)!) }
        let claims = UnsafeMutablePointer<j2o_claim>.allocate(capacity: max(1, lowerings.count))
        for (i, l) in lowerings.enumerated() {
            let ops = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: l.ops.count + 1)
            for (k, op) in l.ops.enumerated() { ops[k] = keep(op) }
            ops[l.ops.count] = nil
            var dtypes: UnsafePointer<Int32>? = nil
            if !l.dtypes.isEmpty {
                let list = UnsafeMutablePointer<Int32>.allocate(capacity: l.dtypes.count + 1)
                for (k, t) in l.dtypes.enumerated() { list[k] = t.rawValue }
                list[l.dtypes.count] = 0
                dtypes = UnsafePointer(list)
            }
            let box = Unmanaged.passRetained(LoweringBox(l.lower)).toOpaque()
            claims[i] = j2o_claim(primitive: keep(l.primitive), priority: l.priority, min_opset: l.minOpset,
                                  max_opset: l.maxOpset, onnx_ops: UnsafePointer(ops), lower: trampoline,
                                  user_data: UnsafeRawPointer(box), note: l.note.map(keep), dtypes: dtypes,
                                  signature: nil, typed: nil)
        }
        DeclaredOptions.all = options
        let optionTable = UnsafeMutablePointer<j2o_option>.allocate(capacity: max(1, options.count))
        for (i, o) in options.enumerated() {
            optionTable[i] = j2o_option(name: keep(o.name), kind: o.abiKind, default_value: keep(o.defaultValue), help: keep(o.help))
        }
        let d = UnsafeMutablePointer<j2o_pack_descriptor>.allocate(capacity: 1)
        d.initialize(to: j2o_pack_descriptor(
            abi_version: UInt32(J2O_ABI_MAJOR) << 16 | UInt32(J2O_ABI_MINOR), struct_size: UInt32(MemoryLayout<j2o_pack_descriptor>.size),
            name: keep(name), version: keep(version), description: summary.map(keep),
            claim_size: UInt32(MemoryLayout<j2o_claim>.size), claim_count: UInt32(lowerings.count),
            claims: UnsafePointer(claims), option_size: UInt32(MemoryLayout<j2o_option>.size),
            option_count: UInt32(options.count), options: UnsafePointer(optionTable)))
        return UnsafeRawPointer(d)
    }
}

final class LoweringBox {
    let lower: LowerFunction
    init(_ lower: @escaping LowerFunction) { self.lower = lower }
}

/// The one C entry point of every Swift lowering: runs the Swift function, binds its results,
/// and turns thrown errors into the ABI's decline or error status with a message.
private let trampoline: j2o_lower_fn = { ctx, api, data in
    guard let ctx, let api, let data else { return J2O_ERROR }
    let box = Unmanaged<LoweringBox>.fromOpaque(data).takeUnretainedValue()
    let g = GraphBuilder(ctx: ctx, api: api)
    func report(_ f: (OpaquePointer?, UnsafePointer<CChar>?, Int) -> j2o_status, _ m: String) -> j2o_status {
        f(ctx, m, m.utf8.count)
    }
    do {
        let eqn = Equation(ctx: ctx, api: api, graph: g)
        let outs = try box.lower(eqn, g)
        guard outs.count == eqn.outputs.count else {
            return report(api.pointee.error, "lowering returned \(outs.count) values for \(eqn.outputs.count) outputs")
        }
        for (i, v) in outs.enumerated() where eqn.outputUsed(i) {
            guard api.pointee.bind_output(ctx, Int32(i), v.id) == J2O_OK else { return J2O_ERROR }
        }
        return J2O_OK
    } catch let LoweringError.unsupported(m) {
        return report(api.pointee.decline, m)
    } catch {
        return report(api.pointee.error, "\(error)")
    }
}
