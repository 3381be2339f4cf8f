import PluginKit
#if canImport(Glibc)
import Glibc
#endif

/// jax.debug.print and jax.debug.callback run Python on the host while the program runs; an ONNX
/// file cannot, so they are dropped with one warning line each.
func debugOutputLowerings() -> [Lowering] {
    ["debug_print", "debug_callback"].map { prim in
        Lowering(prim, emits: [], note: "dropped with a warning on stderr: an ONNX model cannot call back into Python") { eqn, _ in
            guard eqn.outputs.isEmpty else { throw LoweringError.unsupported("\(prim) with results cannot be dropped") }
            let what = prim == "debug_print" ? eqn.param("fmt")?.string.map { " (\"\($0)\")" } ?? "" : ""
            fputs("warning: \(prim)\(what) dropped: the exported model cannot call back into Python\n", stderr)
            return []
        }
    }
}
