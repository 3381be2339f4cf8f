"""Control flow: cond / switch (If), while_loop and fori_loop (Loop), scan (Scan or Loop), nested
control flow and control flow inside jit. Recurrent layers (LSTM, GRU, bidirectional) run over time
with scan in both directions."""

from __future__ import annotations

import numpy as np

import jax
import jax.numpy as jnp
from jax import lax

from casekit import EXACT, Case, boolean, case, f32, i32, pos, uniform


def const(*values, dtype=np.int32):
    """An input that is always these values (indices that must hit every branch)."""
    return lambda rng: np.array(values, dtype=dtype)


def scalar(value, dtype=np.int32):
    return lambda rng: np.array(value, dtype=dtype)


def weights(seed, *shape, scale=0.5):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32)


# -- cond / switch ------------------------------------------------------------------------------

BIAS3 = np.array([0.5, -1.0, 2.0], np.float32)


def switch3(index, x):
    """A 3-way switch on every index in `index`: below, inside and above the range. The branches
    return outputs of different origin: computed, an operand as is, a constant."""
    branches = [
        lambda x: (x + 1.0, x, jnp.float32(1.5)),
        lambda x: (x * 2.0 + BIAS3, jnp.sin(x), x.sum()),
        lambda x: (-x, jnp.asarray(BIAS3), jnp.float32(-4.0)),
    ]
    return tuple(lax.switch(index[k], branches, x) for k in range(index.shape[0]))


def switch5_ints(index, x):
    """Five integer branches: an If tree deeper than one level."""
    branches = [lambda x, k=k: x * (k + 1) - k for k in range(5)]
    return tuple(lax.switch(index[k], branches, x) for k in range(index.shape[0]))


def cond_bool(p, x, y):
    """lax.cond on a bool predicate, taken both ways; outputs of two dtypes."""
    def yes(x, y):
        return x * y, jnp.int32(7)

    def no(x, y):
        return x - y, (y > 0).sum().astype(jnp.int32)

    a = lax.cond(p, yes, no, x, y)
    b = lax.cond(jnp.logical_not(p), yes, no, x, y)
    return a + b


# -- while / fori_loop --------------------------------------------------------------------------

def fori_dynamic(n, lo, x):
    """fori_loop whose bounds are inputs; the second loop's bounds are empty (upper < lower),
    so it must run no iteration: the condition is tested before the first one."""
    def body(i, x):
        return x * 0.75 + jnp.cos(x) * i.astype(jnp.float32) * 0.1
    a = lax.fori_loop(lo, n, body, x)
    b = lax.fori_loop(n, lo, body, x + 1.0)
    return a, b


def fori_static(x):
    """fori_loop with constant bounds (JAX turns it into a scan without xs)."""
    return lax.fori_loop(2, 9, lambda i, x: jnp.tanh(x * 1.1 + i.astype(jnp.float32) * 0.05), x)


def newton_cbrt(a):
    """Solves x**3 + x = a elementwise with Newton's method until the residual is small."""
    def cond(state):
        k, x = state
        return (k < 50) & (jnp.max(jnp.abs(x ** 3 + x - a)) > 1e-5)

    def body(state):
        k, x = state
        return k + 1, x - (x ** 3 + x - a) / (3.0 * x ** 2 + 1.0)

    k, x = lax.while_loop(cond, body, (jnp.int32(0), a * 0.0))
    return x, k


def while_mixed_carry(x, n):
    """A carry of int32, float32 and bool values: each keeps its dtype through the loop."""
    def cond(s):
        i, _, _, done = s
        return (i < n) & jnp.logical_not(done)

    def body(s):
        i, v, acc, done = s
        v = v * 0.5 + 1.0
        return i + 1, v, acc + (v > 1.5).astype(jnp.int32), jnp.min(v) > 1.9

    return lax.while_loop(cond, body, (jnp.int32(0), x, jnp.zeros(x.shape, jnp.int32), jnp.bool_(False)))


def fori_x64(n, x):
    """With 64-bit types the loop counter is int64 and the carry float64; both stay so."""
    return lax.fori_loop(0, n, lambda i, v: v * 1.01 + i, x)


def f64(*shape):
    return lambda rng: rng.uniform(-2.0, 2.0, size=shape).astype(np.float64)


# -- scan: recurrent layers ---------------------------------------------------------------------

