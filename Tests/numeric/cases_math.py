"""Elementwise math beyond the core: every float width (f16, f32, f64 under x64, bf16 through
in-model casts, since ONNX Runtime's Python API cannot feed bf16 arrays), integer division and
remainder, bitwise logic, shifts, population_count and clz on every integer width, with the
boundary values where the semantics live (NaN, inf, -0, halves, MIN / -1, shifts past the width).
"""

from __future__ import annotations

import numpy as np

import jax.numpy as jnp
from jax import lax

from casekit import EXACT, Case, case

S = (3, 4)
F16_TOL = dict(rtol=2e-3, atol=2e-3)    # a couple of f16 ulps
BF16_TOL = dict(rtol=1.6e-2, atol=1.6e-2)  # a couple of bf16 ulps
REL = dict(rtol=1e-5, atol=0.0)          # relative only: small results must keep their digits
F64_TOL = dict(rtol=1e-12, atol=0.0)     # f64 composites must keep f64 precision

INTS = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]
X64 = {"int64", "uint64", "float64"}
SHORT = {"int8": "i8", "int16": "i16", "int32": "i32", "int64": "i64", "uint8": "u8", "uint16": "u16",
         "uint32": "u32", "uint64": "u64", "float16": "f16", "float32": "f32", "float64": "f64", "bool": "bool"}


def arr(dtype, *shape, lo=-3.0, hi=3.0, specials=()):
    """Random values of dtype in [lo, hi] (integers: whole range when lo/hi are None), with
    `specials` written over the first elements."""
    dt = np.dtype(dtype)

    def gen(rng):
        if dt.kind in "iu":
            info = np.iinfo(dt)
            a = info.min if lo is None else lo
            b = info.max if hi is None else hi
            v = rng.integers(a, b, size=shape, dtype=dt, endpoint=True)
        elif dt.kind == "b":
            v = rng.integers(0, 2, size=shape).astype(bool)
        else:
            v = rng.uniform(lo, hi, size=shape).astype(dt)
        flat = v.reshape(-1)
        for i, s in enumerate(specials):
            flat[i] = np.array(s).astype(dt) if dt.kind != "f" else dt.type(s)
        return v
    return gen


def imin(t):
    return int(np.iinfo(t).min)


def imax(t):
    return int(np.iinfo(t).max)


def bf16(fn):
    """fn on the bf16 rounding of f32 inputs, its result widened back to f32."""
    return lambda *a: fn(*(jnp.asarray(x).astype(jnp.bfloat16) for x in a)).astype(jnp.float32)


CASES: list[Case] = []


def add(id, fn, inputs, prims, tol=None, x64=False, min_opset=17):
    CASES.append(case(id, fn, inputs, prims, tol, min_opset=min_opset, x64=x64))


# -- the one-op unary functions in each float width ----------------------------------------------
DOMAINS = {  # (lo, hi) where the function is defined and well conditioned
    "tan": (-1.4, 1.4), "asin": (-0.99, 0.99), "acos": (-0.99, 0.99), "atan": (-6, 6), "sinh": (-4, 4),
    "cosh": (-4, 4), "asinh": (-6, 6), "acosh": (1.01, 6), "atanh": (-0.95, 0.95), "exp": (-4, 4),
    "log": (0.1, 6), "tanh": (-3, 3), "logistic": (-6, 6), "sin": (-3, 3), "cos": (-3, 3), "sqrt": (0.1, 6),
    "erf": (-2.5, 2.5), "floor": (-6, 6), "ceil": (-6, 6), "neg": (-6, 6), "abs": (-6, 6), "sign": (-6, 6),
    "rsqrt": (0.1, 6), "log1p": (-0.9, 6), "expm1": (-3, 3),
}
FNS = {"tan": jnp.tan, "asin": jnp.arcsin, "acos": jnp.arccos, "atan": jnp.arctan, "sinh": jnp.sinh, "cosh": jnp.cosh,
       "asinh": jnp.arcsinh, "acosh": jnp.arccosh, "atanh": jnp.arctanh, "exp": jnp.exp, "log": jnp.log, "tanh": jnp.tanh,
       "logistic": lax.logistic, "sin": jnp.sin, "cos": jnp.cos, "sqrt": jnp.sqrt, "erf": lax.erf, "floor": jnp.floor,
       "ceil": jnp.ceil, "neg": lax.neg, "abs": lax.abs, "sign": lax.sign, "rsqrt": lax.rsqrt, "log1p": jnp.log1p,
       "expm1": jnp.expm1}
