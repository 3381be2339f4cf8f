"""Model hierarchy as ONNX local functions (docs/functions.md): decorated calls, `auto` module
scopes for Flax NNX, Flax Linen and Equinox, and `none`. Every export is run in ONNX Runtime
against JAX on random inputs."""

from __future__ import annotations

import numpy as np
import pytest

import onnx

from jax2onnx_swift import onnx_function, to_onnx

jax = pytest.importorskip("jax")
jnp = jax.numpy
nnx = pytest.importorskip("flax.nnx")
ort = pytest.importorskip("onnxruntime")

D = 16


def run(model: onnx.ModelProto, *xs):
    onnx.checker.check_model(model)
    s = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return s.run(None, {i.name: x for i, x in zip(s.get_inputs(), xs)})


def check(model, fn, *xs, tol=2e-5):
    got = run(model, *xs)[0]
    want = np.asarray(fn(*xs))
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


def outline(model: onnx.ModelProto) -> dict:
    """function name -> op types of its body, and "" -> the main graph's op types."""
    out = {"": [n.op_type for n in model.graph.node]}
    for f in model.functions:
        out[f.name] = [n.op_type for n in f.node]
    return out


def random_init(m, seed=1):
    """Non-zero biases and non-unit norms, so no layer folds away as an identity."""
    rng = np.random.default_rng(seed)
    for _, v in nnx.iter_graph(m):
        if isinstance(v, nnx.Param):
            v[...] = rng.normal(0.0, 0.3, v[...].shape).astype(np.float32)


# -- decorated transformer -------------------------------------------------------------------

