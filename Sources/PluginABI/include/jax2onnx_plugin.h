/*
 * jax2onnx_plugin.h - the stable C ABI between the jax2onnx host and its lowering packs.
 *
 * A lowering pack is a shared library that exports one function, J2O_ENTRY_SYMBOL, returning a
 * pointer to a constant pack descriptor. The descriptor lists the pack's claims as data: which JAX
 * primitive it lowers, at what priority, for which ONNX opsets, which ONNX ops it may emit, and the
 * function that does the lowering. The host calls that function once per equation, handing it a
 * table of host functions (j2o_host_api) through which the pack reads the equation and emits ONNX.
 *
 * Rules that keep this ABI stable (see docs/packs.md):
 *  - Structs only grow at the end. Each starts with a version and its size, and a reader touches a
 *    field only when the writer's size covers it. A pack checks api->struct_size before using a
 *    host function newer than J2O_HOST_API_MIN_SIZE.
 *  - The major version changes only when something is removed or changes meaning; the host refuses
 *    a pack of another major version. Minor versions add at the end and stay loadable.
 *  - Only plain C types cross: integers, doubles, `const char *` (with an explicit length where the
 *    text may be long), and opaque handles. The host owns all memory it hands out, valid until the
 *    lowering function returns unless stated otherwise; the pack owns its descriptor, which must
 *    stay valid for the life of the process (packs are never unloaded).
 *  - Lowering functions are called from one thread at a time.
 */
#ifndef JAX2ONNX_PLUGIN_H
#define JAX2ONNX_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define J2O_ABI_MAJOR 1
#define J2O_ABI_MINOR 5
/* What a pack writes into j2o_pack_descriptor.abi_version. */
#define J2O_ABI_VERSION ((J2O_ABI_MAJOR << 16) | J2O_ABI_MINOR)
#define J2O_ABI_VERSION_MAJOR_OF(v) ((uint32_t)(v) >> 16)
#define J2O_ABI_VERSION_MINOR_OF(v) ((uint32_t)(v)&0xffffu)

/* The one symbol a pack exports: `const j2o_pack_descriptor *jax2onnx_pack(void);` */
#define J2O_ENTRY_SYMBOL "jax2onnx_pack"

/* Result of a lowering function. */
typedef int32_t j2o_status;
#define J2O_OK 0
/* The pack does not handle this equation (a dtype, a parameter, an opset it does not cover); the
 * host discards what the pack emitted and tries the next claimant. */
#define J2O_DECLINE 1
/* The equation is invalid for this pack; the message set with api->error is reported. */
#define J2O_ERROR 2

/* Element types, numbered as ONNX TensorProto.DataType so packs need no translation. */
typedef int32_t j2o_dtype;
#define J2O_DTYPE_UNDEFINED 0
#define J2O_DTYPE_FLOAT 1
#define J2O_DTYPE_UINT8 2
#define J2O_DTYPE_INT8 3
#define J2O_DTYPE_UINT16 4
#define J2O_DTYPE_INT16 5
#define J2O_DTYPE_INT32 6
#define J2O_DTYPE_INT64 7
#define J2O_DTYPE_STRING 8
#define J2O_DTYPE_BOOL 9
#define J2O_DTYPE_FLOAT16 10
#define J2O_DTYPE_DOUBLE 11
#define J2O_DTYPE_UINT32 12
#define J2O_DTYPE_UINT64 13
#define J2O_DTYPE_COMPLEX64 14
#define J2O_DTYPE_COMPLEX128 15
#define J2O_DTYPE_BFLOAT16 16
#define J2O_DTYPE_FLOAT8E4M3FN 17
#define J2O_DTYPE_FLOAT8E4M3FNUZ 18
#define J2O_DTYPE_FLOAT8E5M2 19
#define J2O_DTYPE_FLOAT8E5M2FNUZ 20
/* A JAX value with no ONNX element type (PRNG keys, tokens). */
#define J2O_DTYPE_OPAQUE 1000

/* A dimension that is a symbolic expression rather than a number (see value_dim). */
#define J2O_DIM_SYMBOLIC (-1)
/* A dimension (or rank) the host does not know. */
#define J2O_DIM_UNKNOWN (-2)

