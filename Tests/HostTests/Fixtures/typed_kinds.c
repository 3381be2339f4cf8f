/* Typed lowerings taking int, bool and ints params, for the end-to-end libffi test
 * (Tests/numeric/test_sdk_packs.py): reduce_sum (x, axes:ints) and cumsum (x, axis:int, reverse:bool). */
#include "jax2onnx_plugin.h"

static j2o_value axes_tensor(j2o_ctx *ctx, const j2o_host_api *api, const int64_t *axes, int32_t count) {
    int64_t dims[1];
    dims[0] = count;
    return api->constant(ctx, J2O_DTYPE_INT64, 1, dims, axes, (size_t)count * sizeof(int64_t));
}

J2O_TYPED_LOWERING(typed_reduce_sum, (x, value), (axes, ints)) {
    j2o_value in[2];
    j2o_node n;
    in[0] = x;
    in[1] = axes_tensor(ctx, api, axes, axes_count);
    n = api->node(ctx, "ReduceSum", NULL, in, 2, 1);
    if (!n) return 0;
    api->attr_int(ctx, n, "keepdims", 0);
    return api->node_output(ctx, n, 0);
}

J2O_TYPED_LOWERING(typed_cumsum, (x, value), (axis, int), (reverse, bool)) {
    j2o_value in[2];
    j2o_node n;
    in[0] = x;
    in[1] = axes_tensor(ctx, api, &axis, 1);
    n = api->node(ctx, "CumSum", NULL, in, 2, 1);
    if (!n) return 0;
    api->attr_int(ctx, n, "reverse", reverse);
    return api->node_output(ctx, n, 0);
}

static const char *const sum_ops[] = {"ReduceSum", NULL};
static const char *const cumsum_ops[] = {"CumSum", NULL};
static const j2o_claim claims[] = {
    {"reduce_sum", 10, 18, 0, sum_ops, NULL, NULL, NULL, NULL, J2O_TYPED(typed_reduce_sum)},
    {"cumsum", 10, 14, 0, cumsum_ops, NULL, NULL, NULL, NULL, J2O_TYPED(typed_cumsum)},
};
static const j2o_pack_descriptor descriptor = {
    J2O_ABI_VERSION, sizeof(j2o_pack_descriptor), "TypedKinds", "1.0.0", "typed lowerings of several kinds",
    sizeof(j2o_claim), sizeof claims / sizeof claims[0], claims};

const j2o_pack_descriptor *jax2onnx_pack(void) { return &descriptor; }
