"""A structure-aware mutator for the bundle's JSON, run through the CLI: it rewrites ints inside one
equation's params (to -1, 0, 2^31, 2^63-1, -2^63, 2^53+1, ...), drops or repeats an operand, or
changes an output dim, and keeps every input whose run ends other than with exit 0, 1 or 2, or
with a pack crash line. libFuzzer's byte mutations rarely produce such targeted edits.

    python Fuzz/param_mutator.py [seed] [count] [out_dir]   (CLI from $JAX2ONNX_CLI or .build/debug)
"""
import glob
import json
import os
import random
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CLI = os.environ.get("JAX2ONNX_CLI", os.path.join(HERE, "..", ".build", "debug", "jax2onnx"))
seeds = sorted(glob.glob(os.path.join(HERE, "seeds", "*.jaxpr")))
rng = random.Random(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
N = int(sys.argv[2]) if len(sys.argv) > 2 else 300
OUT = sys.argv[3] if len(sys.argv) > 3 else "/tmp/j2o-param-mutator"
os.makedirs(OUT, exist_ok=True)
def load(p):
    b = open(p, 'rb').read()
    jo, jl, do, dl = struct.unpack('<QQQQ', b[16:48])
    return json.loads(b[jo:jo+jl]), b[do:do+dl]
def save(doc, data, p):
    j = json.dumps(doc).encode()
    off = (64 + len(j) + 63) // 64 * 64
    hdr = b'J2OBNDL\0' + struct.pack('<II', 1, 0) + struct.pack('<QQQQ', 64, len(j), off, len(data)) + b'\0' * 16
    open(p, 'wb').write(hdr + j + b'\0' * (off - 64 - len(j)) + data)
INTS = [-1, 0, 1, 2, 3, 5, 7, -2, 2**31, 2**63 - 1, -2**63, 100, 2**53 + 1]
def walk(x, out):
    if isinstance(x, dict):
        for k, v in x.items():
            if isinstance(v, int) and not isinstance(v, bool): out.append((x, k))
            else: walk(v, out)
    elif isinstance(x, list):
        for i, v in enumerate(x):
            if isinstance(v, int) and not isinstance(v, bool): out.append((x, i))
            else: walk(v, out)
def eqns(doc):
    out = []
    def rec(j):
        for e in j.get("eqns", []):
            out.append(e)
            for v in e.get("params", {}).values():
                if isinstance(v, dict):
                    for key in ("jaxpr",):
                        if key in v and isinstance(v[key], dict): rec(v[key])
                    if v.get("$") in ("closed_jaxpr", "jaxpr"):
                        inner = v.get("v") or v.get("jaxpr")
                        if isinstance(inner, dict): rec(inner.get("jaxpr", inner))
    rec(doc["program"]["jaxpr"])
    return out
found = {}
for it in range(N):
    p = rng.choice(seeds)
    doc, data = load(p)
    es = eqns(doc)
    if not es: continue
    e = rng.choice(es)
    r = rng.random()
    if r < 0.6:
        slots = []; walk(e.get("params", {}), slots)
        if not slots: continue
        for _ in range(rng.randint(1, 2)):
            c, k = rng.choice(slots); c[k] = rng.choice(INTS)
    elif r < 0.75:
        if e["in"]: e["in"].pop(rng.randrange(len(e["in"])))
    elif r < 0.85:
        e["in"].append(rng.choice(e["in"]) if e["in"] else {"var": 1})
    else:
        slots = []; walk(e.get("out", []), slots)
        if not slots: continue
        c, k = rng.choice(slots); c[k] = rng.choice(INTS)
    path = f"{OUT}/in-{os.getpid()}.jaxpr"
    save(doc, data, path)
    try:
        pr = subprocess.run([CLI, "convert", path, "-o", f"{OUT}/out-{os.getpid()}.onnx", "--quiet", "--pack-timeout", "20"], capture_output=True, text=True, timeout=30)
        code = pr.returncode
        err = pr.stderr
    except subprocess.TimeoutExpired:
        code, err = "timeout", ""
    bad = code not in (0, 1, 2) or "crashed" in err or "Fatal error" in err
    if bad:
        key = (e["prim"], err.strip().splitlines()[0][:120] if err.strip() else str(code))
        if key not in found:
            found[key] = 1
            keep = f"{OUT}/crash-{len(found)}-{e['prim']}.jaxpr"
            save(doc, data, keep)
            print(code, e["prim"], keep, "|", " / ".join(err.strip().splitlines()[:2])[:300], flush=True)
print("done:", N, "inputs,", len(found), "distinct failures")
sys.exit(1 if found else 0)