/* Kinds of equation parameters, mirroring the bundle's param encoding (docs/bundle-format.md). */
typedef int32_t j2o_param_kind;
#define J2O_PARAM_NONE 0
#define J2O_PARAM_BOOL 1
#define J2O_PARAM_INT 2
#define J2O_PARAM_FLOAT 3
#define J2O_PARAM_STRING 4
#define J2O_PARAM_LIST 5         /* tuple or list: param_count, param_item */
#define J2O_PARAM_DTYPE 6        /* param_dtype; param_string gives JAX's name */
#define J2O_PARAM_DIM 7          /* symbolic dimension: param_string gives the expression */
#define J2O_PARAM_ENUM 8         /* param_type_name, param_string (member name), param_int (value) */
#define J2O_PARAM_RECORD 9       /* NamedTuple/dataclass: param_type_name, param_field, param_count */
#define J2O_PARAM_DICT 10        /* param_field, param_count, param_field_name */
#define J2O_PARAM_JAXPR 11       /* a nested program: see inline_program; param_string gives a one-line summary */
#define J2O_PARAM_CLOSED_JAXPR 12
#define J2O_PARAM_ARRAY 13       /* a constant array: param_array gives it as a value */
#define J2O_PARAM_SCALAR 14      /* a typed scalar: param_dtype, param_int / param_float */
#define J2O_PARAM_OPAQUE 15      /* not encodable (callables, shardings): param_type_name, param_string */

/* One equation being lowered. Opaque; valid only during the lowering call. */
typedef struct j2o_ctx j2o_ctx;
/* A parameter node. Opaque; owned by the host, valid for the life of the conversion. */
typedef struct j2o_param_node j2o_param_node;
typedef const j2o_param_node *j2o_param;
/* An ONNX value (tensor) in the graph being built; 0 means "none" (an omitted optional input). */
typedef uint32_t j2o_value;
/* A node emitted by the pack; 0 means failure (the host has recorded an error). */
typedef uint32_t j2o_node;
/* A subgraph (a graph attribute such as If's then_branch or Loop's body) the pack builds; 0 means
 * failure. Valid until the lowering function returns. Since ABI 1.1. */
typedef uint32_t j2o_graph;

typedef struct j2o_host_api j2o_host_api;

/* Lowers one equation. `claim_data` is the claim's own user_data. */
typedef j2o_status (*j2o_lower_fn)(j2o_ctx *ctx, const j2o_host_api *api, const void *claim_data);

/* A typed lowering, stored type-erased: its real prototype is the one J2O_TYPED_LOWERING writes,
 * and the host calls it (through libffi) only after checking the claim's signature string against
 * the equation. */
typedef void (*j2o_typed_fn)(void);

/* One primitive a pack lowers. */
typedef struct j2o_claim {
    const char *primitive;      /* JAX primitive name, e.g. "dot_general" */
    int32_t priority;           /* the highest priority wins; built-in packs use 0 */
    int32_t min_opset;          /* first ONNX opset this lowering serves (inclusive) */
    int32_t max_opset;          /* last ONNX opset it serves (inclusive); 0 = no upper bound */
    const char *const *onnx_ops;/* NULL-terminated list of the ONNX ops it may emit */
    j2o_lower_fn lower;
    const void *user_data;      /* passed back to lower() */
    const char *note;           /* optional one line for the coverage page (dtypes, limits); may be NULL */
    /* Since ABI 1.1. The element types (J2O_DTYPE_* codes) the lowering accepts for the equation's
     * first operand (its first output when it has no operands), 0-terminated; NULL = any. The host
     * skips the claim for other dtypes as if it had declined, and the coverage page lists them. */
    const int32_t *dtypes;
    /* Since ABI 1.2. A typed lowering (see J2O_TYPED_LOWERING): `signature` lists its parameters as
     * "name:kind" words and `typed` is the function; set both with J2O_TYPED(fn). When `typed` is
     * set the host calls it instead of `lower`, which may then be NULL. */
    const char *signature;
    j2o_typed_fn typed;
} j2o_claim;

/* Kinds of pack options (since ABI 1.4). */
typedef int32_t j2o_option_kind;
#define J2O_OPTION_BOOL 1        /* "true" / "false" (the host also accepts 1/0, yes/no, on/off) */
#define J2O_OPTION_INT 2         /* a decimal integer that fits int64 */
#define J2O_OPTION_FLOAT 3       /* a finite decimal number */
#define J2O_OPTION_STRING 4      /* any text */

/* A setting that chooses how the pack lowers (since ABI 1.4), e.g. {"strict_nan", J2O_OPTION_BOOL,
 * "false", "propagate NaN through max/min pooling as JAX does (two extra nodes per pool)"}. The user
 * sets it with `--pack-option PACK.NAME=VALUE` (`pack_options={"PACK.NAME": value}` from Python);
 * the host checks the name and the value's kind before any lowering starts, so a lowering reads a
 * well-formed value through api->option. Options select among correct lowerings; the host never
 * rewrites what a pack emitted to change its meaning. */
