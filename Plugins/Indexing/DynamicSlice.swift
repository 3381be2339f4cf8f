import PluginKit

/// `dynamic_slice`: a window at runtime starts; XLA clamps each start into [0, dim - size]
/// (negative starts too), so the window always fits.
func dynamicSliceLowering() -> Lowering {
    Lowering("dynamic_slice", emits: ["Cast", "Max", "Min", "Sub", "Squeeze", "Unsqueeze", "Concat", "Add", "Slice"],
             note: "starts clamped into [0, dim - size] like XLA") { eqn, g in
        let x = try eqn.input(0)
        guard let shape = x.shape else { throw LoweringError.unsupported("dynamic_slice of an operand of unknown rank") }
        let sizes = try eqn.dims("slice_sizes")
        let (starts, ends) = try g.clampedWindow(Array(eqn.inputs.dropFirst()), dims: shape, sizes: sizes)
        return [try g.op("Slice", x, starts, ends, g.int64s(Array(0..<shape.count)), shape: eqn.output(0).shape)]
    }
}

/// `dynamic_update_slice`: writes `update` at runtime starts clamped like `dynamic_slice`, as a
/// ScatterND over the update's coordinate grid (unique coordinates, so the write is deterministic).
func dynamicUpdateSliceLowering() -> Lowering {
    Lowering("dynamic_update_slice", emits: ["Cast", "Max", "Min", "Sub", "Squeeze", "Add", "Expand", "Unsqueeze", "Concat", "ScatterND", "Range", "Slice"],
             note: "starts clamped into [0, dim - size] like XLA") { eqn, g in
        let x = try eqn.input(0), update = try eqn.input(1)
        guard let shape = x.shape, let usize = update.shape else {
            throw LoweringError.unsupported("dynamic_update_slice of unknown rank")
        }
        let sizes = usize
        let startInputs = Array(eqn.inputs.dropFirst(2))
        guard startInputs.count == shape.count else { throw LoweringError.invalid("dynamic_update_slice needs one start per dimension") }
        if shape.isEmpty { return [update] }
        // An empty update writes nothing (and an empty coordinate grid trips ONNX's Expand
        // shape inference, which broadcasts 1 against 0 to 1).
        if sizes.contains(where: { $0.value == 0 }) { return [x] }
        let components = try (0..<shape.count).map { a in
            try g.op("Add", g.clampStart(startInputs[a], dim: shape[a], size: sizes[a]),
                     g.iotaAlong(sizes[a], axis: a, rank: shape.count))
        }
        let grid = try g.indexGrid(components, shape: usize)
        return [try g.op("ScatterND", x, grid, update, shape: eqn.output(0).shape)]
    }
}
