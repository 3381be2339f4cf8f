"""What every case table is made of: input generators, the Case row, and the check that a case
still traces to the primitives it exists to exercise.

Tolerances: float32 cases compare at rtol = atol = 1e-5; integer and bool cases exactly.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Callable

import numpy as np

import jax

F32_TOL = dict(rtol=1e-5, atol=1e-5)
EXACT = dict(rtol=0.0, atol=0.0)


# -- input generators: each takes a numpy Generator and returns one array ----------------------

def f32(*shape, lo=0.1, hi=3.0):
    """Non-zero floats of both signs, magnitudes in [lo, hi]."""
    def gen(rng):
        mag = rng.uniform(lo, hi, size=shape)
        return (mag * rng.choice([-1.0, 1.0], size=shape)).astype(np.float32)
    return gen


def pos(*shape, lo=0.1, hi=3.0):
    """Positive floats (log, sqrt, rsqrt, pow bases)."""
    return lambda rng: rng.uniform(lo, hi, size=shape).astype(np.float32)


def uniform(*shape, lo, hi):
    return lambda rng: rng.uniform(lo, hi, size=shape).astype(np.float32)


def grid(*shape):
    """Floats on a coarse grid, so comparisons see ties as well as both orders."""
    return lambda rng: (rng.integers(-3, 4, size=shape) * 0.5).astype(np.float32)


def i32(*shape, lo=-9, hi=9, nonzero=True):
    """Integers of both signs; zero excluded by default (divisors, signs)."""
    def gen(rng):
        v = rng.integers(lo, hi + 1, size=shape)
        if nonzero:
            v = np.where(v == 0, hi, v)
        return v.astype(np.int32)
    return gen


def boolean(*shape):
    return lambda rng: rng.integers(0, 2, size=shape).astype(bool)


@dataclass(frozen=True)
class Case:
    id: str
    fn: Callable
    inputs: tuple
    prims: tuple
    rtol: float = 1e-5
    atol: float = 1e-5
    # Below this opset ONNX lacks what the case needs: conversion must fail with a clear error.
    min_opset: int = 17
    # Above this opset the target lacks what the case needs: conversion must fail with a clear error.
    max_opset: int = 99
    # Trace and run JAX with 64-bit types on (f64, i64, u64 cases); the default is JAX's 32-bit mode.
    x64: bool = False
    # Convert with the NN pack's strict_nan option: NaN must propagate through pooling as in JAX.
    strict_nan: bool = False
    # Other pack options the case converts with, as (PACK.NAME, value) pairs.
    pack_options: tuple = ()

    def make_inputs(self) -> list[np.ndarray]:
        rng = np.random.default_rng(zlib.crc32(self.id.encode()))
        return [gen(rng) for gen in self.inputs]


def case(id, fn, inputs, prims, tol=None, min_opset=17, x64=False, strict_nan=False, max_opset=99,
         pack_options=None):
    tol = tol or F32_TOL
    return Case(id, fn, tuple(inputs), tuple(prims), **tol, min_opset=min_opset, x64=x64, strict_nan=strict_nan,
                max_opset=max_opset, pack_options=tuple((pack_options or {}).items()))


def jaxpr_primitives(closed) -> set[str]:
    """Names of every primitive in a (closed) jaxpr, nested jaxprs in params included."""
    names: set[str] = set()

    def walk(jaxpr):
        for eqn in jaxpr.eqns:
            names.add(eqn.primitive.name)
            for p in eqn.params.values():
                visit(p)

    def visit(p):
        if hasattr(p, "eqns"):                        # Jaxpr
            walk(p)
        elif hasattr(p, "jaxpr") and hasattr(p, "consts"):  # ClosedJaxpr
            walk(p.jaxpr)
        elif isinstance(p, (tuple, list)):
            for q in p:
                visit(q)

    walk(closed.jaxpr)
    return names


def missing_primitives(c: Case) -> list[str]:
    """The declared primitives (an entry may list alternatives as "a|b") that c's jaxpr lacks."""
    with jax.enable_x64(c.x64):
        found = jaxpr_primitives(jax.make_jaxpr(c.fn)(*c.make_inputs()))
    return [p for p in c.prims if not any(alt in found for alt in p.split("|"))]


def user_primitive(name):
    """A primitive of the user's own, which no pack claims (JAX's own ones all get lowerings)."""
    try:
        from jax.extend.core import Primitive
    except ImportError:  # older JAX
        from jax.core import Primitive
    p = Primitive(name)
    p.def_impl(lambda x: x)
    p.def_abstract_eval(lambda x: x)
    return p
