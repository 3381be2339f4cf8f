#!/usr/bin/env bash
# The ABI header must compile warning-free as strict C99 and as C++ (packs are written in both).
set -euo pipefail
cd "$(dirname "$0")/.."
h=Sources/PluginABI/include/jax2onnx_plugin.h
# SDK/ stands alone for third parties, so it carries its own copy of the canonical header (and of
# the layout pins); both must stay byte-identical to Sources/PluginABI.
for f in include/jax2onnx_plugin.h abi_layout.c; do
  if ! cmp -s "Sources/PluginABI/$f" "SDK/PluginABI/$f"; then
    echo "SDK/PluginABI/$f differs from the canonical Sources/PluginABI/$f: copy it over (cp Sources/PluginABI/$f SDK/PluginABI/$f)"
    exit 1
  fi
done
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# Also expands the typed-lowering macros with every kind, as a pack would.
cat > "$tmp/c.c" <<'EOF'
#include "jax2onnx_plugin.h"
J2O_TYPED_LOWERING(every_kind, (x, value), (i, int), (f, float), (b, bool), (s, string), (d, dtype),
                   (l, ints), (p, param), (y, value)) {
    (void)ctx; (void)api; (void)i; (void)f; (void)b; (void)s; (void)d; (void)l; (void)l_count; (void)p;
    return x ? x : y;
}
static const j2o_claim claims[] = {{"p", 0, 1, 0, NULL, NULL, NULL, NULL, NULL, J2O_TYPED(every_kind)}};
int main(void) { return claims[0].signature[0] == ' ' && sizeof(j2o_host_api) > 0 ? 0 : 1; }
EOF
cp "$tmp/c.c" "$tmp/cxx.cpp"
cc -std=c99 -pedantic -Wall -Wextra -Werror -I"$(dirname $h)" -c "$tmp/c.c" -o "$tmp/c.o"
c++ -std=c++11 -pedantic -Wall -Wextra -Werror -I"$(dirname $h)" -c "$tmp/cxx.cpp" -o "$tmp/cxx.o"
cc -std=c99 -I"$(dirname $h)" -o "$tmp/c" "$tmp/c.c" && "$tmp/c"
echo "header: SDK copy identical; strict C99 and C++11 compile clean, typed-lowering macros included"
