"""Core cases: arithmetic, elementwise math, comparisons, logic, conversion, basic shapes,
reductions, dot_general and call wrappers."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from casekit import EXACT, Case, boolean, case, f32, grid, i32, pos, uniform


def _custom_vjp_sin():
    @jax.custom_vjp
    def scaled_sin(x):
        return jnp.sin(x) * 3.0

    def fwd(x):
        return scaled_sin(x), jnp.cos(x)

    def bwd(cos_x, g):
        return (3.0 * g * cos_x,)

    scaled_sin.defvjp(fwd, bwd)
    return scaled_sin


scaled_sin = _custom_vjp_sin()


@jax.jit
def jitted_affine(x):
    return jnp.tanh(x) * 2.0 - 0.5


S = (3, 4)  # the default shape

# Alternatives ("jit|pjit") name the same thing across JAX versions.
CASES: list[Case] = [
    # -- binary arithmetic ------------------------------------------------------------------
    case("add_f32", lambda a, b: a + b, [f32(*S), f32(*S)], ["add"]),
    case("add_i32", lambda a, b: a + b, [i32(*S), i32(*S)], ["add"], EXACT),
    # JAX 0.10's lax binary ops broadcast size-1 dims themselves (no broadcast_in_dim in the jaxpr)
    case("add_size1_broadcast_f32", lambda a, b: a + b, [f32(3, 1), f32(1, 4)], ["add"]),
    case("mul_size1_broadcast_i32", lambda a, b: a * b, [i32(3, 1), i32(3, 4)], ["mul"], EXACT),
    # rank promotion still goes through broadcast_in_dim
    case("add_rank_broadcast_f32", lambda a, b: a + b, [f32(*S), f32(4)], ["add", "broadcast_in_dim"]),
    case("scalar_literals_f32", lambda a: a * 2.0 + 1.5, [f32(*S)], ["mul", "add"]),
    case("sub_f32", lambda a, b: a - b, [f32(*S), f32(*S)], ["sub"]),
    case("sub_i32", lambda a, b: a - b, [i32(*S), i32(*S)], ["sub"], EXACT),
    case("mul_f32", lambda a, b: a * b, [f32(*S), f32(*S)], ["mul"]),
    case("mul_i32", lambda a, b: a * b, [i32(*S), i32(*S)], ["mul"], EXACT),
    case("div_f32", lambda a, b: a / b, [f32(*S), f32(*S)], ["div"]),
    # lax.div on integers rounds toward zero (-7 / 2 == -3), unlike Python's //
    case("div_i32_toward_zero", lax.div, [i32(*S, lo=-20, hi=20), i32(*S, lo=-6, hi=6)], ["div"], EXACT),
    case("max_f32", jnp.maximum, [f32(*S), f32(*S)], ["max"]),
    case("max_i32", jnp.maximum, [i32(*S), i32(*S)], ["max"], EXACT),
    case("min_f32", jnp.minimum, [f32(*S), f32(*S)], ["min"]),
    case("min_i32", jnp.minimum, [i32(*S), i32(*S)], ["min"], EXACT),
    case("pow_f32", jnp.power, [pos(*S), uniform(*S, lo=-2.0, hi=2.0)], ["pow"]),
    case("integer_pow_cube_f32", lambda a: a ** 3, [f32(*S)], ["integer_pow"]),
    case("integer_pow_neg_f32", lambda a: a ** -2, [f32(*S, lo=0.5)], ["integer_pow"]),
    case("integer_pow_i32", lambda a: a ** 3, [i32(*S)], ["integer_pow"], EXACT),
    case("square_f32", jnp.square, [f32(*S)], ["square"]),
    case("square_i32", jnp.square, [i32(*S)], ["square"], EXACT),
    # -- unary ------------------------------------------------------------------------------
    case("neg_f32", jnp.negative, [f32(*S)], ["neg"]),
    case("neg_i32", jnp.negative, [i32(*S)], ["neg"], EXACT),
    case("abs_f32", jnp.abs, [f32(*S)], ["abs"]),
    case("abs_i32", jnp.abs, [i32(*S)], ["abs"], EXACT),
    case("sign_f32", jnp.sign, [f32(*S)], ["sign"]),
    case("sign_i32", jnp.sign, [i32(*S)], ["sign"], EXACT),
    case("exp_f32", jnp.exp, [f32(*S)], ["exp"]),
    case("log_f32", jnp.log, [pos(*S)], ["log"]),
    case("log1p_f32", jnp.log1p, [uniform(*S, lo=-0.9, hi=3.0)], ["log1p"]),
    case("expm1_f32", jnp.expm1, [f32(*S)], ["expm1"]),
    case("tanh_f32", jnp.tanh, [f32(*S)], ["tanh"]),
    case("logistic_f32", jax.nn.sigmoid, [f32(*S)], ["logistic"]),
    case("sin_f32", jnp.sin, [f32(*S)], ["sin"]),
    case("cos_f32", jnp.cos, [f32(*S)], ["cos"]),
    case("sqrt_f32", jnp.sqrt, [pos(*S)], ["sqrt"]),
    case("rsqrt_f32", lax.rsqrt, [pos(*S)], ["rsqrt"]),
    case("erf_f32", lax.erf, [f32(*S)], ["erf"]),
    case("tan_f32", jnp.tan, [uniform(*S, lo=-1.4, hi=1.4)], ["tan"]),
    case("asin_f32", jnp.arcsin, [uniform(*S, lo=-0.99, hi=0.99)], ["asin"]),
    case("acos_f32", jnp.arccos, [uniform(*S, lo=-0.99, hi=0.99)], ["acos"]),
    case("atan_f32", jnp.arctan, [f32(*S)], ["atan"]),
    case("sinh_f32", jnp.sinh, [f32(*S)], ["sinh"]),
    case("cosh_f32", jnp.cosh, [f32(*S)], ["cosh"]),
    case("asinh_f32", jnp.arcsinh, [f32(*S)], ["asinh"]),
    case("acosh_f32", jnp.arccosh, [uniform(*S, lo=1.01, hi=5.0)], ["acosh"]),
    case("atanh_f32", jnp.arctanh, [uniform(*S, lo=-0.95, hi=0.95)], ["atanh"]),
    case("floor_f32", jnp.floor, [f32(*S)], ["floor"]),
    case("ceil_f32", jnp.ceil, [f32(*S)], ["ceil"]),
    case("clamp_f32", lambda lo, x, hi: lax.clamp(lo, x, hi), [uniform(lo=-1.0, hi=-0.5), f32(*S), uniform(lo=0.5, hi=1.0)], ["clamp"]),
    # -- comparisons ------------------------------------------------------------------------
    *[case(f"{name}_{dt}", fn, [gen(*S), gen(*S)], [name], EXACT)
      for name, fn in [("eq", jnp.equal), ("ne", jnp.not_equal), ("lt", jnp.less),
                       ("le", jnp.less_equal), ("gt", jnp.greater), ("ge", jnp.greater_equal)]
      for dt, gen in [("f32", grid), ("i32", lambda *s: i32(*s, lo=-3, hi=3, nonzero=False))]],
    # (logical and bitwise cases live in cases_math.py)
    # -- selection and conversion -----------------------------------------------------------
    case("select_n_where_f32", jnp.where, [boolean(*S), f32(*S), f32(*S)], ["select_n"]),
    case("select_n_where_i32", jnp.where, [boolean(*S), i32(*S), i32(*S)], ["select_n"], EXACT),
    case("select_n_three_way_f32", lambda p, a, b, c: lax.select_n(p, a, b, c),
         [i32(*S, lo=0, hi=2, nonzero=False), f32(*S), f32(*S), f32(*S)], ["select_n"]),
    case("convert_f32_to_i32", lambda a: a.astype(jnp.int32), [f32(*S, hi=9.0)],
         ["convert_element_type"], EXACT),
    case("convert_i32_to_f32", lambda a: a.astype(jnp.float32), [i32(*S)], ["convert_element_type"]),
    case("convert_f32_to_bool", lambda a: a.astype(bool), [grid(*S)], ["convert_element_type"], EXACT),
    case("convert_bool_to_f32", lambda a: a.astype(jnp.float32), [boolean(*S)], ["convert_element_type"]),
    case("convert_bool_to_i32", lambda a: a.astype(jnp.int32), [boolean(*S)], ["convert_element_type"], EXACT),
    # -- shapes -----------------------------------------------------------------------------
    case("broadcast_in_dim_f32", lambda a: jnp.broadcast_to(a[:, None, :], (3, 2, 4)), [f32(*S)],
         ["broadcast_in_dim"]),
    case("broadcast_in_dim_i32", lambda a: jnp.broadcast_to(a, (2, 3, 4)), [i32(*S)],
         ["broadcast_in_dim"], EXACT),
    case("reshape_f32", lambda a: jnp.reshape(a, (2, 6)), [f32(*S)], ["reshape"]),
    case("reshape_i32", lambda a: jnp.reshape(a, (12,)), [i32(*S)], ["reshape"], EXACT),
    case("transpose_f32", lambda a: jnp.transpose(a, (2, 0, 1)), [f32(2, 3, 4)], ["transpose"]),
    case("transpose_i32", jnp.transpose, [i32(*S)], ["transpose"], EXACT),
    case("squeeze_f32", lambda a: jnp.squeeze(a, (0, 2)), [f32(1, 3, 1, 4)], ["squeeze"]),
    # JAX has no expand_dims primitive: jnp/lax.expand_dims trace to broadcast_in_dim
    case("expand_dims_f32", lambda a: jnp.expand_dims(a, (0, 2)), [f32(*S)], ["broadcast_in_dim"]),
    case("concatenate_f32", lambda a, b: jnp.concatenate([a, b, a], axis=1), [f32(*S), f32(3, 2)],
         ["concatenate"]),
    case("concatenate_i32", lambda a, b: jnp.concatenate([a, b], axis=0), [i32(*S), i32(2, 4)],
         ["concatenate"], EXACT),
    case("slice_f32", lambda a: a[1:3, ::2], [f32(4, 6)], ["slice"]),
    case("slice_i32", lambda a: a[:, 1:], [i32(*S)], ["slice"], EXACT),
    case("iota_f32", lambda a: a + jnp.arange(4, dtype=jnp.float32), [f32(*S)], ["iota"]),
    case("iota_i32", lambda a: a * lax.broadcasted_iota(jnp.int32, S, 0), [i32(*S)], ["iota"], EXACT),
    case("copy_f32", lambda a: jnp.copy(a) * 2.0, [f32(*S)], ["copy"]),
    case("stop_gradient_f32", lambda a: lax.stop_gradient(a) * a, [f32(*S)], ["stop_gradient"]),
    # -- reductions -------------------------------------------------------------------------
    case("reduce_sum_f32", lambda a: jnp.sum(a, axis=1), [f32(*S)], ["reduce_sum"]),
    case("reduce_sum_all_f32", jnp.sum, [f32(2, 3, 4)], ["reduce_sum"]),
    case("reduce_sum_i32", lambda a: jnp.sum(a, axis=0), [i32(*S)], ["reduce_sum"], EXACT),
    case("reduce_max_f32", lambda a: jnp.max(a, axis=(0, 2)), [f32(2, 3, 4)], ["reduce_max"]),
    case("reduce_max_i32", lambda a: jnp.max(a, axis=1), [i32(*S)], ["reduce_max"], EXACT),
    case("reduce_min_f32", lambda a: jnp.min(a, axis=0, keepdims=True), [f32(*S)], ["reduce_min"]),
    case("reduce_min_i32", lambda a: jnp.min(a, axis=1), [i32(*S)], ["reduce_min"], EXACT),
    case("reduce_prod_f32", lambda a: jnp.prod(a, axis=1), [f32(*S)], ["reduce_prod"]),
    case("reduce_prod_i32", lambda a: jnp.prod(a, axis=0), [i32(*S, lo=-3, hi=3)], ["reduce_prod"], EXACT),
    case("argmax_f32", lambda a: jnp.argmax(a, axis=1), [f32(*S)], ["argmax"], EXACT),
    case("argmax_i32_ties", lambda a: jnp.argmax(a, axis=0), [i32(*S, lo=-2, hi=2)], ["argmax"], EXACT),
    case("argmin_f32", lambda a: jnp.argmin(a, axis=0), [f32(*S)], ["argmin"], EXACT),
    case("argmin_i32_ties", lambda a: jnp.argmin(a, axis=1), [i32(*S, lo=-2, hi=2)], ["argmin"], EXACT),
    # -- dot_general ------------------------------------------------------------------------
    case("dot_matmul_f32", jnp.matmul, [f32(4, 5), f32(5, 3)], ["dot_general"]),
    case("dot_matmul_i32", jnp.matmul, [i32(4, 5), i32(5, 3)], ["dot_general"], EXACT),
    case("dot_batched_f32", jnp.matmul, [f32(2, 4, 5), f32(2, 5, 3)], ["dot_general"]),
    case("dot_contract_non_last_f32",
         lambda a, b: lax.dot_general(a, b, (((0,), (0,)), ((), ()))), [f32(5, 4), f32(5, 3)],
         ["dot_general"]),
    case("dot_multi_contract_f32", lambda a, b: jnp.tensordot(a, b, axes=([1, 2], [0, 1])),
         [f32(3, 4, 5), f32(4, 5, 2)], ["dot_general"]),
    case("dot_batch_not_leading_f32",
         lambda a, b: lax.dot_general(a, b, (((2,), (0,)), ((1,), (1,)))), [f32(4, 2, 5), f32(5, 2, 3)],
         ["dot_general"]),
    case("dot_vector_matrix_f32", jnp.matmul, [f32(5), f32(5, 3)], ["dot_general"]),
    case("dot_matrix_vector_f32", jnp.matmul, [f32(3, 5), f32(5)], ["dot_general"]),
    # -- calls and wrappers -----------------------------------------------------------------
    case("pjit_nested", lambda a: jitted_affine(a) + a, [f32(*S)], ["jit|pjit", "tanh"]),
    case("pjit_twice", lambda a: jitted_affine(jitted_affine(a)), [f32(*S)], ["jit|pjit"]),
    case("custom_jvp_relu", jax.nn.relu, [f32(*S)], ["custom_jvp_call", "max"]),
    case("custom_jvp_softplus", jax.nn.softplus, [f32(*S)], ["custom_jvp_call", "log1p"]),
    case("gelu_tanh", jax.nn.gelu, [f32(*S)], ["integer_pow", "tanh"]),
    case("custom_vjp", lambda a: scaled_sin(a) + 1.0, [f32(*S)], ["custom_vjp_call|custom_vjp_call_jaxpr"]),
    case("remat", lambda a: jax.checkpoint(lambda v: jnp.sin(v) * v)(a), [f32(*S)],
         ["remat2|checkpoint|remat"]),
]


# Primitives the suite promises to cover; test_table_covers_everything checks each has a case.
REQUIRED = """
add sub mul div max min neg abs sign exp log log1p expm1 tanh logistic sin cos sqrt rsqrt
integer_pow pow erf square eq ne lt le gt ge and or not xor select_n convert_element_type
broadcast_in_dim reshape transpose squeeze concatenate slice iota copy stop_gradient reduce_sum
reduce_max reduce_min reduce_prod argmax argmin dot_general jit|pjit custom_jvp_call
custom_vjp_call|custom_vjp_call_jaxpr remat2|checkpoint|remat
""".split()


# scaled_dot (lax.scaled_dot): block scales along the contracting axis, bfloat16 products.
CASES += [
    case("scaled_dot_batched_blocks",
         lambda a, b, sa, sb: lax.scaled_dot(a, b, lhs_scale=sa, rhs_scale=sb, preferred_element_type=jnp.float32),
         [f32(2, 4, 64), f32(2, 64, 3), pos(2, 4, 2, lo=0.5, hi=2.0), pos(2, 2, 3, lo=0.5, hi=2.0)], ["scaled_dot"],
         dict(rtol=1e-5, atol=1e-4)),
    case("scaled_dot_2d_per_element_scales",
         lambda a, b, sa, sb: lax.scaled_dot(a, b, lhs_scale=sa, rhs_scale=sb, preferred_element_type=jnp.float32),
         [f32(5, 32), f32(32, 6), pos(5, 8, lo=0.5, hi=2.0), pos(8, 6, lo=0.5, hi=2.0)], ["scaled_dot"],
         dict(rtol=1e-5, atol=1e-4)),
]
