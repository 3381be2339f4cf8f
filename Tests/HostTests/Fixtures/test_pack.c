/* A configurable C pack for the loader and dispatch tests; built with plain cc -shared.
 * -DPACK_NAME="..." -DPRIORITY=n -DPRIM="..." -DABI_VERSION_VALUE=... -DNO_ENTRY -DDECLINE -DBAD_OP
 * -DONLY_F64 (the claim takes f64 operands only) */
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

static j2o_status lower(j2o_ctx *ctx, const j2o_host_api *api, const void *data) {
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

#ifdef ONLY_F64
static const int32_t dtypes[] = {J2O_DTYPE_DOUBLE, 0};
#define DTYPES dtypes
#else
#define DTYPES NULL
#endif

static const j2o_claim claims[] = {{PRIM, PRIORITY, 17, 0, ops, lower, NULL, "test claim", DTYPES}};
static const j2o_pack_descriptor descriptor = {
    ABI_VERSION_VALUE, sizeof(j2o_pack_descriptor), PACK_NAME, "1.0.0", "a test pack",
    sizeof(j2o_claim), 1, claims};

#ifndef NO_ENTRY
const j2o_pack_descriptor *jax2onnx_pack(void) { return &descriptor; }
#else
const j2o_pack_descriptor *some_other_symbol(void) { return &descriptor; }
#endif