T, B, D, H = 7, 3, 4, 5
LSTM_WX, LSTM_WH, LSTM_B = weights(1, D, 4 * H), weights(2, H, 4 * H), weights(3, 4 * H, scale=0.1)


def lstm(xs, h0, c0, reverse=False):
    """An LSTM over time (xs: [T, B, D]); its weights are constants of the model."""
    def step(carry, x):
        h, c = carry
        z = x @ LSTM_WX + h @ LSTM_WH + LSTM_B
        i, f, g, o = (lax.slice_in_dim(z, k * H, (k + 1) * H, axis=1) for k in range(4))
        c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
        h = jax.nn.sigmoid(o) * jnp.tanh(c)
        return (h, c), h

    (h, c), hs = lax.scan(step, (h0, c0), xs, reverse=reverse)
    return hs, h, c


def gru(xs, h0, wx, wh, b, reverse=False):
    """A GRU over time whose weights are model inputs (read by the body from the outer graph)."""
    def step(h, x):
        zx, zh = x @ wx + b, h @ wh
        def part(z, k):
            return lax.slice_in_dim(z, k * H, (k + 1) * H, axis=1)
        r = jax.nn.sigmoid(part(zx, 0) + part(zh, 0))
        u = jax.nn.sigmoid(part(zx, 1) + part(zh, 1))
        n = jnp.tanh(part(zx, 2) + r * part(zh, 2))
        h = (1.0 - u) * n + u * h
        return h, h

    return lax.scan(step, h0, xs, reverse=reverse)


RNN_FW, RNN_BW = (weights(4, D + H, H), weights(5, D + H, H))


def bidirectional_rnn(xs):
    """A bidirectional tanh RNN layer: a forward and a backward scan, outputs concatenated."""
    def cell(w):
        def step(h, x):
            h = jnp.tanh(jnp.concatenate([x, h], axis=-1) @ w)
            return h, h
        return step

    h0 = jnp.zeros((xs.shape[1], H), jnp.float32)
    _, fw = lax.scan(cell(RNN_FW), h0, xs)
    _, bw = lax.scan(cell(RNN_BW), h0, xs, reverse=True)
    return jnp.concatenate([fw, bw], axis=-1)


def scan_no_xs(c, reverse=False):
    """A scan without xs (length only), with a stacked output."""
    def step(c, _):
        c = c * 0.9 + jnp.sin(c)
        return c, c.sum()
    return lax.scan(step, c, None, length=6, reverse=reverse)


def scan_int_multi(a, b, k):
    """Two xs, two ys, an int32 carry and a const: exact integer arithmetic."""
    def step(carry, xs):
        s, m = carry
        x, y = xs
        s = s + x * k
        m = jnp.maximum(m, y)
        return (s, m), (s - y, m * 2)
    return lax.scan(step, (jnp.zeros(a.shape[1:], jnp.int32), jnp.full(b.shape[1:], -100, jnp.int32)), (a, b))


def scan_empty(c, xs):
    """A scan over a sequence of length 0: the carry comes back unchanged, ys are empty."""
    return lax.scan(lambda c, x: (c + x, c * x), c, xs)


def mapped(xs):
    """lax.map: a scan with no carry."""
    return lax.map(lambda x: jnp.tanh(x) * x.sum(), xs)


def unrolled(c, xs):
    """unroll changes how XLA compiles the scan, not what it computes."""
    return lax.scan(lambda c, x: (c * 0.7 + x, c + 1.0), c, xs, unroll=3)


def cond_in_scan(xs):
    """A cond per step, on a value computed in the loop (a piecewise update)."""
    def step(c, x):
        c = lax.cond(x.sum() + c.sum() > 0, lambda v: v * 0.5 - x, lambda v: v + x * 2.0, c)
        return c, c.max()
    return lax.scan(step, jnp.zeros(xs.shape[1:], jnp.float32), xs)


# -- nesting and jit ----------------------------------------------------------------------------

def nested(p, x, xs):
    """A scan inside a while_loop inside a cond branch, the cond taken both ways."""
    def outer(x):
        def body(state):
            i, v = state
            v, ys = lax.scan(lambda c, xt: (jnp.tanh(c * 0.5 + xt), (c * xt).sum()), v, xs)
            return i + 1, v + ys.mean() * 0.1

        return lax.while_loop(lambda s: s[0] < 3, body, (jnp.int32(0), x))[1]

    def simple(x):
        return x * 2.0 - 1.0

    return lax.cond(p, outer, simple, x), lax.cond(jnp.logical_not(p), outer, simple, x)


