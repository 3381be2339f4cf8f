"""Shape cases beyond the core set: pad (negative, interior, any value), rev, split, tile,
expand_dims, broadcast_in_dim, reshape with dimensions, iota along every axis and dtype,
select_n with many cases."""

from __future__ import annotations

import numpy as np

import jax.numpy as jnp
from jax import lax

from casekit import EXACT, Case, boolean, case, f32, i32

CASES: list[Case] = [
    case("pad_edges_f32", lambda x: lax.pad(x, 1.5, [(2, 1, 0), (0, 3, 0)]), [f32(3, 4)], ["pad"]),
    case("pad_negative_f32", lambda x: lax.pad(x, 0.0, [(-1, 2, 0), (1, -2, 0)]), [f32(4, 5)], ["pad"]),
    case("pad_interior_f32", lambda x, v: lax.pad(x, v, [(1, -1, 2), (0, 0, 1)]), [f32(3, 4), f32()], ["pad"]),
    case("pad_interior_crop_i32", lambda x: lax.pad(x, jnp.int32(-5), [(-2, 1, 1), (-1, -1, 3), (0, 0, 0)]),
         [i32(4, 3, 2)], ["pad"], EXACT),
    case("jnp_pad_f32", lambda x: jnp.pad(x, ((1, 2), (0, 1)), constant_values=-2.0), [f32(3, 4)], ["pad"]),
    case("rev_f32", lambda x: lax.rev(x, (0, 2)), [f32(3, 4, 2)], ["rev"]),
    case("flip_i32", lambda x: jnp.flip(x, 1), [i32(3, 5)], ["rev"], EXACT),
    case("split_f32", lambda x: jnp.split(x, [1, 3], axis=1), [f32(3, 6)], ["split"]),
    case("split_i32", lambda x: jnp.split(x, 2, axis=0), [i32(4, 3)], ["split"], EXACT),
    case("tile_f32", lambda x: jnp.tile(x, (2, 3)), [f32(3, 4)], ["tile"]),
    case("tile_rank_up_i32", lambda x: jnp.tile(x, (2, 1, 2)), [i32(3, 4)], ["tile"], EXACT),
    case("expand_dims_two_f32", lambda x: jnp.expand_dims(x, (0, 2)), [f32(3, 4)], ["broadcast_in_dim"]),
    case("broadcast_in_dim_gap_i32", lambda x: lax.broadcast_in_dim(x, (2, 3, 5, 4), (1, 3)), [i32(3, 4)],
         ["broadcast_in_dim"], EXACT),
    case("reshape_dimensions_f32", lambda x: lax.reshape(x, (4, 6), dimensions=(1, 0, 2)), [f32(2, 3, 4)],
         ["reshape"]),
    *[case(f"iota_axis{a}_{t}", lambda x, a=a, t=t: x + lax.broadcasted_iota(t, (2, 3, 4), a).astype(x.dtype),
           [f32(2, 3, 4)], ["iota"]) for a in range(3) for t in ["float32", "int32", "int16", "uint8", "float16"]],
    case("iota_i32_exact", lambda x: x * lax.iota(jnp.int32, 5), [i32(5)], ["iota"], EXACT),
    case("select_n_four_f32", lambda p, a, b, c, d: lax.select_n(p, a, b, c, d),
         [i32(3, 4, lo=0, hi=3, nonzero=False), f32(3, 4), f32(3, 4), f32(3, 4), f32(3, 4)], ["select_n"]),
    case("select_n_bool_i32", lambda p, a, b: lax.select_n(p, a, b), [boolean(3, 4), i32(3, 4), i32(3, 4)],
         ["select_n"], EXACT),
    case("select_n_bool_cases", lambda p, a, b, c: lax.select_n(p, a, b, c),
         [i32(3, 4, lo=0, hi=2, nonzero=False), boolean(3, 4), boolean(3, 4), boolean(3, 4)], ["select_n"], EXACT),
]

REQUIRED = "pad rev split tile".split()
