"""Gradients and transforms inside exported functions (issue 26): grad, value_and_grad, jacfwd,
jacrev, jvp, vjp, hessian and vmap of them, custom_jvp/custom_vjp activations under grad and
vmap, and three workloads: forces as -grad of an MLP energy, the saliency of a CNN logit, and a
Hessian-vector product. Each lists the primitive the transform leaves behind (add_any where the
cotangents of a reused value meet)."""

from __future__ import annotations

import numpy as np

import jax
import jax.numpy as jnp
from jax import lax

from casekit import case, f32

S = (3, 4)


def _w(seed, *shape, scale=0.5):
    return jnp.asarray(np.random.default_rng(seed).normal(0.0, scale, shape).astype(np.float32))


def _loss(x):
    """Reuses x three times, so its cotangents meet in add_any."""
    return jnp.sum(jnp.sin(x) * x + jnp.tanh(x) ** 2)


def _vector_fn(x):
    return jnp.stack([jnp.sum(x * x), jnp.prod(jnp.cos(x)), jnp.sum(jnp.sin(x) * x[::-1])])


# -- an MLP pair energy over atoms: forces = -dE/dpositions -------------------------------------
_W1, _B1, _W2 = _w(1, 3, 16), _w(2, 16), _w(3, 16, 1)


def mlp_energy(pos):
    """pos (N, 3): a per-atom MLP energy plus a smooth pair term, summed."""
    per_atom = jnp.tanh(pos @ _W1 + _B1) @ _W2
    d = pos[:, None, :] - pos[None, :, :]
    r2 = jnp.sum(d * d, axis=-1)
    pair = jnp.exp(-r2)
    return jnp.sum(per_atom) + 0.5 * jnp.sum(pair)


def forces(pos):
    return -jax.grad(mlp_energy)(pos)


# -- a small CNN and the saliency of one logit -----------------------------------------------
_K1, _K2, _WH = _w(4, 3, 3, 2, 4), _w(5, 3, 3, 4, 4), _w(6, 4, 3)


def cnn_logits(img):
    """img (B, H, W, 2) NHWC -> (B, 3) logits: conv, gelu, conv, max pool, mean, dense."""
    dn = ("NHWC", "HWIO", "NHWC")
    h = jax.nn.gelu(lax.conv_general_dilated(img, _K1, (1, 1), "SAME", dimension_numbers=dn))
    h = jax.nn.silu(lax.conv_general_dilated(h, _K2, (1, 1), "SAME", dimension_numbers=dn))
    return jnp.mean(h, axis=(1, 2)) @ _WH


def saliency(img):
    """|d logit_1 / d img| summed over channels, per example."""
    g = jax.grad(lambda x: jnp.sum(cnn_logits(x)[:, 1]))(img)
    return jnp.sum(jnp.abs(g), axis=-1)


def _pool(x, window, strides, padding, op=lax.max, init=-jnp.inf):
    return lax.reduce_window(x, init, op, window, strides, padding)


def maxpool_grad(x):
    """Cotangents flow back to each window's (first) maximum: select_and_scatter_add."""
    return jax.grad(lambda v: jnp.sum(jnp.sin(_pool(v, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")) * 3))(x)


def maxpool_grad_overlapping_padded(x):
    return jax.grad(lambda v: jnp.sum(_pool(v, (1, 3, 3, 1), (1, 2, 2, 1), "SAME") ** 2))(x)


def minpool_grad(x):
    return jax.grad(lambda v: jnp.sum(jnp.cos(_pool(v, (2, 2), (1, 1), "VALID", lax.min, jnp.inf))))(x)


def maxpool_jvp(x, t):
    """The tangent at each window's maximum: select_and_gather_add."""
    return jax.jvp(lambda v: _pool(v, (1, 3, 3, 1), (1, 2, 2, 1), "SAME"), (x,), (t,))[1]


def hvp(x, v):
    return jax.jvp(jax.grad(_loss), (x,), (v,))[1]


ACTIVATIONS = {
    "softplus": jax.nn.softplus, "logsumexp": lambda x: jax.nn.logsumexp(x, axis=-1, keepdims=True), "elu": jax.nn.elu,
    "selu": jax.nn.selu, "log_softmax": jax.nn.log_softmax, "softsign": jax.nn.soft_sign,
    "gelu": jax.nn.gelu, "silu": jax.nn.silu,
}


def _grad_of(act):
    return lambda x: jax.grad(lambda v: jnp.sum(act(v) * jnp.cos(v)))(x)


def _vmap_grad_of(act):
    return lambda x: jax.vmap(jax.grad(lambda v: jnp.sum(act(v) ** 2)))(x)


CASES = [
    case("grad", jax.grad(_loss), [f32(*S)], ["add_any"]),
    case("value_and_grad", jax.value_and_grad(_loss), [f32(*S)], ["add_any"]),
    case("jacfwd", jax.jacfwd(_vector_fn), [f32(4)], ["stack|concatenate"]),
    case("jacrev", jax.jacrev(_vector_fn), [f32(4)], ["add_any"]),
    case("jvp", lambda x, t: jax.jvp(_loss, (x,), (t,)), [f32(*S), f32(*S)], ["mul"]),
    case("vjp", lambda x, ct: jax.vjp(_vector_fn, x)[1](ct)[0], [f32(5), f32(3)], ["add_any"]),
    case("hessian", jax.hessian(_loss), [f32(4)], ["add_any"]),
    case("vmap_grad", jax.vmap(jax.grad(_loss)), [f32(*S)], ["add_any"]),
    case("vmap_jacrev", jax.vmap(jax.jacrev(_vector_fn)), [f32(2, 4)], ["add_any"]),
    case("vmap_hessian", jax.vmap(jax.hessian(_loss)), [f32(2, 3)], ["add_any"]),
    case("hessian_vector_product", hvp, [f32(5), f32(5)], ["add_any"]),
    case("forces_mlp_energy", forces, [f32(6, 3, lo=0.1, hi=1.5)], ["add_any"], tol=dict(rtol=1e-4, atol=1e-5)),
    case("cnn_saliency", saliency, [f32(2, 6, 6, 2)], ["conv_general_dilated"], tol=dict(rtol=1e-4, atol=1e-5)),
    case("maxpool_grad", maxpool_grad, [f32(2, 6, 6, 3)], ["select_and_scatter_add"]),
    case("maxpool_grad_overlapping_padded", maxpool_grad_overlapping_padded, [f32(2, 7, 5, 2)], ["select_and_scatter_add"]),
    case("minpool_grad", minpool_grad, [f32(5, 6)], ["select_and_scatter_add"]),
    case("maxpool_jvp", maxpool_jvp, [f32(2, 7, 5, 2), f32(2, 7, 5, 2)], ["select_and_gather_add"]),
] + [
    case(f"grad_{name}", _grad_of(act), [f32(*S)], ["custom_jvp_call|custom_vjp_call|add_any"])
    for name, act in ACTIVATIONS.items()
] + [
    case(f"vmap_grad_{name}", _vmap_grad_of(act), [f32(*S)], ["mul"])
    for name, act in ACTIVATIONS.items()
]