typedef struct j2o_option {
    const char *name;           /* [a-z0-9_]+, unique within the pack */
    j2o_option_kind kind;
    const char *default_value;  /* as the user would write it: "false", "0", "0.5", "" */
    const char *help;           /* one line for `jax2onnx plugins` and the coverage page */
} j2o_option;

typedef struct j2o_pack_descriptor {
    uint32_t abi_version;       /* J2O_ABI_VERSION the pack was compiled against */
    uint32_t struct_size;       /* sizeof(j2o_pack_descriptor) as the pack knows it */
    const char *name;           /* short pack name, e.g. "Lax" */
    const char *version;        /* the pack's own version, e.g. "0.1.0" */
    const char *description;    /* one line; may be NULL */
    uint32_t claim_size;        /* sizeof(j2o_claim) as the pack knows it */
    uint32_t claim_count;
    const j2o_claim *claims;
    /* Since ABI 1.4 (read when struct_size covers them): the options the pack declares. */
    uint32_t option_size;       /* sizeof(j2o_option) as the pack knows it */
    uint32_t option_count;
    const j2o_option *options;
} j2o_pack_descriptor;

/* The capabilities the host hands to a pack. Function pointers are never NULL within struct_size. */
struct j2o_host_api {
    uint32_t api_version;       /* J2O_ABI_VERSION of the host */
    uint32_t struct_size;       /* sizeof(j2o_host_api) as the host knows it */

    /* ---- the equation ---- */
    const char *(*primitive)(const j2o_ctx *ctx, size_t *len);
    int32_t (*opset)(const j2o_ctx *ctx);                 /* the target ONNX opset */
    int32_t (*input_count)(const j2o_ctx *ctx);
    int32_t (*output_count)(const j2o_ctx *ctx);
    /* The value of input i. Literals and constants come back as constant values. */
    j2o_value (*input)(j2o_ctx *ctx, int32_t index);
    /* 0 when JAX drops output i (nothing needs to be bound to it), 1 otherwise. */
    int32_t (*output_used)(const j2o_ctx *ctx, int32_t index);
    /* The JAX type of output i: element type, rank, and each dimension (see value_dim). */
    j2o_dtype (*output_dtype)(const j2o_ctx *ctx, int32_t index);
    int32_t (*output_rank)(const j2o_ctx *ctx, int32_t index);
    int64_t (*output_dim)(const j2o_ctx *ctx, int32_t index, int32_t axis, const char **symbol, size_t *symbol_len);

    /* ---- values ---- */
    j2o_dtype (*value_dtype)(const j2o_ctx *ctx, j2o_value value);   /* J2O_DTYPE_UNDEFINED if unknown */
    int32_t (*value_rank)(const j2o_ctx *ctx, j2o_value value);      /* J2O_DIM_UNKNOWN if unknown */
    /* A dimension: its size, or J2O_DIM_SYMBOLIC with *symbol set to the expression text (e.g.
     * "2*B"), or J2O_DIM_UNKNOWN. symbol/symbol_len may be NULL when the caller does not need it. */
    int64_t (*value_dim)(const j2o_ctx *ctx, j2o_value value, int32_t axis, const char **symbol, size_t *symbol_len);
    /* 1 and the raw little-endian bytes when the value is known at conversion time, else 0. */
    int32_t (*constant_data)(const j2o_ctx *ctx, j2o_value value, const void **data, size_t *nbytes);

    /* ---- parameters ---- */
    j2o_param (*param)(const j2o_ctx *ctx, const char *name);        /* NULL when absent */
    j2o_param_kind (*param_kind)(j2o_param p);
    int64_t (*param_int)(j2o_param p);        /* INT, BOOL, ENUM value, SCALAR, static DIM */
    double (*param_float)(j2o_param p);       /* FLOAT, INT, SCALAR */
    const char *(*param_string)(j2o_param p, size_t *len); /* STRING, DTYPE, DIM, ENUM name, OPAQUE repr,
                                                              JAXPR / CLOSED_JAXPR summary: "(i0, i1) { v0 = max(i0, i1) } (v0)" */
    j2o_dtype (*param_dtype)(j2o_param p);    /* DTYPE, SCALAR, ARRAY */
    int32_t (*param_count)(j2o_param p);      /* LIST items, RECORD/DICT fields */
    j2o_param (*param_item)(j2o_param p, int32_t index);
    j2o_param (*param_field)(j2o_param p, const char *name);
    const char *(*param_field_name)(j2o_param p, int32_t index, size_t *len);
    const char *(*param_type_name)(j2o_param p, size_t *len); /* RECORD, ENUM, OPAQUE */
    j2o_value (*param_array)(j2o_ctx *ctx, j2o_param p);     /* ARRAY as a constant value */

