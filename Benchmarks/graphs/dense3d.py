"""A Dense layer on a 3-D input, x[B, T, K] @ W[K, N] + b, three ways in ONNX Runtime CPU:

  matmul_add   MatMul then Add, with ORT's graph optimizations at "basic" (no MatMul+Add fusion)
  gemm         Reshape -> Gemm -> Reshape (what the Python jax2onnx emits)
  ort_fused    MatMul then Add with every ORT optimization on (ORT fuses the pair itself)

    python Benchmarks/graphs/dense3d.py [--runs 200] [--threads 1]

Timed interleaved round by round (as compare.py does) so load on a shared machine hits all three
alike; prints the median per shape and the ratios to ort_fused.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

SHAPES = [  # (B, T, K, N)
    (1, 1, 64, 64), (1, 8, 64, 256), (2, 32, 64, 64), (2, 32, 64, 256), (8, 128, 64, 256),
    (1, 64, 768, 768), (1, 64, 768, 3072), (4, 128, 768, 768), (1, 1, 768, 3072), (16, 1, 512, 512),
]


def model(b, t, k, n, kind: str) -> bytes:
    r = np.random.default_rng(0)
    w = numpy_helper.from_array(r.standard_normal((k, n)).astype(np.float32), "w")
    bias = numpy_helper.from_array(r.standard_normal(n).astype(np.float32), "b")
    inits = [w, bias]
    if kind == "gemm":
        inits += [numpy_helper.from_array(np.array([b * t, k], np.int64), "s2"),
                  numpy_helper.from_array(np.array([b, t, n], np.int64), "s3")]
        nodes = [helper.make_node("Reshape", ["x", "s2"], ["x2"]), helper.make_node("Gemm", ["x2", "w", "b"], ["y2"]),
                 helper.make_node("Reshape", ["y2", "s3"], ["y"])]
    else:
        nodes = [helper.make_node("MatMul", ["x", "w"], ["m"]), helper.make_node("Add", ["m", "b"], ["y"])]
    g = helper.make_graph(nodes, "dense", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [b, t, k])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [b, t, n])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m.SerializeToString()


def session(data: bytes, threads: int, level) -> ort.InferenceSession:
    o = ort.SessionOptions()
    o.intra_op_num_threads, o.inter_op_num_threads = threads, 1
    o.graph_optimization_level = level
    return ort.InferenceSession(data, o, providers=["CPUExecutionProvider"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    print("| B, T, K, N | matmul_add ms | gemm ms | ort_fused ms | matmul_add / fused | gemm / fused |")
    print("|---|---|---|---|---|---|")
    for b, t, k, n in SHAPES:
        x = np.random.default_rng(1).standard_normal((b, t, k)).astype(np.float32)
        subjects = {
            "matmul_add": session(model(b, t, k, n, "matmul"), args.threads, ort.GraphOptimizationLevel.ORT_ENABLE_BASIC),
            "gemm": session(model(b, t, k, n, "gemm"), args.threads, ort.GraphOptimizationLevel.ORT_ENABLE_ALL),
            "ort_fused": session(model(b, t, k, n, "matmul"), args.threads, ort.GraphOptimizationLevel.ORT_ENABLE_ALL),
        }
        outs = {name: s.run(None, {"x": x})[0] for name, s in subjects.items()}
        assert all(np.allclose(o, outs["ort_fused"], rtol=1e-4, atol=1e-3) for o in outs.values())
        times = {name: [] for name in subjects}
        ratios = {name: [] for name in subjects}
        names = list(subjects)
        for i in range(args.runs):
            round_ = {}
            for name in (names if i % 2 == 0 else names[::-1]):
                t0 = time.perf_counter()
                subjects[name].run(None, {"x": x})
                round_[name] = time.perf_counter() - t0
            for name in names:
                times[name].append(round_[name])
                ratios[name].append(round_[name] / round_["ort_fused"])
        med = {name: statistics.median(v) * 1e3 for name, v in times.items()}
        print(f"| {b}, {t}, {k}, {n} | {med['matmul_add']:.4f} | {med['gemm']:.4f} | {med['ort_fused']:.4f} | "
              f"{statistics.median(ratios['matmul_add']):.2f} | {statistics.median(ratios['gemm']):.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