NO_F64 = set()  # every function has an f64 lowering
for name, (lo, hi) in DOMAINS.items():
    fn = FNS[name]
    add(f"{name}_f16", fn, [arr("float16", *S, lo=lo, hi=hi)], [name], F16_TOL)
    add(f"{name}_bf16", bf16(fn), [arr("float32", *S, lo=lo, hi=hi)], [name], BF16_TOL)
    if name not in NO_F64:
        add(f"{name}_f64", fn, [arr("float64", *S, lo=lo, hi=hi)], [name], F64_TOL, x64=True)
for name in ["neg", "abs", "sign"]:
    for t in INTS:
        if name == "abs" and t.startswith("u"):
            continue
        lo = None if name != "abs" else imin(t) + 1
        add(f"{name}_{SHORT[t]}_range", FNS[name], [arr(t, *S, lo=lo, hi=None, specials=[0, -1, 1] if t[0] == "i" else [0, 1])],
            [name], EXACT, x64=t in X64)

# -- binary arithmetic in every width ---------------------------------------------------------------
for t in ["float16", "float64"]:
    tol = F16_TOL if t == "float16" else None
    for name, fn in [("add", jnp.add), ("sub", jnp.subtract), ("mul", jnp.multiply), ("div", lax.div),
                     ("max", jnp.maximum), ("min", jnp.minimum)]:
        add(f"{name}_{SHORT[t]}", fn, [arr(t, *S), arr(t, *S, lo=0.5, hi=3)], [name], tol, x64=t in X64)
    add(f"pow_{SHORT[t]}", jnp.power, [arr(t, *S, lo=0.1, hi=3), arr(t, *S, lo=-2, hi=2)], ["pow"], tol, x64=t in X64)
for t in INTS:
    short, x64 = SHORT[t], t in X64
    for name, fn in [("add", jnp.add), ("sub", jnp.subtract), ("mul", jnp.multiply), ("max", jnp.maximum), ("min", jnp.minimum)]:
        add(f"{name}_{short}_wrap", fn, [arr(t, *S, lo=None, hi=None), arr(t, *S, lo=None, hi=None)], [name], EXACT, x64=x64)
    # Division and remainder: zero divisors and (signed) MIN / -1 are defined by XLA.
    if t[0] == "i":
        num = arr(t, *S, lo=-100, hi=100, specials=[7, -7, 7, -7, imin(t), imin(t), 0, imax(t)])
        den = arr(t, *S, lo=-9, hi=9, specials=[2, 2, -2, -2, -1, 0, 0, 3])
    else:
        num = arr(t, *S, lo=0, hi=None, specials=[7, imax(t), 0, 5])
        den = arr(t, *S, lo=1, hi=12, specials=[2, 0, 0, 7])
    add(f"div_{short}_xla", lax.div, [num, den], ["div"], EXACT, x64=x64)
    add(f"rem_{short}_c_sign", lax.rem, [num, den], ["rem"], EXACT, x64=x64)
    add(f"clamp_{short}", lambda lo, x, hi: lax.clamp(lo, x, hi),
        [arr(t, lo=0, hi=10), arr(t, *S, lo=None, hi=None), arr(t, lo=50, hi=100)], ["clamp"], EXACT, x64=x64)
