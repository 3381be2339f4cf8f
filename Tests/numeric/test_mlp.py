"""The flagship: a Flax NNX MLP in eval mode, exported with a symbolic batch dimension."""

from __future__ import annotations

import numpy as np
import pytest

import onnx

from jax2onnx_swift import allclose, to_onnx

nnx = pytest.importorskip("flax.nnx")

DIN, DMID, DOUT = 30, 20, 10


class MLP(nnx.Module):
    def __init__(self, din: int, dmid: int, dout: int, *, rngs: nnx.Rngs):
        self.linear1 = nnx.Linear(din, dmid, rngs=rngs)
        self.bn = nnx.BatchNorm(dmid, rngs=rngs)
        self.dropout = nnx.Dropout(0.2, rngs=rngs)
        self.linear2 = nnx.Linear(dmid, dout, rngs=rngs)

    def __call__(self, x):
        x = nnx.gelu(self.dropout(self.bn(self.linear1(x))))
        return self.linear2(x)


@pytest.fixture(scope="module")
def model():
    m = MLP(DIN, DMID, DOUT, rngs=nnx.Rngs(0))
    rng = np.random.default_rng(42)
    # non-trivial running statistics and affine params, so the BatchNorm is not the identity
    m.bn.mean[...] = rng.normal(0.0, 0.5, DMID).astype(np.float32)
    m.bn.var[...] = rng.uniform(0.5, 2.0, DMID).astype(np.float32)
    m.bn.scale[...] = rng.uniform(0.5, 1.5, DMID).astype(np.float32)
    m.bn.bias[...] = rng.normal(0.0, 0.2, DMID).astype(np.float32)
    m.eval()  # running averages in BatchNorm, Dropout off
    return m


@pytest.fixture(scope="module")
def exported(model, cli, tmp_path_factory):
    path = tmp_path_factory.mktemp("mlp") / "mlp.onnx"
    to_onnx(model, [("B", DIN)], output_path=path, cli=cli)
    return path


def test_mlp_is_deterministic_and_not_identity(model):
    x = np.random.default_rng(1).standard_normal((4, DIN)).astype(np.float32)
    y1, y2 = np.asarray(model(x)), np.asarray(model(x))
    np.testing.assert_array_equal(y1, y2)  # dropout really is off
    h = np.asarray(model.linear1(x))
    assert not np.allclose(np.asarray(model.bn(h)), h, atol=1e-3)


def test_mlp_checker_and_symbolic_batch(exported):
    onnx.checker.check_model(str(exported), full_check=True)
    m = onnx.load(str(exported))
    assert len(m.graph.input) == 1
    dims = m.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "B"
    assert dims[1].dim_value == DIN
    out_dims = m.graph.output[0].type.tensor_type.shape.dim
    assert out_dims[0].dim_param == "B" and out_dims[1].dim_value == DOUT


@pytest.mark.parametrize("batch", [1, 7])
def test_mlp_matches_jax(model, exported, batch):
    x = np.random.default_rng(batch).standard_normal((batch, DIN)).astype(np.float32)
    ok, message = allclose(model, exported, [x], rtol=1e-5, atol=1e-5)
    assert ok, message


def test_mlp_unoptimized_matches_jax(model, cli, tmp_path):
    path = to_onnx(model, [("B", DIN)], output_path=tmp_path / "mlp.onnx", optimize=False, cli=cli)
    x = np.random.default_rng(3).standard_normal((5, DIN)).astype(np.float32)
    ok, message = allclose(model, path, [x], rtol=1e-5, atol=1e-5)
    assert ok, message
