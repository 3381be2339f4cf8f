import PluginKit

/// `symmetric_product(a, c)`: alpha a aᵀ + beta c. JAX guarantees only the lower triangle, but
/// its CPU result is the whole product, so the whole matrix is computed (the optional
/// symmetrization is separate primitives in the traced program).
func symmetricProductLowering() -> Lowering {
    Lowering("symmetric_product", emits: ["Transpose", "MatMul", "Mul", "Add"], dtypes: linalgFloats,
             note: "alpha a aᵀ + beta c, the whole matrix") { eqn, g in
        let a = try eqn.input(0), c = try eqn.input(1)
        let m = try MatrixShape(a.shape, "symmetric_product")
        let alpha = eqn.param("alpha")?.float ?? 1, beta = eqn.param("beta")?.float ?? 0
        let dims = m.with(rows: m.rows, cols: m.rows)
        let gram = try g.op("MatMul", a, a.transpose(m.swapLast), shape: dims)
        return [try g.op("Add", g.op("Mul", g.scalar(alpha, a.dtype), gram), g.op("Mul", g.scalar(beta, c.dtype), c), shape: dims)]
    }
}
