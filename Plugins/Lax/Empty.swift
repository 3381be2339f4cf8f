import PluginKit

/// lax.empty: a buffer whose contents JAX leaves undefined (it is overwritten before it is read,
/// e.g. the initial carry of a scan). Zeros are one valid content and make the model
/// deterministic. empty2 is its scalar form with a memory space, which one device ignores.
func emptyLowering() -> Lowering { emptyOfOutputShape("empty") }
func empty2Lowering() -> Lowering { emptyOfOutputShape("empty2") }

private func emptyOfOutputShape(_ prim: String) -> Lowering {
    Lowering(prim, emits: ["Expand"], note: "zeros: JAX leaves the contents undefined") { eqn, g in
        let out = try eqn.output(0)
        return [try g.expand(g.scalar(0, out.dtype), out.shape).with(shape: out.shape)]
    }
}