@onnx_function
class MultiHeadAttention(nnx.Module):
    def __init__(self, d, heads, rngs):
        self.heads = heads
        self.qkv = nnx.Linear(d, 3 * d, rngs=rngs)
        self.out = nnx.Linear(d, d, rngs=rngs)

    def __call__(self, x):
        b, t, d = x.shape
        q, k, v = jnp.split(self.qkv(x), 3, axis=-1)
        split = lambda a: a.reshape(b, t, self.heads, d // self.heads).transpose(0, 2, 1, 3)
        q, k, v = split(q), split(k), split(v)
        a = jax.nn.softmax(q @ k.transpose(0, 1, 3, 2) / np.sqrt(d // self.heads), axis=-1)
        return self.out((a @ v).transpose(0, 2, 1, 3).reshape(b, t, d))


@onnx_function
class Block(nnx.Module):
    def __init__(self, d, rngs):
        self.ln1 = nnx.LayerNorm(d, rngs=rngs)
        self.attn = MultiHeadAttention(d, 4, rngs)
        self.ln2 = nnx.LayerNorm(d, rngs=rngs)
        self.fc1 = nnx.Linear(d, 2 * d, rngs=rngs)
        self.fc2 = nnx.Linear(2 * d, d, rngs=rngs)

    def __call__(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.fc2(jax.nn.gelu(self.fc1(self.ln2(x))))


class Transformer(nnx.Module):
    def __init__(self, n, d, rngs):
        self.blocks = nnx.List([Block(d, rngs) for _ in range(n)])

    def __call__(self, x):
        for b in self.blocks:
            x = b(x)
        return x


@pytest.fixture(scope="module")
def transformer():
    m = Transformer(4, D, nnx.Rngs(0))
    random_init(m)
    return m


def x_tokens(seed=0):
    return np.random.default_rng(seed).normal(size=(2, 6, D)).astype(np.float32)


def test_identical_blocks_share_one_function(cli, transformer):
    x = x_tokens()
    model = to_onnx(transformer, [x], cli=cli)
    o = outline(model)
    assert o[""] == ["Block"] * 4
    assert sorted(f.name for f in model.functions) == ["Block", "MultiHeadAttention"]
    assert o["Block"].count("MultiHeadAttention") == 1
    # The optimizer ran inside the body: the attention core is fused (or at least a Softmax).
    assert {"Attention", "Softmax"} & set(o["MultiHeadAttention"])
    assert {f.domain for f in model.functions} == {"custom"}
    assert any(i.domain == "custom" for i in model.opset_import)
    # Weights stay graph initializers, passed to each call: four blocks, four sets of weights.
    assert len(model.graph.initializer) >= 4 * 8
    check(model, transformer, x)


def test_function_bodies_carry_provenance(cli, transformer):
    model = to_onnx(transformer, [x_tokens()], cli=cli)
    body = next(f for f in model.functions if f.name == "MultiHeadAttention")
    keys = {p.key for n in body.node for p in n.metadata_props}
    assert "jax2onnx.primitive" in keys


def test_none_keeps_the_flat_graph(cli, transformer):
    x = x_tokens(3)
    model = to_onnx(transformer, [x], cli=cli, functions="none")
    assert len(model.functions) == 0
    assert "Block" not in outline(model)[""]
    check(model, transformer, x)


def test_unique_gives_each_call_its_own_function(cli):
    @onnx_function(unique=True, namespace="mine", type="Scaled")
    def scaled(x, w):
        return jnp.tanh(x @ w) * 2.0

    rng = np.random.default_rng(5)
    w1, w2 = (rng.normal(size=(D, D)).astype(np.float32) for _ in range(2))
    fn = lambda x: scaled(scaled(x, w1), w2)
    x = rng.normal(size=(3, D)).astype(np.float32)
    model = to_onnx(fn, [x], cli=cli)
    assert [(f.name, f.domain) for f in model.functions] == [("Scaled", "mine"), ("Scaled_1", "mine")]
    assert outline(model)[""] == ["Scaled", "Scaled_1"]
    check(model, fn, x)


def test_decorated_function_with_static_arguments(cli):
    @onnx_function
    def mlp_layer(x, w, *, act="relu"):
        y = x @ w
        return jax.nn.relu(y) if act == "relu" else jnp.tanh(y)

    rng = np.random.default_rng(6)
    w = rng.normal(size=(D, D)).astype(np.float32)
    fn = lambda x: mlp_layer(mlp_layer(x, w), w, act="tanh")
    x = rng.normal(size=(4, D)).astype(np.float32)
    model = to_onnx(fn, [x], cli=cli)
    # Different bodies (Relu, Tanh): two functions, named apart.
    assert sorted(f.name for f in model.functions) == ["mlp_layer", "mlp_layer_1"]
    check(model, fn, x)


# -- auto: hierarchy without decorators ------------------------------------------------------

class PlainAttention(nnx.Module):
    def __init__(self, d, rngs):
        self.qkv = nnx.Linear(d, 3 * d, rngs=rngs)
        self.out = nnx.Linear(d, d, rngs=rngs)

    def __call__(self, x):
        q, k, v = jnp.split(self.qkv(x), 3, axis=-1)
        return self.out(jax.nn.softmax(q @ jnp.swapaxes(k, -1, -2) / 4.0, axis=-1) @ v)


class EncoderBlock(nnx.Module):
    def __init__(self, d, rngs):
        self.ln1 = nnx.LayerNorm(d, rngs=rngs)
        self.attn = PlainAttention(d, rngs)
        self.ln2 = nnx.LayerNorm(d, rngs=rngs)
        self.mlp = nnx.Linear(d, d, rngs=rngs)

    def __call__(self, x):
        x = x + self.attn(self.ln1(x))
        return x + jax.nn.gelu(self.mlp(self.ln2(x)))


class ViT(nnx.Module):
    def __init__(self, n, d, rngs):
        self.patch = nnx.Conv(3, d, (4, 4), strides=(4, 4), rngs=rngs)
        self.blocks = nnx.List([EncoderBlock(d, rngs) for _ in range(n)])
        self.head = nnx.Linear(d, 10, rngs=rngs)

    def __call__(self, x):
        x = self.patch(x)
        x = x.reshape(x.shape[0], -1, x.shape[-1])
        for b in self.blocks:
            x = b(x)
        return self.head(x.mean(axis=1))


def test_nnx_vit_exports_as_hierarchy_in_auto(cli):
    m = ViT(3, D, nnx.Rngs(0))
    random_init(m, 2)
    x = np.random.default_rng(7).normal(size=(2, 16, 16, 3)).astype(np.float32)
    model = to_onnx(m, [x], cli=cli, functions="auto")
    o = outline(model)
    assert o[""] == ["ViT"]
    assert o["ViT"].count("EncoderBlock") == 3
    assert "PlainAttention" in o["EncoderBlock"]
    assert "Conv" in o and "LayerNorm" in o
    check(model, m, x)
    # decorated (the default) finds no decorated code here: a flat graph.
    assert len(to_onnx(m, [x], cli=cli).functions) == 0


def test_equinox_mlp_exports_as_hierarchy_in_auto(cli):
    eqx = pytest.importorskip("equinox")
    m = eqx.nn.MLP(8, 4, 16, 3, key=jax.random.key(0))
    x = np.random.default_rng(8).normal(size=(8,)).astype(np.float32)
    model = to_onnx(m, [x], cli=cli, functions="auto")
    o = outline(model)
    assert o[""] == ["MLP"]
    # Four Linear calls: 8->16, 16->16 (twice, one shared function), 16->4.
    assert sum(op.startswith("Linear") for op in o["MLP"]) == 4
    assert sorted(f.name for f in model.functions if f.name.startswith("Linear")) == \
        ["Linear", "Linear_1", "Linear_2"]
    check(model, m, x)


def test_linen_exports_as_hierarchy_in_auto(cli):
    nn = pytest.importorskip("flax.linen")

    class Layer(nn.Module):
        @nn.compact
        def __call__(self, x):
            return nn.relu(nn.Dense(D)(x))

    class Net(nn.Module):
        @nn.compact
        def __call__(self, x):
            for _ in range(3):
                x = Layer()(x)
            return x

    net = Net()
    x = np.random.default_rng(9).normal(size=(2, D)).astype(np.float32)
    params = net.init(jax.random.key(0), x)
    fn = lambda x: net.apply(params, x)
    model = to_onnx(fn, [x], cli=cli, functions="auto")
    o = outline(model)
    assert o[""] == ["Net"]
    assert o["Net"] == ["Layer"] * 3
    assert "Dense" in o["Layer"]
    check(model, fn, x)


def test_classes_marked_by_jax2onnx_export_as_functions(cli):
    """The Python jax2onnx's decorator only sets attributes on the class; the peer examples rely
    on them. Set here by hand, so the test needs no jax2onnx."""
    class Inner(nnx.Module):
        def __init__(self, rngs):
            self.lin = nnx.Linear(D, D, rngs=rngs)

        def __call__(self, x):
            return jnp.tanh(self.lin(x))

    Inner.__j2o_onnx_function__ = True
    Inner.__j2o_onnx_function_namespace__ = "peer"
    Inner.__j2o_onnx_function_type__ = "InnerBlock"

    class Outer(nnx.Module):
        def __init__(self, rngs):
            self.a, self.b = Inner(rngs), Inner(rngs)

        def __call__(self, x):
            return self.b(self.a(x)) * 0.5

    m = Outer(nnx.Rngs(3))
    random_init(m, 4)
    x = np.random.default_rng(10).normal(size=(3, D)).astype(np.float32)
    model = to_onnx(m, [x], cli=cli)
    assert [(f.name, f.domain) for f in model.functions] == [("InnerBlock", "peer")]
    assert outline(model)[""][:2] == ["InnerBlock", "InnerBlock"]
    check(model, m, x)


# A free function marked the way jax2onnx 0.17's `onnx_function` marks it: attributes only, the
# function itself unchanged, found by the caller in this module's globals (the peer suite's
# onnx_functions_017). Module level on purpose: that is where a caller looks it up.
def square_shift(x, *, shift):
    return jnp.square(x + shift)


square_shift.__j2o_onnx_function__ = True
square_shift.__j2o_onnx_function_unique__ = True
square_shift.__j2o_onnx_function_namespace__ = "custom"


class DoubleSquareShift(nnx.Module):
    def __init__(self, shift):
        self.shift = shift

    def __call__(self, x):
        return square_shift(square_shift(x, shift=self.shift), shift=self.shift)


def test_free_function_marked_by_jax2onnx_is_one_shared_function(cli):
    m = DoubleSquareShift(0.25)
    x = np.random.default_rng(11).normal(size=(5, 4)).astype(np.float32)
    model = to_onnx(m, [x], cli=cli)
    # As jax2onnx exports it: one FunctionProto, called twice from the graph.
    assert [(f.name, f.domain) for f in model.functions] == [("square_shift", "custom")]
    assert outline(model)[""] == ["square_shift", "square_shift"]
    assert {"Add", "Mul"} <= set(outline(model)["square_shift"]) or "Pow" in outline(model)["square_shift"]
    check(model, m, x)
    assert square_shift.__name__ == "square_shift" and globals()["square_shift"] is square_shift


def test_free_function_marked_by_jax2onnx_from_a_plain_function(cli):
    fn = lambda x: square_shift(square_shift(x, shift=0.25), shift=-0.5) * 3.0
    x = np.random.default_rng(12).normal(size=(2, 7)).astype(np.float32)
    model = to_onnx(fn, [x], cli=cli)
    # jax2onnx bakes each call's constant into its body (two functions); here constants are
    # passed in like weights, so both calls share one body, fed different shifts.
    assert [f.name for f in model.functions] == ["square_shift"]
    calls = [n for n in model.graph.node if n.op_type == "square_shift"]
    assert len(calls) == 2 and len(model.functions[0].input) == 2
    shifts = {init.name: onnx.numpy_helper.to_array(init) for init in model.graph.initializer}
    assert sorted(float(shifts[c.input[1]]) for c in calls) == [-0.5, 0.25]
    check(model, fn, x)
    # Flat without functions, the same numbers.
    flat = to_onnx(fn, [x], cli=cli, functions="none")
    assert len(flat.functions) == 0
    check(flat, fn, x)


# -- Equinox in auto: each module call is its own instance ----------------------------------

def _eqx_random_biases(m, seed):
    """Equinox initializes biases uniformly; make them plainly non-zero anyway."""
    eqx = pytest.importorskip("equinox")
    rng = np.random.default_rng(seed)
    leaves, tree = jax.tree_util.tree_flatten(eqx.filter(m, eqx.is_array))
    leaves = [jnp.asarray(rng.normal(0, 0.3, l.shape).astype(np.float32)) for l in leaves]
    return eqx.combine(jax.tree_util.tree_unflatten(tree, leaves), m)


def test_equinox_back_to_back_linears_are_separate_instances(cli):
    eqx = pytest.importorskip("equinox")
    k = jax.random.split(jax.random.key(1), 3)
    seq = _eqx_random_biases(eqx.nn.Sequential(
        [eqx.nn.Linear(8, 16, key=k[0]), eqx.nn.Linear(16, 16, key=k[1]), eqx.nn.Linear(16, 4, key=k[2])]), 13)
    x = np.random.default_rng(14).normal(size=(8,)).astype(np.float32)
    model = to_onnx(seq, [x], cli=cli, functions="auto")
    o = outline(model)
    assert o[""] == ["Sequential"]
    # Equinox names every Linear call `eqx.nn.Linear`; without the tracer's per-instance names
    # the three calls, with nothing between them, would be one.
    assert o["Sequential"] == ["Linear", "Linear_1", "Linear_2"]
    for name in ("Linear", "Linear_1", "Linear_2"):
        assert {"MatMul", "Add"} <= set(o[name]) or "Gemm" in o[name]
    check(model, seq, x)


def test_equinox_mlp_without_activation_keeps_its_layers(cli):
    eqx = pytest.importorskip("equinox")
    m = _eqx_random_biases(eqx.nn.MLP(8, 4, 16, 3, activation=lambda v: v, key=jax.random.key(2)), 15)
    x = np.random.default_rng(16).normal(size=(8,)).astype(np.float32)
    model = to_onnx(m, [x], cli=cli, functions="auto")
    o = outline(model)
    assert o[""] == ["MLP"]
    assert o["MLP"] == ["Linear", "Linear_1", "Linear_1", "Linear_2"]
    check(model, m, x)


def test_equinox_user_module_shares_one_layer_function(cli):
    eqx = pytest.importorskip("equinox")

    class TwoLayers(eqx.Module):
        a: eqx.nn.Linear
        b: eqx.nn.Linear

        def __init__(self, key):
            k1, k2 = jax.random.split(key)
            self.a, self.b = eqx.nn.Linear(D, D, key=k1), eqx.nn.Linear(D, D, key=k2)

        def __call__(self, x):
            return self.b(self.a(x))

    m = _eqx_random_biases(TwoLayers(jax.random.key(3)), 17)
    fn = jax.vmap(m)
    x = np.random.default_rng(18).normal(size=(3, D)).astype(np.float32)
    model = to_onnx(m, [x[0]], cli=cli, functions="auto")
    o = outline(model)
    # A user's own Equinox class records nothing on the name stack by itself.
    assert o[""] == ["TwoLayers"]
    assert o["TwoLayers"] == ["Linear", "Linear"]
    assert sorted(f.name for f in model.functions) == ["Linear", "TwoLayers"]
    check(model, m, x[0])
    assert fn(x).shape == (3, D)


def test_equinox_model_under_vmap_keeps_its_hierarchy(cli):
    """jax.vmap wraps the first scope under it in its marker (`vmap(CNN@root)`); the module
    inside still counts, and a Conv2d reaching its parent's __call__ (`Conv2d@c1/eqx.nn.Conv`)
    is one module. The optimizer folds the pooling's per-channel reshapes into the layers around
    it; the pooling still lands in its own body."""
    eqx = pytest.importorskip("equinox")

    class CNN(eqx.Module):
        c1: eqx.nn.Conv2d
        c2: eqx.nn.Conv2d
        pool: eqx.nn.MaxPool2d
        fc: eqx.nn.Linear

        def __init__(self, key):
            k1, k2, k3 = jax.random.split(key, 3)
            self.c1 = eqx.nn.Conv2d(2, 4, 3, padding=1, key=k1)
            self.c2 = eqx.nn.Conv2d(4, 4, 3, padding=1, key=k2)
            self.pool = eqx.nn.MaxPool2d(2, 2)
            self.fc = eqx.nn.Linear(4 * 3 * 3, 5, key=k3)

        def __call__(self, x):
            x = self.pool(jnp.tanh(self.c1(x)))
            return self.fc(jnp.ravel(jnp.tanh(self.c2(x))))

    m = _eqx_random_biases(CNN(jax.random.key(4)), 19)
    fn = lambda x: jax.vmap(m)(x)
    x = np.random.default_rng(20).normal(size=(3, 2, 6, 6)).astype(np.float32)
    model = to_onnx(fn, [x], cli=cli, functions="auto")
    o = outline(model)
    assert o[""] == ["CNN"]
    assert [op for op in o["CNN"] if op in o] == ["Conv2d", "MaxPool2d", "Conv2d_1", "Linear"]
    assert "Conv" in o["Conv2d"] and "Conv" not in o
    assert "MaxPool" in o["MaxPool2d"]
    assert "MaxPool" not in o["Conv2d_1"] + o["Linear"] + o["CNN"]
    check(model, fn, x, tol=1e-4)


# -- the outline script ----------------------------------------------------------------------

def test_outline_script_prints_the_hierarchy(cli, transformer, tmp_path):
    import pathlib
    import subprocess
    import sys
    script = pathlib.Path(__file__).resolve().parents[2] / "scripts" / "onnx-outline.py"
    path = tmp_path / "t.onnx"
    to_onnx(transformer, [x_tokens()], cli=cli, output_path=path)
    r = subprocess.run([sys.executable, str(script), str(path)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith(path.stem) or "4 nodes, 2 functions" in lines[0]
    assert any(l.startswith("└─ Block ×4  [custom]") for l in lines)
    assert any(l.startswith("   ├─ MultiHeadAttention  [custom]") or
               l.startswith("   └─ MultiHeadAttention  [custom]") for l in lines)
    bad = subprocess.run([sys.executable, str(script), str(tmp_path / "missing.onnx")],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "cannot read" in bad.stderr


def test_cli_rejects_an_unknown_functions_mode(cli, tmp_path):
    import subprocess
    r = subprocess.run([cli, "convert", str(tmp_path / "x.jaxpr"), "-o", str(tmp_path / "x.onnx"),
                        "--functions", "all"], capture_output=True, text=True)
    assert r.returncode != 0 and "--functions takes auto, decorated or none" in r.stderr
