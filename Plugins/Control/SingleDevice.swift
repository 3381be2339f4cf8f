import PluginKit

/// shard_map and the collectives inside it, on a mesh of one device: what an exported inference
/// program sees. The body runs once on the whole array, so psum/pmax/pmin return their operands,
/// all_gather adds (or, tiled, keeps) a length-1 axis and axis_index is 0. A bigger mesh declines.
func singleDeviceLowerings() -> [Lowering] {
    [
        Lowering("shard_map", emits: [], note: "mesh of size 1 only: the body is inlined") { eqn, g in
            try requireSingleDevice(eqn)
            let outs = try g.inline(eqn.require("jaxpr"), eqn.inputs, outputs: eqn.outputs.count)
            return zip(outs, eqn.outputs).map { $0.with(shape: $1.shape) }
        },
        Lowering("axis_index", emits: [], note: "0: the only device of a size-1 mesh axis") { eqn, g in
            [try g.scalar(0, eqn.output(0).dtype)]
        },
        Lowering("all_gather", emits: ["Unsqueeze"], note: "axis of size 1: tiled is the operand, untiled adds the gathered axis") { eqn, g in
            if let size = eqn.param("axis_size")?.int, size != 1 {
                throw LoweringError.unsupported("all_gather over \(size) devices (only a single device exports)")
            }
            let x = try eqn.input(0)
            if eqn.param("tiled")?.bool == true { return [x] }
            return [try x.unsqueeze([eqn.int("all_gather_dimension")])]
        },
    ] + ["psum", "pmax", "pmin"].map { prim in
        Lowering(prim, emits: [], note: "the operand: a reduction over one device") { eqn, _ in
            zip(eqn.inputs, eqn.outputs).map { $0.with(shape: $1.shape) }
        }
    }
}

/// The mesh travels as its repr (`Mesh(axis_sizes=(1, 1), ...)`); anything but all-ones declines.
func requireSingleDevice(_ eqn: Equation) throws {
    guard let mesh = eqn.param("mesh")?.string, let open = mesh.firstRange(of: "axis_sizes=(") else { return }
    let sizes = mesh[open.upperBound...].prefix { $0 != ")" }
    let counts = sizes.split(separator: ",").compactMap { Int($0.filter { $0 != " " }) }
    if counts.contains(where: { $0 != 1 }) {
        throw LoweringError.unsupported("shard_map over a mesh of sizes \(counts): only a single-device mesh exports")
    }
}
