"""Symbolic-dimension cases (issue 5): each is a JAX function, its inputs with symbolic dims, and
the concrete sizes the one exported model must match JAX at. test_symbolic.py runs them.

An input is `arg(*dims, dtype=, gen=)`: dims mix ints, symbol names ("B", "T") and expressions
of them ("4*k"); all symbols share one scope. `gen(rng, shape)` draws a concrete input (default:
float32 of both signs).
Every symbol takes at least two sizes across a case's `sizes`, including 1 where it is legal, so
an accidental broadcast of size 1 or a size frozen at export time fails.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

import jax
import jax.numpy as jnp
from jax import lax
from flax import nnx


def f32(rng, shape):
    mag = rng.uniform(0.1, 3.0, size=shape)
    return (mag * rng.choice([-1.0, 1.0], size=shape)).astype(np.float32)


def ints(lo, hi, dtype=np.int32):
    """Integers in [lo, hi) (indices; out-of-range ones where the primitive defines them)."""
    return lambda rng, shape: rng.integers(lo, hi, size=shape).astype(dtype)


@dataclass(frozen=True)
class Arg:
    dims: tuple
    dtype: type = np.float32
    gen: Callable = f32


def arg(*dims, dtype=np.float32, gen=None) -> Arg:
    return Arg(tuple(dims), dtype, gen or f32)


@dataclass(frozen=True)
class SymCase:
    id: str
    fn: Callable
    args: tuple
    sizes: tuple                 # dicts: symbol -> size, one exported model run at each
    rtol: float = 1e-5
    atol: float = 1e-5
    # Size-dependent inputs: gen(rng, shape, env) instead of gen(rng, shape).
    env_gens: dict = field(default_factory=dict)
    # The lowest opset the case's primitives lower at.
    min_opset: int = 17

    def symbols(self) -> list[str]:
        return sorted({s for a in self.args for d in a.dims if isinstance(d, str)
                       for s in re.findall(r"[A-Za-z_]\w*", d)})

    def concrete_inputs(self, env: dict, seed: int) -> list[np.ndarray]:
        rng = np.random.default_rng(seed)
        out = []
        for k, a in enumerate(self.args):
            # a dim may be an expression of symbols such as "4*k"
            shape = tuple(int(eval(d, {}, dict(env))) if isinstance(d, str) else d for d in a.dims)
            gen = self.env_gens.get(k)
            out.append(gen(rng, shape, env) if gen else a.gen(rng, shape))
        return out


def weights(seed, *shape, scale=0.4):
    return jnp.asarray(np.random.default_rng(seed).normal(0.0, scale, shape).astype(np.float32))


# -- models -------------------------------------------------------------------------------------

class MLP(nnx.Module):
    def __init__(self, rngs):
        self.l1 = nnx.Linear(6, 16, rngs=rngs)
        self.l2 = nnx.Linear(16, 3, rngs=rngs)

    def __call__(self, x):
        return self.l2(nnx.gelu(self.l1(x)))


class CNN(nnx.Module):
    """Conv, ReLU, conv with stride, global mean, linear head: NHWC with a symbolic batch."""

    def __init__(self, rngs):
        self.c1 = nnx.Conv(3, 4, kernel_size=(3, 3), padding="SAME", rngs=rngs)
        self.c2 = nnx.Conv(4, 5, kernel_size=(3, 3), strides=(2, 2), padding="VALID", rngs=rngs)
        self.head = nnx.Linear(5, 2, rngs=rngs)

    def __call__(self, x):
        h = nnx.relu(self.c1(x))
        h = nnx.relu(self.c2(h))
        return self.head(h.mean(axis=(1, 2)))


def randomized(module, seed):
    rng = np.random.default_rng(seed)
    for _, var in nnx.iter_graph(module):
        if isinstance(var, nnx.Param):
            var[...] = jnp.asarray(rng.normal(0.0, 0.4, var[...].shape).astype(np.float32))
    return module


_mlp = randomized(MLP(nnx.Rngs(0)), 1)
_cnn = randomized(CNN(nnx.Rngs(0)), 2)

D = 8
_wq, _wk, _wv = weights(3, D, D), weights(4, D, D), weights(5, D, D)


def causal_attention(x):
    """Single-head causal self-attention; the mask is built from iota over the symbolic T."""
    q, k, v = x @ _wq, x @ _wk, x @ _wv
    t = x.shape[1]
    s = jnp.einsum("btd,bsd->bts", q, k) / np.float32(np.sqrt(D))
    causal = jnp.arange(t)[:, None] >= jnp.arange(t)[None, :]
    s = jnp.where(causal[None], s, np.float32(-1e9))
    return jnp.einsum("bts,bsd->btd", jax.nn.softmax(s, axis=-1), v)


def arange_broadcast(x):
    b, t = x.shape
    rows = jnp.arange(b, dtype=jnp.float32)[:, None]
    cols = jnp.arange(t)[None, :]
    return x * rows + cols


def arange_of_expression(x):
    """iota over 2*B, reshaped back to (B, 2): an expression as a size and in a reshape."""
    b = x.shape[0]
    return lax.slice_in_dim(x, 0, 2, axis=1) + jnp.arange(2 * b, dtype=jnp.float32).reshape(b, 2)


def concat_prefix(x):
    c = jnp.concatenate([x, -x], axis=0)
    return c[: x.shape[0]] * 2 + c[x.shape[0]:]


def concat_slices(x):
    """lax.slice with symbolic starts, limits and a stride over a 2*B-long concatenation."""
    b = x.shape[0]
    c = jnp.concatenate([x, 2 * x], axis=0)
    tail = lax.slice_in_dim(c, b, 2 * b)                 # (B, 3)
    odd = lax.slice(c, (1, 0), (2 * b - 1, 3), (2, 1))   # (B - 1, 3)
    return tail - x, odd


def slice_symbolic(x):
    """Slicing off symbolic amounts on both axes: rows 1..B-1, columns 0..T-2."""
    b, t = x.shape
    return lax.slice(x, (1, 0), (b, t - 1)) * 3


def flatten_roundtrip(x):
    b, t, c = x.shape
    w = weights(6, c, 5)
    y = x.reshape(b * t, c) @ w
    return jnp.tanh(y).reshape(b, t, 5)


def expression_shapes(x):
    """Outputs whose dims are expressions: B + 1, 2*B, and a (2*B, 3) -> (B, 6) reshape."""
    b = x.shape[0]
    grown = jnp.concatenate([x, jnp.ones((1, 3), jnp.float32)], axis=0)
    doubled = jnp.concatenate([x, x * x], axis=0)
    pairs = doubled.reshape(b, 6)
    stacked = jnp.broadcast_to(x[None], (2, b, 3)).reshape(2 * b, 3)
    return grown, doubled + stacked, pairs


def reductions(x):
    return x.mean(axis=0), x.max(axis=(0, 1)), x.sum(axis=1), jnp.argmax(x, axis=1).astype(jnp.int32)


def contract_over_batch(x):
    """dot_general contracting over the symbolic axis, then dividing by the batch size."""
    return (x.T @ x) / x.shape[0]


def batched_matmul(x, y):
    return jnp.einsum("btc,bcd->btd", x, y)


def pad_symbolic(x):
    """Pad by symbolic amounts (B rows after) and with interior padding."""
    return lax.pad(x, np.float32(0.5), ((1, x.shape[0], 0), (0, 2, 1)))


def jnp_pad(x):
    return jnp.pad(x, ((1, 2), (0, 1)), constant_values=-1.0)


def dynamic_slice_symbolic(x, i):
    c = jnp.concatenate([x, 2 * x], axis=0)
    return lax.dynamic_slice_in_dim(c, i, x.shape[0], axis=0)


def pad_interior_symbolic(x):
    """Interior padding along the symbolic axis, a known crop on the other."""
    return lax.pad(x, np.float32(-2.0), ((2, 1, 2), (-1, 1, 0)))


def update_symbolic(x, i):
    """Write a (B, 3) block into a (2*B + 1, 3) buffer at a runtime (clamped) row."""
    buf = jnp.ones((2 * x.shape[0] + 1, 3), jnp.float32)
    return lax.dynamic_update_slice_in_dim(buf, x * 3, i, axis=0)


def set_symbolic_rows(x):
    """`.at[1:B+1].set`: a scatter whose window is B rows."""
    return jnp.zeros((x.shape[0] + 2, 3), jnp.float32).at[1:x.shape[0] + 1].set(x)


def per_row_take(x, idx):
    """vmap of an indexing: a gather whose batching dims are the symbolic batch."""
    return jax.vmap(lambda row, i: row[i])(x, idx)


_table = weights(7, 10, 4)


def embedding_gather(ids):
    return _table[ids]


def gather_columns(x):
    return x[:, jnp.array([0, 2, 5, 2])]


def take_rows(x, idx):
    return jnp.take(x, idx, axis=0, mode="clip")


def scatter_add_rows(x, idx, u):
    """Scatter-add N update rows into a (B, 3) operand: both leading dims symbolic."""
    return jnp.asarray(x).at[idx].add(u)


def scatter_max_rows(x, idx, u):
    """Scatter-max of N rows: below opset 18 a Loop whose trip count is N at run time."""
    return jnp.asarray(x).at[idx].max(u)


_wx, _wh = weights(8, 4, 6), weights(9, 6, 6)


def scan_time(xs):
    """A tanh RNN over the symbolic time axis T of xs: (T, B, 4)."""
    def step(h, x):
        h = jnp.tanh(x @ _wx + h @ _wh)
        return h, h.sum(axis=-1)
    h0 = jnp.zeros((xs.shape[1], 6), jnp.float32)
    return lax.scan(step, h0, xs)


def fori_symbolic(x):
    """A loop whose trip count is the symbolic batch size."""
    return lax.fori_loop(0, x.shape[0], lambda i, c: c * 0.5 + i.astype(jnp.float32), x)


def cond_symbolic(x):
    return lax.cond(x.sum() > 0, lambda v: v * 2, lambda v: -v, x)


def pool_batch(x):
    return nnx.max_pool(x, window_shape=(2, 2), strides=(2, 2)) + nnx.avg_pool(x, window_shape=(2, 2), strides=(2, 2))


def jit_inner(x):
    inner = jax.jit(lambda v: jnp.concatenate([v, lax.slice_in_dim(v, 0, 1)], axis=0) * 2)
    return inner(x)


def divisible_reshape(x):
    """An input dim 4*k: the reshape by 4 holds for every k, and k is read back from 4*k."""
    rows = x.reshape(-1, 4)
    return rows * jnp.arange(rows.shape[0], dtype=jnp.float32)[:, None]


BT = ({"B": 2, "T": 5}, {"B": 1, "T": 3}, {"B": 4, "T": 1})

def dimension_size_symbolic(x):
    """jax.export's dimension_size reads B off the argument at run time."""
    from jax._src.export.shape_poly import dimension_size_p
    b = dimension_size_p.bind(x, dimension=0)
    return x * b.astype(x.dtype) + dimension_size_p.bind(x, dimension=1).astype(x.dtype)


