"""Primitives with no arithmetic of their own (issue 26): plain calls of a program, compiler marks
(dce_sink, tie), uninitialized buffers (empty, empty2), and jax.export's shape-polymorphism
plumbing (dimension_size). Each is bound the way JAX binds it, around real work,
so the model must still compute what JAX computes."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax
from jax._src import core
from jax._src import linear_util as lu
from jax._src.api_util import debug_info
from jax._src.compute_on import compute_on_p
from jax._src.export.shape_poly import dimension_size_p
from jax._src.lax.eval_jaxpr import eval_jaxpr_p
from jax._src.lax.lax import dce_sink, empty2, tie_p

from casekit import EXACT, case, f32, i32


def _inner(x, y):
    return jnp.sin(x) * y + x.sum(axis=1, keepdims=True)


def closed_call(x, y):
    """lax's eval_jaxpr stages as core.closed_call with the program as its only param."""
    program = jax.make_jaxpr(_inner)(x, y)
    return eval_jaxpr_p.bind(*program.consts, x, y, jaxpr=program)[0] - 1.0


def open_call(x, y):
    """core.call: the program is an open jaxpr traced from a Python function."""
    fun = lambda a, b: [_inner(a, b)]
    wrapped = lu.wrap_init(fun, debug_info=debug_info("inner", fun, (x, y), {}))
    return core.call_p.bind(x, y, subfuns=(wrapped,))[0] * 2.0


def on_host(x, y):
    """compute_on('device_host') around a program: on one CPU it is the program."""
    program = jax.make_jaxpr(_inner)(x, y)
    out = compute_on_p.bind(x, y, jaxpr=program, compute_type="device_host",
                            out_memory_spaces=(core.MemorySpace.Device,), compiler_options_json=None)
    return out[0] + y


def kept_alive(x):
    """dce_sink marks a value as used; the program's result does not depend on it."""
    dce_sink(jnp.exp(x) * 3.0)
    return jnp.tanh(x) + 1.0


def tied(x, y):
    """tie(x, y) is y, ordered after x."""
    return tie_p.bind(jnp.cos(x), y * 2.0) - x


def empty_then_written(x):
    """lax.empty's contents are undefined; overwriting every element makes the result defined."""
    buf = lax.empty(x.shape, x.dtype)
    return lax.dynamic_update_slice(buf, x * 2.0, (0, 0)) + 1.0


def empty_scalar_times_zero(x):
    """empty2 is a scalar placeholder; multiplied by zero it leaves x + 0 (zeros are its content here)."""
    return empty2(x.dtype, memory_space=core.MemorySpace.Device) * 0.0 + x


def dimension_size(x):
    """x.shape[1] as a number, as jax.export reads a dimension off an argument."""
    n = dimension_size_p.bind(x, dimension=1)
    return x * n.astype(x.dtype) + dimension_size_p.bind(x, dimension=0).astype(x.dtype)


CASES = [
    case("closed_call", closed_call, [f32(3, 4), f32(3, 4)], ["closed_call"]),
    case("core_call", open_call, [f32(3, 4), f32(3, 4)], ["call"]),
    case("compute_on_host", on_host, [f32(2, 5), f32(2, 5)], ["compute_on"]),
    case("dce_sink", kept_alive, [f32(3, 4)], ["dce_sink"]),
    case("tie", tied, [f32(3, 4), f32(3, 4)], ["tie"]),
    case("empty_overwritten", empty_then_written, [f32(3, 4)], ["empty"]),
    case("empty2_scalar", empty_scalar_times_zero, [f32(6)], ["empty2"]),
    case("dimension_size_static", dimension_size, [f32(3, 5)], ["dimension_size"]),
    case("dimension_size_i32", lambda x: x + dimension_size_p.bind(x, dimension=0), [i32(4, 2)],
         ["dimension_size"], EXACT),
]
