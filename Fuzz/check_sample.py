"""Converts a sample of fuzzer inputs with the CLI and holds every model it writes (exit 0) to
onnx.checker (full check, with shape inference) and to ONNX Runtime: the session must load and
run on random inputs, giving outputs of the declared shapes. A model with only static input
shapes must do so; one with symbolic input dims for at least one size given to them (1 to 8, or a size the model's weights use):
a bundle that fuzzing left consistent for B = 30 only is data-dependent, not invalid. Exit 1 if
any accepted input gives an invalid model, or if the CLI ends with anything but 0, 1 or 2.

    python Fuzz/check_sample.py CORPUS_DIR [--count 500] [--cli .build/debug/jax2onnx]
"""
import argparse
import os
import random
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort

NP = {1: np.float32, 2: np.uint8, 3: np.int8, 4: np.uint16, 5: np.int16, 6: np.int32, 7: np.int64,
      9: np.bool_, 10: np.float16, 11: np.float64, 12: np.uint32, 13: np.uint64}


def symbolic(model):
    return any(not d.HasField("dim_value") for i in model.graph.input for d in i.type.tensor_type.shape.dim)


def candidate_sizes(model):
    """Sizes to try for symbolic input dims: small ones, then those the weights have."""
    sizes = list(range(1, 9))
    for t in model.graph.initializer:
        sizes += [int(d) for d in t.dims if 8 < d <= 4096 and d not in sizes]
    return sizes


def shape_mismatch(model, results, size):
    """An output whose shape is not the declared one (numbers, and symbols set to `size`)."""
    symbols = {d.dim_param for i in model.graph.input for d in i.type.tensor_type.shape.dim if d.dim_param}
    for o, r in zip(model.graph.output, results):
        dims = o.type.tensor_type.shape.dim
        if len(dims) != np.ndim(r):
            return f"output {o.name} has rank {np.ndim(r)}, declared {len(dims)}"
        for d, n in zip(dims, np.shape(r)):
            want = d.dim_value if d.HasField("dim_value") else size if d.dim_param in symbols else None
            if want is not None and want != n:
                return f"output {o.name} has shape {list(np.shape(r))}, declared {[x.dim_value or x.dim_param for x in dims]}"
    return None


def feeds(model, size=2):
    rng = np.random.default_rng(0)
    out = {}
    for i in model.graph.input:
        t = i.type.tensor_type
        shape = [d.dim_value if d.HasField("dim_value") else size for d in t.shape.dim]
        dt = NP.get(t.elem_type)
        if dt is None:
            return None
        x = rng.standard_normal(shape) * 3
        # Integer inputs are often indices: 0 and 1 are valid for any non-empty axis.
        out[i.name] = (x > 0) if dt is np.bool_ else (x.astype(dt) if np.issubdtype(dt, np.floating) else (x > 0).astype(dt))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus")
    ap.add_argument("--count", type=int, default=500)
    ap.add_argument("--cli", default=os.path.join(os.path.dirname(__file__), "..", ".build", "debug", "jax2onnx"))
    a = ap.parse_args()
    files = sorted(os.listdir(a.corpus))
    random.Random(0).shuffle(files)
    codes, bad, runs = {}, [], []
    with tempfile.TemporaryDirectory() as tmp:
        for name in files[:a.count]:
            out = os.path.join(tmp, "m.onnx")
            try:
                p = subprocess.run([a.cli, "convert", os.path.join(a.corpus, name), "-o", out, "--quiet"],
                                   capture_output=True, text=True, timeout=60)
            except subprocess.TimeoutExpired:
                bad.append((name, "timeout"))
                continue
            codes[p.returncode] = codes.get(p.returncode, 0) + 1
            if p.returncode not in (0, 1, 2):
                bad.append((name, f"exit {p.returncode}: {p.stderr[-300:]}"))
            if p.returncode != 0:
                continue
            try:
                onnx.checker.check_model(out, full_check=True)
                model = onnx.load(out)
                sess = ort.InferenceSession(out, providers=["CPUExecutionProvider"])
            except Exception as e:  # noqa: BLE001 - any failure is the finding
                bad.append((name, f"{type(e).__name__}: {str(e)[:300]}"))
                continue
            # A symbolic dim may fit the program at some sizes only (a multiple of 4, the one
            # size a fuzzed declaration pins it to): data-dependent if any size runs.
            sizes = candidate_sizes(model) if symbolic(model) else [2]
            failure = None
            for size in sizes:
                try:
                    f = feeds(model, size)
                    if f is not None:
                        mismatch = shape_mismatch(model, sess.run(None, f), size)
                        if mismatch:
                            raise ValueError(mismatch)
                    failure = None
                    break
                except Exception as e:  # noqa: BLE001
                    failure = failure or f"{type(e).__name__}: {str(e)[:300]}"
            if failure:
                bad.append((name, f"runs at no size tried: {failure}"))
            elif symbolic(model) and size != sizes[0]:
                runs.append((name, f"fails at size {sizes[0]}, first runs at size {size}"))
            for f in os.listdir(tmp):
                os.unlink(os.path.join(tmp, f))
    print(f"{sum(codes.values())} inputs, exit codes {dict(sorted(codes.items()))}, {len(bad)} invalid models, "
          f"{len(runs)} data-dependent (symbolic dims fit some sizes only)")
    for name, why in bad:
        print(f"  invalid {name}: {why}")
    for name, why in runs:
        print(f"  run {name}: {why}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
