"""Web export (issue 18): `--web` writes one self-contained file built for the ort-web profile.
The model loads and runs in ONNX Runtime, and every node is a kernel the web profile lists (read
from the committed table the host is built with)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np

import jax
import jax.numpy as jnp
import onnx

from jax2onnx_swift import save_bundle

TABLE = Path(__file__).resolve().parents[2] / "Sources" / "Host" / "Runtime" / "RuntimeProfiles.generated.swift"
WEB_EXCLUDED = {onnx.TensorProto.DOUBLE}  # see docs/runtime-profiles.md


def profile():
    """op -> [(first, last, {constraint: set(dtype codes) or None})] from the generated table."""
    text = TABLE.read_text()
    body = text.split('"""\n', 1)[1].rsplit('\n"""', 1)[0]
    rows = {}
    for line in body.splitlines():
        op, first, last, cons = line.split(";")
        table = {}
        for c in filter(None, cons.split(",")):
            name, codes = c.split("=")
            table[name] = None if codes == "*" else {int(x) for x in codes.split(".")}
        rows.setdefault(op, []).append((int(first), int(last) or 10**9, table))
    return rows


rng = np.random.default_rng(5)
W1 = jnp.asarray(rng.normal(0, 0.3, (8, 32)), jnp.float32)
W2 = jnp.asarray(rng.normal(0, 0.3, (32, 4)), jnp.float32)


def classifier(x):
    h = jax.nn.gelu(x @ W1, approximate=False)
    h = (h - h.mean(-1, keepdims=True)) / jnp.sqrt(h.var(-1, keepdims=True) + 1e-5)
    return jax.nn.softmax(h @ W2, axis=-1), jnp.argmax(h @ W2, axis=-1)


def test_web_export_is_one_file_using_only_web_kernels(cli, tmp_path):
    import onnxruntime as ort
    x = rng.normal(size=(3, 8)).astype(np.float32)
    save_bundle(classifier, [x], tmp_path / "m.jaxpr")
    out = tmp_path / "m.onnx"
    proc = subprocess.run([cli, "convert", str(tmp_path / "m.jaxpr"), "-o", str(out), "--web"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("m.onnx")] == ["m.onnx"]

    model = onnx.load(str(out))
    opset = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    types = {vi.name: vi.type.tensor_type.elem_type for vi in
             list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output)}
    types.update({t.name: t.data_type for t in model.graph.initializer})
    schemas = {}
    rows = profile()
    for node in model.graph.node:
        schema = schemas.setdefault(node.op_type, onnx.defs.get_schema(node.op_type, opset))
        row = next((r for r in rows.get(node.op_type, []) if r[0] <= schema.since_version <= r[1]), None)
        assert row is not None, f"{node.op_type} is not in the web profile"
        for i, name in enumerate(node.input):
            if not name or i >= len(schema.inputs):
                continue
            allowed = row[2].get(schema.inputs[i].type_str)
            dtype = types.get(name)
            assert dtype not in WEB_EXCLUDED, f"{node.op_type} reads {name} of a type the web profile drops"
            if allowed is not None and dtype is not None:
                assert dtype in allowed, f"{node.op_type} input {i} has dtype {dtype}, the web profile runs {allowed}"

    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    probs, labels = sess.run(None, {sess.get_inputs()[0].name: x})
    want_p, want_l = classifier(x)
    np.testing.assert_allclose(probs, np.asarray(want_p), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(labels, np.asarray(want_l))


def test_web_export_refuses_what_the_web_profile_lacks(cli, tmp_path):
    jax.config.update("jax_enable_x64", True)
    try:
        save_bundle(lambda x: jnp.exp(x) + 1.0, [np.ones((2, 2), np.float64)], tmp_path / "m.jaxpr")
    finally:
        jax.config.update("jax_enable_x64", False)
    out = tmp_path / "m.onnx"
    proc = subprocess.run([cli, "convert", str(tmp_path / "m.jaxpr"), "-o", str(out), "--web"], capture_output=True, text=True)
    assert proc.returncode == 1
    assert re.search(r"target ort-web has no \w+ kernel for f64", proc.stderr), proc.stderr
    assert not out.exists()