    /* ---- emitting ONNX ---- */
    /* A constant tensor; the host copies `data` (raw little-endian, C order). */
    j2o_value (*constant)(j2o_ctx *ctx, j2o_dtype dtype, int32_t rank, const int64_t *dims, const void *data, size_t nbytes);
    /* A node of the default ONNX domain (domain NULL or ""). Inputs may be 0 for omitted optional
     * inputs. The host checks the op exists at the target opset when the lowering returns. */
    j2o_node (*node)(j2o_ctx *ctx, const char *op_type, const char *domain, const j2o_value *inputs,
                     int32_t input_count, int32_t output_count);
    j2o_value (*node_output)(j2o_ctx *ctx, j2o_node node, int32_t index);
    void (*attr_int)(j2o_ctx *ctx, j2o_node node, const char *name, int64_t value);
    void (*attr_float)(j2o_ctx *ctx, j2o_node node, const char *name, float value);
    void (*attr_string)(j2o_ctx *ctx, j2o_node node, const char *name, const char *value, size_t len);
    void (*attr_ints)(j2o_ctx *ctx, j2o_node node, const char *name, const int64_t *values, size_t count);
    void (*attr_floats)(j2o_ctx *ctx, j2o_node node, const char *name, const float *values, size_t count);
    /* A tensor attribute holding a constant value made with constant(). */
    void (*attr_tensor)(j2o_ctx *ctx, j2o_node node, const char *name, j2o_value constant_value);
    /* Binds equation output i to a value; each used output exactly once. */
    j2o_status (*bind_output)(j2o_ctx *ctx, int32_t index, j2o_value value);

    /* ---- shapes ---- */
    /* A 1-D int64 tensor of one element holding the runtime value of a dimension expression
     * ("B", "2*B", "B*T + 1", ...). Computed once per graph from the graph input that introduced
     * each symbol and reused. */
    j2o_value (*dim_value)(j2o_ctx *ctx, const char *expr, size_t len);

    /* ---- nested programs ---- */
    /* Lowers a JAXPR or CLOSED_JAXPR param in place, as if its equations stood here: `inputs` bind
     * the program's constvars (open jaxprs only) and then its invars; `outputs` receive its results.
     * Its equations are dispatched to whichever packs claim them. */
    j2o_status (*inline_program)(j2o_ctx *ctx, j2o_param program, const j2o_value *inputs, int32_t input_count,
                                 j2o_value *outputs, int32_t output_count);

    /* ---- errors ---- */
    /* Records why the lowering failed and returns J2O_ERROR; the host adds pack, primitive,
     * equation and source line. */
    j2o_status (*error)(j2o_ctx *ctx, const char *message, size_t len);
    /* Records why this pack passes on the equation and returns J2O_DECLINE. */
    j2o_status (*decline)(j2o_ctx *ctx, const char *message, size_t len);

    /* ---- subgraphs (since ABI 1.2; check struct_size before use) ----
     * A pack lowering control flow builds ONNX subgraphs and attaches them as graph attributes:
     *   g = subgraph_begin(ctx);  x = subgraph_input(ctx, g, ...);  ...emit...;
     *   subgraph_end(ctx, g, outs, n);  node = node(ctx, "Loop", ...);  attr_graph(ctx, node, "body", g);
     * Between begin and end the subgraph is the graph being built: node() adds nodes to it and
     * inline_program lowers a nested program's equations into it, each dispatched to whichever pack
     * claims it, as at the top level (so control flow nests). Nodes inside a subgraph may read the
     * subgraph's inputs, its own values, and the values of every graph enclosing it (ONNX outer-scope
     * references): to capture an outer value, use it, e.g. bind it to a program input of
     * inline_program. Constants (constant(), literals, the bundle's tensors) always become initializers
     * of the top-level graph, which every subgraph reads by name. Value names are unique across the
     * model, so a subgraph never shadows an outer name. The host checks each node as usual and, for
     * If, Loop and Scan, that the node's inputs and outputs match its subgraphs' signatures; it infers
     * those nodes' output types from the subgraphs. */