for t in ["float16", "float32", "float64"]:
    tol = F16_TOL if t == "float16" else None
    add(f"rem_{SHORT[t]}", lax.rem,
        [arr(t, *S, lo=-9, hi=9, specials=[5.5, -5.5, 5.5, -5.5, np.inf, 3.0, 0.25, -0.0]),
         arr(t, *S, lo=0.3, hi=4, specials=[2.0, 2.0, -2.0, -2.0, 2.0, np.inf, 3.0, 1.0])], ["rem"], tol, x64=t in X64)
    add(f"clamp_{SHORT[t]}_float", lambda lo, x, hi: lax.clamp(lo, x, hi),
        [arr(t, lo=-1, hi=-0.5), arr(t, *S), arr(t, lo=0.5, hi=1)], ["clamp"], tol, x64=t in X64)
add("rem_bf16", bf16(lax.rem), [arr("float32", *S, lo=-9, hi=9), arr("float32", *S, lo=0.3, hi=4)], ["rem"], BF16_TOL)

# -- composites -------------------------------------------------------------------------------------
INF, NAN = np.inf, np.nan
ATAN2_Y = [0.0, -0.0, 0.0, -0.0, 1.0, -1.0, INF, -INF, INF, 1.0, NAN, 2.0]
ATAN2_X = [0.0, 0.0, -0.0, -0.0, -INF, -INF, INF, -INF, 1.0, -0.0, 1.0, -3.0]
for t, tol in [("float32", None), ("float16", F16_TOL)]:
    add(f"atan2_{SHORT[t]}_quadrants", jnp.arctan2, [arr(t, *S, lo=-4, hi=4), arr(t, *S, lo=-4, hi=4)], ["atan2"], tol)
    add(f"atan2_{SHORT[t]}_specials", jnp.arctan2, [arr(t, *S, specials=ATAN2_Y), arr(t, *S, specials=ATAN2_X)], ["atan2"], tol)
add("atan2_bf16", bf16(jnp.arctan2), [arr("float32", *S, lo=-4, hi=4), arr("float32", *S, lo=-4, hi=4)], ["atan2"], BF16_TOL)

ATAN2_Y_64 = ATAN2_Y + [1e-300, 1e300]
ATAN2_X_64 = ATAN2_X + [1e300, -1e-300]
CBRT = [0.0, 8.0, -27.0, 1e-30, -1e30, INF, -INF, NAN, 2.0, -0.001]
add("cbrt_f32", jnp.cbrt, [arr("float32", *S, lo=-50, hi=50, specials=CBRT)], ["cbrt"], REL)
add("cbrt_f64", jnp.cbrt, [arr("float64", *S, lo=-50, hi=50, specials=CBRT + [1e-300])], ["cbrt"], F64_TOL, x64=True)
add("cbrt_f16", jnp.cbrt, [arr("float16", *S, lo=-50, hi=50, specials=CBRT[:3])], ["cbrt"], F16_TOL)
add("cbrt_bf16", bf16(jnp.cbrt), [arr("float32", *S, lo=-50, hi=50)], ["cbrt"], BF16_TOL)

HALVES = [0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999997, -0.49999997, INF, NAN, -0.0, 4194304.5, -4194304.5, 3.7]
HALVES64 = HALVES[:6] + [0.49999999999999994, -0.49999999999999994, INF, NAN, 4503599627370495.5, -2251799813685247.5]
for method, mname in [(lax.RoundingMethod.AWAY_FROM_ZERO, "away"), (lax.RoundingMethod.TO_NEAREST_EVEN, "even")]:
    rnd = (lambda m: lambda x: lax.round(x, m))(method)
    add(f"round_{mname}_f32", rnd, [arr("float32", 4, 5, lo=-6, hi=6, specials=HALVES)], ["round"], EXACT)
    add(f"round_{mname}_f64", rnd, [arr("float64", 4, 5, lo=-6, hi=6, specials=HALVES64)], ["round"], EXACT, x64=True)
    add(f"round_{mname}_f16", rnd, [arr("float16", *S, lo=-6, hi=6, specials=HALVES[:6] + [1000.5, -1000.5])], ["round"], EXACT)
    add(f"round_{mname}_bf16", bf16(rnd), [arr("float32", *S, lo=-6, hi=6, specials=HALVES[:6])], ["round"], EXACT)