def gamma_batch(k, a):
    """Gamma draws whose shape has the symbolic batch: one subkey per element, counted at run time."""
    return jax.random.gamma(jax.random.wrap_key_data(k), a)


def _key_words(rng, shape):
    return rng.integers(0, 2**32, size=shape, dtype=np.uint64).astype(np.uint32)


def _wide_ints(dtype):
    info = np.iinfo(dtype)
    return lambda rng, shape: rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)


def cumulative_along_t(x, n):
    return (lax.cummax(x, axis=1), lax.cummin(x, axis=1, reverse=True), lax.cumlogsumexp(x, axis=1),
            lax.cumprod(x * 0.5, axis=1, reverse=True), lax.cummax(n, axis=0, reverse=True), lax.cumprod(n % 3, axis=0))


def bitwise_reductions(a, b, c):
    return (lax.reduce(a, np.int32(-1), lax.bitwise_and, (0,)), lax.reduce(a, np.int32(0), lax.bitwise_or, (0,)),
            lax.reduce(b, np.uint8(0), lax.bitwise_xor, (1,)), lax.reduce(b, np.uint8(255), lax.bitwise_and, (0, 1)),
            lax.reduce(c, np.int64(0), lax.bitwise_xor, (0,)), lax.reduce(c, np.int64(0), lax.bitwise_or, (0, 1)))


