/* A configurable C pack for the loader and dispatch tests; built with plain cc -shared.
 * -DPACK_NAME="..." -DPRIORITY=n -DPRIM="..." -DABI_VERSION_VALUE=... -DNO_ENTRY -DDECLINE -DBAD_OP
 * -DONLY_F64 (the claim takes f64 operands only)
 * -DTYPED (the lowering is a typed one: (x, value)), -DTYPED_WRONG (typed, declaring an operand the
 * equation lacks), -DTYPED_DECLINE (typed, declines), -DABI_1_0 (the descriptor is laid out as in
 * ABI 1.0, before claims had dtypes), -DCRASH (the entry function crashes), -DDUPLICATE (a second
 * claim for the same primitive at overlapping opsets) */
#include "jax2onnx_plugin.h"

#ifndef PACK_NAME
#define PACK_NAME "TestPack"
#endif
#ifndef ABI_VERSION_VALUE
#define ABI_VERSION_VALUE J2O_ABI_VERSION
#endif
#ifndef PRIORITY
#define PRIORITY 0
#endif
#ifndef PRIM
#define PRIM "sin"
#endif
#ifdef BAD_OP
#define OP "NoSuchOp"
#else
#define OP "Sin"
#endif

static const char *ops[] = {OP, NULL};

__attribute__((unused)) static j2o_status lower(j2o_ctx *ctx, const j2o_host_api *api, const void *data) {
    j2o_value x;
    j2o_node n;
    (void)data;
#ifdef DECLINE
    return api->decline(ctx, "test pack declines", 18);
#endif
    x = api->input(ctx, 0);
    n = api->node(ctx, OP, NULL, &x, 1, 1);
    if (!n) return J2O_ERROR;
    return api->bind_output(ctx, 0, api->node_output(ctx, n, 0));
}

#if defined(TYPED) || defined(TYPED_WRONG) || defined(TYPED_DECLINE)
#ifdef TYPED_WRONG
J2O_TYPED_LOWERING(typed_lower, (x, value), (y, value)) {
    (void)y;
#else
J2O_TYPED_LOWERING(typed_lower, (x, value)) {
#endif
    j2o_node n;
#ifdef TYPED_DECLINE
    (void)x;
    api->decline(ctx, "typed pack declines", 19);
    return 0;
#endif
    n = api->node(ctx, OP, NULL, &x, 1, 1);
    return n ? api->node_output(ctx, n, 0) : 0;
}
#define TYPED_FIELDS , J2O_TYPED(typed_lower)
#define LOWER NULL
#else
#define TYPED_FIELDS
#define LOWER lower
#endif

#ifdef ONLY_F64
static const int32_t dtypes[] = {J2O_DTYPE_DOUBLE, 0};
#define DTYPES dtypes
#else
#define DTYPES NULL
#endif

#ifdef ABI_1_0
/* j2o_claim as ABI 1.0 laid it out: no dtypes, no typed lowering. */
typedef struct {
    const char *primitive;
    int32_t priority, min_opset, max_opset;
    const char *const *onnx_ops;
    j2o_lower_fn lower;
    const void *user_data;
    const char *note;
} claim_1_0;
static const claim_1_0 claims[] = {{PRIM, PRIORITY, 17, 0, ops, lower, NULL, "test claim"}};
static const j2o_pack_descriptor descriptor = {
    (1u << 16) | 0u, sizeof(j2o_pack_descriptor), PACK_NAME, "1.0.0", "a pack built against ABI 1.0",
    sizeof(claim_1_0), 1, (const j2o_claim *)(const void *)claims};
#else
static const j2o_claim claims[] = {
    {PRIM, PRIORITY, 17, 0, ops, LOWER, NULL, "test claim", DTYPES TYPED_FIELDS},
#ifdef DUPLICATE
    {PRIM, PRIORITY, 20, 22, ops, LOWER, NULL, "the same primitive again", DTYPES TYPED_FIELDS},
#endif
};
static const j2o_pack_descriptor descriptor = {
    ABI_VERSION_VALUE, sizeof(j2o_pack_descriptor), PACK_NAME, "1.0.0", "a test pack",
    sizeof(j2o_claim), sizeof claims / sizeof claims[0], claims};
#endif

#ifndef NO_ENTRY
const j2o_pack_descriptor *jax2onnx_pack(void) {
#ifdef CRASH
    volatile const j2o_pack_descriptor *volatile nowhere = NULL;
    return (const j2o_pack_descriptor *)(uintptr_t)nowhere->abi_version;
#endif
    return &descriptor;
}
#else
const j2o_pack_descriptor *some_other_symbol(void) { return &descriptor; }
#endif