    /* Opens a new subgraph nested in the graph being built and makes it the graph being built.
     * Subgraphs nest; each must be ended before the lowering function returns (the host discards one
     * left open and reports an error if the lowering claimed success). */
    j2o_graph (*subgraph_begin)(j2o_ctx *ctx);
    /* Appends a formal input to `graph`, which must be the graph being built, and returns its value.
     * `dims` holds `rank` sizes; a dimension may be J2O_DIM_SYMBOLIC with symbols[axis] its expression
     * (NUL-terminated; symbols may be NULL when no dimension is symbolic). Pass rank = J2O_DIM_UNKNOWN,
     * or any dimension as J2O_DIM_UNKNOWN, to leave the input's shape unknown (a loop-carried value
     * whose shape changes between iterations must not claim one). The host copies everything. */
    j2o_value (*subgraph_input)(j2o_ctx *ctx, j2o_graph graph, j2o_dtype dtype, int32_t rank, const int64_t *dims,
                                const char *const *symbols);
    /* Ends `graph` (the graph being built, whose own nested subgraphs are all ended) with the given
     * outputs, in order, and makes the enclosing graph the one being built again. An output the
     * subgraph does not compute itself (one of its inputs, an outer value, a constant) or that repeats
     * an earlier output is routed through an Identity node, so outputs may be any visible values.
     * Values made inside the subgraph cannot be used outside it afterwards. J2O_OK or J2O_ERROR. */
    j2o_status (*subgraph_end)(j2o_ctx *ctx, j2o_graph graph, const j2o_value *outputs, int32_t count);
    /* A graph attribute: attaches the ended subgraph `graph` to `node`, which must be a node of the
     * graph `graph` was begun in. Each subgraph is attached at most once; one never attached is dropped. */
    void (*attr_graph)(j2o_ctx *ctx, j2o_node node, const char *name, j2o_graph graph);

    /* ---- shapes, continued (since ABI 1.3; check api->struct_size) ---- */
    /* A 1-D int64 tensor of `count` elements holding a whole shape, for Reshape, Expand, Slice,
     * Range, ConstantOfShape and the like. dims[i] is one dimension as NUL-terminated text: a
     * decimal integer ("64") or an expression as in dim_value ("B", "2*B"). A constant when every
     * dim is a number; otherwise built once per distinct list per graph from dim_value parts (runs
     * of numbers become one constant) and reused. Like dim_value's, these nodes are the host's:
     * they never count against the claim's op list. Returns 0 after recording an error when a dim
     * cannot be parsed or a symbol cannot be read from any model input. */
    j2o_value (*shape_value)(j2o_ctx *ctx, const char *const *dims, int32_t count);

    /* ---- options (since ABI 1.4; check api->struct_size) ---- */
    /* The value of one of the calling pack's own declared options, as NUL-terminated text: the
     * user's `--pack-option` value (already checked against the option's kind) or the declared
     * default. NULL when the pack declared no option of that name. Valid for the conversion. */
    const char *(*option)(const j2o_ctx *ctx, const char *name, size_t *len);

    /* ---- the target runtime (since ABI 1.5; check api->struct_size) ----
     * The user deploys to a target (`--target ort-cpu`, the default; `ort-web`; `onnx` for the
     * specification alone) whose kernels are data the host holds. A lowering asks which forms run
     * there and picks one, e.g. computes in float and rounds back to bfloat16 where the target has
     * no bfloat16 kernel. The host refuses any node the target lacks, naming op, dtype and target. */
    /* The target's name as NUL-terminated text, e.g. "ort-cpu". Valid for the conversion. */
    const char *(*target)(const j2o_ctx *ctx, size_t *len);
    /* 1 when the target runs `op_type` of `domain` (NULL or "" for the default ONNX domain) in a
     * model of `opset` (0: the target opset) with `dtype` as the element type of the op's main
     * operand (the type variable of its first output, else of its first input), else 0. Always 1
     * for the "onnx" target, for which any node valid at the opset is fine. */
    int32_t (*supports)(const j2o_ctx *ctx, const char *op_type, const char *domain, int32_t opset, j2o_dtype dtype);
};

/* Every host of ABI 1.x provides at least this much of j2o_host_api. */
#define J2O_HOST_API_MIN_SIZE (offsetof(struct j2o_host_api, decline) + sizeof(void *))

