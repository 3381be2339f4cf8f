/* A pack that misbehaves in one chosen way, for the PackGuard tests; built with plain cc -shared.
 * -DLOWER_SEGV, -DLOWER_LOOP, -DLOWER_EXIT, -DLOWER_FPE (in the lowering of "sin");
 * -DENTRY_EXIT, -DENTRY_GARBAGE, -DENTRY_LOOP, -DCTOR_SEGV, -DCTOR_EXIT (while loading) */
#include "jax2onnx_plugin.h"
#include <stdlib.h>
#include <unistd.h>

static const char *ops[] = {"Sin", NULL};

static j2o_status lower(j2o_ctx *ctx, const j2o_host_api *api, const void *data) {
    j2o_value x;
    j2o_node n;
    (void)data;
#ifdef LOWER_SEGV
    { volatile int *volatile nowhere = NULL; *nowhere = 1; }
#endif
#ifdef LOWER_FPE
    { volatile int zero = 0, seven = 7; volatile int r = seven / zero; (void)r; }
#endif
#ifdef LOWER_LOOP
    for (;;) { volatile int spin = 0; (void)spin; }
#endif
#ifdef LOWER_EXIT
    _exit(77);
#endif
    x = api->input(ctx, 0);
    n = api->node(ctx, "Sin", NULL, &x, 1, 1);
    if (!n) return J2O_ERROR;
    return api->bind_output(ctx, 0, api->node_output(ctx, n, 0));
}

static const j2o_claim claims[] = {{"sin", 5, 17, 0, ops, lower, NULL, "hostile claim", NULL, NULL, NULL}};
static const j2o_pack_descriptor descriptor = {
    J2O_ABI_VERSION, sizeof(j2o_pack_descriptor), "Hostile", "6.6.6", "a pack that misbehaves",
    sizeof(j2o_claim), 1, claims};

#ifdef CTOR_SEGV
__attribute__((constructor)) static void boom(void) { volatile int *volatile nowhere = NULL; *nowhere = 1; }
#endif
#ifdef CTOR_EXIT
__attribute__((constructor)) static void leave(void) { _exit(77); }
#endif

const j2o_pack_descriptor *jax2onnx_pack(void) {
#ifdef ENTRY_EXIT
    exit(0);
#endif
#ifdef ENTRY_LOOP
    for (;;) { volatile int spin = 0; (void)spin; }
#endif
#ifdef ENTRY_GARBAGE
    return (const j2o_pack_descriptor *)(uintptr_t)0x10;
#endif
    return &descriptor;
}