def conv_symbolic_out_features(x, w):
    """A kernel whose output-feature dim is the symbol (B filters, applied to a fixed input):
    Conv for floats, the unfolded MatMul for integers; both with lhs dilation (ConvTranspose)."""
    wi = lax.convert_element_type(jnp.round(w * 3), jnp.int32)
    xi = lax.convert_element_type(jnp.round(x * 3), jnp.int32)
    dn = ("NCH", "OIH", "NCH")
    return (lax.conv_general_dilated(x, w, (1,), ((1, 2),), dimension_numbers=dn),
            lax.conv_general_dilated(x, w, (1,), ((1, 1),), (2,), dimension_numbers=dn),
            lax.conv_general_dilated(xi, wi, (2,), ((0, 1),), dimension_numbers=dn))


def windows_over_symbolic_axis(x):
    """reduce_window along the symbolic axis itself: pools for floats, strided slices for
    integers (padding and strides included)."""
    xi = lax.convert_element_type(jnp.round(x * 4), jnp.int32)
    return (lax.reduce_window(x, -jnp.inf, lax.max, (3, 1), (2, 1), ((1, 1), (0, 0))),
            lax.reduce_window(xi, np.int32(0), lax.add, (2, 2), (1, 1), ((0, 1), (1, 0))),
            lax.reduce_window(xi, np.int32(2**31 - 1), lax.min, (3, 1), (2, 1), ((2, 0), (0, 0))))


