import PluginKit

/// `cholesky_update(R, z)`: the upper factor of RᵀR + z zᵀ, by one Givens rotation per row
/// (one Loop trip each), as JAX's own implementation: at row k the rotation (c, s) of
/// (R[k, k], z[k]), scaled by the larger magnitude first, mixes the whole row k with the whole
/// of z; a zero z[k] leaves both alone.
func choleskyUpdateLowering() -> Lowering {
    Lowering("cholesky_update", emits: ["Loop", "Gather", "Unsqueeze", "Abs", "Max", "Div", "Mul", "Add", "Sub", "Sqrt",
                                         "Neg", "Where", "Equal"],
             dtypes: linalgFloats, note: "one Givens rotation per row, one Loop trip each") { eqn, g in
        let rMat = try eqn.input(0), z = try eqn.input(1)
        let m = try MatrixShape(rMat.shape, "cholesky_update")
        let n = m.rows, dt = rMat.dtype
        if n == 0 { return [rMat] }
        let zRow = try z.unsqueeze([m.rowAxis]).with(shape: m.with(rows: 1, cols: n))
        let rows = try g.indices(n, shape: [n, 1])
        let one = m.with(rows: 1, cols: 1), row = m.with(rows: 1, cols: n)
        let zero = try g.scalar(0, dt), unit = try g.scalar(1, dt)
        return [try g.loop(trips: n, [rMat, zRow], [TensorType(dt, m.dims), TensorType(dt, row)]) { k, carried in
            let r = carried[0], w = carried[1]
            let rowK = try g.take(r, k, axis: m.rowAxis, shape: row)
            let x = try g.take(rowK, k, axis: m.colAxis, shape: one), y = try g.take(w, k, axis: m.colAxis, shape: one)
            let idle = try g.op("Equal", y, zero, shape: one)
            let scale = try g.op("Where", idle, unit, g.op("Max", g.op("Abs", x), g.op("Abs", y)), shape: one)
            let xs = try g.op("Div", x, scale), ys = try g.op("Div", y, scale)
            let rh = try g.op("Div", unit, g.op("Sqrt", g.op("Add", g.op("Mul", xs, xs), g.op("Mul", ys, ys))))
            let c = try g.op("Where", idle, unit, g.op("Mul", xs, rh), shape: one)
            let s = try g.op("Where", idle, zero, g.op("Neg", g.op("Mul", ys, rh)), shape: one)
            let newRow = try g.op("Sub", g.op("Mul", c, rowK), g.op("Mul", s, w), shape: row)
            let newW = try g.op("Add", g.op("Mul", c, w), g.op("Mul", s, rowK), shape: row)
            return [try g.op("Where", g.op("Equal", rows, k), newRow, r, shape: m.dims), newW]
        }[0]]
    }
}
