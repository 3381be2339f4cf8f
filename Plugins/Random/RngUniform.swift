import PluginKit

/// lax.rng_uniform: XLA's stateful RngUniform, whose values JAX leaves to the backend (a fresh
/// draw on every execution, no key). ONNX's RandomUniformLike has the same contract: a draw in
/// [0, 1) per run, here scaled to [a, b). Integers draw in float64 and floor into [a, b). The
/// values cannot equal JAX's, only their distribution can.
func rngUniformLowering() -> Lowering {
    Lowering("rng_uniform", emits: ["RandomUniformLike", "Sub", "Mul", "Add", "Cast", "Floor", "Min", "Max", "Reshape", "Expand", "Slice"],
             dtypes: [.f16, .bf16, .f32, .f64, .i32, .i64],
             note: "ONNX RandomUniformLike scaled to [a, b): a fresh draw per run, as XLA's; values are not JAX's (implementation-defined there too)") { eqn, g in
        let out = try eqn.output(0)
        let lo = try eqn.input(0), hi = try eqn.input(1)
        let isFloat = [DType.f16, .bf16, .f32, .f64].contains(out.dtype)
        guard isFloat || [DType.i32, .i64].contains(out.dtype) else {
            throw LoweringError.unsupported("rng_uniform of \(out.dtype) (floats, int32 or int64)")
        }
        // float32 for the narrow floats (RandomUniformLike has f32 and f64 kernels), float64 for
        // 64-bit values and for integers, whose spans need more than 24 bits.
        let work: DType = out.dtype == .f32 || out.dtype == .f16 || out.dtype == .bf16 ? .f32 : .f64
        // ONNX Runtime registers its random kernels for the opset-1 schemas only; opset 22 gave
        // them new ones. A deterministic stream instead would change what the primitive means.
        guard g.supports("RandomUniformLike", work) else {
            throw LoweringError.unsupported("rng_uniform draws with RandomUniformLike, which target \(g.target) does not run at opset \(g.opset) (ONNX Runtime's CPU provider runs it up to opset 21): convert with --opset 21 or lower, or draw with jax.random")
        }
        let ones = [Dim](repeating: .known(1), count: out.shape.count)
        let like = try g.scalar(0, work).reshape(ones).expand(out.shape)
        let u = try g.op("RandomUniformLike", like, attributes: ["dtype": .int(Int64(work.rawValue))], shape: out.shape)
        let a = try lo.cast(to: work), b = try hi.cast(to: work)
        let x = try g.op("Add", a, g.op("Mul", u, g.op("Sub", b, a, shape: []), shape: out.shape), shape: out.shape)
        if isFloat { return [try x.cast(to: out.dtype)] }
        // floor(a + u (b - a)) lies in [a, b - 1] up to rounding at the top: clamp it there.
        let top = try g.op("Sub", b, g.scalar(1, work), shape: [])
        let n = try g.op("Max", g.op("Min", g.op("Floor", x, shape: out.shape), top, shape: out.shape), a, shape: out.shape)
        return [try n.cast(to: out.dtype)]
    }
}
