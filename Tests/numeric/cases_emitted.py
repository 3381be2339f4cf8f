"""Primitives JAX emits that no hand-picked list chose (issue 26): stack/unstack, the total-order
comparisons, what jvp and transpose leave behind, compiler and sharding annotations, single-device
shard_map and its collectives, composite and the other call wrappers, generic reduce, approx
top-k, mulhi, Equinox's unvmap_*, and debug output (dropped)."""

from __future__ import annotations

import numpy as np

import jax
import jax.numpy as jnp
from jax import lax
from jax.sharding import PartitionSpec as P

from casekit import EXACT, case, f32, grid, i32

S = (3, 4)


def _with_special_values(*shape):
    """Grid floats with -0.0, +0.0, NaN and infinities mixed in, so total order shows."""
    def gen(rng):
        v = (rng.integers(-3, 4, size=shape) * 0.5).astype(np.float32)
        specials = np.array([0.0, -0.0, np.nan, np.inf, -np.inf], np.float32)
        mask = rng.random(size=shape) < 0.4
        v[mask] = rng.choice(specials, size=int(mask.sum()))
        return v
    return gen


def _u32(*shape):
    return lambda rng: rng.integers(0, 2**32, size=shape, dtype=np.uint64).astype(np.uint32)


def _i32_wide(*shape):
    return lambda rng: rng.integers(-2**31, 2**31, size=shape, dtype=np.int64).astype(np.int32)


_MESH = jax.make_mesh((1,), ("i",))
_EXPLICIT_MESH = jax.make_mesh((1,), ("i",), axis_types=(jax.sharding.AxisType.Explicit,))


def _single_device_collectives(x):
    def body(b):
        gathered = lax.all_gather(b, "i")[0] + lax.all_gather(b, "i", tiled=True)
        return lax.psum(b, "i") * 2 + lax.pmax(b, "i") - lax.pmin(b, "i") + gathered + lax.axis_index("i")
    return jax.shard_map(body, mesh=_MESH, in_specs=P(), out_specs=P(), check_vma=False)(x)


def _unvmap(x):
    from equinox.internal import unvmap_all, unvmap_any, unvmap_max
    row_max = jax.vmap(lambda r: unvmap_max(jnp.round(r * 4).astype(jnp.int32)))(x)
    anyp = jax.vmap(lambda r: unvmap_any(r > 2.5))(x)
    allp = jax.vmap(lambda r: unvmap_all(r > -2.9))(x)
    return row_max, anyp, allp


def _equinox_markers(x):
    from equinox.internal._loop.common import select_if_vmap_p
    from equinox.internal._nontraceable import nonbatchable_p
    y = nonbatchable_p.bind(x * 2 - 1, msg="not under vmap", allow_constant_across_batch=False)
    return select_if_vmap_p.bind(jnp.asarray(True), y, -x) + 1


def _varying(x):
    body = lambda b: lax.pcast(b, "i", to="varying") * 2 + 1
    return jax.shard_map(body, mesh=_EXPLICIT_MESH, in_specs=P(), out_specs=P("i"))(x)


@jax.jit  # eager with_layout_constraint takes only committed jax.Arrays
def _layout(x):
    from jax.experimental.layout import Layout, with_layout_constraint
    return with_layout_constraint(x * 2, Layout((1, 0))) - 1


def _shard_alike(a, b):
    from jax.experimental.shard_alike import shard_alike
    u, v = shard_alike(a * 2, b + 1)
    return u - v


def _debug_callback(x):
    jax.debug.callback(lambda v: None, x)
    return x * 2


def _reduce_argmax(x):
    """A two-operand reduce: the largest value and its first index (associative and commutative)."""
    def pick(a, b):
        (va, ia), (vb, ib) = a, b
        take_b = (vb > va) | ((vb == va) & (ib < ia))
        return jnp.where(take_b, vb, va), jnp.where(take_b, ib, ia)
    idx = lax.broadcasted_iota(jnp.int32, x.shape, 1)
    return lax.reduce((x, idx), (np.float32(-np.inf), np.int32(2**31 - 1)), pick, (1,))


_DT = jnp.asarray(0.1, dtype=jnp.float32)


def _scan_captured_scalar(x):
    """A scalar the body closes over becomes a 0-d constvar; the stacked ys must stay (3,)."""
    ys = lax.scan(lambda c, _: (c + _DT, c + _DT), jnp.float32(0.0), xs=None, length=3)[1]
    return ys, ys * x


def _vmapped_while_masked(x):
    """The predicate depends on the mapped row, so the while's condition is batched: rows that are
    done must keep their state while the others iterate."""
    def one(v):
        return lax.while_loop(lambda s: jnp.sum(s) < 10.0, lambda s: s * 1.5 + 0.1, v)
    return jax.vmap(one)(x)


def _vmapped_while_counter(x):
    def one(v):
        def body(st):
            k, s = st
            return k + 1, jnp.where(s > 0, s * 0.5, s + 1.0)
        return lax.while_loop(lambda st: (st[0] < 6) & (jnp.sum(jnp.abs(st[1])) > 1.0), body, (jnp.int32(0), v))
    return jax.vmap(one)(x)