@jax.jit
def jitted_control(x, n):
    y = lax.fori_loop(0, n, lambda i, v: v * 0.8 + 0.1, x)
    return lax.cond(y.sum() > 0, lambda v: v + 1.0, lambda v: v - 1.0, y)


def inside_jit(x, n):
    return jitted_control(x, n) * 2.0


CASES: list[Case] = [
    case("switch_3way", switch3, [const(-2, 0, 1, 2, 5), f32(3)], ["cond", "clamp"]),
    case("switch_5way_i32", switch5_ints, [const(-1, 0, 1, 2, 3, 4, 9), i32(3, 2)], ["cond"], EXACT),
    case("cond_bool_predicate", cond_bool, [scalar(True, bool), f32(3, 2), f32(3, 2)], ["cond"]),
    case("cond_bool_predicate_false", cond_bool, [scalar(False, bool), f32(2), f32(2)], ["cond"]),
    case("fori_loop_dynamic_trip_count", fori_dynamic, [scalar(9), scalar(2), f32(3, 2)], ["while"]),
    case("fori_loop_static", fori_static, [f32(2, 3)], ["scan"]),
    case("while_newton_solver", newton_cbrt, [uniform(5, lo=-20.0, hi=20.0)], ["while"]),
    case("while_mixed_dtype_carry", while_mixed_carry, [f32(2, 3), scalar(6)], ["while"]),
    case("while_x64_carry", fori_x64, [scalar(6, np.int64), f64(4)], ["while"], x64=True),
    case("lstm_forward", lstm, [f32(T, B, D, lo=0.0, hi=1.0), f32(B, H, lo=0.0, hi=0.5), f32(B, H, lo=0.0, hi=0.5)], ["scan"]),
    case("lstm_reverse", lambda xs, h, c: lstm(xs, h, c, reverse=True),
         [f32(T, B, D, lo=0.0, hi=1.0), f32(B, H, lo=0.0, hi=0.5), f32(B, H, lo=0.0, hi=0.5)], ["scan"]),
    case("gru_forward", gru, [f32(T, B, D, lo=0.0, hi=1.0), f32(B, H, lo=0.0, hi=0.5), f32(D, 3 * H, lo=0.0, hi=0.5),
                              f32(H, 3 * H, lo=0.0, hi=0.5), f32(3 * H, lo=0.0, hi=0.1)], ["scan"]),
    case("gru_reverse", lambda *a: gru(*a, reverse=True),
         [f32(T, B, D, lo=0.0, hi=1.0), f32(B, H, lo=0.0, hi=0.5), f32(D, 3 * H, lo=0.0, hi=0.5),
          f32(H, 3 * H, lo=0.0, hi=0.5), f32(3 * H, lo=0.0, hi=0.1)], ["scan"]),
    case("bidirectional_rnn", bidirectional_rnn, [f32(T, B, D, lo=0.0, hi=1.0)], ["scan", "concatenate"]),
    case("scan_no_xs", scan_no_xs, [f32(3)], ["scan"]),
    case("scan_no_xs_reverse", lambda c: scan_no_xs(c, reverse=True), [f32(3)], ["scan"]),
    case("scan_int_two_xs_two_ys", scan_int_multi, [i32(5, 3), i32(5, 3), scalar(3)], ["scan"], EXACT),
    case("scan_length_zero", scan_empty, [f32(3), f32(0, 3)], ["scan"]),
    case("scan_as_map", mapped, [f32(5, 3)], ["scan"]),
    case("scan_unroll_ignored", unrolled, [f32(3), f32(8, 3)], ["scan"]),
    case("cond_inside_scan", cond_in_scan, [f32(9, 4)], ["scan", "cond"]),
    case("nested_scan_in_while_in_cond", nested, [scalar(True, bool), f32(2, 3), f32(4, 2, 3)], ["cond", "while", "scan"]),
    case("control_flow_inside_jit", inside_jit, [f32(2, 3), scalar(5)], ["jit|pjit", "while", "cond"]),
]

REQUIRED = ["cond", "while", "scan"]
