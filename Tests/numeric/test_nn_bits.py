"""reduce_precision must match XLA bit for bit (signed zeros and NaN included), which allclose
cannot see; this compares the raw bits of ONNX Runtime's output with JAX's."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

from jax import lax

from cases_nn import rp_values
from jax2onnx_swift import to_onnx

FORMATS = [(8, 7), (5, 10), (4, 3), (5, 2), (6, 0), (11, 4), (8, 22), (3, 1)]


@pytest.mark.parametrize("opset", [17, 23])
@pytest.mark.parametrize("e,m", FORMATS, ids=[f"e{e}m{m}" for e, m in FORMATS])
def test_reduce_precision_bits(e, m, opset, cli, tmp_path):
    x = rp_values(64, 64)(np.random.default_rng(e * 100 + m))
    fn = lambda v: lax.reduce_precision(v, e, m)
    path = tmp_path / "rp.onnx"
    to_onnx(fn, [x], path, opset=opset, cli=cli)
    session = ort.InferenceSession(str(path))
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    want = np.asarray(fn(x))
    nan = np.isnan(got) & np.isnan(want)
    differ = (got.view(np.uint32) != want.view(np.uint32)) & ~nan
    assert not differ.any(), list(zip(x[differ][:5], got[differ][:5], want[differ][:5]))