/* ---- typed lowerings (since ABI 1.2) ----
 *
 * A lowering written as an ordinary C function whose parameters are the equation's operands and
 * params. One macro writes both the prototype and the signature string the host checks, so they
 * cannot disagree:
 *
 *     J2O_TYPED_LOWERING(my_pow, (x, value), (y, int)) {
 *         ... emit nodes with api->node(ctx, ...) ...
 *         return result;              (the value bound to the equation's only output)
 *     }
 *     static const j2o_claim claims[] = {{"integer_pow", 10, 17, 0, ops, NULL, NULL, NULL, NULL,
 *                                         J2O_TYPED(my_pow)}};
 *
 * expands to `static j2o_value my_pow(j2o_ctx *ctx, const j2o_host_api *api, j2o_value x,
 * int64_t y)` and the signature "x:value y:int". Kinds and the C parameters they become:
 *     value   j2o_value            the next operand of the equation, in order
 *     int     int64_t              an INT (or BOOL) param
 *     float   double               a FLOAT or INT param
 *     bool    int32_t              a BOOL param (0 or 1)
 *     string  const char *         a STRING param, or an ENUM's member name
 *     dtype   j2o_dtype            a DTYPE param
 *     ints    const int64_t *name, int32_t name_count     a list of INTs (valid during the call)
 *     param   j2o_param            any param, as a handle for the param_* functions
 * Every non-value name must be a param of the equation, and the value entries must match its
 * operand count; otherwise the host reports the mismatch naming the pack and primitive without
 * calling the function. Return the value for output 0 (the equation must have exactly one output),
 * or 0 after api->decline (the next claimant is tried) or api->error. At most 12 entries. */
#define J2O_ARG_value(n) , j2o_value n
#define J2O_ARG_int(n) , int64_t n
#define J2O_ARG_float(n) , double n
#define J2O_ARG_bool(n) , int32_t n
#define J2O_ARG_string(n) , const char *n
#define J2O_ARG_dtype(n) , j2o_dtype n
#define J2O_ARG_ints(n) , const int64_t *n, int32_t n##_count
#define J2O_ARG_param(n) , j2o_param n
#define J2O_ARG_(n, kind) J2O_ARG_##kind(n)
#define J2O_ARG(pair) J2O_ARG_ pair
#define J2O_SIG_(n, kind) " " #n ":" #kind
#define J2O_SIG(pair) J2O_SIG_ pair
#define J2O_NARGS_(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, N, ...) N
#define J2O_NARGS(...) J2O_NARGS_(__VA_ARGS__, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define J2O_CAT_(a, b) a##b
#define J2O_CAT(a, b) J2O_CAT_(a, b)
#define J2O_MAP1(m, a) m(a)
#define J2O_MAP2(m, a, ...) m(a) J2O_MAP1(m, __VA_ARGS__)
#define J2O_MAP3(m, a, ...) m(a) J2O_MAP2(m, __VA_ARGS__)
#define J2O_MAP4(m, a, ...) m(a) J2O_MAP3(m, __VA_ARGS__)
#define J2O_MAP5(m, a, ...) m(a) J2O_MAP4(m, __VA_ARGS__)
#define J2O_MAP6(m, a, ...) m(a) J2O_MAP5(m, __VA_ARGS__)
#define J2O_MAP7(m, a, ...) m(a) J2O_MAP6(m, __VA_ARGS__)
#define J2O_MAP8(m, a, ...) m(a) J2O_MAP7(m, __VA_ARGS__)
#define J2O_MAP9(m, a, ...) m(a) J2O_MAP8(m, __VA_ARGS__)
#define J2O_MAP10(m, a, ...) m(a) J2O_MAP9(m, __VA_ARGS__)
#define J2O_MAP11(m, a, ...) m(a) J2O_MAP10(m, __VA_ARGS__)
#define J2O_MAP12(m, a, ...) m(a) J2O_MAP11(m, __VA_ARGS__)
#define J2O_MAP(m, ...) J2O_CAT(J2O_MAP, J2O_NARGS(__VA_ARGS__))(m, __VA_ARGS__)

#define J2O_TYPED_LOWERING(fn, ...) \
    static const char fn##_j2o_signature[] = "" J2O_MAP(J2O_SIG, __VA_ARGS__); \
    static j2o_value fn(j2o_ctx *ctx, const j2o_host_api *api J2O_MAP(J2O_ARG, __VA_ARGS__))
/* The last two fields of a j2o_claim for a typed lowering. */
#define J2O_TYPED(fn) fn##_j2o_signature, (j2o_typed_fn)(fn)

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* JAX2ONNX_PLUGIN_H */
