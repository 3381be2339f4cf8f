"""Shape truth (issue 18): the host infers each node's shape from the ONNX ops and checks it
against the avals the bundle declares, after lowering and after optimizing. A bundle whose
declared shapes disagree with its program fails with exit 1 naming the equation and both shapes,
and no model is written."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

import jax.numpy as jnp

from jax2onnx_swift import save_bundle


def program(x, y):
    return jnp.tanh(x + y) * 2.0


def bundle(tmp_path):
    path = tmp_path / "model.jaxpr"
    x = np.random.default_rng(0).uniform(-1, 1, (3, 4)).astype(np.float32)
    save_bundle(program, [x, x], path)
    return path


def declare(path, var_id, old, new):
    """Rewrites one equation output's declared shape in place (same byte length)."""
    data = path.read_bytes()
    before = b'{"id":%d,"aval":{"dtype":"f32","shape":%s}}' % (var_id, old)
    assert data.count(before) == 1 and len(old) == len(new)
    path.write_bytes(data.replace(before, before.replace(old, new)))


@pytest.mark.parametrize("opt", [[], ["--no-optimize"]], ids=["opt", "noopt"])
def test_declared_shape_that_disagrees_fails_naming_equation_and_shapes(opt, cli, tmp_path):
    src = bundle(tmp_path)
    declare(src, 3, b"[3,4]", b"[3,5]")  # the add's output
    out = tmp_path / "model.onnx"
    proc = subprocess.run([cli, "convert", str(src), "-o", str(out), *opt], capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr
    assert "equation 'add'" in proc.stderr
    assert "[3, 4]" in proc.stderr and "[3, 5]" in proc.stderr
    assert "tanh" not in proc.stderr  # the consequence is not reported as a second problem
    assert not out.exists()


def test_declared_rank_that_disagrees_fails(cli, tmp_path):
    src = bundle(tmp_path)
    declare(src, 4, b"[3,4]", b"[12] ")  # the tanh's output: rank 1 instead of 2
    proc = subprocess.run([cli, "convert", str(src), "-o", str(tmp_path / "m.onnx")], capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr
    assert "equation 'tanh'" in proc.stderr and "rank" in proc.stderr


def test_consistent_bundle_converts_and_runs(cli, tmp_path):
    import onnx
    import onnxruntime as ort
    src = bundle(tmp_path)
    out = tmp_path / "model.onnx"
    proc = subprocess.run([cli, "convert", str(src), "-o", str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    onnx.checker.check_model(onnx.load(str(out)), full_check=True)
    x = np.random.default_rng(1).uniform(-1, 1, (3, 4)).astype(np.float32)
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    got = sess.run(None, dict(zip([i.name for i in sess.get_inputs()], [x, x])))[0]
    np.testing.assert_allclose(got, np.asarray(program(x, x)), rtol=1e-6, atol=1e-6)


def test_attention_layout_chain_keeps_its_types(cli, tmp_path):
    """jax.nn.dot_product_attention with a causal mask: the optimizer's layout-chain collapse once
    declared a double-permuted shape for the Transpose it made, which the post-optimization shape
    check refused (found by the peer suite). Converts, and matches JAX."""
    import jax
    from jax2onnx_swift import allclose, to_onnx

    def f(q, k, v):
        return jax.nn.dot_product_attention(q, k, v, is_causal=True)

    rng = np.random.default_rng(11)
    q, k, v = (rng.normal(size=(2, 8, 4, 16)).astype(np.float32) for _ in range(3))
    path = to_onnx(f, [q, k, v], return_mode="file", output_path=tmp_path / "dpa.onnx", cli=cli)
    ok, msg = allclose(f, path, [q, k, v], rtol=1e-4, atol=1e-5)
    assert ok, msg