CASES = [
    SymCase("mlp_batch", _mlp, (arg("B", 6),), ({"B": 1}, {"B": 5}, {"B": 32})),
    SymCase("cnn_batch", _cnn, (arg("B", 8, 8, 3),), ({"B": 1}, {"B": 3})),
    SymCase("windows_over_symbolic_axis", windows_over_symbolic_axis, (arg("B", 3),),
            ({"B": 1}, {"B": 4}, {"B": 7})),
    SymCase("conv_symbolic_out_features", conv_symbolic_out_features, (arg(2, 3, 7), arg("B", 3, 3)),
            ({"B": 1}, {"B": 4})),
    SymCase("pool_batch", pool_batch, (arg("B", 6, 6, 3),), ({"B": 1}, {"B": 4})),
    SymCase("causal_attention", causal_attention, (arg("B", "T", D),), BT),
    SymCase("arange_broadcast", arange_broadcast, (arg("B", "T"),), BT),
    SymCase("arange_of_expression", arange_of_expression, (arg("B", 3),), ({"B": 1}, {"B": 6})),
    SymCase("concat_prefix", concat_prefix, (arg("B", 3),), ({"B": 1}, {"B": 4})),
    SymCase("concat_slices", concat_slices, (arg("B", 3),), ({"B": 1}, {"B": 2}, {"B": 5})),
    SymCase("slice_symbolic", slice_symbolic, (arg("B", "T"),), ({"B": 1, "T": 1}, {"B": 3, "T": 4}, {"B": 6, "T": 2})),
    SymCase("flatten_roundtrip", flatten_roundtrip, (arg("B", "T", 3),), BT),
    SymCase("expression_shapes", expression_shapes, (arg("B", 3),), ({"B": 1}, {"B": 3})),
    SymCase("reductions", reductions, (arg("B", "T", 3),), BT),
    SymCase("contract_over_batch", contract_over_batch, (arg("B", 4),), ({"B": 1}, {"B": 7})),
    SymCase("batched_matmul", batched_matmul, (arg("B", "T", 3), arg("B", 3, 2)), BT),
    SymCase("pad_symbolic", pad_symbolic, (arg("B", 3),), ({"B": 1}, {"B": 4})),
    SymCase("jnp_pad", jnp_pad, (arg("B", 3),), ({"B": 1}, {"B": 4})),
    SymCase("dynamic_slice_symbolic", dynamic_slice_symbolic, (arg("B", 3), arg(dtype=np.int32)),
            ({"B": 1}, {"B": 3}, {"B": 5}),
            # starts before 0 and past 2*B - B are clamped by JAX; cover them
            env_gens={1: lambda rng, shape, env: np.asarray(rng.integers(-2, env["B"] + 3), np.int32)}),
    SymCase("pad_interior_symbolic", pad_interior_symbolic, (arg("B", 3),), ({"B": 1}, {"B": 2}, {"B": 5})),
    SymCase("update_symbolic", update_symbolic, (arg("B", 3), arg(dtype=np.int32)),
            ({"B": 1}, {"B": 3}, {"B": 4}),
            env_gens={1: lambda rng, shape, env: np.asarray(rng.integers(-2, 2 * env["B"] + 3), np.int32)}),
    SymCase("set_symbolic_rows", set_symbolic_rows, (arg("B", 3),), ({"B": 1}, {"B": 4})),
    SymCase("per_row_take", per_row_take, (arg("B", 6), arg("B", dtype=np.int32, gen=ints(-8, 8))),
            ({"B": 1}, {"B": 5})),
    SymCase("embedding_gather", embedding_gather, (arg("B", "T", dtype=np.int32, gen=ints(0, 10)),), BT),
    SymCase("gather_columns", gather_columns, (arg("B", 6),), ({"B": 1}, {"B": 5})),
    SymCase("take_rows", take_rows, (arg("B", 3), arg("N", dtype=np.int32, gen=ints(-2, 9))),
            ({"B": 1, "N": 4}, {"B": 6, "N": 1}, {"B": 3, "N": 7})),
    SymCase("scatter_add_rows", scatter_add_rows, (arg("B", 3), arg("N", dtype=np.int32), arg("N", 3)),
            ({"B": 1, "N": 3}, {"B": 5, "N": 1}, {"B": 4, "N": 6}),
            # indices in range (repeats included): JAX drops out-of-range scatter updates
            env_gens={1: lambda rng, shape, env: rng.integers(0, env["B"], size=shape).astype(np.int32)}),
    SymCase("scatter_max_rows", scatter_max_rows, (arg("B", 3), arg("N", dtype=np.int32), arg("N", 3)),
            ({"B": 1, "N": 3}, {"B": 5, "N": 1}, {"B": 4, "N": 6}),
            env_gens={1: lambda rng, shape, env: rng.integers(0, env["B"], size=shape).astype(np.int32)}),
    SymCase("scan_time", scan_time, (arg("T", "B", 4),), BT),
    SymCase("fori_symbolic", fori_symbolic, (arg("B", 3),), ({"B": 1}, {"B": 4})),
    SymCase("cond_symbolic", cond_symbolic, (arg("B", 3),), ({"B": 1}, {"B": 4})),
    SymCase("divisible_reshape", divisible_reshape, (arg("4*k"),), ({"k": 1}, {"k": 3})),
    SymCase("jit_inner", jit_inner, (arg("B", 3),), ({"B": 1}, {"B": 4})),
    SymCase("random_gamma_batch", gamma_batch,
            (arg(2, dtype=np.uint32, gen=_key_words), arg("B", 3, gen=lambda rng, shape: rng.uniform(0.1, 5.0, shape).astype(np.float32))),
            ({"B": 1}, {"B": 6})),
    SymCase("dimension_size_symbolic", dimension_size_symbolic, (arg("B", 3),), ({"B": 1}, {"B": 5})),
    # cumulative ops along a symbolic axis (a Loop of doubling shifts), forward and reverse
    SymCase("cumulative_symbolic_axis", cumulative_along_t, (arg(2, "T", 3), arg("T", 4, dtype=np.int32, gen=ints(-50, 50))),
            ({"T": 1}, {"T": 2}, {"T": 7}, {"T": 33}, {"T": 0})),
    # integer and/or/xor over a symbolic axis (bit planes); sizes include an empty batch (identity)
    SymCase("bitwise_reductions_symbolic", bitwise_reductions,
            (arg("B", 3, dtype=np.int32, gen=_wide_ints(np.int32)), arg(4, "B", dtype=np.uint8, gen=_wide_ints(np.uint8)),
             arg("B", 2, dtype=np.int64, gen=_wide_ints(np.int64))),
            ({"B": 1}, {"B": 7}, {"B": 0}), min_opset=18),
]

# What issue 5's tests ask for, by case id (test_symbolic checks the table keeps them).
ISSUE_CASES = ["mlp_batch", "cnn_batch", "causal_attention", "arange_broadcast", "concat_prefix",
               "flatten_roundtrip", "pad_symbolic", "slice_symbolic", "dynamic_slice_symbolic",
               "embedding_gather", "scan_time"]

# Primitives JAX emits only under symbolic dims, so only these cases can test them.
SYMBOLIC_ONLY = ["dim_as_value"]
