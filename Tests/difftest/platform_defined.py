"""Differences the oracle accepts because JAX leaves the result to the platform, or because XLA's
CPU backend is the one that is off. Each explanation names its cause, applies only to programs
that hold that cause, and proves itself by a rerun: the oracle edits what the explanation is
about (the inputs, or the precision JAX computes in) and the model must then agree with JAX
everywhere. docs/difftest.md lists them.

An explanation is (name, reason, applies, edit):
  applies(p) -> bool          the program holds the cause
  edit(p) -> (q, same_model)  q: the program to rerun in JAX. same_model=True: the edit touched
                              only the inputs (or how JAX runs), so the converted model is rerun
                              on q's inputs; False: the edit touched the program's own constants,
                              so q is converted again (same flags) and that model is run

When no single explanation makes the two agree, all that apply are composed (a denormal input and
a NaN weight meeting a conv's padding can both be in one program): each edit is justified by its
own cause, so their composition is too.
"""

from __future__ import annotations

import ast
import re

import numpy as np

import jax.numpy as jnp

from .program import FLOATS, Program, code_of, input_source
from .values import flush_denormals, has_denormals

EXPLANATIONS = []


def explain(reason: str, applies, edit):
    EXPLANATIONS.append((applies.__name__, reason, applies, edit))


def _uses(p: Program, *calls: str) -> bool:
    text = p.source()
    return any(f"lax.{c}(" in text for c in calls)


def _floats(p: Program):
    return [i for i, x in enumerate(p.inputs) if code_of(x.dtype) in FLOATS and x.size]


def _replace(p: Program, pick, value) -> Program | None:
    """p with the float input elements `pick(x)` selects set to `value(x)`; None when none is."""
    inputs, hit = list(p.inputs), False
    for i in _floats(p):
        x = p.inputs[i]
        with np.errstate(invalid="ignore", over="ignore"):
            m = pick(x)
        if m.any():
            hit = True
            v = value(x) if callable(value) else value
            inputs[i] = np.where(m, np.asarray(v, x.dtype), x).astype(x.dtype)
    return p.with_(inputs=inputs) if hit else None


def _conv_with_implicit_zeros(p: Program) -> bool:
    """A conv whose windows can reach padding or lhs-dilation holes."""
    for line in p.body + [line for d in p.defs for line in d]:
        if "lax.conv_general_dilated(" not in line:
            continue
        call = next(n for n in ast.walk(ast.parse(line.strip())) if isinstance(n, ast.Call))
        pads, lhs_dilation = ast.literal_eval(call.args[3]), ast.literal_eval(call.args[4])
        if any(lo > 0 or hi > 0 for lo, hi in pads) or any(d > 1 for d in lhs_dilation):
            return True
    return False


def _nonfinite(x):
    return ~np.isfinite(x)


def _near_smallest_normal(x):
    tiny = float(jnp.finfo(x.dtype).smallest_normal)
    return (np.abs(x) >= tiny) & (np.abs(x) < 8 * tiny)


def _huge(x):
    return np.abs(x.astype(np.float64)) > 1e30


_CONSTANT = re.compile(r"np\.array\((\[[^\]]*\]), dtype=np\.(uint16|uint32|uint64)\)\.view\((jnp\.\w+)\)\.reshape\((\([^)]*\))\)")


def _edit_constants(p: Program, pick, value) -> Program | None:
    """p with the elements `pick(x)` selects of every float constant in its source (the bit
    patterns the generator writes) set to `value`; None when none is."""
    hit = False

    def sub(m):
        nonlocal hit
        bits = np.array(ast.literal_eval(m.group(1)), dtype=getattr(np, m.group(2)))
        dtype = np.dtype(getattr(jnp, m.group(3).split(".")[1]))
        x = bits.view(dtype)
        with np.errstate(invalid="ignore", over="ignore"):
            sel = pick(x)
        if not sel.any():
            return m.group(0)
        hit = True
        x = np.where(sel, np.asarray(value, dtype), x).astype(dtype)
        return input_source(x.reshape(ast.literal_eval(m.group(4))))

    body = [_CONSTANT.sub(sub, line) for line in p.body]
    defs = [[_CONSTANT.sub(sub, line) for line in d] for d in p.defs]
    return p.with_(body=body, defs=defs) if hit else None


def _nonfinite_f64(x):
    return ~np.isfinite(x.astype(np.float64))


def conv_nonfinite_constant_at_implicit_zeros(p):
    return _conv_with_implicit_zeros(p) and _edit_constants(p, _nonfinite_f64, 1.0) is not None


