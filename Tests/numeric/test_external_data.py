"""Large weights go to the .onnx.data sidecar by default and inline with --web; both run the same."""

import glob
import os

import jax.numpy as jnp
import numpy as np

from jax2onnx_swift import allclose, to_onnx


def _model():
    w = jnp.asarray(np.random.default_rng(1).normal(size=(600, 600)).astype(np.float32) / 25)  # 1.4 MB, unit-scale outputs
    b = jnp.asarray(np.random.default_rng(2).normal(size=(600,)).astype(np.float32))
    return lambda x: jnp.tanh(x @ w + b)


def test_sidecar_and_web(cli, tmp_path):
    f = _model()
    x = [np.random.default_rng(3).normal(size=(5, 600)).astype(np.float32)]
    side = str(tmp_path / "side.onnx")
    to_onnx(f, [("B", 600)], output_path=side, cli=cli)
    # The sidecar's name is unique to its model (NAME.onnx.<16 hex>.data); exactly one is left.
    (data,) = glob.glob(side + ".*.data")
    assert os.path.getsize(data) >= 600 * 600 * 4
    assert os.path.getsize(side) < 100_000
    ok, msg = allclose(f, side, x, rtol=1e-5, atol=1e-5)
    assert ok, msg
    web = str(tmp_path / "web.onnx")
    to_onnx(f, [("B", 600)], output_path=web, cli=cli, web=True)
    assert not glob.glob(web + ".*.data")
    assert os.path.getsize(web) >= 600 * 600 * 4
    ok, msg = allclose(f, web, x, rtol=1e-5, atol=1e-5)
    assert ok, msg
