"""Neural-net lowerings with a symbolic batch (and sort length): one export, run at two sizes."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort

import flax.linen as nn
import jax.numpy as jnp
from jax import lax

from jax2onnx_swift import to_onnx

RNG = np.random.default_rng(7)
K = (RNG.normal(size=(3, 3, 3, 4)) * 0.3).astype(np.float32)
KT = (RNG.normal(size=(2, 2, 4, 2)) * 0.3).astype(np.float32)
NHWC = ("NHWC", "HWIO", "NHWC")


def cnn(x):
    y = lax.conv_general_dilated(x, K, (1, 1), "SAME", dimension_numbers=NHWC)
    y = nn.max_pool(y, (2, 2), strides=(2, 2))
    y = nn.avg_pool(y, (3, 3), strides=(1, 1), padding="SAME")
    y = lax.conv_transpose(y, KT, (2, 2), "SAME", dimension_numbers=NHWC)
    y = jnp.cumsum(y, axis=1) + lax.cummax(y, axis=2)
    values, indices = lax.top_k(y, 1)
    return jnp.sort(y, axis=-1), values, indices


def dilated(x):
    # lhs dilation with a stride (explicit zeros), negative padding, base-dilated window
    y = lax.conv_general_dilated(x, K, (2, 1), ((-1, 2), (1, 1)), lhs_dilation=(2, 2), dimension_numbers=NHWC)
    return lax.reduce_window(y, -jnp.inf, lax.max, (1, 2, 2, 1), (1, 1, 1, 1), "VALID", base_dilation=(1, 1, 2, 1))


def sort_pairs(x, y):
    return lax.sort((x, y), dimension=0, num_keys=1)


def check(fn, specs, shapes_by_size, cli, path):
    to_onnx(fn, specs, path, cli=cli)
    session = ort.InferenceSession(str(path))
    names = [i.name for i in session.get_inputs()]
    for shapes in shapes_by_size:
        inputs = [RNG.normal(size=s).astype(np.float32) for s in shapes]
        got = session.run(None, dict(zip(names, inputs)))
        want = fn(*inputs)
        want = want if isinstance(want, tuple) else (want,)
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, np.asarray(w), rtol=1e-5, atol=1e-5)


def test_cnn_with_symbolic_batch(cli, tmp_path):
    check(cnn, [("B", 8, 8, 3)], [[(1, 8, 8, 3)], [(3, 8, 8, 3)]], cli, tmp_path / "cnn.onnx")


def test_dilations_with_symbolic_batch(cli, tmp_path):
    check(dilated, [("B", 5, 6, 3)], [[(1, 5, 6, 3)], [(2, 5, 6, 3)]], cli, tmp_path / "dilated.onnx")


def test_sort_along_symbolic_axis(cli, tmp_path):
    check(sort_pairs, [("N", 3), ("N", 3)], [[(2, 3), (2, 3)], [(7, 3), (7, 3)]], cli, tmp_path / "sort.onnx")
