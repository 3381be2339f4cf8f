import PluginKit

/// Primitives that call a nested program without changing its meaning (jit, custom derivative
/// rules, rematerialization): for inference they are the program itself, inlined. The value is
/// the name of the param that holds the program.
let callPrimitives: [(prim: String, program: String)] = [
    ("pjit", "jaxpr"), ("jit", "jaxpr"),
    ("custom_jvp_call", "call_jaxpr"), ("custom_vjp_call", "call_jaxpr"), ("custom_vjp_call_jaxpr", "fun_jaxpr"),
    ("checkpoint", "jaxpr"), ("remat", "jaxpr"), ("remat2", "jaxpr"),
    ("custom_vmap_call", "call"),
    // Plain calls of a program (core.closed_call, core.call): their params hold only the program.
    ("closed_call", "call_jaxpr"), ("call", "call_jaxpr"),
    // compute_on places a program on the host or a device stream; on one CPU it is the program.
    ("compute_on", "jaxpr"),
    // lax.composite: a named op whose decomposition is its meaning.
    ("composite", "jaxpr"),
]

func callLowerings() -> [Lowering] {
    callPrimitives.map { prim, programParam in
        Lowering(prim, emits: [], note: "inlined: the nested program's equations are lowered in place") { eqn, g in
            let program = try eqn.require(programParam)
            return try g.inline(program, eqn.inputs, outputs: eqn.outputs.count)
        }
    }
}
