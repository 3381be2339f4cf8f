/* A C pack that asks the host for shapes with shape_value, for ShapeValueTests. Its claim for
 * "sin" lists only Expand: the host's Shape/Concat/Mul nodes must not count against it.
 * -DBAD_DIM asks for a dimension the host cannot parse. */
#include <string.h>
#include "jax2onnx_plugin.h"

static const char *ops[] = {"Expand", NULL};

static j2o_status fail(j2o_ctx *ctx, const j2o_host_api *api, const char *m) {
    return api->error(ctx, m, strlen(m));
}

static j2o_status lower(j2o_ctx *ctx, const j2o_host_api *api, const void *data) {
    static const char *const b3[] = {"B", "3"};
    static const char *const b3_again[] = {"B", "(3)"};
    static const char *const twice[] = {"2*B", "3"};
    static const char *const mixed[] = {"1", "2", "B", "4", "5"};
    static const char *const numbers[] = {"7", "8"};
#ifdef BAD_DIM
    static const char *const bad[] = {"B", "3 +"};
#endif
    j2o_value x, s1, s2, s3, s4, s5, y;
    j2o_node n;
    (void)data;
    if (api->struct_size < offsetof(struct j2o_host_api, shape_value) + sizeof(void *))
        return fail(ctx, api, "the host has no shape_value");
#ifdef BAD_DIM
    if (!api->shape_value(ctx, bad, 2)) return J2O_ERROR;
#endif
    s1 = api->shape_value(ctx, b3, 2);
    s2 = api->shape_value(ctx, b3_again, 2);
    s3 = api->shape_value(ctx, twice, 2);
    s4 = api->shape_value(ctx, mixed, 5);
    s5 = api->shape_value(ctx, numbers, 2);
    if (!s1 || !s2 || !s3 || !s4 || !s5) return J2O_ERROR;
    if (s1 != s2) return fail(ctx, api, "the same shape came back as two values");
    if (api->value_rank(ctx, s4) != 1 || api->value_dim(ctx, s4, 0, NULL, NULL) != 5)
        return fail(ctx, api, "shape_value of five dims is not int64[5]");
    if (api->value_dtype(ctx, s3) != J2O_DTYPE_INT64) return fail(ctx, api, "shape_value is not int64");
    {
        const void *bytes = NULL;
        size_t nbytes = 0;
        int64_t want[2] = {7, 8};
        if (!api->constant_data(ctx, s5, &bytes, &nbytes) || nbytes != 16 || memcmp(bytes, want, 16) != 0)
            return fail(ctx, api, "an all-number shape is not a constant");
    }
    x = api->input(ctx, 0);
    {
        j2o_value ins[2] = {x, s1};
        n = api->node(ctx, "Expand", NULL, ins, 2, 1);
    }
    if (!n) return J2O_ERROR;
    y = api->node_output(ctx, n, 0);
    return api->bind_output(ctx, 0, y);
}

static const j2o_claim claims[] = {{"sin", 5, 17, 0, ops, lower, NULL, "shape_value test", NULL, NULL, NULL}};
static const j2o_pack_descriptor descriptor = {
    J2O_ABI_VERSION, sizeof(j2o_pack_descriptor), "Shapes", "1.0.0", "shape_value test pack",
    sizeof(j2o_claim), 1, claims};

const j2o_pack_descriptor *jax2onnx_pack(void) { return &descriptor; }
