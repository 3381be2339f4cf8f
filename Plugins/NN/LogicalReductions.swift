import PluginKit

/// reduce_and / reduce_or / reduce_xor: ONNX has no such reductions, so the reduced axes are
/// moved to the front and flattened into one, which is halved log2(K) times by combining its two
/// halves elementwise (And/Or/Xor on bools at any opset, BitwiseAnd/Or/Xor on integers from 18).
let logicalReductions: [(prim: String, boolOp: String, intOp: String)] = [
    ("reduce_and", "And", "BitwiseAnd"), ("reduce_or", "Or", "BitwiseOr"), ("reduce_xor", "Xor", "BitwiseXor"),
]

func logicalReductionLowerings() -> [Lowering] {
    logicalReductions.map { prim, boolOp, intOp in
        Lowering(prim, emits: [boolOp, intOp, "Transpose", "Reshape", "Slice", "Concat"], dtypes: [.bool] + DType.ints,
                 note: "halving tree; integers need opset 18 (bitwise ops)") { eqn, g in
            let x = eqn.input(0)
            let out = eqn.output(0)
            let axes = try eqn.ints("axes")
            if axes.isEmpty { return [x] }
            let t = x.dtype
            guard t.isBool || t.isInt else { throw LoweringError.unsupported("\(prim) on \(t)") }
            if t.isInt && g.opset < 18 { throw LoweringError.unsupported("\(prim) on integers needs opset 18 (\(intOp))") }
            let op = t.isBool ? boolOp : intOp
            guard let shape = x.shape else { throw LoweringError.unsupported("\(prim) on an operand of unknown rank") }
            let kept = (0..<shape.count).filter { !axes.contains($0) }
            let reduced = axes.map { shape[$0] }
            guard var k = Dim.product(reduced).value.map(Int.init) else {
                throw LoweringError.unsupported("\(prim) over symbolic axes")
            }
            guard k > 0 else { throw LoweringError.unsupported("\(prim) over an empty axis") }
            let keptShape = kept.map { shape[$0] }
            var v = try x.transpose(axes + kept).reshape([.known(Int64(k))] + keptShape)
            let zero = try g.int64s([0])
            while k > 1 {
                let h = k / 2
                let a = try g.op("Slice", v, zero, try g.int64s([h]), zero, shape: [.known(Int64(h))] + keptShape)
                let b = try g.op("Slice", v, try g.int64s([h]), try g.int64s([2 * h]), zero, shape: [.known(Int64(h))] + keptShape)
                var c = try g.op(op, a, b, shape: a.shape)
                if k % 2 == 1 {
                    let rest = try g.op("Slice", v, try g.int64s([2 * h]), try g.int64s([k]), zero)
                    c = try g.op("Concat", c, rest, attributes: ["axis": .int(0)], shape: [.known(Int64(h + 1))] + keptShape)
                }
                v = c
                k = h + k % 2
            }
            return [try v.reshape(out.shape)]
        }
    }
}
