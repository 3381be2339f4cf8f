/* A C pack that builds subgraphs through the ABI, for the host's subgraph tests. It claims "sin"
 * and lowers y = sin(x) as
 *     s = Sin(x);  y = If(true) then { Cos(s) } else { s }
 * so the then-branch captures the outer value s and the else-branch returns it unchanged.
 * Misuse variants: -DLEAVE_OPEN -DLEAK_INNER -DATTACH_TWICE -DBAD_LOOP; declining half-way:
 * -DDECLINE_OPEN (with a subgraph open) -DDECLINE_CLOSED (after closing one) */
#include <stddef.h>
#include "jax2onnx_plugin.h"

static const char *ops[] = {"Sin", "Cos", "If", "Neg", "Loop", NULL};

#define HAS(api, fn) ((api)->struct_size >= offsetof(struct j2o_host_api, fn) + sizeof(void *))

static j2o_status lower(j2o_ctx *ctx, const j2o_host_api *api, const void *data) {
    j2o_value x, s, c, cond, out;
    j2o_node n;
    j2o_graph then_g, else_g;
    const unsigned char yes = 1;
    (void)data;
    if (!HAS(api, attr_graph)) return api->decline(ctx, "host has no subgraphs", 21);

    x = api->input(ctx, 0);
    n = api->node(ctx, "Sin", NULL, &x, 1, 1);
    s = api->node_output(ctx, n, 0);
    cond = api->constant(ctx, J2O_DTYPE_BOOL, 0, NULL, &yes, 1);

    then_g = api->subgraph_begin(ctx);
    n = api->node(ctx, "Cos", NULL, &s, 1, 1);
    c = api->node_output(ctx, n, 0);
#ifdef LEAVE_OPEN
    return api->bind_output(ctx, 0, s);
#endif
#ifdef DECLINE_OPEN
    return api->decline(ctx, "changed my mind", 15);
#endif
    if (api->subgraph_end(ctx, then_g, &c, 1) != J2O_OK) return J2O_ERROR;
#ifdef DECLINE_CLOSED
    return api->decline(ctx, "changed my mind", 15);
#endif
#ifdef LEAK_INNER
    n = api->node(ctx, "Neg", NULL, &c, 1, 1);
    return api->bind_output(ctx, 0, api->node_output(ctx, n, 0));
#endif
#ifdef BAD_LOOP
    {
        j2o_value loop_in[3] = {0, cond, s};
        j2o_node loop = api->node(ctx, "Loop", NULL, loop_in, 3, 1);
        api->attr_graph(ctx, loop, "body", then_g);   /* a body of 0 inputs and 1 output */
        return api->bind_output(ctx, 0, api->node_output(ctx, loop, 0));
    }
#endif
    else_g = api->subgraph_begin(ctx);
    if (api->subgraph_end(ctx, else_g, &s, 1) != J2O_OK) return J2O_ERROR;

    n = api->node(ctx, "If", NULL, &cond, 1, 1);
    api->attr_graph(ctx, n, "then_branch", then_g);
#ifdef ATTACH_TWICE
    api->attr_graph(ctx, n, "else_branch", then_g);
#else
    api->attr_graph(ctx, n, "else_branch", else_g);
#endif
    out = api->node_output(ctx, n, 0);
    return api->bind_output(ctx, 0, out);
}

static const j2o_claim claims[] = {{"sin", 10, 17, 0, ops, lower, NULL, "sin through an If", NULL}};
static const j2o_pack_descriptor descriptor = {
    J2O_ABI_VERSION, sizeof(j2o_pack_descriptor), "Branchy", "1.0.0", "builds subgraphs",
    sizeof(j2o_claim), 1, claims};

const j2o_pack_descriptor *jax2onnx_pack(void) { return &descriptor; }
