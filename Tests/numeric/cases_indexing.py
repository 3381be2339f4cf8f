"""Indexing cases: dynamic slicing with XLA's start clamping, gather and scatter in every mode with
general dimension numbers, and what jnp indexing, take, take_along_axis, .at[] and one_hot trace to.
Index inputs are random data (negative and out-of-range values included), not constants."""

from __future__ import annotations

import numpy as np

import jax
import jax.numpy as jnp
from jax import lax

from casekit import EXACT, Case, case, f32, i32


def idx(*shape, lo=-8, hi=8):
    """Indices of both signs, many out of range for the small operands used here."""
    return i32(*shape, lo=lo, hi=hi, nonzero=False)


def unique_idx(n, lo, hi):
    """Distinct indices (plain scatter with duplicates is unspecified), in or out of range."""
    return lambda rng: rng.permutation(np.arange(lo, hi + 1))[:n].astype(np.int32)


def wide_ints(t, *shape):
    """Integers over t's whole range (u64 past 2**63 too), so sums and products wrap."""
    info = np.iinfo(t)
    return lambda rng: rng.integers(info.min, info.max, size=shape, dtype=t, endpoint=True)


def _gdn(**kw):
    return lax.GatherDimensionNumbers(**kw)


def _sdn(**kw):
    return lax.ScatterDimensionNumbers(**kw)


def batched_gather(x, i):
    # operand batching dim 0 with indices batching dim 0: per-row pick of a 2-wide window
    dn = _gdn(offset_dims=(1,), collapsed_slice_dims=(), start_index_map=(1,),
              operand_batching_dims=(0,), start_indices_batching_dims=(0,))
    return lax.gather(x, i[:, None], dn, slice_sizes=(1, 2), mode="clip")


def batched_scatter_add(x, i, u):
    dn = _sdn(update_window_dims=(), inserted_window_dims=(1,), scatter_dims_to_operand_dims=(1,),
              operand_batching_dims=(0,), scatter_indices_batching_dims=(0,))
    return lax.scatter_add(x, i[:, :, None], u, dn, mode="fill")


def window_gather(x, i):
    # 2-D start vectors, 2x3 windows, collapsed nothing: offset dims at 1 and 2
    dn = _gdn(offset_dims=(1, 2), collapsed_slice_dims=(), start_index_map=(0, 1))
    return lax.gather(x, i, dn, slice_sizes=(2, 3), mode="fill", fill_value=-7.0)


J = jnp.asarray  # so indexing is JAX's, not numpy's, when the reference runs eagerly

def window_scatter(x, i, u):
    # 2x3 update windows at 2-D starts; windows that do not fit whole are dropped
    dn = _sdn(update_window_dims=(1, 2), inserted_window_dims=(), scatter_dims_to_operand_dims=(0, 1))
    return lax.scatter(x, i, u, dn, mode="fill")


def i64(*shape, lo=-9, hi=9):
    return lambda rng: rng.integers(lo, hi + 1, size=shape).astype(np.int64)


def bools(*shape):
    return lambda rng: rng.integers(0, 2, size=shape).astype(bool)


MODES = ["clip", "fill", "promise_in_bounds"]

