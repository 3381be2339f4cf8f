"""FFT speed: the two ONNX forms of a 1-D transform, and exported FFTs against jax.jit on CPU.

    PYTHONPATH=python JAX2ONNX_CLI=.build/release/jax2onnx python Benchmarks/fft/bench_fft.py [--quick]

Part 1 times the two lowerings the Complex pack chooses between, as bare ONNX graphs in ONNX
Runtime (batch 64, complex64 / float32): a MatMul with a [2n, 2n] twiddle matrix on interleaved
(real, imag) pairs, and ONNX DFT. Its crossover is the pack's `matMulLimit` (docs/complex.md).
Part 2 exports jnp.fft.fft / rfft / irfft at batch 64, n in {256, 1000, 4096}, and reports ONNX
Runtime's time over jax.jit's. Both runtimes get one thread, so the ratio compares kernels, not
thread pools. Times are medians of repeated runs; a shared machine makes them noisy.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "python"))
from jax2onnx_swift import to_onnx, to_pairs  # noqa: E402

BATCH = 64


def session(model_or_path):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    data = model_or_path.SerializeToString() if isinstance(model_or_path, onnx.ModelProto) else str(model_or_path)
    return ort.InferenceSession(data, so, providers=["CPUExecutionProvider"])


def median_time(fn, repeat):
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def twiddles(n):
    j = np.arange(n)
    theta = -2 * np.pi * ((j[:, None] * j[None, :]) % n) / n
    c, s = np.cos(theta), np.sin(theta)
    w = np.zeros((2 * n, 2 * n))
    w[0::2, 0::2], w[1::2, 0::2], w[0::2, 1::2], w[1::2, 1::2] = c, -s, s, c
    return w.astype(np.float32)


def matmul_model(n):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [BATCH, 2 * n])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [BATCH, 2 * n])
    node = helper.make_node("MatMul", ["x", "w"], ["y"])
    graph = helper.make_graph([node], "fft_matmul", [x], [y], [numpy_helper.from_array(twiddles(n), "w")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])


def dft_model(n):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [BATCH, n, 2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [BATCH, n, 2])
    axis = numpy_helper.from_array(np.array(1, dtype=np.int64), "axis")
    node = helper.make_node("DFT", ["x", "", "axis"], ["y"])
    graph = helper.make_graph([node], "fft_dft", [x], [y], [axis])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])


def bluestein_model(n):
    """Bluestein's transform as the pack emits it: chirp, pad to a power of two M >= 2n - 1,
    DFT, multiply by the chirp filter's spectrum, inverse DFT, crop, chirp."""
    m = 1 << (2 * n - 2).bit_length()
    j = np.arange(n)
    chirp = np.exp(-1j * np.pi * ((j * j) % (2 * n)) / n)
    filt = np.zeros(m, complex)
    filt[:n] = np.conj(chirp)
    filt[m - n + 1:] = np.conj(chirp[1:])[::-1]
    consts = {"w": chirp, "b": np.fft.fft(filt)}
    inits = [numpy_helper.from_array(np.stack([v.real, v.imag], -1).astype(np.float32), k) for k, v in consts.items()]
    inits += [numpy_helper.from_array(np.array(k, np.int64), f"i{k}") for k in (0, 1)]
    inits += [numpy_helper.from_array(np.array(v, np.int64), k) for k, v in
              {"pads": [0, 0, 0, 0, m - n, 0], "axis": 1, "s0": [0], "sn": [n], "ax": [1]}.items()]
    nodes = []

    def cmul(x, w, out):
        parts = {}
        for name, v in (("x", x), ("w", w)):
            for k in (0, 1):
                nodes.append(helper.make_node("Gather", [v, f"i{k}"], [f"{out}_{name}{k}"], axis=-1))
        a, b, c, d = f"{out}_x0", f"{out}_x1", f"{out}_w0", f"{out}_w1"
        for p, q, r in (("ac", a, c), ("bd", b, d), ("ad", a, d), ("bc", b, c)):
            nodes.append(helper.make_node("Mul", [q, r], [f"{out}_{p}"]))
        nodes.append(helper.make_node("Sub", [f"{out}_ac", f"{out}_bd"], [f"{out}_re"]))
        nodes.append(helper.make_node("Add", [f"{out}_ad", f"{out}_bc"], [f"{out}_im"]))
        for k in ("re", "im"):
            nodes.append(helper.make_node("Unsqueeze", [f"{out}_{k}", "minus1"], [f"{out}_{k}u"]))
        nodes.append(helper.make_node("Concat", [f"{out}_reu", f"{out}_imu"], [out], axis=-1))

    inits.append(numpy_helper.from_array(np.array([-1], np.int64), "minus1"))
    cmul("x", "w", "a")
    nodes.append(helper.make_node("Pad", ["a", "pads"], ["padded"]))
    nodes.append(helper.make_node("DFT", ["padded", "", "axis"], ["spec"]))
    cmul("spec", "b", "prod")
    nodes.append(helper.make_node("DFT", ["prod", "", "axis"], ["conv"], inverse=1))
    nodes.append(helper.make_node("Slice", ["conv", "s0", "sn", "ax"], ["head"]))
    cmul("head", "w", "y")
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [BATCH, n, 2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [BATCH, n, 2])
    graph = helper.make_graph(nodes, "fft_bluestein", [x], [y], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])