def _debug_print(x):
    jax.debug.print("x = {}", x)
    return x * 2


@jax.custom_batching.custom_vmap
def _double(x):
    return x * 2


@_double.def_vmap
def _double_vmap(axis_size, in_batched, x):
    return x * 2, in_batched[0]


def _custom_vmap_double(x):
    return _double(x) + 1


def _composite(x):
    softplus = lax.composite(lambda v: jnp.logaddexp(v, 0.0), name="my.softplus")
    return softplus(x) * 3


CASES = [
    # -- stack / unstack (jnp.stack, jnp.unstack in JAX 0.10) ---------------------------------------
    case("stack_axis0", lambda a, b, c: jnp.stack([a, b, c]), [f32(*S), f32(*S), f32(*S)], ["stack"]),
    case("stack_middle", lambda a, b: jnp.stack([a, b], axis=1), [f32(*S), f32(*S)], ["stack"]),
    case("stack_last_neg", lambda a, b: jnp.stack([a, b], axis=-1), [i32(*S), i32(*S)], ["stack"], tol=EXACT),
    case("unstack_rows", lambda x: tuple(v * (k + 1) for k, v in enumerate(jnp.unstack(x))), [f32(*S)], ["unstack"]),
    case("unstack_last", lambda x: jnp.unstack(x, axis=-1), [f32(2, 3, 4)], ["unstack"]),
    case("rope_rotate_half", lambda x: jnp.stack([-x[..., 1::2], x[..., ::2]], axis=-1).reshape(x.shape),
         [f32(2, 5, 8)], ["stack"]),
    # -- total-order comparisons ------------------------------------------------------------------
    case("lt_to_specials", lambda a, b: lax._lt_to(a, b) if hasattr(lax, "_lt_to") else lax.lt_to_p.bind(a, b),
         [_with_special_values(6, 5), _with_special_values(6, 5)], ["lt_to"], tol=EXACT),
    case("le_to_specials", lambda a, b: lax.le_to_p.bind(a, b),
         [_with_special_values(6, 5), _with_special_values(6, 5)], ["le_to"], tol=EXACT),
    case("eq_to_specials", lambda a, b: lax.eq_to_p.bind(a, b),
         [_with_special_values(6, 5), _with_special_values(6, 5)], ["eq_to"], tol=EXACT),
    case("lt_to_ints", lambda a, b: lax.lt_to_p.bind(a, b), [i32(*S, lo=-2, hi=2), i32(*S, lo=-2, hi=2)], ["lt_to"], tol=EXACT),
    case("searchsorted", lambda s, v: jnp.searchsorted(jnp.sort(s), v), [grid(9), grid(4, 5)], ["lt_to|le_to"], tol=EXACT),
    case("searchsorted_right", lambda s, v: jnp.searchsorted(jnp.sort(s), v, side="right"), [grid(9), grid(7)],
         ["le_to|lt_to"], tol=EXACT),
    case("digitize", lambda v: jnp.digitize(v, jnp.array([-1.0, 0.0, 0.5, 2.0])), [grid(3, 5)], ["lt_to|le_to"], tol=EXACT),
    case("interp", lambda v: jnp.interp(v, jnp.array([-2.0, -0.5, 1.0, 3.0]), jnp.array([1.0, -1.0, 2.0, 0.5])),
         [f32(4, 6)], ["lt_to|le_to"]),
    # -- what jvp and transpose leave behind -----------------------------------------------------
    case("grad_cube_add_any", lambda x: jax.grad(lambda z: jnp.sum(z * z * z))(x), [f32(*S)], ["add_any"]),
    # -- annotations: pass-through ---------------------------------------------------------------
    case("optimization_barrier", lambda a, b: lax.optimization_barrier((a * 2, b + 1)), [f32(*S), f32(*S)],
         ["optimization_barrier"]),
    case("checkpoint_name", lambda x: jnp.sin(jax.ad_checkpoint.checkpoint_name(x * 2, "scaled"))
         if hasattr(jax, "ad_checkpoint") else jnp.sin(__import__("jax.ad_checkpoint").ad_checkpoint.checkpoint_name(x * 2, "scaled")),
         [f32(*S)], ["name"]),
    case("sharding_constraint", lambda x: jax.lax.with_sharding_constraint(x * 2, jax.sharding.NamedSharding(_MESH, P())) + 1,
         [f32(*S)], ["sharding_constraint"]),
    case("device_put", lambda x: jax.device_put(x * 2) - 1, [f32(*S)], ["device_put"]),
    case("reshard", lambda x: jax.sharding.reshard(x * 2, jax.sharding.NamedSharding(_EXPLICIT_MESH, P())) + 1,
         [f32(*S)], ["reshard"]),
    case("layout_constraint", _layout, [f32(*S)], ["layout_constraint"]),
    case("shard_alike", _shard_alike, [f32(*S), f32(*S)], ["shard_alike"]),
    case("pvary", _varying, [f32(*S)], ["shard_map", "pvary"]),
    # -- single-device shard_map and collectives ------------------------------------------------
    case("shard_map_collectives", _single_device_collectives, [f32(*S)],
         ["shard_map", "psum", "pmax", "pmin", "all_gather", "axis_index"]),
    # -- call wrappers ------------------------------------------------------------------------
    case("composite_softplus", _composite, [f32(*S)], ["composite"]),
    case("custom_vmap", _custom_vmap_double, [f32(*S)], ["custom_vmap_call"]),
    # -- generic reduce -----------------------------------------------------------------------
    case("reduce_add_body", lambda x: lax.reduce(x, np.float32(1.5), lambda a, b: a + b, (0,)), [f32(*S)], ["reduce"]),
    case("reduce_max_body", lambda x: lax.reduce(x, np.float32(-1.0), lax.max, (1,)), [f32(*S)], ["reduce"]),
    case("reduce_mul_int", lambda x: lax.reduce(x, np.int32(2), lax.mul, (0, 1)), [i32(*S, lo=-3, hi=3)], ["reduce"], tol=EXACT),
    case("reduce_min_int", lambda x: lax.reduce(x, np.int32(-2), lax.min, (1,)), [i32(*S)], ["reduce"], tol=EXACT),
    case("reduce_logaddexp_body", lambda x: lax.reduce(x, np.float32(-np.inf), jnp.logaddexp, (1,)), [f32(3, 5)], ["reduce"]),
    case("reduce_logaddexp_all", lambda x: lax.reduce(x, np.float32(-np.inf), jnp.logaddexp, (0, 1, 2)), [f32(2, 3, 2)], ["reduce"]),
    case("reduce_variadic_argmax", _reduce_argmax, [grid(4, 6)], ["reduce"], tol=EXACT),
    # -- approx top-k (exact top-k meets any recall target) -------------------------------------
    case("approx_max_k", lambda x: lax.approx_max_k(x, 3), [f32(4, 10)], ["approx_top_k"]),
    case("approx_min_k_axis0", lambda x: lax.approx_min_k(x, 2, reduction_dimension=0), [f32(6, 5)], ["approx_top_k"]),
    # -- ragged_dot (mixture of experts) -----------------------------------------------------------
    case("ragged_dot", lambda x, w: lax.ragged_dot(x, w, jnp.array([3, 0, 4, 2], jnp.int32)), [f32(9, 5), f32(4, 5, 6)],
         ["ragged_dot_general"]),
    case("ragged_dot_runtime_groups", lambda x, w, gs: lax.ragged_dot(x, w, gs), [f32(8, 3), f32(3, 3, 4),
         lambda rng: np.array([2, 5, 1], np.int32)], ["ragged_dot_general"]),
    case("ragged_dot_short_groups", lambda x, w: lax.ragged_dot(x, w, jnp.array([2, 3], jnp.int32)), [f32(7, 4), f32(2, 4, 3)],
         ["ragged_dot_general"]),
    # -- scatter-sub -------------------------------------------------------------------------------
    case("scatter_sub_duplicates", lambda x, v: jnp.asarray(x).at[jnp.array([0, 2, 0, 3])].subtract(v), [f32(5, 3), f32(4, 3)], ["scatter-sub|scatter_sub"]),
    case("scatter_sub_int", lambda x, v: jnp.asarray(x).at[1:3].subtract(v), [i32(4, 2), i32(2, 2)], ["scatter-sub|scatter_sub"], tol=EXACT),
    # -- mulhi -----------------------------------------------------------------------------------
    case("mulhi_u32", lambda a, b: lax.mul_hi(a, b) if hasattr(lax, "mul_hi") else lax.mulhi_p.bind(a, b),
         [_u32(*S), _u32(*S)], ["mulhi"], tol=EXACT),
    case("mulhi_i32", lambda a, b: lax.mulhi_p.bind(a, b), [_i32_wide(*S), _i32_wide(*S)], ["mulhi"], tol=EXACT),
    # -- Equinox unvmap ---------------------------------------------------------------------
    case("unvmap", _unvmap, [f32(*S)], ["unvmap_max", "unvmap_any", "unvmap_all"], tol=EXACT),
    case("equinox_markers", _equinox_markers, [f32(*S)], ["nonbatchable", "select_if_vmap"], tol=EXACT),
    # -- random key plumbing -------------------------------------------------------------------
    case("random_clone", lambda x: x + jax.random.normal(jax.random.clone(jax.random.key(5)), x.shape), [f32(*S)],
         ["random_clone", "random_bits"]),
    # -- regressions ---------------------------------------------------------------------------
    case("scan_captured_scalar", _scan_captured_scalar, [f32(3)], ["scan"]),
    case("vmap_while_batched_predicate", _vmapped_while_masked, [lambda rng: rng.uniform(0.1, 2.0, size=(5, 3)).astype(np.float32)],
         ["while"]),
    case("vmap_while_masked_counter", _vmapped_while_counter, [f32(4, 3)], ["while"]),
    # -- debug output is dropped ------------------------------------------------------------------
    case("debug_print_dropped", _debug_print, [f32(*S)], ["debug_print"]),
    case("debug_callback_dropped", _debug_callback, [f32(*S)], ["debug_callback"]),
]