CASES: list[Case] = [
    # -- dynamic slicing: starts clamped into [0, dim - size], negative starts too ----------------
    case("dynamic_slice_f32", lambda x, i: lax.dynamic_slice(x, (i[0], i[1]), (3, 2)),
         [f32(5, 4), idx(2, lo=-9, hi=9)], ["dynamic_slice"]),
    case("dynamic_slice_i32", lambda x, i: lax.dynamic_slice(x, (i[0], i[1], i[2]), (2, 1, 3)),
         [i32(4, 3, 5), idx(3, lo=-9, hi=9)], ["dynamic_slice"], EXACT),
    case("dynamic_update_slice_f32", lambda x, u, i: lax.dynamic_update_slice(x, u, (i[0], i[1])),
         [f32(5, 4), f32(2, 3), idx(2, lo=-9, hi=9)], ["dynamic_update_slice"]),
    case("dynamic_update_slice_i32", lambda x, u, i: lax.dynamic_update_slice(x, u, (i[0], i[1])),
         [i32(5, 4), i32(3, 4), idx(2, lo=-9, hi=9)], ["dynamic_update_slice"], EXACT),
    # -- jnp indexing and take (negative indices are normalized by jnp, then clamped or filled) --
    case("index_rows_f32", lambda x, i: J(x)[i], [f32(5, 4), idx(6)], ["gather"]),
    case("index_cols_i32", lambda x, i: J(x)[:, i], [i32(4, 5), idx(2, 3)], ["gather"], EXACT),
    case("index_2d_f32", lambda x, i, j: J(x)[i, j], [f32(5, 4), idx(6), idx(6)], ["gather"]),
    case("index_middle_f32", lambda x, i: J(x)[1:, i, :], [f32(3, 5, 2), idx(4)], ["gather"]),
    case("take_f32", lambda x, i: jnp.take(x, i, axis=1), [f32(3, 5), idx(2, 4)], ["gather"]),
    case("take_along_axis_f32", lambda x, i: jnp.take_along_axis(x, i, axis=1),
         [f32(3, 5), idx(3, 4)], ["gather"]),
    case("take_along_axis_i32", lambda x, i: jnp.take_along_axis(x, i, axis=0),
         [i32(4, 3), idx(2, 3)], ["gather"], EXACT),
    case("batched_gather_f32", batched_gather, [f32(4, 5), idx(4)], ["gather"]),
    case("window_gather_fill_f32", window_gather, [f32(5, 6), idx(3, 2)], ["gather"]),
    case("one_hot_f32", lambda i: jax.nn.one_hot(i, 5), [idx(7, lo=-3, hi=7)], ["eq"]),
    *[case(f"get_{m}_f32", lambda x, i, m=m: J(x).at[i].get(mode=m), [f32(5, 3), idx(6)], ["gather"])
      for m in MODES],
    *[case(f"get_{m}_i32", lambda x, i, m=m: J(x).at[:, i].get(mode=m, fill_value=-3), [i32(3, 5), idx(6)],
           ["gather"], EXACT) for m in ["clip", "fill"]],
    case("get_fill_default_f32", lambda x, i: J(x).at[i].get(mode="fill"), [f32(5, 3), idx(6)], ["gather"]),
    case("index_scalar_dynamic_f32", lambda x, i: J(x)[i[0], 1:3], [f32(5, 4), idx(1)],
         ["dynamic_slice"]),
    case("gather_x64_i64", lambda x, i: J(x)[i], [i64(5, 3), i64(6, lo=-8, hi=8)], ["gather"], EXACT, x64=True),
    case("gather_bool", lambda x, i: J(x).at[i].get(mode="fill", fill_value=False), [bools(5, 3), idx(6)],
         ["gather"], EXACT),
    case("window_scatter_fill_f32", window_scatter, [f32(5, 6), idx(1, 2, lo=-2, hi=4), f32(1, 2, 3)], ["scatter"]),
    case("at_set_fill_bool", lambda x, i, u: J(x).at[i].set(u), [bools(6, 3), unique_idx(4, -8, 8), bools(4, 3)],
         ["scatter"], EXACT),
    case("dynamic_update_slice_bool", lambda x, u, i: lax.dynamic_update_slice(x, u, (i[0], i[1])),
         [bools(5, 4), bools(2, 3), idx(2, lo=-9, hi=9)], ["dynamic_update_slice"], EXACT),
    case("at_add_x64_f64", lambda x, i, u: J(x).at[i].add(u),
         [lambda rng: rng.normal(size=(5, 3)), i64(7, lo=-8, hi=8), lambda rng: rng.normal(size=(7, 3))],
         ["scatter-add|scatter_add"], x64=True),
    # -- scatter: set without duplicates; reductions with duplicates ---------------------------
    *[case(f"at_set_{m}_f32", lambda x, i, u, m=m: J(x).at[i].set(u, mode=m), [f32(6, 3), unique_idx(4, -8, 8), f32(4, 3)],
           ["scatter"]) for m in ["clip", "fill"]],
    case("at_set_in_bounds_i32", lambda x, i, u: J(x).at[i].set(u, mode="promise_in_bounds"),
         [i32(6, 3), unique_idx(4, 0, 5), i32(4, 3)], ["scatter"], EXACT),
    case("at_set_cols_i32", lambda x, i, u: J(x).at[:, i].set(u), [i32(3, 6), unique_idx(3, -9, 8), i32(3, 3)],
         ["scatter"], EXACT),
    *[case(f"at_add_{m}_f32", lambda x, i, u, m=m: J(x).at[i].add(u, mode=m), [f32(5, 3), idx(7), f32(7, 3)],
           ["scatter-add|scatter_add"]) for m in MODES[:2]],
    case("at_add_i32", lambda x, i, u: J(x).at[i].add(u), [i32(5, 3), idx(7), i32(7, 3)], ["scatter-add|scatter_add"], EXACT),
    case("at_add_2d_f32", lambda x, i, j, u: J(x).at[i, j].add(u), [f32(4, 5), idx(6), idx(6), f32(6)],
         ["scatter-add|scatter_add"]),
    case("batched_scatter_add_f32", batched_scatter_add, [f32(3, 5), idx(3, 4), f32(3, 4)],
         ["scatter-add|scatter_add"]),
    case("at_mul_f32", lambda x, i, u: J(x).at[i].mul(u), [f32(5, 3), idx(7), f32(7, 3)], ["scatter-mul|scatter_mul"]),
    case("at_mul_clip_i32", lambda x, i, u: J(x).at[i].mul(u, mode="clip"), [i32(5, 3), idx(7), i32(7, 3, lo=-3, hi=3)],
         ["scatter-mul|scatter_mul"], EXACT),
    case("at_min_f32", lambda x, i, u: J(x).at[i].min(u), [f32(5, 3), idx(7), f32(7, 3)], ["scatter-min|scatter_min"]),
    case("at_max_i32", lambda x, i, u: J(x).at[:, i].max(u, mode="clip"), [i32(3, 5), idx(7), i32(3, 7)],
         ["scatter-max|scatter_max"], EXACT),
    # Narrow and 64-bit integers through every reduction, duplicates included: below opset 16/18
    # the reductions are a Loop, and its sums and products must wrap as XLA's do.
    *[case(f"at_reductions_duplicates_{t.__name__}",
           lambda x, i, u: (J(x).at[i].add(u), J(x).at[i].mul(u), J(x).at[i].min(u), J(x).at[i].max(u)),
           [wide_ints(t, 5, 3), idx(12, lo=-5, hi=4), wide_ints(t, 12, 3)],
           ["scatter-add|scatter_add", "scatter-mul|scatter_mul", "scatter-min|scatter_min", "scatter-max|scatter_max"],
           EXACT, x64=t in (np.int64, np.uint64))
      for t in (np.int8, np.uint8, np.int16, np.uint16, np.uint32, np.int64, np.uint64)],
]

REQUIRED = """
dynamic_slice dynamic_update_slice gather scatter scatter-add|scatter_add scatter-mul|scatter_mul
scatter-min|scatter_min scatter-max|scatter_max
""".split()
