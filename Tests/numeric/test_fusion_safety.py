"""Fusion safety (issue 18): the fused Attention, LayerNormalization and Gelu patterns on the
shapes real models have. Every case is converted twice, optimized and not, and both models must
match JAX in ONNX Runtime (CPU) on random inputs: a fusion is either correct for the shape or
does not fire. Where the fused kernel is known to serve a shape, the test also asserts that the
fusion did fire, so the matrix exercises the fused path and not only its fallback.

Attention covers masks none, causal [T, T], [B, 1, T, T] and [B, 1, 1, T] (as `where` and as an
additive bias), cross-attention (T_q != T_kv), head dims 16 to 128, grouped-query attention
(fewer kv heads), f32 and f16, and q/k/v both as [B, H, T, D] and as [B, T, H*D] split into heads.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass

import numpy as np
import pytest

import jax
import jax.numpy as jnp
import onnx

from jax2onnx_swift import allclose, to_onnx

R = np.random.default_rng(18)


def _ops(path) -> collections.Counter:
    return collections.Counter(n.op_type for n in onnx.load(str(path)).graph.node)


def _tolerance(dtype) -> dict:
    # f16 keeps about 3 decimal digits, and JAX and ONNX Runtime round at different steps.
    return dict(rtol=2e-2, atol=2e-2) if dtype == np.float16 else dict(rtol=1e-4, atol=1e-5)


def _check(fn, inputs, tmp_path, name, opset=23, tol=None):
    """Converts fn optimized and unoptimized; both must match JAX. Returns the optimized histogram."""
    tol = tol or _tolerance(inputs[0].dtype)
    hist = None
    for optimize in (True, False):
        path = tmp_path / f"{name}-{'opt' if optimize else 'raw'}.onnx"
        to_onnx(fn, inputs, path, opset=opset, optimize=optimize)
        onnx.checker.check_model(onnx.load(str(path)), full_check=True)
        ok, msg = allclose(fn, path, inputs, **tol)
        assert ok, f"{name} ({'optimized' if optimize else 'unoptimized'}): {msg}"
        if optimize:
            hist = _ops(path)
    return hist


# --- attention ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Att:
    id: str
    heads: int = 4
    kv_heads: int = 4
    tq: int = 8
    tkv: int = 8
    d: int = 32
    mask: str = "none"        # none, causal, full_b1tt, pad_b11t, bias_tt, bias_b11t
    dtype: type = np.float32
    form: str = "4d"          # 4d: q/k/v [B, H, T, D]; 3d: [B, T, H*D] split into heads
    fuses: bool = False       # the fused Attention must appear


B = 2
MASKS = ["none", "causal", "full_b1tt", "pad_b11t", "bias_tt", "bias_b11t"]
# What ONNX Runtime 1.32's Attention kernel serves (docs/runtime-profiles.md): a mask whose last
# two dims are [T_q, T_kv] themselves, or none. [B, 1, 1, T] broadcasts and stays unfused.
KERNEL_MASKS = {"none", "causal", "full_b1tt", "bias_tt"}

ATTENTION = (
    [Att(f"self-{m}", mask=m, fuses=m in KERNEL_MASKS) for m in MASKS]
    + [Att(f"cross-{m}", tq=5, tkv=11, mask=m, fuses=m in KERNEL_MASKS) for m in MASKS]
    + [Att(f"head_dim{d}-causal", d=d, fuses=True, mask="causal") for d in (16, 32, 64, 128)]
    + [Att(f"3d-{m}", form="3d", mask=m, fuses=m in KERNEL_MASKS) for m in MASKS]
    + [Att("3d-cross-full_b1tt", form="3d", tq=5, tkv=11, mask="full_b1tt", fuses=True)]
    # kv heads repeated by hand (jnp.repeat) before a 4-D attention: the repeat stays, Attention fuses
    + [Att(f"gqa-{m}", heads=8, kv_heads=2, mask=m, fuses=True) for m in ("none", "causal", "full_b1tt")]
    + [Att(f"3d-gqa-{m}", form="3d", heads=8, kv_heads=2, mask=m) for m in ("none", "causal")]
    # ort-cpu has no f16 Softmax: the pack computes it in f32 between Casts, which the attention
    # pattern does not match, so f16 attention stays unfused (correct, not fused; see the report)
    + [Att(f"f16-{m}", dtype=np.float16, mask=m) for m in ("none", "causal", "full_b1tt", "pad_b11t")]
    + [Att("f16-3d-causal", dtype=np.float16, form="3d", mask="causal")]
)


def _mask_input(c: Att):
    """The mask as the model receives it (an input), or None for masks built inside the model."""
    if c.mask == "full_b1tt":
        m = R.random((B, 1, c.tq, c.tkv)) < 0.7
        m[..., 0] = True  # every query sees at least one key, as real masks guarantee
        return m
    if c.mask in ("pad_b11t", "bias_b11t"):
        valid = np.array([c.tkv, max(1, c.tkv - 3)])
        return (np.arange(c.tkv)[None, :] < valid[:, None])[:, None, None, :]
    return None


def _attention_fn(c: Att):
    scale = np.float32(1 / np.sqrt(c.d))
    causal = np.tril(np.ones((c.tq, c.tkv), bool), k=c.tkv - c.tq)
    fill = np.float32(-1e9) if c.dtype == np.float32 else np.float16(-1e4)

    def core(q, k, v, mask):
        # q [B, Hq, Tq, D]; k, v [B, Hkv, Tkv, D]; kv heads repeated for grouped queries
        if c.kv_heads != c.heads:
            k = jnp.repeat(k, c.heads // c.kv_heads, axis=1)
            v = jnp.repeat(v, c.heads // c.kv_heads, axis=1)
        s = (q @ jnp.swapaxes(k, -1, -2)) * scale.astype(c.dtype)
        if c.mask == "causal":
            s = jnp.where(causal, s, fill)
        elif c.mask in ("full_b1tt", "pad_b11t"):
            s = jnp.where(mask, s, fill)
        elif c.mask == "bias_tt":
            s = s + jnp.where(causal, 0, fill).astype(c.dtype)
        elif c.mask == "bias_b11t":
            s = s + jnp.where(mask, 0, fill).astype(c.dtype)
        return jax.nn.softmax(s, axis=-1) @ v

    if c.form == "4d":
        def fn(q, k, v, *mask):
            return core(q, k, v, mask[0] if mask else None)
    else:
        def split(x, heads):
            b, t, _ = x.shape
            return x.reshape(b, t, heads, c.d).transpose(0, 2, 1, 3)

        def fn(q, k, v, *mask):
            y = core(split(q, c.heads), split(k, c.kv_heads), split(v, c.kv_heads), mask[0] if mask else None)
            return y.transpose(0, 2, 1, 3).reshape(B, c.tq, c.heads * c.d)
    return fn


def _attention_inputs(c: Att):
    def draw(*shape):
        return R.standard_normal(shape).astype(c.dtype)
    if c.form == "4d":
        xs = [draw(B, c.heads, c.tq, c.d), draw(B, c.kv_heads, c.tkv, c.d), draw(B, c.kv_heads, c.tkv, c.d)]
    else:
        xs = [draw(B, c.tq, c.heads * c.d), draw(B, c.tkv, c.kv_heads * c.d), draw(B, c.tkv, c.kv_heads * c.d)]
    mask = _mask_input(c)
    return xs + ([mask] if mask is not None else [])


@pytest.mark.parametrize("case", ATTENTION, ids=[c.id for c in ATTENTION])
def test_attention_fusion_is_correct_or_absent(case, cli, tmp_path):
    hist = _check(_attention_fn(case), _attention_inputs(case), tmp_path, case.id)
    if case.fuses:
        assert hist["Attention"] == 1, f"{case.id}: expected the fused Attention, got {dict(hist)}"
        if case.form == "3d":
            assert hist["Transpose"] == 0, f"{case.id}: heads still transposed around Attention: {dict(hist)}"


def test_attention_is_not_fused_below_opset_23(cli, tmp_path):
    c = Att("opset22-causal", mask="causal")
    hist = _check(_attention_fn(c), _attention_inputs(c), tmp_path, c.id, opset=22)
    assert hist["Attention"] == 0 and hist["Softmax"] == 1


# --- LayerNorm and Gelu ---------------------------------------------------------------------

NORM_SHAPES = {"2d": (6, 32), "3d": (2, 7, 32), "4d": (2, 3, 5, 32)}


def _layer_norm(x, g, b, eps=1e-5):
    m = x.mean(-1, keepdims=True)
    v = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) / jnp.sqrt(v + eps) * g + b


NORM_CASES = [(rank, dt, opset) for rank in NORM_SHAPES for dt in (np.float32, np.float16) for opset in (13, 17, 23)]


@pytest.mark.parametrize("rank,dtype,opset", NORM_CASES,
                         ids=[f"{r}-{np.dtype(d).name}-opset{o}" for r, d, o in NORM_CASES])
def test_layer_norm_fusion_is_correct_or_absent(rank, dtype, opset, cli, tmp_path):
    x = R.uniform(-3, 3, NORM_SHAPES[rank]).astype(dtype)
    g = R.uniform(0.5, 1.5, 32).astype(dtype)
    b = R.uniform(-0.5, 0.5, 32).astype(dtype)
    hist = _check(lambda x: _layer_norm(x, g, b), [x], tmp_path, f"ln-{rank}", opset=opset)
    if opset >= 17 and dtype == np.float32:
        assert hist["LayerNormalization"] == 1, dict(hist)
    if opset < 17:
        assert hist["LayerNormalization"] == 0, dict(hist)


GELU_CASES = [(approx, rank, dt) for approx in (False, True) for rank in ("2d", "3d") for dt in (np.float32, np.float16)]


@pytest.mark.parametrize("approximate,rank,dtype", GELU_CASES,
                         ids=[f"{'tanh' if a else 'erf'}-{r}-{np.dtype(d).name}" for a, r, d in GELU_CASES])
def test_gelu_fusion_is_correct_or_absent(approximate, rank, dtype, cli, tmp_path):
    x = R.uniform(-4, 4, NORM_SHAPES[rank]).astype(dtype)
    hist = _check(lambda x: jax.nn.gelu(x, approximate=approximate), [x], tmp_path, f"gelu-{rank}")
    if dtype == np.float32:
        assert hist["Gelu"] == 1, dict(hist)
