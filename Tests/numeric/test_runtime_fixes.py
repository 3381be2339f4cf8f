"""Runtime compatibility (issue 18): models that passed the ONNX checker but failed in ONNX Runtime
1.32's CPU provider. Each case converts for the default target (ort-cpu), runs in ORT CPU and is
compared with JAX; where the spec-only target (`--target onnx`) still writes the old form, the
test shows that form is what ORT cannot run, so the profile is what makes the difference."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

import jax
import jax.numpy as jnp
import onnx
from jax import lax

from jax2onnx_swift import save_bundle

BF16_TOL = dict(rtol=1.6e-2, atol=1.6e-2)  # two bf16 ulps
rng = np.random.default_rng(18)


def convert(cli, fn, inputs, tmp_path, *extra, name="model"):
    bundle = tmp_path / f"{name}.jaxpr"
    save_bundle(fn, inputs, bundle)
    out = tmp_path / f"{name}.onnx"
    proc = subprocess.run([cli, "convert", str(bundle), "-o", str(out), *extra], capture_output=True, text=True)
    return proc, out


def run_ort(path, feeds):
    import onnxruntime as ort
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, dict(zip([i.name for i in sess.get_inputs()], feeds)))


def ops(path):
    return {n.op_type for n in onnx.load(str(path)).graph.node}


# ---- bf16: computed in f32 and rounded back to bf16 per op, where ORT CPU has no bf16 kernel ----

W = jnp.asarray(rng.uniform(-1, 1, (16, 8)), jnp.bfloat16)
B = jnp.asarray(rng.uniform(-1, 1, (8,)), jnp.bfloat16)


def bf16_dense(x):
    return (x.astype(jnp.bfloat16) @ W + B).astype(jnp.float32)


def bf16_chain(x, y):
    x, y = x.astype(jnp.bfloat16), y.astype(jnp.bfloat16)
    return ((x * y + x) * 2.0 - jnp.tanh(y) / (jnp.abs(x) + 1.0)).astype(jnp.float32)


BF16_CASES = [
    ("dense", bf16_dense, [rng.uniform(-2, 2, (4, 16)).astype(np.float32)]),
    ("chain", bf16_chain, [rng.uniform(-2, 2, (3, 5)).astype(np.float32), rng.uniform(-2, 2, (3, 5)).astype(np.float32)]),
]


@pytest.mark.parametrize("opt", [[], ["--no-optimize"]], ids=["opt", "noopt"])
@pytest.mark.parametrize("name,fn,inputs", BF16_CASES, ids=[c[0] for c in BF16_CASES])
def test_bf16_runs_on_ort_cpu_and_matches_jax(name, fn, inputs, opt, cli, tmp_path):
    proc, path = convert(cli, fn, inputs, tmp_path, *opt)
    assert proc.returncode == 0, proc.stderr
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    got = run_ort(path, inputs)[0]
    np.testing.assert_allclose(got, np.asarray(fn(*inputs), np.float32), **BF16_TOL)
    # The bf16 rounding is still in the graph: the math is not silently done in f32 end to end.
    casts = [n for n in onnx.load(str(path)).graph.node if n.op_type == "Cast"]
    assert any(a.i == onnx.TensorProto.BFLOAT16 for n in casts for a in n.attribute if a.name == "to")


@pytest.mark.parametrize("name,fn,inputs", BF16_CASES, ids=[c[0] for c in BF16_CASES])
def test_bf16_spec_target_keeps_bf16_ops_ort_cannot_run(name, fn, inputs, cli, tmp_path):
    import onnxruntime as ort
    proc, path = convert(cli, fn, inputs, tmp_path, "--target", "onnx")
    assert proc.returncode == 0, proc.stderr
    with pytest.raises(Exception, match="NOT_IMPLEMENTED|Could not find an implementation"):
        ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def test_allclose_feeds_and_fetches_a_bf16_interface(cli, tmp_path):
    """A model whose inputs and outputs are bfloat16 (ONNX Runtime's Python API has no such
    arrays) is still compared by allclose: across the boundary as float32, exactly."""
    from jax2onnx_swift import allclose, to_onnx

    def f(x, y):
        return (jnp.tanh(x) * y.astype(jnp.bfloat16) + 1).astype(jnp.bfloat16), y * 2

    x = rng.normal(size=(3, 4)).astype(jnp.bfloat16)
    y = rng.normal(size=(3, 4)).astype(np.float32)
    path = tmp_path / "bf16_io.onnx"
    to_onnx(f, [x, y], str(path), cli=cli)
    assert allclose(f, str(path), [x, y], **BF16_TOL)[0]
    ok, message = allclose(lambda x, y: (f(x, y)[0] * 3, y * 2), str(path), [x, y], **BF16_TOL)
    assert not ok and "output 0 (output_0)" in message, message


# ---- fused Attention: only for masks ORT's kernel accepts ----

HEADS, HEAD_DIM = 8, 16
D = HEADS * HEAD_DIM
ENC = {k: jnp.asarray(rng.normal(0, 0.05, s), jnp.float32)
       for k, s in dict(wq=(D, D), wk=(D, D), wv=(D, D), wo=(D, D), w1=(D, 2 * D), w2=(2 * D, D)).items()}


def layer_norm(x, eps=1e-12):
    m = x.mean(-1, keepdims=True)
    return (x - m) / jnp.sqrt(((x - m) ** 2).mean(-1, keepdims=True) + eps)


def attention_block(x, bias):
    b, t, _ = x.shape

    def heads(w):
        return (x @ w).reshape(b, t, HEADS, HEAD_DIM).transpose(0, 2, 1, 3)
    q, k, v = heads(ENC["wq"]), heads(ENC["wk"]), heads(ENC["wv"])
    s = q @ k.transpose(0, 1, 3, 2) / jnp.sqrt(HEAD_DIM)
    if bias is not None:
        s = s + bias
    a = jax.nn.softmax(s, axis=-1) @ v
    return a.transpose(0, 2, 1, 3).reshape(b, t, D) @ ENC["wo"]


def bert_layer(x, mask):
    """Post-LN encoder layer, 8 heads of 16, exact gelu, padding mask broadcast from [B,1,1,T]."""
    h = layer_norm(x + attention_block(x, (1.0 - mask[:, None, None, :]) * -10000.0))
    return layer_norm(h + jax.nn.gelu(h @ ENC["w1"], approximate=False) @ ENC["w2"])


def padding_mask(b, t):
    m = np.ones((b, t), np.float32)
    m[-1, t // 2:] = 0
    return m


def test_bert_broadcast_mask_runs_on_ort_cpu(cli, tmp_path):
    x = rng.normal(size=(2, 6, D)).astype(np.float32)
    mask = padding_mask(2, 6)
    proc, path = convert(cli, bert_layer, [x, mask], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Attention" not in ops(path)  # [B,1,1,T] is not a mask shape ORT's kernel takes
    np.testing.assert_allclose(run_ort(path, [x, mask])[0], np.asarray(bert_layer(x, mask)), rtol=1e-4, atol=1e-4)


def test_bert_spec_target_still_fuses_the_broadcast_mask(cli, tmp_path):
    x = rng.normal(size=(2, 6, D)).astype(np.float32)
    mask = padding_mask(2, 6)
    proc, path = convert(cli, bert_layer, [x, mask], tmp_path, "--target", "onnx")
    assert proc.returncode == 0, proc.stderr
    assert "Attention" in ops(path)
    with pytest.raises(Exception, match="q_sequence_length"):
        run_ort(path, [x, mask])


MASKS = {
    "B11T": lambda b, t: (1.0 - padding_mask(b, t)[:, None, None, :]) * -10000.0,
    "B1TT": lambda b, t: rng.normal(size=(b, 1, t, t)).astype(np.float32),
    "TT": lambda b, t: rng.normal(size=(t, t)).astype(np.float32),
}


@pytest.mark.parametrize("mask", ["B11T", "B1TT", "TT", "none"])
def test_attention_mask_shapes(mask, cli, tmp_path):
    x = rng.normal(size=(2, 5, D)).astype(np.float32)
    if mask == "none":
        fn, inputs = (lambda x: attention_block(x, None)), [x]
    else:
        fn, inputs = attention_block, [x, MASKS[mask](2, 5)]
    proc, path = convert(cli, fn, inputs, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert ("Attention" in ops(path)) == (mask != "B11T")
    np.testing.assert_allclose(run_ort(path, inputs)[0], np.asarray(fn(*inputs)), rtol=1e-4, atol=1e-4)


# ---- padding: forms whose Reshape or Expand failed at run time ----

def sym(spec, dtype=np.float32):
    return jax.ShapeDtypeStruct(jax.export.symbolic_shape(spec), dtype)


PAD_CASES = [
    ("edge_symbolic_batch", lambda x: jnp.pad(x, ((0, 0), (2, 1)), mode="edge"), "B, 4", (4,)),
    ("edge_symbolic_both_axes", lambda x: jnp.pad(x, ((1, 2), (0, 3)), mode="edge"), "B, 4", (4,)),
    ("negative_low_interior", lambda x: lax.pad(x, 0.5, [(-1, 2, 1), (0, 0, 0)]), "B, 4", (4,)),
    ("negative_low_interior_inner", lambda x: lax.pad(x, -1.0, [(0, 0, 0), (-2, 1, 2)]), "B, 4", (4,)),
    ("negative_both_interior", lambda x: lax.pad(x, 0.0, [(0, 0, 0), (-1, -1, 1)]), "B, 4", (4,)),
]


@pytest.mark.parametrize("name,fn,spec,rest", PAD_CASES, ids=[c[0] for c in PAD_CASES])
def test_pad_symbolic_runs_at_every_size(name, fn, spec, rest, cli, tmp_path):
    proc, path = convert(cli, fn, [sym(spec)], tmp_path)
    assert proc.returncode == 0, proc.stderr
    for b in (1, 3, 7):
        x = rng.uniform(-3, 3, (b, *rest)).astype(np.float32)
        np.testing.assert_array_equal(run_ort(path, [x])[0], np.asarray(fn(x)))


# ---- the verifier: a node the target lacks is never written ----

def test_node_the_target_lacks_is_refused_naming_op_dtype_target(cli, tmp_path):
    jax.config.update("jax_enable_x64", True)
    try:
        x = rng.uniform(-1, 1, (3, 4)).astype(np.float64)
        proc, path = convert(cli, lambda x: jnp.tanh(x) * x, [x], tmp_path, "--target", "ort-web")
    finally:
        jax.config.update("jax_enable_x64", False)
    assert proc.returncode == 1, proc.stderr
    assert "ort-web" in proc.stderr and "f64" in proc.stderr and "equation" in proc.stderr
    assert not path.exists()


def test_reduce_precision_holds_when_the_runtime_flushes_denormals(cli, tmp_path):
    # Run with denormals flushed (FTZ/DAZ: the mode XLA:CPU computes in, and ONNX Runtime's
    # session.set_denormal_as_zero), the ulp 2^(E - m) of a value near f32's smallest normal is a
    # flushed denormal and x / 0 was NaN. The lowering now rounds in f64 (seed 2192 of the
    # differential tester).
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # Tests/, for `import difftest`
    from difftest import ftz, oracle
    if not ftz.available:
        pytest.skip("flush-to-zero needs x86-64")
    near = np.geomspace(1e-39, 1e-35, 40)  # around f32's smallest normal, 1.18e-38
    x = np.concatenate([near, -near, np.random.default_rng(2192).standard_normal(32) * 1e3,
                        [0.0, -0.0, 6e-5]]).astype(np.float32)
    fn = lambda x: lax.reduce_precision(x, exponent_bits=6, mantissa_bits=9)  # noqa: E731
    proc, out = convert(cli, fn, [x], tmp_path)
    assert proc.returncode == 0, proc.stderr
    for flush in (False, True):
        got, err = oracle.run_ort(str(out), [x], ftz=flush)
        assert got is not None, err
        # under FTZ/DAZ a denormal input reads as a signed zero, which reduces to itself
        want = np.asarray(jax.jit(fn)(np.where(np.abs(x) < 1.17549435e-38, x * 0, x) if flush else x))
        np.testing.assert_array_equal(got[0], want)