def other_lengths(sizes, repeat):
    print("## Lengths that are not powers of two: MatMul vs Bluestein (complex FFT, batch 64, f32, ms)\n")
    print("| n | MatMul | Bluestein | Bluestein / MatMul | Bluestein error / bound |")
    print("|---|---|---|---|---|")
    rng = np.random.default_rng(2)
    for n in sizes:
        x = rng.normal(size=(BATCH, n, 2)).astype(np.float32)
        mm, bl = session(matmul_model(n)), session(bluestein_model(n))
        t_mm = median_time(lambda: mm.run(None, {"x": x.reshape(BATCH, 2 * n)}), repeat)
        t_bl = median_time(lambda: bl.run(None, {"x": x}), repeat)
        want = np.fft.fft(x[..., 0].astype(np.float64) + 1j * x[..., 1], axis=-1)
        out = bl.run(None, {"x": x})[0]
        err = np.abs(out[..., 0] + 1j * out[..., 1] - want).max() / (1e-5 * np.abs(x).sum(axis=(1, 2)).max())
        print(f"| {n} | {t_mm * 1e3:.3f} | {t_bl * 1e3:.3f} | {t_bl / t_mm:.2f} | {err:.3f} |")
    print()


def lowerings(sizes, repeat):
    print("## The two lowerings (complex FFT, batch 64, f32, ms per call)\n")
    print("| n | MatMul | DFT | DFT / MatMul | DFT error / bound |")
    print("|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    for n in sizes:
        x = rng.normal(size=(BATCH, n, 2)).astype(np.float32)
        mm = session(matmul_model(n))
        dft = session(dft_model(n))
        t_mm = median_time(lambda: mm.run(None, {"x": x.reshape(BATCH, 2 * n)}), repeat)
        t_dft = median_time(lambda: dft.run(None, {"x": x}), repeat)
        # Accuracy against numpy's f64 FFT, relative to the bound of 1e-5 × ‖x‖₁ per element.
        want = np.fft.fft(x[..., 0].astype(np.float64) + 1j * x[..., 1], axis=-1)
        bound = 1e-5 * np.abs(x).sum(axis=(1, 2)).max()
        errors = []
        for out in (mm.run(None, {"x": x.reshape(BATCH, 2 * n)})[0].reshape(BATCH, n, 2), dft.run(None, {"x": x})[0]):
            errors.append(np.abs(out[..., 0] + 1j * out[..., 1] - want).max() / bound)
        assert errors[0] <= 1, f"MatMul twiddles out of bound at n={n}"
        print(f"| {n} | {t_mm * 1e3:.3f} | {t_dft * 1e3:.3f} | {t_dft / t_mm:.2f} | {errors[1]:.3f} |")
    print()


def exported(sizes, repeat):
    print("## Exported FFT vs jax.jit (batch 64, f32/c64, ms per call)\n")
    print("| transform | n | ONNX Runtime | jax.jit | ORT / JAX |")
    print("|---|---|---|---|---|")
    rng = np.random.default_rng(1)
    with tempfile.TemporaryDirectory() as tmp:
        for name, fn, make in [
            ("fft", jnp.fft.fft, lambda n: (rng.normal(size=(BATCH, n)) + 1j * rng.normal(size=(BATCH, n))).astype(np.complex64)),
            ("rfft", jnp.fft.rfft, lambda n: rng.normal(size=(BATCH, n)).astype(np.float32)),
            ("irfft", lambda z: jnp.fft.irfft(z, n=2 * (z.shape[-1] - 1)),
             lambda n: (rng.normal(size=(BATCH, n // 2 + 1)) + 1j * rng.normal(size=(BATCH, n // 2 + 1))).astype(np.complex64)),
        ]:
            for n in sizes:
                x = make(n)
                path = to_onnx(fn, [x], Path(tmp) / f"{name}{n}.onnx")
                sess = session(path)
                feed = {sess.get_inputs()[0].name: to_pairs(x)}
                jitted = jax.jit(fn)
                xj = jnp.asarray(x)
                t_ort = median_time(lambda: sess.run(None, feed), repeat)
                t_jax = median_time(lambda: jitted(xj).block_until_ready(), repeat)
                print(f"| {name} | {n} | {t_ort * 1e3:.3f} | {t_jax * 1e3:.3f} | {t_ort / t_jax:.2f} |")
    print()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer sizes and repeats")
    ap.add_argument("--only-other", action="store_true", help="only the MatMul/Bluestein table")
    a = ap.parse_args()
    repeat = 10 if a.quick else 50
    if a.only_other:
        other_lengths([200, 300, 600, 1000, 1500], repeat)
        return
    lowerings([16, 64, 128, 256, 1000] if a.quick else [8, 16, 32, 64, 96, 128, 192, 256, 300, 512, 1000, 1024, 2048], repeat)
    other_lengths([200, 300, 600, 1000, 1500] if not a.quick else [300, 1000], repeat)
    exported([256, 1000, 4096], repeat)


if __name__ == "__main__":
    main()
