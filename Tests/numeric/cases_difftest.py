"""Regression cases from the differential tester (Tests/difftest): each is a minimized generated
program that once failed, named for what it exercises."""

from __future__ import annotations

import numpy as np

import jax
import jax.numpy as jnp
from jax import lax

from casekit import EXACT, boolean, case, f32, i32, uniform


def ints(dtype, *shape, lo=-9, hi=9):
    return lambda rng: rng.integers(lo, hi + 1, size=shape).astype(dtype)


def bf16_in(x):
    return lax.convert_element_type(x, jnp.bfloat16)


def f32_out(x):
    return lax.convert_element_type(x, jnp.float32)


CASES = [
    # cumprod along a length-1 axis, read by a cond branch (seed 756 of --seed 1): the u8 round
    # trip through u32 it was, ONNX Runtime folds away and the branch then reads nothing
    case("difftest_cumprod_length_one_read_by_a_branch",
         lambda i, x: lax.switch(i, [lambda a: a, lambda a: a * np.uint8(2)], lax.cumprod(x, axis=0)),
         [lambda rng: np.int32(0), ints(np.uint8, 1, 3, lo=0, hi=9)], ["cumprod", "cond"], EXACT),
    # log(logistic(x)) for x down to -80 (seed 2192 of --seed 1: igamma of a logistic near 0):
    # ONNX Runtime's Sigmoid is 0 below -18 and off by 1 % at -10; the Lax pack's exact_logistic
    # composes exp(-|x|) and keeps the relative precision JAX has
    case("difftest_logistic_exact_for_large_negative", lambda x: jnp.log(lax.logistic(x)),
         [uniform(4, 40, lo=-80.0, hi=30.0)], ["logistic", "log"], pack_options={"Lax.exact_logistic": "true"}),
    # reduce_and/or/xor over a size-0 axis: the identity (all bits set for and, zero otherwise)
    case("difftest_reduce_or_empty_axis_i8", lambda x: lax.reduce(x, np.int8(0), lax.bitwise_or, (0, 1)),
         [ints(np.int8, 0, 3, 2)], ["reduce_or"], EXACT),
    case("difftest_reduce_and_empty_axis_u32", lambda x: lax.reduce(x, np.uint32(0xFFFFFFFF), lax.bitwise_and, (1,)),
         [ints(np.uint32, 4, 0, lo=0, hi=40)], ["reduce_and"], EXACT),
    case("difftest_reduce_and_empty_axis_u64", lambda x: lax.reduce(x, np.uint64(2**64 - 1), lax.bitwise_and, (0,)),
         [ints(np.uint64, 0, 5, lo=0, hi=40)], ["reduce_and"], EXACT, x64=True),
    case("difftest_reduce_xor_empty_axis_i32", lambda x: lax.reduce(x, np.int32(0), lax.bitwise_xor, (0,)),
         [ints(np.int32, 0, 5)], ["reduce_xor"], EXACT),
    # Where has no 16-bit integer, u64 or bf16 kernel in ONNX Runtime's CPU provider
    case("difftest_select_n_i16_int_selector",
         lambda p, a, b, c: lax.select_n(lax.clamp(np.int32(0), p, np.int32(2)), a, b, c),
         [ints(np.int32, 7, 1, lo=-1, hi=3), ints(np.int16, 7, 1), ints(np.int16, 7, 1), ints(np.int16, 7, 1)],
         ["select_n"], EXACT),
    case("difftest_select_n_u16_bool_selector", lambda p, a, b: lax.select_n(p, a, b),
         [boolean(3, 4), ints(np.uint16, 3, 4, lo=0), ints(np.uint16, 3, 4, lo=0)], ["select_n"], EXACT),
    case("difftest_select_n_u64", lambda p, a, b: lax.select_n(p, a, b),
         [boolean(5), ints(np.uint64, 5, lo=0), ints(np.uint64, 5, lo=0)], ["select_n"], EXACT, x64=True),
    case("difftest_select_n_bf16", lambda p, a, b: f32_out(lax.select_n(p, bf16_in(a), bf16_in(b))),
         [boolean(2, 3), f32(2, 3), f32(2, 3)], ["select_n"], EXACT),
    # Pad has no 16-bit integer kernel: lax.pad, scatter's drop mode
    case("difftest_pad_i16_negative_interior",
         lambda x: lax.pad(x, np.int16(7), ((1, -1, 1), (2, 0, 0))), [ints(np.int16, 3, 4)], ["pad"], EXACT),
    case("difftest_pad_u16", lambda x: lax.pad(x, np.uint16(3), ((0, 2, 0),)), [ints(np.uint16, 5, lo=0)], ["pad"], EXACT),
    case("difftest_scatter_drop_u16",
         lambda x, u: jnp.asarray(x).at[np.array([0, 4], dtype=np.int32)].set(u, mode="drop"),
         [ints(np.uint16, 3, 2, lo=0), ints(np.uint16, 2, 2, lo=0)], ["scatter"], EXACT),
    # comparisons have no bf16 kernel (the optimizer used to hide it by folding constants)
    case("difftest_ge_bf16", lambda a, b: lax.ge(bf16_in(a), bf16_in(b)), [f32(4), f32(4)], ["ge"], EXACT),
    case("difftest_ne_bf16", lambda a: lax.ne(bf16_in(a), bf16_in(a[::-1])), [f32(4)], ["ne"], EXACT),
    case("difftest_lt_bf16_in_loop_body",
         lambda x: lax.fori_loop(0, 2, lambda i, c: c + lax.lt(bf16_in(x), np.float32(0.5).astype(jnp.bfloat16)).astype(jnp.int32), jnp.zeros(x.shape, jnp.int32)),
         [f32(3)], ["lt", "scan|while"], EXACT),
    # constant folding wraps integers to their width: a negative shift amount seen through its
    # unsigned view is out of range (JAX: 0), an int32 sum overflows
    case("difftest_fold_shift_left_negative_amount",
         lambda x: x + jax.checkpoint(lambda _: lax.shift_left(jnp.asarray(np.array([2, -9, -19, -2, 0, 7], np.int32)),
                                                               jnp.asarray(np.array([-6, 15, 5, 2, -13, 31], np.int32))))(x),
         [i32(6)], ["shift_left"], EXACT),
    case("difftest_fold_int32_add_wraps",
         lambda x: x + jax.checkpoint(lambda _: lax.add(jnp.asarray(np.array([2**31 - 1, -2**31], np.int32)),
                                                        jnp.asarray(np.array([5, -3], np.int32))))(x),
         [i32(2)], ["add"], EXACT),
    # dot_general on 8/16-bit integers multiplies in 32 bits and wraps back
    case("difftest_dot_general_u8_batch_wraps",
         lambda a, b: lax.dot_general(a, b, (((2,), (1,)), ((0,), (0,)))),
         [ints(np.uint8, 2, 3, 4, lo=0, hi=255), ints(np.uint8, 2, 4, 5, lo=0, hi=255)], ["dot_general"], EXACT),
    case("difftest_dot_general_i16_outer",
         lambda a, b: lax.dot_general(a, b, (((), ()), ((), ()))),
         [ints(np.int16, 3, lo=-300, hi=300), ints(np.int16, 4, lo=-300, hi=300)], ["dot_general"], EXACT),
    case("difftest_dot_general_i8_matmul",
         lambda a, b: a @ b, [ints(np.int8, 4, 6, lo=-128, hi=127), ints(np.int8, 6, 2, lo=-128, hi=127)],
         ["dot_general"], EXACT),
    # cond/scan whose every result forwards an operand: JAX leaves the equation without results
    case("difftest_switch_branches_forward_operand",
         lambda x, i: lax.switch(i, [lambda a, b: b, lambda a, b: b], x, x) + 1.0,
         [f32(2, 3), lambda rng: np.array(1, np.int32)], ["cond"]),
    case("difftest_cond_branches_forward_operand",
         lambda x, p: lax.cond(p, lambda a: a, lambda a: a, x) * 2.0,
         [f32(4), boolean()], ["cond"]),
    case("difftest_scan_forwards_carry",
         lambda x: lax.scan(lambda c, z: (c, None), x, None, length=3)[0] + 1.0,
         [f32(3)], ["scan"]),
    # dynamic_update_slice with an empty update is the operand (used to fail ORT's shape inference)
    case("difftest_dynamic_update_slice_empty_update",
         lambda x, u: lax.dynamic_update_slice(x, u, [1, 1]), [f32(3, 4), f32(0, 2)], ["dynamic_update_slice"]),
    case("difftest_dynamic_update_slice_empty_operand_and_update",
         lambda x, u: lax.dynamic_update_slice(x, u, [-2, -1, 4, 3, 3]),
         [f32(0, 1, 2, 2, 1), f32(0, 0, 1, 0, 0)], ["dynamic_update_slice"]),
    # convolutions over an empty operand: zeros (or an empty result), not an ONNX Runtime error
    case("difftest_conv_zero_input_features",
         lambda x, w: lax.conv_general_dilated(x, w, (1,), ((1, 1),), dimension_numbers=("NCH", "OIH", "NCH")),
         [f32(2, 0, 5), f32(3, 0, 2)], ["conv_general_dilated"]),
    case("difftest_conv_empty_spatial",
         lambda x, w: lax.conv_general_dilated(x, w, (1, 1), ((0, 0), (0, 0)), dimension_numbers=("NHWC", "OIHW", "NCHW")),
         [f32(1, 0, 4, 2), f32(3, 2, 1, 2)], ["conv_general_dilated"]),
    case("difftest_conv_empty_batch",
         lambda x, w: lax.conv_general_dilated(x, w, (2,), ((0, 1),), dimension_numbers=("NCH", "OIH", "NCH")),
         [f32(0, 2, 5), f32(3, 2, 2)], ["conv_general_dilated"]),
    # signed zeros: 1/x tells -0.0 from +0.0. ONNX Runtime's Where turns a -0.0 taken from its
    # X input into +0.0, so these lowerings give the sign by multiplication.
    case("difftest_round_away_keeps_negative_zero",
         lambda x: 1.0 / lax.round(x, lax.RoundingMethod.AWAY_FROM_ZERO),
         [lambda rng: np.array([-0.3, -0.0, 0.2, 0.0, -0.49999997, -1.7, 2.5], np.float32)], ["round"], EXACT),
    case("difftest_atan2_negative_zero",
         lambda y, x: (1.0 / lax.atan2(y, x), lax.atan2(lax.atan2(y, x), -x)),
         [lambda rng: np.array([-0.0, 0.0, -0.0, 0.0], np.float32), lambda rng: np.array([1.0, 2.0, 0.5, 3.0], np.float32)],
         ["atan2"]),
    # igamma/igammac at a = 0 and a = +inf, as JAX computes them (NaN or a limit, by branch)
    case("difftest_igamma_a_zero_and_inf",
         lambda a, x: (lax.igamma(a, x), lax.igammac(a, x)),
         [lambda rng: np.array([0.0, 0.0, 0.0, np.inf, np.inf, np.inf, np.inf, 2.0], np.float32),
          lambda rng: np.array([0.5, 1.0, 2.0, 0.5, 0.0, 3.0, np.inf, 1.0], np.float32)],
         ["igamma", "igammac"], dict(rtol=1e-5, atol=1e-6)),
    # ONNX Runtime's ScatterND reduces no 16-bit float: computed in f32
    case("difftest_scatter_max_min_add_f16",
         lambda x, u: (jnp.asarray(x).at[np.array([1, 3, 1], np.int32)].max(u),
                       jnp.asarray(x).at[np.array([0, 2, 2], np.int32)].min(u),
                       jnp.asarray(x).at[np.array([4, 4, 0], np.int32)].add(u)),
         [lambda rng: rng.normal(size=(5, 2)).astype(np.float16), lambda rng: rng.normal(size=(3, 2)).astype(np.float16)],
         ["scatter-max|scatter_max", "scatter-min|scatter_min", "scatter-add|scatter_add"],
         dict(rtol=2e-3, atol=2e-3)),
    case("difftest_scatter_clip_into_empty_operand",
         lambda x, u: jnp.asarray(x).at[np.array([-1, -2, -2], np.int32)].max(u, mode="clip"),
         [f32(0, 1), f32(3, 1)], ["scatter-max|scatter_max"]),
    # ONNX Runtime's ReduceMax/ReduceMin skip NaN; XLA's propagate it (with --strict-nan)
    case("difftest_reduce_max_min_nan",
         lambda x: (lax.reduce_max(x, (1,)), lax.reduce_min(x, (0,)),
                    lax.reduce(x.astype(jnp.float16), np.float16(0), lax.min, (1,))),
         [lambda rng: np.array([[1, np.nan, 3], [np.nan, 1, 2], [0.5, 2, -1], [1, 2, 3]], np.float32)],
         ["reduce_max", "reduce_min", "reduce_min|reduce"], dict(rtol=1e-3, atol=1e-3), strict_nan=True),
    # max/min over nothing: the identity of the operand's own type
    case("difftest_reduce_max_min_empty_axis_narrow",
         lambda x, b: (lax.reduce_max(x, (0,)), lax.reduce_min(x, (0, 2)), lax.reduce(b, False, lax.max, (0,))),
         [ints(np.int8, 0, 2, 3), lambda rng: np.zeros((0, 4), bool)], ["reduce_max", "reduce_min", "reduce_or|reduce_max|reduce"],
         EXACT),
    # windows over padding: i16 min pads with 32767 (not the i32 identity narrowed to -1)
    case("difftest_reduce_window_min_i16_padding",
         lambda x: lax.reduce_window(x, np.int16(32767), lax.min, (1,), (2,), ((0, 1),), (1,), (2,)),
         [ints(np.int16, 2)], ["reduce_window_min"], EXACT),
    case("difftest_reduce_window_max_i8_empty_output_axis",
         lambda x: lax.reduce_window(x, np.int8(-128), lax.max, (3, 3, 1, 1), (2, 1, 2, 2),
                                     ((0, 0), (0, 1), (0, 1), (1, 0)), (1, 1, 1, 2), (2, 1, 1, 1)),
         [ints(np.int8, 4, 5, 5, 1)], ["reduce_window_max"], EXACT),
    case("difftest_argmax_argmin_u64",
         lambda x: (lax.argmax(x, 1, np.int32), lax.argmin(x, 1, np.int32)),
         [lambda rng: np.array([[0, 2**64 - 1, 2**63, 2**63 - 1, 5], [7, 7, 1, 0, 2**63]], np.uint64)],
         ["argmax", "argmin"], EXACT, x64=True),
    case("difftest_iota_empty", lambda x: x + lax.broadcasted_iota(jnp.uint16, (1, 1, 0), 1),
         [ints(np.uint16, 1, 1, 0, lo=0)], ["iota"], EXACT),
    # ONNX Runtime's ScatterND max/min skip NaN; XLA's propagate it (from the operand or an update)
    case("difftest_scatter_max_min_nan",
         lambda x, u: (jnp.asarray(x).at[np.array([0, 2], np.int32)].max(u), jnp.asarray(x).at[np.array([1, 2], np.int32)].min(u)),
         [lambda rng: np.array([[np.nan, 1.0], [0.5, 2.0], [3.0, -1.0]], np.float32),
          lambda rng: np.array([[0.25, np.nan], [1.5, 0.0]], np.float32)],
         ["scatter-max|scatter_max", "scatter-min|scatter_min"]),
    case("difftest_reduce_or_and_xor_empty_axis_bool",
         lambda b: (lax.reduce(b, False, lax.bitwise_or, (0,)), lax.reduce(b, True, lax.bitwise_and, (0,)),
                    lax.reduce(b, False, lax.bitwise_xor, (0,))),
         [lambda rng: np.zeros((0, 3), bool)], ["reduce_or", "reduce_and", "reduce_xor"], EXACT),
    # dot_general over an empty contraction is zeros; ONNX Runtime's MatMul with K = 0 fails on
    # uint64 (seed 337: inside a scan body, int64 operands, preferred uint64)
    case("difftest_dot_general_empty_contraction_u64",
         lambda a, b: (lax.dot_general(a, b, (((1, 0, 3), (0, 1, 2)), ((), ())), preferred_element_type=jnp.uint64),
                       lax.dot_general(a[:, :, :2, :2].astype(jnp.float32), b[:, :, :2].astype(jnp.float32), (((1,), (0,)), ((), ())))),
         [ints(np.int64, 3, 0, 4, 4), ints(np.int64, 0, 3, 4)], ["dot_general"], EXACT, x64=True),
    # a window wholly in the padding is the init value, -inf; ONNX Runtime's MaxPool starts from the
    # lowest finite value (seed 359)
    case("difftest_reduce_window_max_all_padding",
         lambda x: (lax.reduce_window(x[:, 0], -jnp.inf, lax.max, (1,), (1,), ((1, 0),)),
                    lax.reduce_window(x, jnp.inf, lax.min, (2, 1), (1, 1), ((0, 3), (1, 0)))),
         [lambda rng: rng.normal(size=(3, 2)).astype(np.float32)], ["reduce_window_max", "reduce_window_min"]),
    # a near the type's max: x * log(1 + x) overflowed before the division (seed 503 of --seed 1)
    case("difftest_log1p_at_float_max", lax.log1p,
         [lambda rng: np.array([3.4028235e38, -0.5, 1e38, 2.5e30, 3.0, 1e-7, -1e-30, 0.0], np.float32)], ["log1p"]),
    case("difftest_expm1_near_overflow", lax.expm1,
         [lambda rng: np.array([88.7, 88.0, 85.0, 60.0, 1e-7, -1e-30, -100.0, 0.5], np.float32)], ["expm1"]),
    # zeta's domain rules in JAX's order: s < 1 and s = +inf undefined, q a non-positive integer
    # (-inf too) a pole for a finite even s, s = 1 the pole whatever q (seed 644 of --seed 1)
    case("difftest_zeta_domain_edges", lax.zeta,
         [lambda rng: np.repeat(np.array([-np.inf, -2.0, 0.5, 1.0, 2.0, 3.0, 2.5, np.inf], np.float32), 7),
          lambda rng: np.tile(np.array([-np.inf, -2.0, -2.5, 0.0, 1.0, 2.5, np.nan], np.float32), 8)], ["zeta"]),
    # a dilated window wider than its axis: an empty result, which ONNX Runtime's Conv and
    # MaxPool refuse to compute (seed 1767 of --seed 1)
    case("difftest_reduce_window_wider_than_axis",
         lambda x: (lax.reduce_window(x, np.float32(0), lax.add, (2, 3, 2), (1, 1, 2), ((0, 0), (0, 1), (1, 1)),
                                      (1, 1, 1), (2, 1, 2)),
                    lax.reduce_window(x, -jnp.inf, lax.max, (2, 1, 1), (1, 1, 1), ((0, 0), (0, 0), (0, 0)),
                                      (1, 1, 1), (2, 1, 1))),
         [f32(2, 2, 2)], ["reduce_window_sum", "reduce_window_max"]),
]
