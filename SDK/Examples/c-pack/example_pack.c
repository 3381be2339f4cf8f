/* A lowering pack in plain C: `x ** y` for positive integer exponents as a chain of Mul nodes,
 * written as a typed lowering. It claims integer_pow above the built-in pack (priority 10), so it
 * wins where it applies and declines the rest (y <= 0), which the built-in pack then lowers.
 *
 * It declares one option (ABI 1.4), max_exponent: above it the Mul chain is not worth it and the
 * pack declines too. Set it with --pack-option Example.max_exponent=8.
 *
 * Build: make            (needs only a C compiler and ../../PluginABI/include)
 * Use:   jax2onnx convert model.jaxpr -o model.onnx --plugins libexample_pack.so */
#include <stdlib.h>

#include "jax2onnx_plugin.h"

static const char msg_exponent[] = "only positive exponents; the next claimant takes the rest";
static const char msg_large[] = "exponent above max_exponent; the next claimant takes it";

/* The max_exponent option: the user's value, or the default on a host older than ABI 1.4. */
static int64_t max_exponent(const j2o_ctx *ctx, const j2o_host_api *api) {
    const char *text = NULL;
    if (api->struct_size >= offsetof(struct j2o_host_api, option) + sizeof(void *))
        text = api->option(ctx, "max_exponent", NULL);
    return text ? strtoll(text, NULL, 10) : 64;
}

static j2o_value mul(j2o_ctx *ctx, const j2o_host_api *api, j2o_value a, j2o_value b) {
    j2o_value in[2];
    j2o_node n;
    in[0] = a;
    in[1] = b;
    n = api->node(ctx, "Mul", NULL, in, 2, 1);
    return n ? api->node_output(ctx, n, 0) : 0;
}

/* Square-and-multiply in the order JAX uses, so float results round identically. */
J2O_TYPED_LOWERING(positive_pow, (x, value), (y, int)) {
    j2o_value acc = 0, base = x;
    int64_t n = y;
    if (y <= 0) {
        api->decline(ctx, msg_exponent, sizeof msg_exponent - 1);
        return 0;
    }
    if (y > max_exponent(ctx, api)) {
        api->decline(ctx, msg_large, sizeof msg_large - 1);
        return 0;
    }
    while (n > 0) {
        if (n & 1) {
            acc = acc ? mul(ctx, api, acc, base) : base;
            if (!acc) return 0; /* the host recorded why */
        }
        n >>= 1;
        if (n > 0) {
            base = mul(ctx, api, base, base);
            if (!base) return 0;
        }
    }
    return acc;
}

static const char *const pow_ops[] = {"Mul", NULL};
static const int32_t float_types[] = {J2O_DTYPE_FLOAT, J2O_DTYPE_DOUBLE, J2O_DTYPE_FLOAT16, 0};

static const j2o_claim claims[] = {
    /* primitive, priority, min/max opset, ops, lower, user_data, note, dtypes, typed lowering */
    {"integer_pow", 10, 13, 0, pow_ops, NULL, NULL, "y > 0 as Mul chains; declines the rest", float_types,
     J2O_TYPED(positive_pow)},
};

static const j2o_option options[] = {
    /* name, kind, default, help */
    {"max_exponent", J2O_OPTION_INT, "64", "largest exponent lowered as a Mul chain; larger ones go to the next claimant"},
};

static const j2o_pack_descriptor descriptor = {
    J2O_ABI_VERSION, sizeof(j2o_pack_descriptor), "Example", "1.1.0",
    "an example C pack: integer_pow as Mul chains", sizeof(j2o_claim),
    sizeof claims / sizeof claims[0], claims,
    sizeof(j2o_option), sizeof options / sizeof options[0], options};

const j2o_pack_descriptor *jax2onnx_pack(void) { return &descriptor; }
