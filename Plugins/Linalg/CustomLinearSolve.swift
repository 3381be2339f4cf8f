import PluginKit

/// `custom_linear_solve`: its value is its `solve` program applied to the right-hand side (the
/// matvec and transpose programs only matter for derivatives). Operands are the consts of
/// matvec, vecmat, solve and transpose_solve, in that order (`const_lengths` counts them), then
/// the right-hand side's leaves; the solve program is lowered in place like any nested program.
func customLinearSolveLowering() -> Lowering {
    Lowering("custom_linear_solve", emits: [], note: "its solve program, inlined") { eqn, g in
        let lengths = try eqn.require("const_lengths")
        var offset = 0
        var solveConsts: [Value] = []
        for field in ["matvec", "vecmat", "solve", "transpose_solve"] {
            guard let count = lengths[field]?.int else {
                throw LoweringError.invalid("custom_linear_solve const_lengths has no '\(field)' count")
            }
            guard count >= 0, offset + count <= eqn.inputs.count else {
                throw LoweringError.invalid("custom_linear_solve has \(eqn.inputs.count) operands for its consts")
            }
            if field == "solve" { solveConsts = Array(eqn.inputs[offset..<(offset + count)]) }
            offset += count
        }
        guard let solve = try eqn.require("jaxprs")["solve"], !solve.isNone else {
            throw LoweringError.invalid("custom_linear_solve has no solve program")
        }
        let rhs = Array(eqn.inputs[offset...])
        let outs = try g.inline(solve, solveConsts + rhs, outputs: eqn.outputs.count)
        return zip(outs, eqn.outputs).map { $0.with(shape: $1.shape) }
    }
}

/// `platform_index`: which of `platforms` (a list of platform-name lists, None for the default)
/// the program runs on. An exported model runs in ONNX Runtime on CPU: the first entry naming
/// "cpu", else the default, as an int32 constant.
func platformIndexLowering() -> Lowering {
    Lowering("platform_index", emits: [], note: "the CPU branch (else the default), as a constant") { eqn, g in
        let platforms = try eqn.require("platforms").items
        var chosen: Int?
        for (k, entry) in platforms.enumerated() where !entry.isNone {
            if entry.items.contains(where: { $0.string?.lowercased() == "cpu" }) { chosen = k; break }
        }
        if chosen == nil { chosen = platforms.firstIndex(where: { $0.isNone }) }
        guard let index = chosen else {
            throw LoweringError.unsupported("platform_index offers no CPU branch and no default (platforms \(platforms.count))")
        }
        let dt = eqn.outputs[0].dtype == .undefined ? DType.i32 : eqn.outputs[0].dtype
        return [try g.scalar(Double(index), dt)]
    }
}
