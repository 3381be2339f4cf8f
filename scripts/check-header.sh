#!/usr/bin/env bash
# The ABI header must compile warning-free as strict C99 and as C++ (packs are written in both).
set -euo pipefail
cd "$(dirname "$0")/.."
h=SDK/PluginABI/include/jax2onnx_plugin.h
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
printf '#include "jax2onnx_plugin.h"\nint main(void) { return (int)sizeof(j2o_host_api) > 0 ? 0 : 1; }\n' > "$tmp/c.c"
cp "$tmp/c.c" "$tmp/cxx.cpp"
cc -std=c99 -pedantic -Wall -Wextra -Werror -I"$(dirname $h)" -c "$tmp/c.c" -o "$tmp/c.o"
c++ -std=c++11 -pedantic -Wall -Wextra -Werror -I"$(dirname $h)" -c "$tmp/cxx.cpp" -o "$tmp/cxx.o"
echo "header: strict C99 and C++11 compile clean"