explain("a NaN or inf constant of the program meets the implicit zeros of a conv's padding or lhs "
        "dilation (see conv_nonfinite_at_implicit_zeros). Rerun: the program with its non-finite "
        "float constants set to 1, converted again",
        conv_nonfinite_constant_at_implicit_zeros, lambda p: (_edit_constants(p, _nonfinite_f64, 1.0), False))


def conv_nonfinite_at_implicit_zeros(p):
    return _conv_with_implicit_zeros(p) and _replace(p, _nonfinite, 1.0) is not None


explain("a NaN or inf operand meets the implicit zeros of a conv's padding or lhs dilation: "
        "0·inf and 0·NaN are NaN when multiplied and absent when skipped; XLA:CPU multiplies or "
        "skips depending on the conv algorithm it picks, ONNX Runtime's Conv multiplies the "
        "padding and ConvTranspose skips the holes. Rerun: non-finite inputs set to 1",
        conv_nonfinite_at_implicit_zeros, lambda p: (_replace(p, _nonfinite, 1.0), True))


def igamma_near_smallest_normal(p):
    return _uses(p, "igamma", "igammac", "random_gamma_grad") and _replace(p, _near_smallest_normal, 0.0) is not None


explain("igamma/igammac with a within a factor 8 of the smallest normal: XLA:CPU's prefactor "
        "exp(a·log x − x − lgamma a) lands at the edge of the normal range, where its flush to zero "
        "gives P = 0, Q = 1 (the true values are P ≈ 1, Q ≈ 0). Rerun: those inputs moved to 16× "
        "the smallest normal",
        igamma_near_smallest_normal,
        lambda p: (_replace(p, _near_smallest_normal, lambda x: np.copysign(16 * float(jnp.finfo(x.dtype).smallest_normal), x)), True))


def igamma_of_zero(p):
    return _uses(p, "igamma", "igammac")


def _igamma_a_one_where_zero(p: Program):
    helpers = [["def _igamma_a0(a, x):", "    return lax.igamma(lax.select(a == 0, lax.full_like(a, 1), a), x)"],
               ["def _igammac_a0(a, x):", "    return lax.igammac(lax.select(a == 0, lax.full_like(a, 1), a), x)"]]

    def edit(line):
        return line.replace("lax.igammac(", "_igammac_a0(").replace("lax.igamma(", "_igamma_a0(")
    return p.with_(defs=helpers + [[edit(x) for x in d] for d in p.defs], body=[edit(x) for x in p.body]), False


explain("igamma/igammac with a = 0, made inside the program: XLA's series branch (x < 1) gives "
        "NaN and its continued fraction (x ≥ 1) gives P = 1, so one ulp of x either side of 1 "
        "decides (seed 1065). Rerun: the program with every igamma's a = 0 set to 1, converted "
        "again",
        igamma_of_zero, _igamma_a_one_where_zero)


def cumprod_near_overflow(p):
    return _uses(p, "cumprod") and _replace(p, _huge, 0.0) is not None


explain("cumprod multiplies in another order (XLA: left to right within a reduce window; ours: a "
        "doubling scan), so with operands near the float maximum a partial product can overflow on "
        "one side only. Rerun: operands above 1e30 in magnitude set to ±1e3",
        cumprod_near_overflow, lambda p: (_replace(p, _huge, lambda x: np.copysign(1e3, x)), True))


def denormal_inputs(p):
    return has_denormals(p.inputs)


def _flush(p: Program):
    return p.with_(inputs=flush_denormals(p.inputs)), True


explain("a denormal input, which XLA:CPU reads as zero in arithmetic but not in every test (atan2 "
        "of two denormals is NaN there, atan2(0, 0) is 0). Rerun: denormal inputs flushed to ±0 "
        "for JAX and the model alike",
        denormal_inputs, _flush)


def folds_constants(p):
    text = p.source()
    return "jnp.asarray(" in text or "iota(" in text


explain("XLA evaluates a compiled program's constant subexpressions with its own constant folder, "
        "which disagrees with its kernels at edges (atan2(0, 0) folds to NaN, the kernel gives 0). "
        "Rerun: JAX op by op (jax.disable_jit), each op its kernel on concrete operands",
        folds_constants, lambda p: (p.with_(eager=True), True))


def explanations_for(p: Program):
    """(name, reason, edit) of every explanation whose cause the program holds."""
    return [(name, reason, edit) for name, reason, applies, edit in EXPLANATIONS if applies(p)]
