"""The oracle: run a program in JAX, convert it (default opset, optimized and --no-optimize), run
both models in ONNX Runtime (CPU) and classify what happened. Mode "sym" converts the program
once more with its most common leading input dim made symbolic ("B"), where JAX can trace it so,
and runs that model on the same concrete inputs.

Classes:
  pass          every output of both models matches JAX
  mismatch      a model ran but an output differs (shape, dtype class, values, NaN positions)
  ort_fail      ONNX Runtime refused to load or failed to run a model we wrote
  convert_error the CLI rejected a program JAX runs (exit 1 or 2)
  crash         the CLI died on a signal
  jax_error     JAX itself cannot run the program (not ours; counted, never a failure)
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from dataclasses import dataclass, field

import numpy as np

import jax
import jax.numpy as jnp

from .program import DTYPES, FLOATS, Program, code_of
from .platform_defined import explanations_for
from .values import flush_denormals, has_denormals

FAILURES = ("mismatch", "ort_fail", "convert_error", "crash")
CLASSES = ("pass",) + FAILURES + ("jax_error",)

# one ulp-ish per dtype; a float output may drift this much per non-exact op behind it
ULP = {"f16": 1e-3, "bf16": 8e-3, "f32": 1.2e-7, "f64": 2.3e-16}


@dataclass
class Outcome:
    cls: str
    detail: str = ""
    mode: str = ""  # which conversion: "opt" or "noopt"
    prims: set = field(default_factory=set)
    accepted: list = field(default_factory=list)  # platform-defined differences we accepted
    # the symbolic mode: "ran" (converted and matched), "untraceable" (JAX cannot trace the
    # program with a symbolic leading dim) or "declined <prim>: <reason>" (a pack refuses that
    # primitive on a symbolic axis: a known limitation, counted and listed, not a failure)
    sym: str = ""


def signature(o: Outcome) -> str:
    """What makes two failures the same bug, for the shrinker: the class, the conversion mode and
    the primitive (CLI errors) or ONNX op (ORT errors) named in the message."""
    import re
    m = (re.search(r"equation \d+ \(([\w-]+)\)", o.detail) or re.search(r"Op \((\w+)\)", o.detail)
         or re.search(r"implementation for (\w+)\(", o.detail) or re.search(r"declined '([\w-]+)'", o.detail))
    # a mismatch keeps its kind (NaN positions, tolerance, shape, dtype), so shrinking a NaN bug
    # cannot drift into another
    kind = ""
    if o.cls == "mismatch":
        k = re.search(r"NaN positions|outside tol|differ;|: shape|: dtype|outputs from", o.detail)
        kind = k.group(0) if k else ""
    return f"{o.cls}/{o.mode}/{m.group(1) if m else ''}/{kind}"


def primitives_of(closed) -> set[str]:
    names: set[str] = set()

    def walk(jaxpr):
        for eqn in jaxpr.eqns:
            names.add(eqn.primitive.name)
            for p in eqn.params.values():
                visit(p)

    def visit(p):
        if hasattr(p, "eqns"):
            walk(p)
        elif hasattr(p, "jaxpr") and hasattr(p, "consts"):
            walk(p.jaxpr)
        elif isinstance(p, (tuple, list)):
            for q in p:
                visit(q)

    walk(closed.jaxpr)
    return names


def tolerance(p: Program, out_name: str, dtype_code: str) -> float:
    base = ULP[dtype_code]
    if p.narrow is not None:
        base = max(base, ULP[p.narrow])
    if out_name in p.carries:
        base = max(base, ULP[p.carries[out_name]])
    chain = p.chains.get(out_name, 1)
    scale = 8.0 * (1 + chain)
    if p.special:
        scale *= 50.0
    return base * scale


def compare(p: Program, k: int, got: np.ndarray, want: np.ndarray):
    """None when output k matches, else a message."""
    name = p.outputs[k]
    if got.shape != want.shape:
        return f"output {k} ({name}): shape {got.shape} from ONNX, {want.shape} from JAX"
    if want.dtype == DTYPES["bf16"][0] and got.dtype == np.float32:
        # --upcast-bf16 widens a bf16 output to f32 (unrounded): compared at bf16
        got = got.astype(want.dtype)
    if got.dtype != want.dtype:
        return f"output {k} ({name}): dtype {got.dtype} from ONNX, {want.dtype} from JAX"
    if want.size == 0:
        return None
    code = code_of(want.dtype)
    if code not in FLOATS:
        bad = got != want
        if bad.any():
            i = tuple(int(j) for j in np.argwhere(bad)[0])
            return (f"output {k} ({name}, {code}): {int(bad.sum())} of {want.size} differ; first at {i}: "
                    f"ONNX {got[i]!r}, JAX {want[i]!r}")
        return None
    g, w = got.astype(np.float64), want.astype(np.float64)
    nan_g, nan_w = np.isnan(g), np.isnan(w)
    if (nan_g != nan_w).any():
        i = tuple(int(j) for j in np.argwhere(nan_g != nan_w)[0])
        return f"output {k} ({name}, {code}): NaN positions differ, first at {i}: ONNX {got[i]!r}, JAX {want[i]!r}"
    tol = tolerance(p, name, code)
    with np.errstate(invalid="ignore", over="ignore"):
        ok = np.isclose(g, w, rtol=tol, atol=tol, equal_nan=True)
    if ok.all():
        return None
    i = tuple(int(j) for j in np.argwhere(~ok)[0])
    return (f"output {k} ({name}, {code}): {int((~ok).sum())} of {want.size} outside tol {tol:.3g}; "
            f"first at {i}: ONNX {got[i]!r}, JAX {want[i]!r}")


def run_jax(p: Program):
    """(outputs, primitives) or raises."""
    fn = p.fn()
    with jax.enable_x64(p.x64):
        closed = jax.make_jaxpr(fn)(*p.inputs)
        if p.eager:  # every op its own kernel call on concrete operands: nothing to fold
            with jax.disable_jit():
                outs = fn(*[jnp.asarray(x) for x in p.inputs])
        else:
            outs = jax.jit(fn)(*p.inputs)
        outs = [np.asarray(o) for o in jax.tree_util.tree_leaves(outs)]
    return outs, primitives_of(closed)


def write_bundle(p: Program, path: str):
    from jax2onnx_swift import save_bundle
    with jax.enable_x64(p.x64):
        save_bundle(p.fn(), p.inputs, path)


def symbolic_specs(p: Program):
    """The inputs as shape specs with the most common leading dim (size >= 1) renamed "B" in every
    input that leads with it; None when no input has one or JAX cannot trace the program so
    (a reshape to a fixed size, a constant of that length: not shape-polymorphic, not ours)."""
    from collections import Counter
    from jax import export
    leads = Counter(x.shape[0] for x in p.inputs if x.ndim >= 1 and x.shape[0] >= 1)
    if not leads:
        return None
    d = leads.most_common(1)[0][0]
    (b,) = export.symbolic_shape("B")
    specs = [jax.ShapeDtypeStruct(((b,) + x.shape[1:]) if x.ndim >= 1 and x.shape[0] == d else x.shape, x.dtype)
             for x in p.inputs]
    with jax.enable_x64(p.x64):
        try:
            jax.eval_shape(p.fn(), *specs)
        except Exception:  # noqa: BLE001 - JAX's own refusal
            return None
    return [jax.ShapeDtypeStruct(tuple("B" if not isinstance(n, int) else n for n in s.shape), s.dtype)
            for s in specs]


def convert(cli: str, bundle: str, out: str, optimize: bool, timeout=120, upcast_bf16=False):
    # XLA's max/min propagate NaN; ONNX Runtime's MaxPool drops it unless asked (docs/difftest.md).
    # ONNX Runtime's Sigmoid loses relative precision below -8; JAX's logistic does not.
    cmd = [cli, "convert", bundle, "-o", out, "--quiet", "--strict-nan", "--pack-option", "Lax.exact_logistic=true"]
    if upcast_bf16:
        cmd.append("--upcast-bf16")
    if not optimize:
        cmd.append("--no-optimize")
    for attempt in range(5):
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
            break
        except subprocess.TimeoutExpired:
            return "crash", f"conversion hung for more than {timeout}s"
        except OSError:  # the CLI being rebuilt under a long run ("text file busy"): wait
            if attempt == 4:
                raise
            time.sleep(30)
    if proc.returncode < 0:
        return "crash", f"signal {-proc.returncode}: {proc.stderr.strip()[-600:]}"
    if proc.returncode != 0:
        return "convert_error", f"exit {proc.returncode}: {proc.stderr.strip()[-600:]}"
    return None, ""


def denormal_mode_explains(p: Program, model: str, want) -> str | None:
    """A reason when the model matches JAX once run the way XLA:CPU computes: under FTZ/DAZ (see
    ftz.py), and, where that is unavailable or not enough, with denormal inputs flushed to ±0
    (an input passed through untouched is never read by an arithmetic op, so DAZ alone keeps
    it)."""
    from . import ftz
    attempts = []
    if ftz.available:
        attempts.append(("FTZ/DAZ", p.inputs, True))
    if has_denormals(p.inputs):
        attempts.append(("denormal inputs flushed", flush_denormals(p.inputs), ftz.available))
    for how, inputs, flush in attempts:
        got, _ = run_ort(model, inputs, ftz=flush)
        if got is not None and len(got) == len(want) and not any(compare(p, k, g, w) for k, (g, w) in enumerate(zip(got, want))):
            return f"denormals: XLA:CPU flushes denormals to zero; the model agrees run with {how}"
    return None


def platform_explains(p: Program, model: str, reconvert) -> str | None:
    """A reason when one of platform_defined's explanations holds for p and its rerun agrees
    (under FTZ/DAZ too where available, so a denormal elsewhere in p does not hide it); failing
    each alone, all that hold composed. reconvert(q) converts an edited program as p was (the
    model's path, or None)."""
    from . import ftz
    found = explanations_for(p)

    def agrees(q, same_model) -> bool:
        try:
            want, _ = run_jax(q)
        except Exception:  # noqa: BLE001 - the edited program is JAX's to refuse
            return False
        path = model if same_model else reconvert(q)
        if path is None:
            return False
        for flush in (False, True) if ftz.available else (False,):
            got, _ = run_ort(path, q.inputs, ftz=flush)
            if got is None or len(got) != len(want):
                return False
            if not any(compare(q, k, g, w) for k, (g, w) in enumerate(zip(got, want))):
                return True
        return False

    for name, reason, edit in found:
        q, same_model = edit(p)
        if q is not None and agrees(q, same_model):
            return f"{name}: {reason}"
    if len(found) > 1:
        q, same_model, names = p, True, []
        for name, _, edit in found:
            r, same = edit(q)
            if r is not None:
                q, same_model = r, same_model and same
                names.append(name)
        if len(names) > 1 and agrees(q, same_model):
            return " + ".join(names) + ": " + " / ".join(reason for name, reason, _ in found if name in names)
    return None


def conditioning_explains(p: Program, got, want, problems) -> str | None:
    """A reason when every differing output is a float one and lies within the spread JAX itself
    shows once its rounded values are jittered by a few ulps (see conditioning.py)."""
    from . import conditioning
    bad = [k for k, problem in enumerate(problems) if problem]
    if any(code_of(want[k].dtype) not in FLOATS or got[k].shape != want[k].shape for k in bad):
        return None
    widths = conditioning.spread(p, want)
    if widths is None:
        return None
    for k in bad:
        g = got[k].astype(want[k].dtype) if got[k].dtype != want[k].dtype else got[k]
        tol = tolerance(p, p.outputs[k], code_of(want[k].dtype))
        if not conditioning.within_spread(g, want[k], widths[k], tol):
            return None
    return (f"ill-conditioned: within the spread of JAX rerun with its rounded values jittered by "
            f"±{conditioning.ULPS} ulps")


def run_ort(path: str, inputs, ftz: bool = False):
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 4
    try:
        sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    except Exception as e:  # noqa: BLE001 - ORT raises many kinds
        return None, f"load: {str(e)[:600]}"
    try:
        feeds = {i.name: x for i, x in zip(sess.get_inputs(), inputs)}
        if ftz:  # intra_op_num_threads = 1: the kernels run on this thread
            from .ftz import flush_to_zero
            with flush_to_zero():
                return [np.asarray(o) for o in sess.run(None, feeds)], ""
        return [np.asarray(o) for o in sess.run(None, feeds)], ""
    except Exception as e:  # noqa: BLE001
        return None, f"run: {str(e)[:600]}"


def check(p: Program, cli: str, workdir: str | None = None, modes=("opt", "noopt", "sym")) -> Outcome:
    try:
        want, prims = run_jax(p)
    except Exception as e:  # noqa: BLE001 - whatever JAX rejects is not ours
        return Outcome("jax_error", f"{type(e).__name__}: {str(e)[:300]}")
    with tempfile.TemporaryDirectory(prefix="difftest-", dir=workdir) as tmp:
        bundle = os.path.join(tmp, "p.jaxpr")
        try:
            write_bundle(p, bundle)
        except Exception as e:  # noqa: BLE001 - the tracer is ours: a program JAX runs must trace
            return Outcome("convert_error", f"bundle: {type(e).__name__}: {str(e)[:400]}", "", prims)
        accepted = []
        sym = ""
        for mode in modes:
            out = os.path.join(tmp, f"{mode}.onnx")
            source = bundle
            if mode == "sym":
                specs = symbolic_specs(p)
                if specs is None:
                    sym = "untraceable"
                    continue
                source = os.path.join(tmp, "sym.jaxpr")
                try:
                    from jax2onnx_swift import save_bundle
                    with jax.enable_x64(p.x64):
                        save_bundle(p.fn(), specs, source)
                except Exception as e:  # noqa: BLE001 - JAX traced it symbolically: so must we
                    return Outcome("convert_error", f"bundle: {type(e).__name__}: {str(e)[:400]}", mode, prims)
            # ONNX Runtime's CPU provider has (almost) no bf16 kernels: bf16 programs are
            # converted the way docs/difftest.md tells users to, with --upcast-bf16.
            cls, msg = convert(cli, source, out, optimize=mode != "noopt", upcast_bf16="bfloat16" in p.source())
            if cls == "convert_error" and mode == "sym":
                import re
                m = re.search(r"every pack declined '([\w-]+)':\s*\S+ declined: (.*)", msg)
                if m and "symbolic" in m.group(2):
                    sym = f"declined {m.group(1)}: {m.group(2).strip()[:120]}"
                    continue
            if cls:
                return Outcome(cls, msg, mode, prims)
            got, err = run_ort(out, p.inputs)
            if got is None:
                return Outcome("ort_fail", err, mode, prims)
            if len(got) != len(want):
                return Outcome("mismatch", f"{len(got)} outputs from ONNX, {len(want)} from JAX", mode, prims)
            problems = [compare(p, k, g, w) for k, (g, w) in enumerate(zip(got, want))]
            if any(problems):
                def reconvert(q, mode=mode):
                    if mode == "sym":
                        return None
                    again = os.path.join(tmp, f"{mode}-edited.onnx")
                    try:
                        write_bundle(q, again + ".jaxpr")
                    except Exception:  # noqa: BLE001
                        return None
                    failed, _ = convert(cli, again + ".jaxpr", again, optimize=mode != "noopt",
                                        upcast_bf16="bfloat16" in q.source())
                    return None if failed else again
                why = (denormal_mode_explains(p, out, want) or platform_explains(p, out, reconvert)
                       or conditioning_explains(p, got, want, problems))
                if why:
                    accepted.append(why)
                    continue
                return Outcome("mismatch", next(filter(None, problems)), mode, prims)
            if mode == "sym":
                sym = "ran"
    return Outcome("pass", "", "", prims, accepted, sym)
