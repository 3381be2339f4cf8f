"""Indexing and shapes with symbolic dimensions: jnp's negative-index normalization reads a
symbolic size through `dim_as_value`, and the index lowerings take sizes from the runtime shape.
Each case is traced with symbolic B and N, then run in ONNX Runtime at concrete sizes against JAX."""

from __future__ import annotations

import numpy as np
import pytest

import jax
import jax.numpy as jnp
from jax import lax

from jax2onnx_swift import to_onnx

# Primitives these cases exercise; test_coverage counts them as tested.
PRIMS = ["dim_as_value", "gather", "scatter-add", "scatter", "pad"]

CASES = {
    "take_fill": (lambda x, i: jnp.take(x, i, axis=0, mode="fill", fill_value=-1.0), [("B", 4), ("N",)]),
    "index_rows": (lambda x, i: x[i], [("B", 4), ("N",)]),
    "add": (lambda x, i, u: x.at[i].add(u), [("B", 4), ("N",), ("N", 4)]),
    "set": (lambda x, i, u: x.at[i].set(u), [("B", 4), ("N",), ("N", 4)]),
    "pad": (lambda x: lax.pad(x, 0.5, [(1, -1, 0), (0, 2, 0)]), [("B", 4)]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_symbolic_case(name, cli, tmp_path):
    import onnxruntime as ort
    fn, specs = CASES[name]
    B, N = jax.export.symbolic_shape("B, N")
    dims = {"B": B, "N": N}
    # Index inputs are the 1-D ("N",) specs; everything else is float32.
    ins = [jax.ShapeDtypeStruct(tuple(dims.get(d, d) for d in s), np.int32 if s == ("N",) else np.float32)
           for s in specs]
    path = str(tmp_path / f"{name}.onnx")
    to_onnx(fn, ins, path, cli=cli)
    sess = ort.InferenceSession(path)
    rng = np.random.default_rng(7)
    concrete = {"B": 6, "N": 5}
    args = []
    for a, s in zip(ins, specs):
        shape = tuple(concrete.get(d, d) for d in s)
        if a.dtype == np.int32:
            # unique indices for set (duplicates are unspecified there), both signs, some out of range
            args.append(rng.permutation(np.arange(-9, 9))[: shape[0]].astype(np.int32))
        else:
            args.append(rng.normal(size=shape).astype(np.float32))
    got = sess.run(None, {i.name: v for i, v in zip(sess.get_inputs(), args)})[0]
    want = np.asarray(fn(*[jnp.asarray(v) for v in args]))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