add("round_jnp_default_f32", jnp.round, [arr("float32", *S, lo=-6, hi=6, specials=HALVES[:6])], ["round"], EXACT)

FINITE = [INF, -INF, NAN, 0.0, -0.0, 3e38, -1e-45]
for t in ["float16", "float32", "float64"]:
    add(f"is_finite_{SHORT[t]}", jnp.isfinite, [arr(t, *S, specials=FINITE[:5] + ([65504.0] if t == "float16" else FINITE[5:]))],
        ["is_finite"], EXACT, x64=t in X64)
add("is_finite_bf16", lambda x: jnp.isfinite(jnp.asarray(x).astype(jnp.bfloat16)), [arr("float32", *S, specials=FINITE)], ["is_finite"], EXACT)

# exp2 over a wide range, compared relatively (exp(x ln 2) would lose ~5e-6 at |x| = 100).
add("exp2_f32", jnp.exp2, [arr("float32", 4, 5, lo=-120, hi=120, specials=[0.0, 1.0, -1.0, 0.5, 127.0, -125.0, 10.25])], ["exp2"], REL)
add("exp2_f64", jnp.exp2, [arr("float64", 4, 5, lo=-1000, hi=1000, specials=[0.0, 1.0, -1020.0, 1023.5])], ["exp2"], REL, x64=True)
add("exp2_f16", jnp.exp2, [arr("float16", *S, lo=-10, hi=10)], ["exp2"], F16_TOL)
add("exp2_bf16", bf16(jnp.exp2), [arr("float32", *S, lo=-30, hi=30)], ["exp2"], BF16_TOL)

# erfc relatively, far into the tail where 1 - erf(x) would be 0.
add("erfc_f32_tail", lax.erfc, [arr("float32", 4, 6, lo=-3, hi=6, specials=[0.0, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0, -1.0, -4.0, INF, -INF, NAN])],
    ["erfc"], REL)
add("erfc_f64_tail", lax.erfc, [arr("float64", 4, 6, lo=-5, hi=26, specials=[0.0, 1.0, 2.0, 2.0000001, 4.0, 10.0, 20.0, -3.0, -2.0, 1e-300])],
    ["erfc"], F64_TOL, x64=True)
add("erf_f64_range", lax.erf, [arr("float64", 4, 6, lo=-6, hi=6, specials=[0.0, 1e-300, -1e-8, 1.0, 2.0, -2.0000001, 3.0, 6.0, INF, -INF, NAN])],
    ["erf"], F64_TOL, x64=True)
add("erfc_f16", lax.erfc, [arr("float16", *S, lo=-3, hi=3)], ["erfc"], F16_TOL)
add("erfc_bf16", bf16(lax.erfc), [arr("float32", *S, lo=-3, hi=3)], ["erfc"], BF16_TOL)

# nextafter exactly: one ulp is invisible at any tolerance.
NA_X = [0.0, 0.0, 1.0, 1.0, -1.0, -1.0, 3.4028235e38, INF, -INF, 1e-45, 1.0, NAN, 1.0, 2.0, -0.0, 1.1754944e-38, -2.0, 0.0]
NA_Y = [1.0, -1.0, 2.0, 0.0, -2.0, 0.0, INF, 0.0, 0.0, 0.0, 1.0, 1.0, NAN, 0.0, 1.0, 0.0, -INF, -0.0]
add("nextafter_f32", jnp.nextafter, [arr("float32", 4, 6, lo=-5, hi=5, specials=NA_X), arr("float32", 4, 6, lo=-5, hi=5, specials=NA_Y)],
    ["nextafter"], EXACT)
add("nextafter_f64", jnp.nextafter, [arr("float64", 4, 6, lo=-5, hi=5, specials=NA_X[:6] + [1.7976931348623157e308, INF, 5e-324, 2.0]),
                                      arr("float64", 4, 6, lo=-5, hi=5, specials=NA_Y[:6] + [INF, 0.0, 0.0, 0.0])],
    ["nextafter"], EXACT, x64=True)
