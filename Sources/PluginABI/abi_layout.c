/* Pins the descriptor's leading fields: the host reads abi_version and struct_size before it
 * knows anything else about a pack, so their offsets must never move. */
#include "jax2onnx_plugin.h"

typedef char j2o_abi_version_first[offsetof(j2o_pack_descriptor, abi_version) == 0 ? 1 : -1];
typedef char j2o_struct_size_second[offsetof(j2o_pack_descriptor, struct_size) == 4 ? 1 : -1];
typedef char j2o_api_version_first[offsetof(struct j2o_host_api, api_version) == 0 ? 1 : -1];
