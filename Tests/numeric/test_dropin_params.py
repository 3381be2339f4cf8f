"""input_params: runtime parameters as named graph inputs. Each model is converted once and run
in ONNX Runtime for every value of its flags, against JAX called with the same value.

Dropout's randomness: an NNX or Linen module draws its mask from RNG state (NNX: the module's
Rngs stream; Linen: the `rngs` the caller passes to apply). The export copies that state as it
is at export time, so the exported model uses a fixed key: every run with the flag in training
mode draws the same mask, the one JAX draws on its next call from the same state.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest

import jax
import jax.numpy as jnp

import onnx

from jax2onnx_swift import allclose, to_onnx



def _inputs(model: onnx.ModelProto):
    return [(i.name, i.type.tensor_type.elem_type) for i in model.graph.input]


def _check_each(fn, path, inputs, name, values, **tol):
    for v in values:
        ok, msg = allclose(fn, path, inputs, {name: v}, **(tol or dict(rtol=1e-5, atol=1e-5)))
        assert ok, f"{name}={v!r}: {msg}"


def _ops(path, op):
    return sum(n.op_type == op for n in onnx.load(str(path)).graph.node)


# -- plain functions -----------------------------------------------------------------------

def test_data_params_are_traced_as_inputs(cli, tmp_path):
    def f(x, temperature, train):
        return jnp.where(train, jax.nn.softmax(x / temperature), x * temperature)

    path = tmp_path / "data.onnx"
    model = to_onnx(f, [("B", 5)], input_params={"temperature": 0.7, "train": True},
                    output_path=path, cli=cli)
    assert _inputs(model) == [("x", onnx.TensorProto.FLOAT), ("temperature", onnx.TensorProto.FLOAT),
                              ("train", onnx.TensorProto.BOOL)]
    assert _ops(path, "If") == 0  # used as data: no branches
    for t in (0.7, 2.5):
        for train in (True, False):
            ok, msg = allclose(f, path, [("B", 5)], {"temperature": t, "train": train},
                               rtol=1e-5, atol=1e-6)
            assert ok, f"temperature={t}, train={train}: {msg}"


def test_python_branch_becomes_an_if(cli, tmp_path):
    def f(x, train=False):
        if train:
            return x * 2.0 + 1.0
        return jnp.sin(x)

    path = tmp_path / "branch.onnx"
    to_onnx(f, [("B", 3)], input_params={"train": False}, output_path=path, cli=cli)
    assert _ops(path, "If") == 1
    _check_each(f, path, [("B", 3)], "train", (True, False))


def test_two_flags_and_a_data_param(cli, tmp_path):
    def f(x, *, scale, a, b):
        y = x * scale
        if a:
            y = y + 1.0
        if b:
            y = jnp.cos(y)
        return y

    params = {"scale": 1.5, "a": True, "b": np.array(False)}
    path = tmp_path / "two.onnx"
    to_onnx(f, [("B", 4)], input_params=params, output_path=path, cli=cli)
    for a in (True, False):
        for b in (True, False):
            ok, msg = allclose(f, path, [("B", 4)], {**params, "a": a, "b": b}, rtol=1e-5, atol=1e-6)
            assert ok, f"a={a}, b={b}: {msg}"


def test_static_int_param_says_close_over_it(cli, tmp_path):
    def f(x, n):
        for _ in range(n):
            x = jnp.sin(x)
        return x

    with pytest.raises(ValueError) as info:
        to_onnx(f, [("B", 3)], input_params={"n": 3}, cli=cli)
    text = str(info.value)
    assert "'n'" in text and "functools.partial(fn, n=3)" in text
    fixed = functools.partial(f, n=3)  # what the message suggests
    path = to_onnx(fixed, [("B", 3)], return_mode="file", output_path=tmp_path / "n3.onnx", cli=cli)
    ok, msg = allclose(fixed, path, [("B", 3)], rtol=1e-5, atol=1e-6)
    assert ok, msg


def test_flag_with_different_outputs_is_a_clear_error(cli):
    def f(x, train):
        return (x, x) if train else x

    with pytest.raises(TypeError, match="'train'.*differ"):
        to_onnx(f, [("B", 3)], input_params={"train": True}, cli=cli)


# -- NNX: Dropout + BatchNorm driven by `deterministic` -----------------------------------

def _nnx_net():
    nnx = pytest.importorskip("flax.nnx")

    class NNXNet(nnx.Module):
        def __init__(self, rngs):
            self.lin = nnx.Linear(6, 8, rngs=rngs)
            self.bn = nnx.BatchNorm(8, rngs=rngs)
            self.drop = nnx.Dropout(0.5, rngs=rngs)
            self.out = nnx.Linear(8, 3, rngs=rngs)

        def __call__(self, x, deterministic: bool = True):
            h = self.bn(self.lin(x), use_running_average=deterministic)
            return self.out(self.drop(nnx.relu(h), deterministic=deterministic))

    net = NNXNet(nnx.Rngs(0))
    rng = np.random.default_rng(3)
    net.bn.mean[...] = rng.normal(0, 0.5, 8).astype(np.float32)
    net.bn.var[...] = rng.uniform(0.5, 2, 8).astype(np.float32)
    return nnx, net


def _snapshot(nnx, module) -> list[np.ndarray]:
    def value(v):
        if jax.dtypes.issubdtype(v.dtype, jax.dtypes.prng_key):
            v = jax.random.key_data(v)
        return np.array(v)
    return [value(v) for v in jax.tree_util.tree_leaves(nnx.state(module))]


def test_nnx_deterministic(cli, tmp_path):
    nnx, net = _nnx_net()
    before = _snapshot(nnx, net)
    path = tmp_path / "nnx.onnx"
    model = to_onnx(net, [jax.ShapeDtypeStruct((7, 6), jnp.float32)],
                    input_params={"deterministic": True}, output_path=path, cli=cli)
    assert [n for n, _ in _inputs(model)] == ["x", "deterministic"]
    assert _ops(path, "If") == 1
    # the export used a copy: the module's RNG counter and statistics did not move
    after = _snapshot(nnx, net)
    assert len(before) == len(after) and all(np.array_equal(a, b) for a, b in zip(before, after))
    # JAX on a fresh copy each time: the same state the export saw (the same dropout key)
    reference = lambda x, deterministic: nnx.clone(net)(x, deterministic=deterministic)
    _check_each(reference, path, [(7, 6)], "deterministic", (True, False), rtol=1e-4, atol=1e-5)


def test_nnx_symbolic_batch_serves_both_values(cli, tmp_path):
    """Dropout draws a mask of the input's (symbolic) size: with random draws of symbolic shape
    lowered, one model with a symbolic batch serves both flag values."""
    nnx, net = _nnx_net()
    path = tmp_path / "nnx_sym.onnx"
    to_onnx(net, [("B", 6)], input_params={"deterministic": True}, output_path=path, cli=cli)
    _check_each(lambda x, deterministic: nnx.clone(net)(x, deterministic=deterministic),
                path, [("B", 6)], "deterministic", (True, False), rtol=1e-4, atol=1e-5)


# -- Linen: `train` ------------------------------------------------------------------------

def test_linen_train(cli, tmp_path):
    nn = pytest.importorskip("flax.linen")

    class Net(nn.Module):
        @nn.compact
        def __call__(self, x, train: bool):
            x = nn.Dense(8)(x)
            x = nn.BatchNorm(use_running_average=not train, momentum=0.9)(x)
            x = nn.Dropout(0.3, deterministic=not train)(nn.relu(x))
            return nn.Dense(3)(x)

    net = Net()
    x0 = jnp.ones((1, 6))
    variables = net.init({"params": jax.random.key(0)}, x0, train=False)

    def apply(x, train):
        out, _ = net.apply(variables, x, train=train, rngs={"dropout": jax.random.key(1)},
                           mutable=["batch_stats"])
        return out

    path = tmp_path / "linen.onnx"
    to_onnx(apply, [(5, 6)], input_params={"train": False}, output_path=path, cli=cli)
    assert _ops(path, "If") == 1
    _check_each(apply, path, [(5, 6)], "train", (False, True), rtol=1e-4, atol=1e-5)


# -- Equinox: `inference` ------------------------------------------------------------------

def test_equinox_inference(cli, tmp_path):
    eqx = pytest.importorskip("equinox")

    class Net(eqx.Module):
        lin: eqx.nn.Linear
        drop: eqx.nn.Dropout

        def __init__(self, key):
            self.lin = eqx.nn.Linear(6, 4, key=key)
            self.drop = eqx.nn.Dropout(0.4)

        def __call__(self, x, *, inference):
            y = jax.vmap(self.lin)(x)
            return self.drop(y, key=jax.random.key(5), inference=inference)

    net = Net(jax.random.key(2))
    path = tmp_path / "eqx.onnx"
    to_onnx(net, [(5, 6)], input_params={"inference": np.array(True)}, output_path=path, cli=cli)
    _check_each(net, path, [(5, 6)], "inference", (True, False), rtol=1e-4, atol=1e-5)
