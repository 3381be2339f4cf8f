"""Writes Examples/mlp.jaxpr: the Flax NNX MLP the README converts without Python.

Linear -> BatchNorm (eval, non-trivial running stats) -> Dropout (deterministic) -> gelu -> Linear,
traced with a symbolic batch dimension "B".
"""
import os

import jax.numpy as jnp
import numpy as np
from flax import nnx

from jax2onnx_swift import save_bundle


class MLP(nnx.Module):
    def __init__(self, din, dmid, dout, *, rngs):
        self.linear1 = nnx.Linear(din, dmid, rngs=rngs)
        self.bn = nnx.BatchNorm(dmid, rngs=rngs)
        self.dropout = nnx.Dropout(0.2, rngs=rngs)
        self.linear2 = nnx.Linear(dmid, dout, rngs=rngs)

    def __call__(self, x):
        return self.linear2(nnx.gelu(self.dropout(self.bn(self.linear1(x)))))


def main():
    model = MLP(30, 20, 10, rngs=nnx.Rngs(0))
    rng = np.random.default_rng(0)
    model.bn.mean.value = jnp.asarray(rng.normal(size=20).astype(np.float32))
    model.bn.var.value = jnp.asarray(rng.uniform(0.5, 2.0, size=20).astype(np.float32))
    model.eval()
    out = os.path.join(os.path.dirname(__file__), "..", "..", "Examples", "mlp.jaxpr")
    save_bundle(model, [("B", 30)], out, input_names=["x"], output_names=["y"])
    print("wrote", os.path.normpath(out))


if __name__ == "__main__":
    main()