add("nextafter_f16", jnp.nextafter, [arr("float16", *S, lo=-5, hi=5, specials=[0.0, 1.0, 65504.0, 2.0, -1.0]),
                                      arr("float16", *S, lo=-5, hi=5, specials=[1.0, 0.0, INF, 0.0, 0.0])], ["nextafter"], EXACT)
add("nextafter_bf16", bf16(jnp.nextafter), [arr("float32", *S, lo=-5, hi=5, specials=[0.0, 1.0, 2.0]),
                                             arr("float32", *S, lo=-5, hi=5, specials=[1.0, 0.0, 0.0])], ["nextafter"], EXACT)

# -- bitwise logic, shifts, bit counts on every integer width ---------------------------------------
for t in INTS:
    short, x64, w = SHORT[t], t in X64, np.dtype(t).itemsize * 8
    full = arr(t, *S, lo=None, hi=None, specials=[0, imax(t), imin(t) if t[0] == "i" else 1])
    full2 = arr(t, *S, lo=None, hi=None, specials=[imax(t), 0, -1 if t[0] == "i" else imax(t)])
    for name, fn in [("and", jnp.bitwise_and), ("or", jnp.bitwise_or), ("xor", jnp.bitwise_xor)]:
        add(f"{name}_{short}", fn, [full, full2], [name], EXACT, x64=x64)
    add(f"not_{short}", jnp.invert, [full], ["not"], EXACT, x64=x64)
    add(f"population_count_{short}", lax.population_count, [full], ["population_count"], EXACT, x64=x64)
    add(f"clz_{short}", lax.clz, [arr(t, *S, lo=None, hi=None, specials=[0, 1, imax(t), imin(t) if t[0] == "i" else 2, 3])],
        ["clz"], EXACT, x64=x64)
    # Amounts from below zero to past the width (XLA: 0, or the sign fill for arithmetic shifts).
    amounts = arr(t, *S, lo=0 if t[0] == "u" else -2, hi=w + 2, specials=[0, w - 1, w, w + 1] + ([-1] if t[0] == "i" else [imax(t)]))
    values = arr(t, *S, lo=None, hi=None, specials=[1, imax(t), imin(t) if t[0] == "i" else imax(t), 3, imin(t) if t[0] == "i" else 5])
    for name, fn in [("shift_left", lax.shift_left), ("shift_right_logical", lax.shift_right_logical),
                     ("shift_right_arithmetic", lax.shift_right_arithmetic)]:
        add(f"{name}_{short}", fn, [values, amounts], [name], EXACT, x64=x64)
add("and_bool", jnp.logical_and, [arr(bool, *S), arr(bool, *S)], ["and"], EXACT)
add("or_bool", jnp.logical_or, [arr(bool, *S), arr(bool, *S)], ["or"], EXACT)
add("xor_bool", jnp.logical_xor, [arr(bool, *S), arr(bool, *S)], ["xor"], EXACT)
add("not_bool", jnp.logical_not, [arr(bool, *S)], ["not"], EXACT)
add("ne_bool", jnp.not_equal, [arr(bool, *S), arr(bool, *S)], ["ne"], EXACT)
add("eq_bool", jnp.equal, [arr(bool, *S), arr(bool, *S)], ["eq"], EXACT)

