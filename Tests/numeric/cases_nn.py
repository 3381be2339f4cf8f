"""Neural-net cases: convolutions in every layout, pooling windows, cumulative ops, sort and top_k,
boolean/bitwise reductions and reduce_precision. Layouts follow what Flax produces (NHWC/HWIO)
as well as NCHW/OIHW and odd ones; magnitudes stay modest because a convolution sums many terms."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from casekit import EXACT, Case, boolean, case, f32, grid, i32, pos, uniform

TOL_CONV = dict(rtol=1e-5, atol=1e-5)


def conv(dn, strides=(1, 1), padding="SAME", lhs_dil=None, rhs_dil=None, groups=1, batch_groups=1):
    return lambda x, w: lax.conv_general_dilated(
        x, w, strides, padding, lhs_dilation=lhs_dil, rhs_dilation=rhs_dil, dimension_numbers=dn,
        feature_group_count=groups, batch_group_count=batch_groups)


NHWC = ("NHWC", "HWIO", "NHWC")
NCHW = ("NCHW", "OIHW", "NCHW")

CASES: list[Case] = [
    # -- convolution --------------------------------------------------------------------------
    case("conv_nhwc_same_f32", conv(NHWC), [f32(2, 6, 7, 3, lo=0.1, hi=1.0), f32(3, 3, 3, 4, lo=0.1, hi=1.0)],
         ["conv_general_dilated"]),
    case("conv_nchw_valid_stride_f32", conv(NCHW, (2, 1), "VALID"),
         [f32(2, 3, 7, 6, lo=0.1, hi=1.0), f32(4, 3, 3, 2, lo=0.1, hi=1.0)], ["conv_general_dilated"]),
    case("conv_odd_layout_f32", conv(("HNCW", "WIHO", "CWNH"), (1, 2), ((1, 2), (0, 1))),
         [f32(6, 2, 3, 7), f32(2, 3, 3, 5)], ["conv_general_dilated"]),
    case("conv_negative_padding_f32", conv(NHWC, (1, 1), ((-1, 2), (1, -2))),
         [f32(1, 6, 7, 2), f32(2, 3, 2, 3)], ["conv_general_dilated"]),
    case("conv_rhs_dilation_f32", conv(NHWC, (1, 1), "SAME", rhs_dil=(2, 3)),
         [f32(1, 8, 9, 2), f32(3, 2, 2, 3)], ["conv_general_dilated"]),
    case("conv_lhs_dilation_f32", conv(NCHW, (1, 1), ((2, 1), (1, 2)), lhs_dil=(2, 3)),
         [f32(2, 2, 4, 3), f32(3, 2, 3, 3)], ["conv_general_dilated"]),
    case("conv_lhs_dilation_negative_pad_f32", conv(NCHW, (1, 1), ((-1, 0), (1, -2)), lhs_dil=(2, 3)),
         [f32(1, 2, 4, 4), f32(3, 2, 2, 3)], ["conv_general_dilated"]),
    case("conv_lhs_dilation_wide_pad_f32", conv(NHWC, (1, 1), ((3, 2), (0, 4)), lhs_dil=(2, 2)),
         [f32(1, 3, 3, 2), f32(2, 2, 2, 2)], ["conv_general_dilated"]),
    case("conv_lhs_dilation_strided_f32", conv(NHWC, (2, 1), ((1, 0), (3, 1)), lhs_dil=(2, 2)),
         [f32(1, 4, 3, 2), f32(2, 2, 2, 3)], ["conv_general_dilated"]),
    case("conv_lhs_dilation_grouped_f32", conv(NCHW, (1, 1), ((0, 1), (1, 1)), lhs_dil=(3, 2), rhs_dil=(1, 2), groups=2),
         [f32(1, 4, 3, 3), f32(6, 2, 2, 2)], ["conv_general_dilated"]),
    case("flax_conv_transpose_f32", lambda x, k: flax_conv_transpose(x, k, (2, 2), "SAME"),
         [f32(2, 5, 4, 3, lo=0.1, hi=1.0), f32(3, 3, 3, 4, lo=0.1, hi=1.0)], ["conv_general_dilated"]),
    case("flax_conv_transpose_valid_f32", lambda x, k: flax_conv_transpose(x, k, (3, 2), "VALID"),
         [f32(1, 3, 4, 2), f32(2, 3, 2, 3)], ["conv_general_dilated"]),
    case("flax_conv_f32", lambda x, k: flax_conv(x, k, (2, 1), [(1, 2), (0, 1)], (1, 2)),
         [f32(2, 7, 8, 3, lo=0.1, hi=1.0), f32(3, 2, 3, 4, lo=0.1, hi=1.0)], ["conv_general_dilated"]),
    case("conv_f16_preferred_f32", lambda x, w: lax.conv_general_dilated(x, w, (1, 1), "SAME", dimension_numbers=NHWC,
                                                                       preferred_element_type=jnp.float32),
         [lambda rng: rng.uniform(-1, 1, (1, 4, 5, 2)).astype(np.float16), lambda rng: rng.uniform(-1, 1, (2, 2, 2, 3)).astype(np.float16)],
         ["conv_general_dilated"], dict(rtol=1e-3, atol=1e-3)),
    case("nnx_conv_block_f32", lambda x: nnx_block(x), [f32(2, 8, 8, 3, lo=0.1, hi=1.0)],
         ["conv_general_dilated", "reduce_window_max", "reduce_window_sum"]),
    case("conv_f64", conv(NHWC, (1, 2), "SAME", rhs_dil=(2, 1)),
         [lambda rng: rng.normal(size=(2, 5, 6, 2)), lambda rng: rng.normal(size=(3, 2, 2, 3))], ["conv_general_dilated"], x64=True),
    case("conv_grouped_lhs_dilated_f64", conv(NCHW, (1, 1), ((-1, 2), (1, 0)), lhs_dil=(2, 1), groups=2),
         [lambda rng: rng.normal(size=(1, 4, 4, 5)), lambda rng: rng.normal(size=(6, 2, 2, 3))], ["conv_general_dilated"], x64=True),
    case("conv_batch_groups_f64", conv(("NWC", "WIO", "NWC"), (2,), "VALID", batch_groups=3),
         [lambda rng: rng.normal(size=(6, 7, 2)), lambda rng: rng.normal(size=(3, 2, 6))], ["conv_general_dilated"], x64=True),
    case("conv_i32", conv(NHWC, (1, 1), ((1, 0), (0, 1))), [i32(1, 4, 5, 2), i32(2, 2, 2, 3)], ["conv_general_dilated"], EXACT),
    case("conv_i8_wraps", conv(("NCW", "OIW", "NCW"), (1,), "SAME"),
         [lambda rng: rng.integers(-128, 128, (2, 3, 6)).astype(np.int8), lambda rng: rng.integers(-128, 128, (4, 3, 3)).astype(np.int8)],
         ["conv_general_dilated"], EXACT),
    case("conv_depthwise_f32", conv(NHWC, (1, 1), "SAME", groups=4),
         [f32(2, 5, 5, 4), f32(3, 3, 1, 8)], ["conv_general_dilated"]),
    case("conv_grouped_f32", conv(NCHW, (1, 1), "VALID", groups=2),
         [f32(1, 4, 5, 5), f32(6, 2, 2, 2)], ["conv_general_dilated"]),
    case("conv_batch_groups_f32", conv(NCHW, (1, 1), "VALID", batch_groups=2),
         [f32(4, 3, 5, 5), f32(6, 3, 2, 2)], ["conv_general_dilated"]),
    case("conv_1d_f32", conv(("NWC", "WIO", "NWC"), (2,), "SAME"), [f32(2, 9, 3), f32(3, 3, 4)],
         ["conv_general_dilated"]),
    case("conv_3d_f32", conv(("NDHWC", "DHWIO", "NDHWC"), (1, 2, 1), "SAME"),
         [f32(1, 4, 5, 4, 2), f32(2, 3, 2, 2, 3)], ["conv_general_dilated"]),
    case("conv_transpose_f32", lambda x, w: lax.conv_transpose(x, w, (2, 2), "SAME", dimension_numbers=NHWC),
         [f32(1, 4, 5, 3), f32(3, 3, 3, 2)], ["conv_general_dilated"]),
]


def window(op, init, dims, strides=None, padding="VALID", base=None, wdil=None):
    return lambda x: lax.reduce_window(x, init, op, dims, strides or (1,) * len(dims), padding,
                                       base_dilation=base, window_dilation=wdil)


def ties(*shape, lo=-3, hi=3):
    """Small integers as floats: many ties for sort stability."""
    return lambda rng: rng.integers(lo, hi + 1, size=shape).astype(np.float32)


def with_nans(*shape):
    def gen(rng):
        v = rng.uniform(-3, 3, size=shape).astype(np.float32)
        v[rng.random(shape) < 0.2] = np.nan
        v[rng.random(shape) < 0.1] = np.inf
        v[rng.random(shape) < 0.1] = -np.inf
        return v
    return gen


def cumprod_gen(*shape):
    """Magnitudes near 1, with negatives and zeros, so long products stay in range."""
    def gen(rng):
        v = rng.uniform(0.5, 1.6, size=shape) * rng.choice([-1.0, 1.0], size=shape)
        v[rng.random(shape) < 0.1] = 0.0
        return v.astype(np.float32)
    return gen


def bf16_boundaries(*shape):
    """Values whose low mantissa bits sit exactly on and around bfloat16/float16 rounding ties."""
    def gen(rng):
        base = rng.uniform(-4, 4, size=shape).astype(np.float32)
        bits = base.view(np.uint32) & np.uint32(0xFFFF0000)
        low = rng.choice(np.array([0x8000, 0x7FFF, 0x8001, 0x18000, 0x1000, 0xF000], dtype=np.uint32), size=shape)
        return (bits | (low & np.uint32(0xFFFF))).view(np.float32)
    return gen


def rp_values(*shape):
    """Magnitudes from f32 subnormals to near overflow, exact rounding ties, and the specials."""
    def gen(rng):
        v = rng.choice([-1, 1], shape) * 2.0 ** rng.uniform(-140, 127, shape)
        ties = rng.choice([-1, 1], shape) * (1 + rng.integers(0, 64, shape) / 64 + 1 / 128) * 2.0 ** rng.integers(-20, 20, shape)
        v = np.where(rng.random(shape) < 0.4, ties, v).astype(np.float32)
        flat = v.reshape(-1)
        flat[:4] = [np.nan, np.inf, -np.inf, -0.0]
        return v
    return gen


MAX, MIN, ADD = lax.max, lax.min, lax.add
NINF, PINF = -np.inf, np.inf

CASES += [
    # -- reduce_window: pools the way Flax writes them, and windows ONNX pools cannot take ---
    case("max_pool_nhwc_f32", lambda x: flax_pool("max", x, (2, 2), (2, 2), "VALID"), [f32(2, 6, 7, 3)],
         ["reduce_window_max"]),
    case("max_pool_same_f32", lambda x: flax_pool("max", x, (3, 3), (2, 1), "SAME"), [f32(1, 7, 6, 2)],
         ["reduce_window_max"]),
    case("avg_pool_nhwc_f32", lambda x: flax_pool("avg", x, (3, 2), (1, 2), "SAME"), [f32(2, 5, 6, 3)],
         ["reduce_window_sum"]),
    case("min_pool_f32", window(MIN, PINF, (1, 3, 2, 1), (1, 2, 1, 1), ((0, 0), (1, 2), (0, 1), (0, 0))),
         [f32(2, 7, 5, 3)], ["reduce_window_min"]),
    case("reduce_window_max_batch_channel_axes_f32", window(MAX, NINF, (2, 1, 3), (1, 1, 2), ((1, 0), (0, 0), (1, 1))),
         [f32(4, 3, 7)], ["reduce_window_max"]),
    case("reduce_window_sum_dilated_window_f32", window(ADD, 0.0, (1, 2, 3), (1, 2, 1), ((0, 0), (2, 1), (1, 3)), wdil=(1, 2, 2)),
         [f32(2, 8, 7)], ["reduce_window_sum"]),
    case("reduce_window_max_large_pad_f32", window(MAX, NINF, (2, 2), (1, 1), ((3, 2), (0, 2))), [f32(4, 5)],
         ["reduce_window_max"]),
    case("reduce_window_max_negative_pad_f32", window(MAX, NINF, (2, 3), (1, 2), ((-1, 1), (2, -2))), [f32(6, 7)],
         ["reduce_window_max"]),
    case("reduce_window_sum_base_dilation_f32", window(ADD, 0.0, (2, 3), (1, 2), ((1, 0), (2, 1)), base=(2, 3)),
         [f32(4, 3)], ["reduce_window_sum"]),
    case("reduce_window_max_base_dilation_f32", window(MAX, NINF, (3, 2), (2, 1), ((0, 1), (1, 1)), base=(2, 2), wdil=(1, 2)),
         [f32(4, 5)], ["reduce_window_max"]),
    case("reduce_window_max_4d_window_f32", window(MAX, NINF, (2, 2, 2, 2), (1, 1, 1, 2)), [f32(3, 3, 4, 5)],
         ["reduce_window_max"]),
    case("reduce_window_sum_f64", window(ADD, 0.0, (2, 3), (1, 2), ((1, 0), (1, 1))), [lambda rng: rng.normal(size=(4, 7))],
         ["reduce_window_sum"], x64=True),
    case("min_pool_f64", window(MIN, np.inf, (2, 2), (1, 2), ((1, 1), (0, 1))), [lambda rng: rng.normal(size=(4, 7))],
         ["reduce_window_min"], EXACT, x64=True),
    case("max_pool_f16", window(MAX, -np.inf, (1, 2, 2, 1), (1, 2, 2, 1)), [lambda rng: rng.normal(size=(1, 4, 6, 2)).astype(np.float16)],
         ["reduce_window_max"], EXACT),
    case("reduce_window_max_three_passive_axes_f32", window(MAX, NINF, (1, 3, 1, 2, 1), (1, 2, 1, 1, 1), "SAME"),
         [f32(2, 7, 3, 5, 2)], ["reduce_window_max"]),
    case("reduce_window_sum_three_passive_axes_f32", window(ADD, 0.0, (1, 1, 2, 2, 1), (1, 1, 1, 2, 1), ((0, 0), (0, 0), (1, 0), (0, 1), (0, 0))),
         [f32(2, 3, 4, 5, 3)], ["reduce_window_sum"]),
    case("max_pool_dilated_window_f32", window(MAX, NINF, (1, 2, 2, 1), (1, 1, 2, 1), ((0, 0), (1, 1), (2, 1), (0, 0)), wdil=(1, 2, 3, 1)),
         [f32(2, 6, 8, 3)], ["reduce_window_max"]),
    case("reduce_window_min_1d_f32", window(MIN, PINF, (3,), (2,), ((2, 2),)), [f32(9)], ["reduce_window_min"]),
    *[case(f"reduce_window_{name}_{np.dtype(dt).name}", window(op, init(dt), (2, 2), (1, 2), ((1, 0), (0, 1))),
           [lambda rng, dt=dt: rng.integers(0 if np.dtype(dt).kind == "u" else -100, 100, size=(5, 6)).astype(dt)],
           [f"reduce_window_{name}"], EXACT, x64=np.dtype(dt).itemsize == 8)
      for dt in [np.uint8, np.int8, np.int16, np.uint16, np.uint32, np.int64, np.uint64]
      for name, op, init in [("sum", ADD, lambda d: d(0)), ("max", MAX, lambda d: d(np.iinfo(d).min)), ("min", MIN, lambda d: d(np.iinfo(d).max))]],
    *[case(f"cum_{name}_{np.dtype(dt).name}", lambda x, fn=fn: fn(x, axis=1),
           [lambda rng, dt=dt: rng.integers(0 if np.dtype(dt).kind == "u" else -5, 6, size=(3, 7)).astype(dt)],
           [name], EXACT, x64=np.dtype(dt).itemsize == 8)
      for dt in [np.uint8, np.int16, np.uint32, np.uint64, np.int64]
      for name, fn in [("cumsum", lax.cumsum), ("cumprod", lax.cumprod), ("cummax", lax.cummax), ("cummin", lax.cummin)]],
    case("max_pool_nan_f32", lambda x: flax_pool("max", x, (2, 2), (1, 1), "SAME"), [with_nans(1, 5, 6, 2)], ["reduce_window_max"], strict_nan=True),
    case("min_pool_nan_f32", window(MIN, PINF, (2, 3), (1, 2), ((1, 0), (1, 1))), [with_nans(5, 7)], ["reduce_window_min"], strict_nan=True),
    # NaN anywhere in a window, not only in its first position (where ONNX Runtime's MaxPool and
    # ReduceMax keep it): windows that tile their axes, padding, cropped partial windows, f16/f64.
    # These convert with the NN pack's strict_nan option; by default the pack emits MaxPool alone.
    case("max_pool_tiled_nan_f32", lambda x: flax_pool("max", x, (2, 2), (2, 2), "VALID"), [with_nans(2, 6, 7, 3)],
         ["reduce_window_max"], EXACT, strict_nan=True),
    # Without -inf: a padded edge window whose real elements are all -inf comes out of ONNX
    # Runtime's MaxPool as -FLT_MAX, not -inf (an open bug of the pool route).
    case("max_pool_tiled_same_nan_f32", lambda x: flax_pool("max", x, (2, 2), (2, 2), "SAME"),
         [lambda rng: np.maximum(with_nans(1, 5, 7, 2)(rng), np.float32(-3))], ["reduce_window_max"], EXACT, strict_nan=True),
    case("min_pool_tiled_nan_f32", window(MIN, PINF, (3, 2), (3, 2), ((1, 1), (0, 1))), [with_nans(7, 5)],
         ["reduce_window_min"], EXACT, strict_nan=True),
    case("max_pool_tiled_negative_pad_nan_f32", window(MAX, NINF, (2, 3), (2, 3), ((-1, 1), (0, -2))), [with_nans(7, 9)],
         ["reduce_window_max"], EXACT, strict_nan=True),
    case("max_pool_tiled_3d_nan_f32", window(MAX, NINF, (1, 2, 2, 2), (1, 2, 2, 2)), [with_nans(2, 4, 5, 4)],
         ["reduce_window_max"], EXACT, strict_nan=True),
    case("max_pool_tiled_nan_f16", window(MAX, -np.inf, (1, 2, 2, 1), (1, 2, 2, 1)),
         [lambda rng: with_nans(2, 4, 6, 3)(rng).astype(np.float16)], ["reduce_window_max"], EXACT, strict_nan=True),
    case("min_pool_tiled_nan_f64", window(MIN, np.inf, (2, 2), (2, 2), ((0, 1), (1, 0))),
         [lambda rng: with_nans(5, 6)(rng).astype(np.float64)], ["reduce_window_min"], EXACT, x64=True, strict_nan=True),
    case("reduce_window_max_nan_slices_f32", window(MAX, NINF, (2, 2), (1, 1), "VALID", base=(2, 1)), [with_nans(4, 5)],
         ["reduce_window_max"]),
    case("cummax_nan_f32", lambda x: lax.cummax(x, axis=1), [with_nans(3, 9)], ["cummax"]),
    case("cumlogsumexp_nan_f32", lambda x: lax.cumlogsumexp(x, axis=0, reverse=True), [with_nans(9, 3)], ["cumlogsumexp"]),
    case("reduce_window_max_bool", window(MAX, False, (2, 2), (1, 2), ((1, 1), (0, 1))), [lambda rng: rng.random((5, 6)) < 0.2],
         ["reduce_window_max"], EXACT),
    case("reduce_window_min_bool_padded", window(MIN, True, (3, 1), (1, 1), ((3, 0), (0, 0))), [lambda rng: rng.random((5, 4)) < 0.8],
         ["reduce_window_min"], EXACT),
    case("reduce_window_or_bool", window(lax.bitwise_or, False, (2, 3), (1, 1), "SAME"), [lambda rng: rng.random((4, 6)) < 0.15],
         ["reduce_window"], EXACT),
    case("reduce_window_and_init_bool", window(lax.bitwise_and, False, (2, 2), (1, 1), "VALID"), [lambda rng: rng.random((4, 6)) < 0.8],
         ["reduce_window"], EXACT),
    case("reduce_window_max_i32", window(MAX, np.int32(np.iinfo(np.int32).min), (1, 2, 2), (1, 1, 2), ((0, 0), (1, 1), (1, 0))),
         [i32(2, 5, 6)], ["reduce_window_max"], EXACT),
    case("reduce_window_min_i32", window(MIN, np.int32(np.iinfo(np.int32).max), (2, 2), (2, 1), ((1, 1), (0, 1))),
         [i32(5, 4)], ["reduce_window_min"], EXACT),
    case("reduce_window_sum_i32", window(ADD, np.int32(0), (3, 1), (1, 1), ((1, 1), (0, 0))), [i32(5, 4)],
         ["reduce_window_sum"], EXACT),
    case("flax_max_pool_nnx_f32", lambda x: flax_pool("max", x, (2, 3), (1, 2), ((1, 0), (1, 1))), [f32(1, 5, 7, 4)],
         ["reduce_window_max"]),
    # generic reduce_window: an init that is not the identity, or a body JAX does not recognise
    case("reduce_window_generic_max_init_f32", window(MAX, 0.5, (1, 2, 3), (1, 1, 2), ((0, 0), (1, 1), (2, 0))),
         [f32(2, 5, 6)], ["reduce_window"]),
    case("reduce_window_generic_add_init_f32", window(ADD, 1.5, (2, 2), (1, 2), ((1, 0), (0, 1)), base=(1, 2)),
         [f32(4, 5)], ["reduce_window"]),
    case("reduce_window_generic_mul_f32", window(lambda a, b: b * a, 1.0, (2, 2), (1, 1), ((0, 1), (1, 0))),
         [cumprod_gen(4, 5)], ["reduce_window"]),
    case("reduce_window_generic_min_i32", window(MIN, np.int32(2), (3,), (2,), ((1, 1),)), [i32(9)],
         ["reduce_window"], EXACT),
    case("reduce_window_traced_init_f32", lambda x, i: lax.reduce_window(x, i, lax.max, (2, 2), (1, 1), "SAME"),
         [f32(4, 5), f32()], ["reduce_window"]),
    # -- cumulative --------------------------------------------------------------------------
    case("cumsum_f32", lambda x: jnp.cumsum(x, axis=1), [f32(3, 6)], ["cumsum"]),
    case("cumsum_reverse_i32", lambda x: lax.cumsum(x, axis=0, reverse=True), [i32(5, 3)], ["cumsum"], EXACT),
    case("cumsum_f64", lambda x: jnp.cumsum(x, axis=0), [lambda rng: rng.normal(size=(9, 2))], ["cumsum"], x64=True),
    case("cummax_i64", lambda x: lax.cummax(x, axis=1), [lambda rng: rng.integers(-2**40, 2**40, size=(2, 9))], ["cummax"], EXACT, x64=True),
    case("cummax_u8", lambda x: lax.cummax(x, axis=1), [lambda rng: rng.integers(0, 256, size=(3, 7)).astype(np.uint8)],
         ["cummax"], EXACT),
    case("cumsum_i8_wraps", lambda x: lax.cumsum(x, axis=1), [lambda rng: rng.integers(-128, 128, size=(3, 9)).astype(np.int8)],
         ["cumsum"], EXACT),
    case("cumprod_u32_wraps", lambda x: lax.cumprod(x, axis=0), [lambda rng: rng.integers(1, 5000, size=(6, 3)).astype(np.uint32)],
         ["cumprod"], EXACT),
    case("cumprod_f32", lambda x: jnp.cumprod(x, axis=1), [cumprod_gen(3, 11)], ["cumprod"]),
    case("cumprod_reverse_f32", lambda x: lax.cumprod(x, axis=0, reverse=True), [cumprod_gen(9, 3)], ["cumprod"]),
    case("cumprod_i32", lambda x: lax.cumprod(x, axis=1), [i32(3, 7, lo=-3, hi=3, nonzero=False)], ["cumprod"], EXACT),
    case("cummax_f32", lambda x: lax.cummax(x, axis=1), [f32(4, 13)], ["cummax"]),
    case("cummax_reverse_i32", lambda x: lax.cummax(x, axis=0, reverse=True), [i32(7, 3)], ["cummax"], EXACT),
    case("cummin_f32", lambda x: lax.cummin(x, axis=0), [f32(6, 3)], ["cummin"]),
    case("cummin_reverse_f32", lambda x: lax.cummin(x, axis=2, reverse=True), [f32(2, 3, 9)], ["cummin"]),
    case("cumlogsumexp_f32", lambda x: lax.cumlogsumexp(x, axis=1), [uniform(3, 10, lo=-30.0, hi=30.0)], ["cumlogsumexp"]),
    case("cumlogsumexp_reverse_f32", lambda x: lax.cumlogsumexp(x, axis=0, reverse=True), [f32(7, 3)], ["cumlogsumexp"]),
    case("logcumsumexp_inf_f32", lambda x: lax.cumlogsumexp(x, axis=1),
         [lambda rng: np.array([[-np.inf, -np.inf, 1.0, -np.inf, 2.0], [-3.0, np.inf, 0.5, -np.inf, 1.0]], np.float32)],
         ["cumlogsumexp"]),
    # -- sort and top_k ----------------------------------------------------------------------
    case("sort_f32", lambda x: jnp.sort(x, axis=1), [f32(4, 7)], ["sort"]),
    case("sort_nan_inf_f64", lambda x: jnp.sort(x, axis=0), [lambda rng: with_nans(9, 2)(rng).astype(np.float64)], ["sort"],
         x64=True),
    case("argsort_signed_zero_nan", lambda x: jnp.argsort(x, axis=1),
         [lambda rng: np.array([[0.0, -0.0, np.nan, 1.0, -np.nan, np.inf, -0.0, -np.inf, 0.0]], np.float32)], ["sort"], EXACT),
    case("sort_axis0_i32", lambda x: jnp.sort(x, axis=0), [i32(6, 3)], ["sort"], EXACT),
    case("sort_nan_inf_f32", lambda x: jnp.sort(x, axis=-1), [with_nans(3, 12)], ["sort"]),
    case("argsort_stable_ties", lambda x: jnp.argsort(x, axis=1, stable=True), [ties(4, 9)], ["sort"], EXACT),
    case("argsort_nan", lambda x: jnp.argsort(x, axis=0), [with_nans(10, 3)], ["sort"], EXACT),
    case("sort_multi_operand_two_keys", lambda a, b, c: lax.sort((a, b, c), dimension=1, num_keys=2),
         [ties(3, 10, lo=-1, hi=1), i32(3, 10, lo=-2, hi=2), f32(3, 10)], ["sort"]),
    case("sort_key_value_i32", lambda k, v: lax.sort_key_val(k, v, dimension=0), [i32(6, 2, lo=-2, hi=2), f32(6, 2)],
         ["sort"]),
    case("sort_u64_high_bit", lambda k, v: lax.sort((k, v), dimension=1, num_keys=1),
         [lambda rng: rng.integers(0, 2**64, size=(3, 8), dtype=np.uint64, endpoint=False), i32(3, 8)], ["sort"], EXACT,
         x64=True),
    case("top_k_u64_high_bit", lambda x: lax.top_k(x, 3),
         [lambda rng: rng.integers(0, 2**64, size=(3, 8), dtype=np.uint64, endpoint=False)], ["top_k"], EXACT, x64=True),
    case("top_k_f32", lambda x: lax.top_k(x, 3), [f32(3, 8)], ["top_k"]),
    case("top_k_ties_i32", lambda x: lax.top_k(x, 4), [i32(2, 9, lo=-2, hi=2)], ["top_k"], EXACT),
    case("top_k_nan_f32", lambda x: lax.top_k(x, 4), [lambda rng: np.where(rng.random((3, 9)) < 0.2, np.nan,
                                                        rng.uniform(-3, 3, (3, 9))).astype(np.float32)], ["top_k"]),
    case("top_k_nan_inf_f32", lambda x: lax.top_k(x, 5), [with_nans(4, 12)], ["top_k"]),
    case("top_k_axis0_f32", lambda x: lax.top_k(x, 2, axis=0), [ties(5, 4)], ["top_k"]),
    # -- logical reductions ------------------------------------------------------------------
    case("reduce_and_bool", lambda x: jnp.all(x, axis=1), [boolean(3, 7)], ["reduce_and"], EXACT),
    case("reduce_or_bool", lambda x: jnp.any(x, axis=(0, 2)), [boolean(3, 4, 5)], ["reduce_or"], EXACT),
    case("reduce_xor_bool", lambda x: lax.reduce_xor(x, (0,)), [boolean(5, 3)], ["reduce_xor"], EXACT),
    case("reduce_and_bool_all_axes", lambda x: jnp.all(x), [lambda rng: rng.random((4, 5)) < 0.97], ["reduce_and"], EXACT),
    case("reduce_or_bool_sparse", lambda x: jnp.any(x, axis=1), [lambda rng: rng.random((6, 5)) < 0.1], ["reduce_or"], EXACT),
    case("reduce_and_u8", lambda x: lax.reduce_and(x, (0,)), [lambda rng: rng.integers(0, 256, (5, 3)).astype(np.uint8)],
         ["reduce_and"], EXACT),
    case("reduce_xor_i64", lambda x: lax.reduce_xor(x, (0, 1)), [lambda rng: rng.integers(-2**62, 2**62, (3, 5))],
         ["reduce_xor"], EXACT, x64=True),
    case("reduce_and_i32", lambda x: lax.reduce_and(x, (1,)), [i32(3, 6, lo=-100, hi=100)], ["reduce_and"], EXACT),
    case("reduce_or_i32", lambda x: lax.reduce_or(x, (0, 1)), [i32(3, 5, 2, lo=-100, hi=100)], ["reduce_or"], EXACT),
    case("reduce_xor_i32", lambda x: lax.reduce_xor(x, (2,)), [i32(2, 3, 7, lo=-100, hi=100)], ["reduce_xor"], EXACT),
    # Below opset 18 these go through bit planes, 64-bit values as two 32-bit halves: full ranges.
    case("reduce_and_or_xor_u64", lambda x: (lax.reduce_and(x, (1,)), lax.reduce_or(x, (0,)), lax.reduce_xor(x, (0, 1))),
         [lambda rng: rng.integers(0, 2**64, size=(4, 3), dtype=np.uint64, endpoint=False) | np.uint64(2**63 + 5)],
         ["reduce_and", "reduce_or", "reduce_xor"], EXACT, x64=True),
    case("reduce_and_or_xor_i16", lambda x: (lax.reduce_and(x, (0,)), lax.reduce_or(x, (1,)), lax.reduce_xor(x, (1,))),
         [lambda rng: rng.integers(-2**15, 2**15, size=(5, 6)).astype(np.int16)],
         ["reduce_and", "reduce_or", "reduce_xor"], EXACT),
    # -- argmax / argmin: index types and NaN (JAX returns the first NaN's index) -------------
    case("argmax_nan_f32", lambda x: jnp.argmax(x, axis=1), [with_nans(5, 8)], ["argmax"], EXACT),
    case("argmin_nan_f32", lambda x: jnp.argmin(x, axis=0), [with_nans(8, 5)], ["argmin"], EXACT),
    case("argmax_index_i64", lambda x: lax.argmax(x, 1, jnp.int64), [f32(4, 6)], ["argmax"], EXACT, x64=True),
    case("argmin_index_i32_u8", lambda x: lax.argmin(x, 0, jnp.int32),
         [lambda rng: rng.integers(0, 255, size=(6, 4)).astype(np.uint8)], ["argmin"], EXACT),
    case("argmax_bool", lambda x: jnp.argmax(x, axis=1), [boolean(4, 6)], ["argmax"], EXACT),
    # -- reduce_precision --------------------------------------------------------------------
    case("reduce_precision_bf16_f32", lambda x: lax.reduce_precision(x, 8, 7), [bf16_boundaries(4, 8)],
         ["reduce_precision"], EXACT),
    case("reduce_precision_f16_range_f32", lambda x: lax.reduce_precision(x, 5, 10),
         [lambda rng: (rng.choice([-1, 1], (6, 8)) * 10.0 ** rng.uniform(-9, 5.5, (6, 8))).astype(np.float32)],
         ["reduce_precision"], EXACT),
    case("reduce_precision_bf16_of_f16", lambda x: lax.reduce_precision(x, 8, 7),
         [lambda rng: rng.normal(size=(4, 5)).astype(np.float16)], ["reduce_precision"], EXACT),
    *[case(f"reduce_precision_e{e}m{m}_f32", lambda x, e=e, m=m: lax.reduce_precision(x, e, m), [gen(6, 16)],
           ["reduce_precision"], EXACT)
      for e, m in [(4, 3), (5, 2), (3, 1), (8, 10), (11, 4), (6, 0), (8, 22)]
      for gen in [rp_values]],
    case("reduce_precision_e4m3_f16", lambda x: lax.reduce_precision(x, 4, 3),
         [lambda rng: rp_values(5, 9)(rng).astype(np.float16)], ["reduce_precision"], EXACT),
    case("reduce_precision_e5m4_f64", lambda x: lax.reduce_precision(x, 5, 4),
         [lambda rng: rp_values(5, 9)(rng).astype(np.float64) * (1 + 1e-12)], ["reduce_precision"], EXACT, x64=True),
    case("reduce_precision_f16_f32", lambda x: lax.reduce_precision(x, 5, 10), [bf16_boundaries(4, 8)],
         ["reduce_precision"], EXACT),
]


_NNX_BLOCK = None


def _make_nnx_block():
    from flax import nnx
    rngs = nnx.Rngs(0)
    return (nnx.Conv(3, 4, kernel_size=(3, 3), rngs=rngs),
            nnx.ConvTranspose(4, 2, kernel_size=(2, 2), strides=(2, 2), rngs=rngs))


def nnx_block(x):
    """A small flax.nnx model: conv, max pool, transposed conv, average pool (weights become constants)."""
    global _NNX_BLOCK
    from flax import nnx
    if _NNX_BLOCK is None:
        # Initialised eagerly even when first called under a trace, so weights are constants.
        with jax.ensure_compile_time_eval():
            _NNX_BLOCK = _make_nnx_block()
    conv, up = _NNX_BLOCK

    y = nnx.relu(conv(x))
    y = nnx.max_pool(y, (2, 2), strides=(2, 2))
    y = up(y)
    return nnx.avg_pool(y, (3, 3), strides=(1, 1), padding="SAME")


def flax_conv_transpose(x, kernel, strides, padding):
    import flax.linen as nn
    layer = nn.ConvTranspose(kernel.shape[-1], kernel.shape[:-2], strides=strides, padding=padding, use_bias=False)
    return layer.apply({"params": {"kernel": kernel}}, x)


def flax_conv(x, kernel, strides, padding, dilation):
    import flax.linen as nn
    layer = nn.Conv(kernel.shape[-1], kernel.shape[:-2], strides=strides, padding=padding, kernel_dilation=dilation,
                    use_bias=False)
    return layer.apply({"params": {"kernel": kernel}}, x)


def flax_pool(kind, x, window, strides, padding):
    import flax.linen as nn
    return (nn.max_pool if kind == "max" else nn.avg_pool)(x, window, strides=strides, padding=padding)


REQUIRED = """
conv_general_dilated reduce_window_max reduce_window_min reduce_window_sum cumsum cumprod cummax cummin
cumlogsumexp reduce_window sort top_k reduce_and reduce_or reduce_xor reduce_precision
""".split()
