import PluginKit

/// approx_max_k / approx_min_k (one primitive, approx_top_k). JAX allows any result whose recall
/// meets recall_target; the exact top k meets every target, so this is an exact TopK along the
/// reduction dimension, sorted, ties to the lower index.
func approxTopKLowering() -> Lowering {
    Lowering("approx_top_k", emits: ["TopK", "Cast", "IsNaN", "Equal", "Where", "GatherElements", "BitwiseXor"],
             dtypes: DType.floats,
             note: "exact top-k (recall 1, which satisfies any recall_target); sorted, ties to the lower index") { eqn, g in
        let rank = try eqn.output(0).rank
        var axis = (try? eqn.int("reduction_dimension")) ?? -1
        if axis < 0 { axis += rank }
        if eqn.param("aggregate_to_topk")?.bool == false {
            throw LoweringError.unsupported("approx_top_k with aggregate_to_topk=False (its partial-reduction output size is XLA's choice)")
        }
        return try topK(eqn, k: eqn.int("k"), axis: axis, largest: eqn.param("is_max_k")?.bool ?? true, g)
    }
}
