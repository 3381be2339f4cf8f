"""Dtype plumbing: convert_element_type from every type to every type (one case per source,
one output per target), and bitcast_convert_type between same and different widths, with the
values where conversions differ: NaN, +-inf, -0, halves, out-of-range floats (XLA saturates),
integer extremes (narrowing wraps), subnormals. All 64-bit JAX so every target exists.

bf16 cannot be fed to or fetched from ONNX Runtime's Python API, so bf16 values enter as f32 and
leave as f32 (exact widenings) around the bf16 part under test.
"""

from __future__ import annotations

import numpy as np

import jax.numpy as jnp
from jax import lax

from casekit import EXACT, Case, case
from cases_math import SHORT, arr, imax, imin

INF, NAN = np.inf, np.nan
TARGETS = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
           "float16", "float32", "float64", "bfloat16"]


def to_all(x):
    """x converted to every type; bf16 results widened to f32 so they can leave the model."""
    outs = []
    for t in TARGETS:
        y = jnp.asarray(x).astype(jnp.dtype(t))
        outs.append(y.astype(jnp.float32) if t == "bfloat16" else y)
    return tuple(outs)


FLOAT_SPECIALS = [NAN, INF, -INF, -0.0, 0.5, -0.5, 2.7, -2.7, 255.9, 256.0, -129.0, -128.5, 127.5, 65535.5,
                  40000.0, -40000.0, 3e9, -3e9, 5e9, 1e20, -1e20, 2147483647.0, -2147483648.0, 9.3e18,
                  1.9e19, 4294967296.0, 1.00390625 + 2.0 ** -9, 3.4e38]
F16_SPECIALS = [NAN, INF, -INF, -0.0, 0.5, -0.5, 2.7, -2.7, 255.9, 256.0, -129.0, -128.5, 127.5, 65504.0,
                40000.0, -40000.0, -65504.0, 1000.5]

CASES: list[Case] = []
for t, specials in [("float32", FLOAT_SPECIALS), ("float64", FLOAT_SPECIALS + [1e300, -1e300]), ("float16", F16_SPECIALS)]:
    CASES.append(case(f"convert_{SHORT[t]}_to_all", to_all, [arr(t, 6, 6, lo=-300, hi=300, specials=specials)],
                      ["convert_element_type"], EXACT, x64=True))
CASES.append(case("convert_bf16_to_all", lambda x: to_all(jnp.asarray(x).astype(jnp.bfloat16)),
                  [arr("float32", 6, 6, lo=-300, hi=300, specials=FLOAT_SPECIALS)], ["convert_element_type"], EXACT, x64=True))
for t in ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "bool"]:
    specials = [] if t == "bool" else [0, 1, imax(t), imin(t), imax(t) - 1, 255, 256, 65535, 65536, 16777217][:12]
    CASES.append(case(f"convert_{SHORT[t]}_to_all", to_all, [arr(t, 4, 6, lo=None, hi=None, specials=specials)],
                      ["convert_element_type"], EXACT, x64=True))


# -- bitcast_convert_type -----------------------------------------------------------------------
def bitcast(to):
    return lambda x: lax.bitcast_convert_type(x, jnp.dtype(to))


F32_BITS = [0.0, -0.0, INF, -INF, NAN, 1e-45, -1e-40, 1.1754944e-38, 3.4028235e38, 1.0, -2.0, 0.1, 1.5e-39]
F64_BITS = [0.0, -0.0, INF, -INF, NAN, 5e-324, -1e-310, 2.2250738585072014e-308, 1.7976931348623157e308, 1.0, -2.0, 0.1]
F16_BITS = [0.0, -0.0, INF, -INF, NAN, 6e-8, -3e-6, 6.1035e-05, 65504.0, 1.0, -2.0, 0.1]
FLOAT_BITCASTS = [  # (from, to, specials)
    ("float32", "int32", F32_BITS), ("float32", "uint32", F32_BITS), ("float32", "uint8", F32_BITS),
    ("float32", "int16", F32_BITS), ("float64", "int64", F64_BITS), ("float64", "uint64", F64_BITS),
    ("float64", "uint32", F64_BITS), ("float64", "float32", [1.0, -2.0, 0.0, 3.0e-300]),
    ("float16", "int16", F16_BITS), ("float16", "uint16", F16_BITS), ("float16", "uint8", F16_BITS),
    ("float32", "float16", [1.0, -2.0, 0.0, 0.1]),
]
for src, dst, specials in FLOAT_BITCASTS:
    CASES.append(case(f"bitcast_{SHORT[src]}_to_{SHORT[dst]}", bitcast(dst), [arr(src, 3, 5, lo=-1e4, hi=1e4, specials=specials)],
                      ["bitcast_convert_type"], EXACT, x64=True))
