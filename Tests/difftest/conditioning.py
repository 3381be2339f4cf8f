"""Ill-conditioned programs: when an output differs by more than the chain-length tolerance,
is that a conversion bug or a last-bit difference that the program amplifies?

XLA and ONNX Runtime round their non-exact ops (erf, exp, a dot's sum...) each in their own way,
a few ulps apart. Most programs keep such differences at a few ulps; a program that feeds one
into a near-pole (digamma(erf(x)) with erf(x) near -1) or through exp of a large argument turns
them into relative errors of 1e-4. The tolerance counts ops, not condition numbers, so the oracle
measures the condition instead: it reruns JAX a few times with every rounded value of the program
multiplied by 1 ± a few ulps (random signs), and accepts the model when it lies within that
spread. A real conversion bug (a wrong branch, a lost sign, a misread parameter) moves far
outside it; NaN positions and exact outputs are never excused.
"""

from __future__ import annotations

import numpy as np

import jax
import jax.numpy as jnp

from .program import FLOATS, NAMESPACE, Program, code_of

RUNS = 4
ULPS = 4


def jittered(p: Program, seed: int) -> Program:
    """p with each top-level rounded value v replaced by v * (1 + u·ULPS·eps), u = ±1."""
    body = []
    for line in p.body:
        lhs, _, rhs = line.partition(" = ")
        if lhs.strip() in p.rounded:
            body.append(f"{lhs} = _jitter({rhs}, {seed}, {len(body)})")
        else:
            body.append(line)
    return p.with_(body=body)


def _jitter(x, seed, site):
    if not hasattr(x, "dtype") or not jnp.issubdtype(x.dtype, jnp.floating):
        return x
    rng = np.random.default_rng([seed, site])
    signs = rng.choice(np.array([-1.0, 1.0]), size=x.shape)
    scale = (1 + signs * ULPS * float(jnp.finfo(x.dtype).eps)).astype(np.float64)
    return (x.astype(jnp.float64 if x.dtype == jnp.float64 else jnp.float32) * scale).astype(x.dtype)


def spread(p: Program, want):
    """Per output, the largest |JAX(jittered) - JAX| over RUNS jittered reruns (None where a
    rerun fails or no value is rounded)."""
    if not p.rounded:
        return None
    widest = [np.zeros(w.shape, np.float64) for w in want]
    for r in range(RUNS):
        q = jittered(p, seed=r)
        ns = dict(NAMESPACE, _jitter=_jitter)
        exec(compile(q.source(), f"<jittered {p.seed}>", "exec"), ns)
        try:
            with jax.enable_x64(p.x64):
                outs = [np.asarray(o) for o in jax.tree_util.tree_leaves(jax.jit(ns["f"])(*p.inputs))]
        except Exception:  # noqa: BLE001 - a rerun JAX refuses explains nothing
            return None
        for k, (o, w) in enumerate(zip(outs, want)):
            if code_of(w.dtype) in FLOATS and w.size:
                with np.errstate(invalid="ignore", over="ignore"):
                    d = np.abs(o.astype(np.float64) - w.astype(np.float64))
                widest[k] = np.fmax(widest[k], np.where(np.isnan(d), 0, d))
    return widest


def within_spread(got, want, width, tol) -> bool:
    """got agrees with want up to twice the jittered spread (plus the usual tolerance), with NaN
    positions equal."""
    g, w = got.astype(np.float64), want.astype(np.float64)
    if (np.isnan(g) != np.isnan(w)).any():
        return False
    with np.errstate(invalid="ignore", over="ignore"):
        ok = np.isclose(g, w, rtol=tol, atol=tol, equal_nan=True) | (np.abs(g - w) <= 2 * width)
    return bool(ok.all())