# f64 composites (no double kernel in ONNX Runtime) over their whole domains, tiny and huge
# arguments included, where the naive formulas cancel or overflow.
F64_EDGES = {
    "tan": [1e-300, -1e-10, 1.5, -1.57, 100.0, 0.0],
    "atan": [1e-300, -1e-10, 0.4, 1.0, -1.0, 1e10, -1e300, 2.5, INF, -INF, 0.0],
    "asin": [1e-300, -1e-10, 0.5, 1.0, -1.0, 0.9999999999, -0.7, 0.0],
    "acos": [1e-300, -1e-10, 0.5, 1.0, -1.0, 0.9999999999, -0.9999999999, 0.0],
    "sinh": [1e-300, -1e-10, 0.5, -0.99, 1.0, 20.0, -700.0, 710.0, 0.0],
    "cosh": [1e-300, -1e-10, 0.5, 1.0, -20.0, 700.0, 710.0, 0.0],
    "asinh": [1e-300, -1e-10, 0.5, 1.0, -20.0, 3e8, -1e200, 1e300, 0.0],
    "acosh": [1.0, 1.0000000001, 1.5, 20.0, 3e8, 1e200, 1e300],
    "atanh": [1e-300, -1e-10, 0.5, -0.9999999999, 1.0, -1.0, 0.0],
}
for name, edges in F64_EDGES.items():
    lo, hi = DOMAINS[name]
    add(f"{name}_f64_edges", FNS[name], [arr("float64", 4, 5, lo=lo, hi=hi, specials=edges)], [name], F64_TOL, x64=True)
add("atan2_f64", jnp.arctan2, [arr("float64", 4, 5, lo=-4, hi=4, specials=ATAN2_Y_64), arr("float64", 4, 5, lo=-4, hi=4, specials=ATAN2_X_64)],
    ["atan2"], F64_TOL, x64=True)


# NaN propagates through max, min, clamp and sign as in XLA.
NAN_X = [NAN, 1.0, -INF, INF, 0.5, NAN]
NAN_Y = [1.0, NAN, 0.0, 2.0, NAN, NAN]
for t, tol in [("float32", None), ("float16", F16_TOL), ("float64", None)]:
    for name, fn in [("max", jnp.maximum), ("min", jnp.minimum)]:
        add(f"{name}_{SHORT[t]}_nan", fn, [arr(t, *S, specials=NAN_X), arr(t, *S, specials=NAN_Y)], [name], tol, x64=t in X64)
    add(f"clamp_{SHORT[t]}_nan", lambda x: lax.clamp(np.float32(-1).astype(x.dtype), x, np.float32(1).astype(x.dtype)),
        [arr(t, *S, specials=NAN_X)], ["clamp"], tol, x64=t in X64)
    add(f"sign_{SHORT[t]}_nan", jnp.sign, [arr(t, *S, specials=NAN_X + [-0.0])], ["sign"], tol, x64=t in X64)

# Infinities and NaN through every one-op function and the composites (f16, f32, f64).
SPECIAL_INPUTS = [NAN, INF, -INF, -0.0, 0.0, 1.0]
for t, tol in [("float16", F16_TOL), ("float32", None), ("float64", None)]:
    for name, fn in list(FNS.items()) + [("cbrt", jnp.cbrt), ("exp2", jnp.exp2), ("erfc", lax.erfc)]:
        if t == "float64" and name in NO_F64:
            continue
        add(f"{name}_{SHORT[t]}_inf_nan", fn, [arr(t, 6, specials=SPECIAL_INPUTS)], [name], tol, x64=t in X64)

# bool through max/min (or/and), ordered comparisons (false < true) and clamp.
for name, fn in [("max", lax.max), ("min", lax.min), ("lt", lax.lt), ("le", lax.le), ("gt", lax.gt), ("ge", lax.ge)]:
    add(f"{name}_bool", fn, [arr(bool, *S), arr(bool, *S)], [name], EXACT)
add("clamp_bool", lambda x: lax.clamp(np.bool_(False), x, np.bool_(True)), [arr(bool, *S)], ["clamp"], EXACT)
add("clamp_bool_narrow", lambda lo, x: lax.clamp(lo, x, np.bool_(True)), [arr(bool), arr(bool, *S)], ["clamp"], EXACT)

REQUIRED = """
tan asin acos atan sinh cosh asinh acosh atanh atan2 cbrt ceil floor round rem nextafter is_finite erfc exp2 clamp
population_count clz and or xor not shift_left shift_right_logical shift_right_arithmetic div max min
""".split()