INT_BITCASTS = [  # (from, shape, to): integers of every width in every direction
    ("int32", (3, 5), "float32"), ("uint32", (3, 5), "float32"), ("int64", (3, 5), "float64"),
    ("uint64", (3, 5), "float64"), ("int16", (3, 5), "float16"), ("uint16", (3, 5), "float16"),
    ("int8", (3, 5), "uint8"), ("uint16", (3, 5), "int16"), ("int32", (3, 5), "uint32"), ("uint64", (3, 5), "int64"),
    ("uint8", (3, 4), "float32"), ("uint8", (3, 8), "int64"), ("uint16", (3, 4), "uint64"), ("int32", (3, 2), "float64"),
    ("uint8", (3, 2), "float16"), ("int16", (3, 2), "int32"), ("int64", (3,), "int16"), ("uint32", (3,), "uint8"),
    ("int64", (3,), "uint32"), ("int16", (4,), "int8"),
]
for src, shape, dst in INT_BITCASTS:
    CASES.append(case(f"bitcast_{SHORT[src]}{len(shape)}_to_{SHORT[dst]}", bitcast(dst),
                      [arr(src, *shape, lo=None, hi=None, specials=[0, imax(src), imin(src)])],
                      ["bitcast_convert_type"], EXACT, x64=True))
# bf16 <-> 16-bit integers, entering and leaving through f32 / the integers themselves.
CASES.append(case("bitcast_bf16_to_u16", lambda x: lax.bitcast_convert_type(jnp.asarray(x).astype(jnp.bfloat16), jnp.uint16),
                  [arr("float32", 3, 5, lo=-1e4, hi=1e4, specials=[0.0, -0.0, INF, -INF, NAN, 1e-40, 3e38, 1.0])],
                  ["bitcast_convert_type"], EXACT))
CASES.append(case("bitcast_i16_to_bf16", lambda x: lax.bitcast_convert_type(x, jnp.bfloat16).astype(jnp.float32),
                  [arr("int16", 3, 5, lo=None, hi=None, specials=[0, 1, -1, 0x7F80, 0x3F80, -32768])],
                  ["bitcast_convert_type"], EXACT))
# Round trips through the bit pattern, as jax.random does (bits -> [1, 2) floats).
CASES.append(case("bitcast_uniform_bits_f32", lambda b: lax.bitcast_convert_type((jnp.asarray(b) >> 9) | np.uint32(0x3F800000), jnp.float32) - 1.0,
                  [arr("uint32", 4, 5, lo=None, hi=None, specials=[0, 0xFFFFFFFF])],
                  ["bitcast_convert_type", "shift_right_logical", "or"], EXACT, min_opset=17))

REQUIRED = ["convert_element_type", "bitcast_convert_type"]


# -- 64-bit integer sums and products past 2^53 (exact, wrapping like XLA) ------------------------
for t in ["int64", "uint64"]:
    wide = [0, 1, imax(t), imin(t), imax(t) - 1, 2 ** 53 + 1]
    CASES.append(case(f"reduce_sum_{SHORT[t]}_wide", lambda x: (jnp.sum(x, axis=1), jnp.sum(x)),
                      [arr(t, 5, 7, lo=None, hi=None, specials=wide)], ["reduce_sum"], EXACT, x64=True))
    CASES.append(case(f"reduce_prod_{SHORT[t]}_wide", lambda x: (jnp.prod(x, axis=1), jnp.prod(x, axis=(0, 1))),
                      [arr(t, 4, 5, lo=0 if t == "uint64" else -2 ** 20, hi=2 ** 20, specials=[3 ** 30, 2 ** 40 + 7])],
                      ["reduce_prod"], EXACT, x64=True))
