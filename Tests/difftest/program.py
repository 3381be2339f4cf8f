"""A generated program: Python source over jax.lax plus the concrete inputs it runs on.

The source is the program. The generator writes it line by line, the oracle executes it, the
shrinker edits its lines, and the reproducer writer copies it verbatim, so what fails and what is
saved are the same text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

import jax
import jax.numpy as jnp
from jax import lax

# dtype code -> (numpy dtype, source text)
DTYPES = {
    "f16": (np.dtype(jnp.float16), "jnp.float16"),
    "bf16": (np.dtype(jnp.bfloat16), "jnp.bfloat16"),
    "f32": (np.dtype(np.float32), "jnp.float32"),
    "f64": (np.dtype(np.float64), "jnp.float64"),
    "i8": (np.dtype(np.int8), "jnp.int8"),
    "i16": (np.dtype(np.int16), "jnp.int16"),
    "i32": (np.dtype(np.int32), "jnp.int32"),
    "i64": (np.dtype(np.int64), "jnp.int64"),
    "u8": (np.dtype(np.uint8), "jnp.uint8"),
    "u16": (np.dtype(np.uint16), "jnp.uint16"),
    "u32": (np.dtype(np.uint32), "jnp.uint32"),
    "u64": (np.dtype(np.uint64), "jnp.uint64"),
    "bool": (np.dtype(np.bool_), "jnp.bool_"),
}
FLOATS = ("f16", "bf16", "f32", "f64")
SIGNED = ("i8", "i16", "i32", "i64")
UNSIGNED = ("u8", "u16", "u32", "u64")
INTS = SIGNED + UNSIGNED
WIDE = ("f64", "i64", "u64")  # need jax x64 mode


def code_of(dtype) -> str:
    dt = np.dtype(dtype)
    for code, (npdt, _) in DTYPES.items():
        if npdt == dt:
            return code
    raise KeyError(dt)


NAMESPACE = {"jax": jax, "jnp": jnp, "lax": lax, "np": np}


@dataclass
class Program:
    """defs: helper functions (control-flow bodies), each a list of lines; body: lines of f's
    body; args: names of f's parameters; outputs: names returned; inputs: concrete arrays."""

    seed: int
    x64: bool
    args: list[str]
    inputs: list[np.ndarray]
    body: list[str]
    outputs: list[str]
    defs: list[list[str]] = field(default_factory=list)
    # chain length (non-exact ops) behind each output, for the float tolerance
    chains: dict = field(default_factory=dict)
    # symbolic: input index -> tuple of dims with symbol names (None when traced concretely)
    symbolic: dict | None = None
    # uses a special function whose implementations differ more than ulps (wider tolerance)
    special: bool = False
    # the narrowest float type anywhere in the program ("bf16", "f16" or None): float outputs
    # may carry its rounding even when they are wider
    narrow: str | None = None
    # top-level values made by a rounding op (conditioning.py jitters them)
    rounded: set = field(default_factory=set)
    # output -> the coarser float type whose rounding it carries (generate.V.carry)
    carries: dict = field(default_factory=dict)
    # run JAX op by op (jax.disable_jit) instead of as one compiled program (platform_defined.py)
    eager: bool = False

    def source(self) -> str:
        out = []
        for d in self.defs:
            out.extend(d)
            out.append("")
        out.append(f"def f({', '.join(self.args)}):")
        out.extend("    " + line for line in self.body)
        out.append(f"    return ({''.join(o + ', ' for o in self.outputs)})")
        return "\n".join(out) + "\n"

    def fn(self):
        ns = dict(NAMESPACE)
        exec(compile(self.source(), f"<difftest {self.seed}>", "exec"), ns)
        return ns["f"]

    def with_(self, **kw) -> "Program":
        d = dict(self.__dict__)
        d.update(kw)
        return Program(**d)


def input_source(x: np.ndarray) -> str:
    """np.array(...) text that rebuilds x exactly (bit patterns for floats)."""
    code = code_of(x.dtype)
    if code in FLOATS:
        bits = {2: np.uint16, 4: np.uint32, 8: np.uint64}[x.dtype.itemsize]
        raw = np.ascontiguousarray(x).view(bits)
        return (f"np.array({raw.reshape(-1).tolist()}, dtype=np.{np.dtype(bits).name})"
                f".view({DTYPES[code][1]}).reshape({tuple(x.shape)})")
    return f"np.array({x.reshape(-1).tolist()}, dtype={DTYPES[code][1]}).reshape({tuple(x.shape)})"
