"""Random valid JAX programs: DAGs of lax calls drawn from the primitives the converter claims.

Every candidate equation is checked by JAX itself (jax.eval_shape on the new line): illegal
parameter draws are simply rejected, so the samplers may be generous (negative padding, strides
past the end, out-of-range indices) and JAX decides what is a program.

Exactness: a value is "exact" when every op behind it is correctly rounded or exact (layout
ops, max/min, select, add/sub/mul/div/sqrt...). Ops whose result jumps on a one-ulp change of a
float operand (comparisons, float->int casts, sort keys, argmax, floor, bitcasts) take only exact
floats; otherwise a legitimate last-bit difference between XLA and ONNX Runtime in, say, exp
would turn into a wrong boolean and a false report.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

import numpy as np

import jax
import jax.numpy as jnp

from .program import DTYPES, FLOATS, INTS, NAMESPACE, SIGNED, UNSIGNED, WIDE, Program, input_source
from .values import draw_values

MAX_SIZE = 240  # elements per value: keeps ORT and XLA fast, shapes still odd


@dataclass
class V:
    name: str
    shape: tuple
    dtype: str
    exact: bool
    chain: int
    # read by no later equation: an int bitcast to a float is mostly denormals, which XLA:CPU
    # reads as zero in every op after it (DAZ) and ONNX Runtime does not
    terminal: bool = False
    # the coarsest float type the value passed through, when coarser than its own: an f32 result
    # widened to f64 carries f32's rounding, and is compared at f32's tolerance
    carry: str | None = None

    @property
    def size(self):
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def rank(self):
        return len(self.shape)


UNARY_FLOAT = {
    # name: exact?
    "exp": False, "log": False, "sin": False, "cos": False, "tan": False, "tanh": False,
    "logistic": False, "sqrt": True, "rsqrt": False, "cbrt": False, "log1p": False,
    "expm1": False, "asin": False, "acos": False, "atan": False, "sinh": False, "cosh": False,
    "asinh": False, "acosh": False, "atanh": False, "erf": False, "erfc": False, "erf_inv": False,
    "lgamma": False, "digamma": False, "floor": True, "ceil": True, "is_finite": True,
    "exp2": False, "abs": True, "neg": True, "sign": True, "square": False,
    "bessel_i0e": False, "bessel_i1e": False,
}
# unary float ops that jump: need exact operands
STEP_UNARY = {"floor", "ceil", "sign", "is_finite"}
UNARY_INT = ["abs", "neg", "sign", "square", "not", "population_count", "clz"]
BINARY_ARITH = {"add": True, "sub": True, "mul": True, "div": True, "rem": True, "max": True,
                "min": True}
BINARY_FLOAT = {"pow": False, "atan2": False, "nextafter": True, "igamma": False,
                "igammac": False, "zeta": False}
BITWISE = ["and", "or", "xor"]
SHIFTS = ["shift_left", "shift_right_arithmetic", "shift_right_logical"]
COMPARE = ["eq", "ne", "lt", "le", "gt", "ge"]
BF16_ROUNDING = tuple(f"lax.{n}(" for n in ("add", "sub", "mul", "div", "rem", "sqrt", "integer_pow", "pow",
                                          "dot_general", "reduce", "cumsum", "cumprod", "reduce_window",
                                          "conv_general_dilated", "square", "nextafter")) + ("jnp.",)
TOL_SPECIAL = {"igamma", "igammac", "zeta", "lgamma", "digamma", "erf_inv", "polygamma",
               "tan", "pow", "bessel_i0e", "bessel_i1e"}


class Gen:
    def __init__(self, rng: np.random.Generator, x64: bool, claims: dict, *, depth=0,
                 prefix="v", control=True, defs=None, counter=None):
        self.rng = rng
        self.x64 = x64
        self.claims = claims
        self.depth = depth
        self.prefix = prefix
        self.control = control and depth < 2
        self.vars: list[V] = []
        self.args: list[V] = []
        self.inputs: list[np.ndarray] = []
        self.lines: list[str] = []
        self.defs = defs if defs is not None else []
        self.counter = counter if counter is not None else itertools.count()
        self.ns = dict(NAMESPACE)
        self.special = False  # uses a loosely-toleranced special function
        # values of this body made by an op that rounds (not exact): where XLA and ONNX Runtime
        # may differ in the last bit (see conditioning.py)
        self.rounded: set[str] = set()

    # -- names, dtypes, shapes --------------------------------------------------------------

    def fresh(self, p=None):
        return f"{p or self.prefix}{next(self.counter)}"

    def dtypes(self, prim=None, pool=None):
        pool = pool or tuple(DTYPES)
        ok = [d for d in pool if self.x64 or d not in WIDE]
        claim = self.claims.get(prim) if prim else None
        if claim:
            ok = [d for d in ok if d in claim]
        return ok

    def pick_dtype(self, options):
        options = list(options)
        if not options:
            return None
        # favour the common ones; every claimed dtype still shows up
        w = np.array([4.0 if d in ("f32", "i32", "bool") else 1.0 for d in options])
        return options[self.rng.choice(len(options), p=w / w.sum())]

    def shape(self, rank=None, cap=MAX_SIZE):
        r = self.rng
        if rank is None:
            rank = int(r.choice(6, p=[0.12, 0.22, 0.3, 0.18, 0.1, 0.08]))
        while True:
            dims = [int(r.choice([0, 1, 1, 2, 3, 4, 5, 6, 7], p=[0.03, 0.15, 0.1, 0.15, 0.17, 0.15, 0.1, 0.08, 0.07]))
                    for _ in range(rank)]
            if np.prod(dims, dtype=np.int64) <= cap:
                return tuple(dims)

    # -- values --------------------------------------------------------------------------------

    def new_input(self, shape, dtype) -> V:
        vals = draw_values(self.rng, shape, DTYPES[dtype][0])
        if self.depth == 0 and dtype == "bf16":
            # ONNX Runtime's Python API has no bfloat16 arrays: feed f32, narrow in the program
            a = V(self.fresh("a"), tuple(shape), "f32", True, 0)
            self.args.append(a)
            self.inputs.append(vals.astype(np.float32))
            v = V(self.fresh("a"), tuple(shape), dtype, True, 0)
            self.lines.append(f"{v.name} = lax.convert_element_type({a.name}, jnp.bfloat16)")
        elif self.depth == 0:
            v = V(self.fresh("a"), tuple(shape), dtype, True, 0)
            self.args.append(v)
            self.inputs.append(vals)
        else:
            # inside a body: a captured constant (bodies take no free inputs). XLA:CPU reads a
            # denormal as zero (DAZ), and a constant is no input the oracle can rerun flushed
            # (rsqrt of a negative denormal is -inf there, NaN in ONNX Runtime): flush it here.
            if dtype in FLOATS:
                wide = vals.astype(np.float64)
                tiny = float(jnp.finfo(DTYPES[dtype][0]).smallest_normal)
                vals = np.where((wide != 0) & (np.abs(wide) < tiny), np.copysign(0.0, wide), wide).astype(vals.dtype)
            v = V(self.fresh("k"), tuple(shape), dtype, True, 0)
            self.lines.append(f"{v.name} = jnp.asarray({input_source(vals)})")
        self.vars.append(v)
        return v

    def pick(self, pred=lambda v: True, need_exact_float=False):
        cands = [v for v in self.vars if pred(v) and not v.terminal
                 and not (need_exact_float and v.dtype in FLOATS and not v.exact)]
        if not cands:
            return None
        # recent values more often: long chains
        w = np.arange(1, len(cands) + 1, dtype=float) ** 1.5
        return cands[self.rng.choice(len(cands), p=w / w.sum())]

    def operand(self, dtypes, need_exact_float=False, rank=None, p_new=0.2):
        dtypes = [d for d in dtypes if self.x64 or d not in WIDE]
        if not dtypes:
            return None
        if self.rng.random() > p_new:
            v = self.pick(lambda v: v.dtype in dtypes and (rank is None or v.rank == rank),
                          need_exact_float)
            if v is not None:
                return v
        return self.new_input(self.shape(rank), self.pick_dtype(dtypes))

    def like(self, shape, dtype, p_new=0.5):
        """A value of exactly this shape and dtype: an existing one or a new input."""
        if self.rng.random() > p_new:
            v = self.pick(lambda v: v.shape == tuple(shape) and v.dtype == dtype)
            if v is not None:
                return v
        return self.new_input(shape, dtype)

    def add(self, expr: str, args: list[V], exact: bool, chain_extra=None):
        """Appends `outs = expr` if JAX accepts it; returns the new values or None."""
        names = [a.name for a in args]
        uniq = list(dict.fromkeys(names))
        structs = {a.name: jax.ShapeDtypeStruct(a.shape, DTYPES[a.dtype][0]) for a in args}
        try:
            fn = eval(f"lambda {', '.join(uniq)}: {expr}", self.ns)
            out = jax.eval_shape(fn, *[structs[n] for n in uniq])
        except Exception:
            return None
        leaves = jax.tree_util.tree_leaves(out)
        if not leaves:
            return None
        outs = []
        chain = max([a.chain for a in args], default=0) + (0 if exact else 1) + (chain_extra or 0)
        carry = coarsest([a.carry for a in args] + [a.dtype for a in args])
        all_exact = exact and all(a.exact for a in args)
        if any(a.dtype == "bf16" for a in args) and expr.startswith(BF16_ROUNDING):
            # --upcast-bf16 keeps f32 precision between explicit conversions where JAX rounds
            # every op to bf16: equal to bf16 precision, not bit for bit
            all_exact = False
        for leaf in leaves:
            try:
                code = next(c for c, (dt, _) in DTYPES.items() if dt == np.dtype(leaf.dtype))
            except StopIteration:
                return None
            if int(np.prod(leaf.shape, dtype=np.int64)) > MAX_SIZE * 4 or len(leaf.shape) > 6:
                return None
            outs.append(V(self.fresh(), tuple(int(d) for d in leaf.shape), code, all_exact, chain,
                          carry=carry if code in FLOATS and coarsest([carry, code]) != code else None))
        if not exact and len(outs) == 1 and outs[0].dtype in FLOATS:
            self.rounded.add(outs[0].name)
        lhs = ", ".join(o.name for o in outs) + ("," if len(outs) == 1 and not isinstance(out, jax.ShapeDtypeStruct) else "")
        self.lines.append(f"{lhs} = {expr}")
        self.vars.extend(outs)
        return outs

    # -- the grammar -------------------------------------------------------------------------

    def step(self):
        ops = OPS if self.control else [o for o in OPS if o[1] not in CONTROL]
        w = np.array([o[0] for o in ops], dtype=float)
        for _ in range(20):
            _, fn = ops[self.rng.choice(len(ops), p=w / w.sum())]
            if fn(self) is not None:
                return True
        return False


# -- op samplers: each returns the new values or None ------------------------------------------

def kind_of(code):
    """numpy's kind letter, with bf16 (numpy kind 'V') as a float."""
    return "f" if code in FLOATS else DTYPES[code][0].kind


def lit(x, dtype):
    """Scalar literal of a dtype, in source form."""
    return f"np.array({x!r}, dtype={DTYPES[dtype][1]})"


def op_unary_float(g: Gen):
    name = list(UNARY_FLOAT)[g.rng.integers(len(UNARY_FLOAT))]
    x = g.operand(g.dtypes(name, FLOATS), need_exact_float=name in STEP_UNARY)
    if x is None or x.dtype not in g.dtypes(name, FLOATS):
        return None
    if name in TOL_SPECIAL:
        g.special = True
    return g.add(f"lax.{name}(%s)" % x.name, [x], UNARY_FLOAT[name])


def op_round(g: Gen):
    x = g.operand(g.dtypes("round", FLOATS), need_exact_float=True)
    if x is None or x.dtype not in FLOATS:
        return None
    m = g.rng.choice(["TO_NEAREST_EVEN", "AWAY_FROM_ZERO"])
    return g.add(f"lax.round({x.name}, lax.RoundingMethod.{m})", [x], True)


def op_unary_int(g: Gen):
    name = UNARY_INT[g.rng.integers(len(UNARY_INT))]
    pool = INTS + (("bool",) if name == "not" else ())
    x = g.operand(g.dtypes(name, pool))
    if x is None or x.dtype not in g.dtypes(name, pool):
        return None
    if name == "clz" and g.depth > 0 and x.dtype.startswith("i"):
        # XLA's constant folder gives clz(negative) = -bitwidth where the compiled kernel gives 0;
        # body values are often constants (docs/difftest.md, platform-defined behaviour).
        return None
    return g.add(f"lax.{name}({x.name})", [x], True)


def partner(g: Gen, x: V, dtype=None):
    """A second operand for an elementwise op: same shape, or size-1 dims that broadcast."""
    dtype = dtype or x.dtype
    r = g.rng.random()
    if r < 0.15:
        return None  # caller uses a literal
    shape = x.shape
    if r < 0.3 and x.rank:
        shape = tuple(1 if g.rng.random() < 0.5 else d for d in shape)
    return g.like(shape, dtype)


def op_binary(g: Gen):
    table = dict(BINARY_ARITH)
    table.update(BINARY_FLOAT)
    name = list(table)[g.rng.integers(len(table))]
    pool = FLOATS if name in BINARY_FLOAT else FLOATS + INTS + (("bool",) if name in ("max", "min") else ())
    x = g.operand(g.dtypes(name, pool))
    if x is None or x.dtype not in g.dtypes(name, pool):
        return None
    if name in TOL_SPECIAL:
        g.special = True
    y = partner(g, x)
    if name == "rem" and x.dtype in FLOATS and not (x.exact and (y is None or y.exact)):
        # rem jumps by the divisor when a one-ulp change crosses a multiple: exact operands only,
        # like the other discontinuous ops (docs/difftest.md, the oracle)
        return None
    exact = table[name] and not (name in ("div", "rem") and x.dtype in ("f16", "bf16"))
    if y is None:
        c = {"f": 1.5, "i": 3, "u": 3, "b": True}[kind_of(x.dtype)]
        if g.rng.random() < 0.5:
            return g.add(f"lax.{name}({x.name}, {lit(c, x.dtype)})", [x], exact)
        return g.add(f"lax.{name}({lit(c, x.dtype)}, {x.name})", [x], exact)
    return g.add(f"lax.{name}({x.name}, {y.name})", [x, y], exact)


def op_bitwise(g: Gen):
    name = (BITWISE + SHIFTS)[g.rng.integers(len(BITWISE) + len(SHIFTS))]
    pool = INTS + (("bool",) if name in BITWISE else ())
    x = g.operand(g.dtypes(name, pool))
    if x is None or x.dtype not in g.dtypes(name, pool):
        return None
    y = partner(g, x) or x
    return g.add(f"lax.{name}({x.name}, {y.name})", [x, y], True)


def op_compare(g: Gen):
    name = COMPARE[g.rng.integers(len(COMPARE))]
    x = g.operand(g.dtypes(name), need_exact_float=True)
    if x is None or (x.dtype in FLOATS and not x.exact):
        return None
    y = partner(g, x) or x
    if y.dtype in FLOATS and not y.exact:
        return None
    return g.add(f"lax.{name}({x.name}, {y.name})", [x, y], True)


def op_select(g: Gen):
    x = g.operand(g.dtypes("select_n"))
    if x is None:
        return None
    n = int(g.rng.integers(1, 4))
    cases = [x] + [g.like(x.shape, x.dtype) for _ in range(n - 1)]
    if n <= 2 and g.rng.random() < 0.7:
        p = g.like(x.shape if g.rng.random() < 0.8 else (), "bool")
        return g.add(f"lax.select_n({p.name}, {', '.join(c.name for c in cases)})", [p] + cases, True)
    p = g.like(x.shape, "i32")
    return g.add(f"lax.select_n(lax.clamp(np.int32(0), {p.name}, np.int32({n - 1})), "
                 f"{', '.join(c.name for c in cases)})", [p] + cases, True)


def op_clamp(g: Gen):
    x = g.operand(g.dtypes("clamp"))
    if x is None or x.dtype == "bool":
        return None
    kind = kind_of(x.dtype)
    if g.rng.random() < 0.5:
        lo, hi = {"f": (-1.5, 2.0), "i": (-3, 5), "u": (1, 9)}[kind]
        return g.add(f"lax.clamp({lit(lo, x.dtype)}, {x.name}, {lit(hi, x.dtype)})", [x], True)
    lo, hi = g.like(x.shape, x.dtype), g.like(x.shape, x.dtype)
    # Bounds in order: XLA's simplifier assumes lo <= hi (max(lo, clamp(lo, x, hi)) becomes the
    # clamp), so lo > hi has no one JAX answer (docs/difftest.md).
    return g.add(f"lax.clamp(lax.min({lo.name}, {hi.name}), {x.name}, lax.max({lo.name}, {hi.name}))", [lo, x, hi], True)


def op_integer_pow(g: Gen):
    x = g.operand(g.dtypes("integer_pow", FLOATS + INTS))
    if x is None:
        return None
    k = int(g.rng.integers(-3, 6)) if x.dtype in FLOATS else int(g.rng.integers(0, 6))
    return g.add(f"lax.integer_pow({x.name}, {k})", [x], k in (0, 1, -1, 2) and x.dtype not in ("f16", "bf16"))


def op_convert(g: Gen):
    x = g.operand(g.dtypes("convert_element_type"))
    if x is None:
        return None
    to = g.pick_dtype(g.dtypes("convert_element_type"))
    if x.dtype in FLOATS and to not in FLOATS and not x.exact:
        return None
    return g.add(f"lax.convert_element_type({x.name}, {DTYPES[to][1]})", [x], True)


def op_bitcast(g: Gen):
    x = g.operand(g.dtypes("bitcast_convert_type", FLOATS + INTS), need_exact_float=True)
    if x is None or (x.dtype in FLOATS and not x.exact) or x.dtype == "bool":
        return None
    size = DTYPES[x.dtype][0].itemsize
    options = [d for d in g.dtypes("bitcast_convert_type", FLOATS + INTS) if DTYPES[d][0].itemsize == size]
    to = g.pick_dtype(options)
    outs = g.add(f"lax.bitcast_convert_type({x.name}, {DTYPES[to][1]})", [x], True)
    if outs and x.dtype not in FLOATS and to in FLOATS:
        outs[0].terminal = True
    return outs


def op_reduce(g: Gen):
    kind = g.rng.choice(["sum", "prod", "max", "min", "and", "or", "xor"])
    pool = {"sum": FLOATS + INTS, "prod": FLOATS + INTS, "max": FLOATS + INTS + ("bool",),
            "min": FLOATS + INTS + ("bool",), "and": INTS + ("bool",), "or": INTS + ("bool",),
            "xor": INTS + ("bool",)}[kind]
    x = g.operand(g.dtypes(f"reduce_{kind}", pool))
    if x is None or x.dtype not in pool:
        return None
    dt = DTYPES[x.dtype][0]
    if kind in ("sum", "or", "xor"):
        init = False if x.dtype == "bool" else 0
    elif kind == "prod":
        init = 1
    elif kind == "and":
        init = True if x.dtype == "bool" else -1 if kind_of(x.dtype) == "i" else int(np.iinfo(dt).max)
    elif kind == "max":
        init = False if x.dtype == "bool" else float("-inf") if kind_of(x.dtype) == "f" else int(np.iinfo(dt).min)
    else:
        init = True if x.dtype == "bool" else float("inf") if kind_of(x.dtype) == "f" else int(np.iinfo(dt).max)
    fn = {"sum": "add", "prod": "mul", "max": "max", "min": "min", "and": "bitwise_and",
          "or": "bitwise_or", "xor": "bitwise_xor"}[kind]
    if fn.startswith("bitwise"):
        fn = fn.replace("bitwise_", "") + "_"
        fn = {"and_": "bitwise_and", "or_": "bitwise_or", "xor_": "bitwise_xor"}[fn]
    axes = tuple(int(a) for a in np.flatnonzero(g.rng.random(x.rank) < 0.5))
    initsrc = f"np.array(float('{init}'), dtype={DTYPES[x.dtype][1]})" if isinstance(init, float) else lit(init, x.dtype)
    exact = kind in ("max", "min", "and", "or", "xor") or kind_of(x.dtype) != "f"
    return g.add(f"lax.reduce({x.name}, {initsrc}, lax.{fn}, {axes})", [x], exact)


def op_argminmax(g: Gen):
    name = g.rng.choice(["argmax", "argmin"])
    x = g.operand(g.dtypes(name, FLOATS + INTS), need_exact_float=True)
    if x is None or x.rank == 0 or (x.dtype in FLOATS and not x.exact):
        return None
    axis = int(g.rng.integers(x.rank))
    it = g.rng.choice(["jnp.int32", "jnp.int64"] if g.x64 else ["jnp.int32"])
    return g.add(f"lax.{name}({x.name}, {axis}, {it})", [x], True)


def op_cumulative(g: Gen):
    name = g.rng.choice(["cumsum", "cumprod", "cummax", "cummin", "cumlogsumexp"])
    pool = FLOATS if name == "cumlogsumexp" else FLOATS + INTS
    x = g.operand(g.dtypes(name, pool))
    if x is None or x.rank == 0 or x.dtype not in pool:
        return None
    axis = int(g.rng.integers(x.rank))
    rev = bool(g.rng.random() < 0.3)
    exact = name in ("cummax", "cummin") or x.dtype not in FLOATS
    return g.add(f"lax.{name}({x.name}, axis={axis}, reverse={rev})", [x], exact)


def op_broadcast(g: Gen):
    x = g.operand(g.dtypes("broadcast_in_dim"))
    if x is None:
        return None
    out_rank = min(5, x.rank + int(g.rng.integers(0, 3)))
    bdims = sorted(g.rng.choice(out_rank, size=x.rank, replace=False).tolist())
    shape = list(g.shape(out_rank, cap=MAX_SIZE))
    for d, od in zip(x.shape, bdims):
        shape[od] = d if d != 1 else shape[od]
    return g.add(f"lax.broadcast_in_dim({x.name}, {tuple(shape)}, {tuple(bdims)})", [x], True)


def op_reshape(g: Gen):
    x = g.operand(g.dtypes("reshape"))
    if x is None:
        return None
    if x.size == 0:
        shape = list(g.shape())
        if not shape or 0 not in shape:
            shape = shape + [0]
    else:
        factors = []
        n = x.size
        p = 2
        while n > 1:
            while n % p == 0:
                factors.append(p)
                n //= p
            p += 1
        rank = int(g.rng.integers(0 if not factors else 1, 6))
        shape = [1] * rank
        for f in factors:
            shape[g.rng.integers(rank)] *= f
    return g.add(f"lax.reshape({x.name}, {tuple(int(s) for s in shape)})", [x], True)


def op_transpose(g: Gen):
    x = g.operand(g.dtypes("transpose"))
    if x is None:
        return None
    perm = tuple(int(p) for p in g.rng.permutation(x.rank))
    return g.add(f"lax.transpose({x.name}, {perm})", [x], True)


def op_rev(g: Gen):
    x = g.operand(g.dtypes("rev"))
    if x is None:
        return None
    dims = tuple(int(a) for a in np.flatnonzero(g.rng.random(x.rank) < 0.5))
    return g.add(f"lax.rev({x.name}, {dims})", [x], True)


def op_squeeze_expand(g: Gen):
    x = g.operand(g.dtypes("squeeze"))
    if x is None:
        return None
    ones = [i for i, d in enumerate(x.shape) if d == 1]
    if ones and g.rng.random() < 0.6:
        dims = tuple(i for i in ones if g.rng.random() < 0.7) or (ones[0],)
        return g.add(f"lax.squeeze({x.name}, {dims})", [x], True)
    if x.rank >= 5:
        return None
    d = int(g.rng.integers(-x.rank - 1, x.rank + 1))
    return g.add(f"lax.expand_dims({x.name}, ({d},))", [x], True)


def op_slice(g: Gen):
    x = g.operand(g.dtypes("slice"))
    if x is None:
        return None
    start, limit, strides = [], [], []
    for d in x.shape:
        s = int(g.rng.integers(0, d + 1))
        e = int(g.rng.integers(s, d + 1))
        start.append(s), limit.append(e), strides.append(int(g.rng.integers(1, 4)))
    st = tuple(strides) if g.rng.random() < 0.5 else None
    return g.add(f"lax.slice({x.name}, {tuple(start)}, {tuple(limit)}, {st})", [x], True)


def op_pad(g: Gen):
    x = g.operand(g.dtypes("pad"))
    if x is None:
        return None
    cfg = tuple((int(g.rng.integers(-2, 4)), int(g.rng.integers(-2, 4)),
                 int(g.rng.choice([0, 0, 1, 2]))) for _ in x.shape)
    val = g.like((), x.dtype, p_new=0.7) if g.rng.random() < 0.5 else None
    if val is None:
        c = {"f": -0.5, "i": 7, "u": 7, "b": True}[kind_of(x.dtype)]
        return g.add(f"lax.pad({x.name}, {lit(c, x.dtype)}, {cfg})", [x], True)
    return g.add(f"lax.pad({x.name}, {val.name}, {cfg})", [x, val], True)


def op_concat(g: Gen):
    x = g.operand(g.dtypes("concatenate"))
    if x is None or x.rank == 0:
        return None
    axis = int(g.rng.integers(x.rank))
    parts = [x]
    for _ in range(int(g.rng.integers(1, 4))):
        shape = list(x.shape)
        shape[axis] = int(g.rng.integers(0, 4))
        parts.append(g.like(tuple(shape), x.dtype))
    g.rng.shuffle(parts)
    return g.add(f"lax.concatenate([{', '.join(p.name for p in parts)}], {axis})", parts, True)


def index_scalar(g: Gen, lo, hi):
    """A start index: a literal or an int scalar value of the program."""
    if g.rng.random() < 0.3:
        v = g.pick(lambda v: v.shape == () and v.dtype in ("i32", "i8", "u8", "i16", "u32"))
        if v is not None:
            return v.name, [v]
    return str(int(g.rng.integers(lo, hi))), []


def op_dynamic_slice(g: Gen):
    x = g.operand(g.dtypes("dynamic_slice"))
    if x is None or x.rank == 0:
        return None
    starts, used, sizes = [], [], []
    for d in x.shape:
        s, u = index_scalar(g, -3, d + 3)
        starts.append(s), used.extend(u), sizes.append(int(g.rng.integers(0, d + 1)))
    return g.add(f"lax.dynamic_slice({x.name}, [{', '.join(starts)}], {tuple(sizes)})", [x] + used, True)


def op_dynamic_update_slice(g: Gen):
    x = g.operand(g.dtypes("dynamic_update_slice"))
    if x is None or x.rank == 0:
        return None
    starts, used = [], []
    for d in x.shape:
        s, u = index_scalar(g, -3, d + 3)
        starts.append(s), used.extend(u)
    upd = g.like(tuple(int(g.rng.integers(0, d + 1)) for d in x.shape), x.dtype)
    return g.add(f"lax.dynamic_update_slice({x.name}, {upd.name}, [{', '.join(starts)}])",
                 [x, upd] + used, True)


def index_array(g: Gen, n, shape, unique=False):
    """Literal indices into a dim of size n: negatives and out-of-range ones too."""
    size = int(np.prod(shape, dtype=np.int64))
    if unique:
        if size > n:
            return None
        vals = g.rng.permutation(n)[:size]
    else:
        vals = g.rng.integers(-n - 2, n + 3, size=size) if n else g.rng.integers(-2, 3, size=size)
    return f"np.array({vals.tolist()}, dtype=np.int32).reshape({tuple(shape)})"


def op_gather(g: Gen):
    x = g.operand(g.dtypes("gather"))
    if x is None or x.rank == 0:
        return None
    axis = int(g.rng.integers(x.rank))
    ishape = g.shape(int(g.rng.integers(0, 3)), cap=12)
    mode = g.rng.choice(["'clip'", "'fill'"])
    form = g.rng.integers(3)
    if form == 0:
        idx = index_array(g, x.shape[axis], ishape)
        return g.add(f"jnp.take({x.name}, {idx}, axis={axis}, mode={mode})", [x], True)
    if form == 1:
        ishape = list(x.shape)
        ishape[axis] = int(g.rng.integers(0, 4))
        idx = index_array(g, x.shape[axis], tuple(ishape))
        return g.add(f"jnp.take_along_axis({x.name}, {idx}, axis={axis}, mode={mode})", [x], True)
    # advanced indexing on several leading axes, with a slice between
    k = int(g.rng.integers(1, x.rank + 1))
    parts = [index_array(g, x.shape[i], ishape) if g.rng.random() < 0.7 else ":" for i in range(k)]
    return g.add(f"{x.name}.at[{', '.join(parts)}].get(mode={mode})", [x], True)


def op_scatter(g: Gen):
    kind = g.rng.choice(["set", "add", "mul", "min", "max"])
    prim = {"set": "scatter", "add": "scatter-add", "mul": "scatter-mul", "min": "scatter-min", "max": "scatter-max"}[kind]
    x = g.operand(g.dtypes(prim))
    if x is None or x.rank == 0 or (kind != "set" and x.dtype == "bool"):
        return None
    axis = 0
    n = x.shape[axis]
    ishape = g.shape(int(g.rng.integers(0, 2)), cap=6)
    # "set" with repeated indices picks an unspecified winner in XLA: keep its indices unique
    mode = g.rng.choice(["'drop'", "'clip'"]) if kind != "set" else "'drop'"
    idx = index_array(g, n, ishape, unique=kind == "set")
    if idx is None:
        return None
    ushape = tuple(ishape) + tuple(x.shape[1:])
    u = g.like(ushape, x.dtype)
    exact = kind in ("set", "min", "max") or x.dtype not in FLOATS
    return g.add(f"{x.name}.at[{idx}].{kind}({u.name}, mode={mode})", [x, u], exact)


def op_sort(g: Gen):
    x = g.operand(g.dtypes("sort"), need_exact_float=True)
    if x is None or x.rank == 0 or (x.dtype in FLOATS and not x.exact):
        return None
    d = int(g.rng.integers(x.rank))
    if g.rng.random() < 0.5:
        return g.add(f"lax.sort({x.name}, dimension={d}, is_stable=True)", [x], True)
    y = g.like(x.shape, g.pick_dtype(g.dtypes("sort")))
    if y.dtype in FLOATS and not y.exact:
        y = x
    nk = int(g.rng.integers(1, 3))
    return g.add(f"lax.sort(({x.name}, {y.name}), dimension={d}, is_stable=True, num_keys={nk})", [x, y], True)


def op_top_k(g: Gen):
    x = g.operand(g.dtypes("top_k", FLOATS + INTS), need_exact_float=True)
    if x is None or x.rank == 0 or (x.dtype in FLOATS and not x.exact):
        return None
    k = int(g.rng.integers(0, x.shape[-1] + 1))
    return g.add(f"lax.top_k({x.name}, {k})", [x], True)


def op_dot(g: Gen):
    x = g.operand(g.dtypes("dot_general", FLOATS + INTS))
    if x is None or x.dtype not in FLOATS + INTS:
        return None
    dims = list(range(x.rank))
    g.rng.shuffle(dims)
    nb = int(g.rng.integers(0, len(dims) + 1))
    batch = dims[:nb]
    rest = dims[nb:]
    nc = int(g.rng.integers(0, len(rest) + 1))
    contract = rest[:nc]
    nfree = int(g.rng.integers(0, 3))
    rdims = [("b", i) for i in batch] + [("c", i) for i in contract] + [("f", None)] * nfree
    # batch dims keep their relative order in both operands; contract and free dims may move
    order = list(range(len(rdims)))
    g.rng.shuffle(order)
    bpos = sorted(order[:len(batch)])
    others = order[len(batch):]
    placed = [None] * len(rdims)
    for p, item in zip(bpos, rdims[:len(batch)]):
        placed[p] = item
    for p, item in zip(others, rdims[len(batch):]):
        placed[p] = item
    rshape = [x.shape[i] if kind != "f" else int(g.rng.integers(1, 5)) for kind, i in placed]
    if int(np.prod(rshape, dtype=np.int64)) > MAX_SIZE:
        return None
    y = g.like(tuple(rshape), x.dtype)
    rb = [placed.index(("b", i)) for i in batch]
    rc = [placed.index(("c", i)) for i in contract]
    pref = ""
    if g.rng.random() < 0.2:
        pref = f", preferred_element_type={DTYPES[g.pick_dtype(g.dtypes('dot_general', FLOATS if x.dtype in FLOATS else INTS))][1]}"
    dn = ((tuple(contract), tuple(rc)), (tuple(batch), tuple(rb)))
    return g.add(f"lax.dot_general({x.name}, {y.name}, {dn}{pref})", [x, y], x.dtype not in FLOATS)


def op_reduce_window(g: Gen):
    kind = g.rng.choice(["add", "max", "min", "mul"])
    prim = {"add": "reduce_window_sum", "max": "reduce_window_max", "min": "reduce_window_min", "mul": "reduce_window"}[kind]
    x = g.operand(g.dtypes(prim))
    if x is None or x.rank == 0 or (x.dtype == "bool" and kind in ("add", "mul")):
        return None
    dt = DTYPES[x.dtype][0]
    if kind == "add":
        init = lit(False if kind_of(x.dtype) == "b" else 0, x.dtype)
    elif kind == "mul":
        init = lit(1, x.dtype)
    elif kind_of(x.dtype) == "f":
        init = f"np.array(float('{'-' if kind == 'max' else ''}inf'), dtype={DTYPES[x.dtype][1]})"
    elif kind_of(x.dtype) == "b":
        init = lit(kind == "min", x.dtype)
    else:
        ii = np.iinfo(dt)
        init = lit(int(ii.min if kind == "max" else ii.max), x.dtype)
    win = tuple(int(g.rng.integers(1, min(d, 3) + 1)) if d else 1 for d in x.shape)
    strides = tuple(int(g.rng.integers(1, 3)) for _ in x.shape)
    pad = tuple((int(g.rng.integers(0, 2)), int(g.rng.integers(0, 2))) for _ in x.shape)
    bdil = tuple(int(g.rng.choice([1, 1, 2])) for _ in x.shape)
    wdil = tuple(int(g.rng.choice([1, 1, 2])) for _ in x.shape)
    exact = kind in ("max", "min") or kind_of(x.dtype) != "f"
    return g.add(f"lax.reduce_window({x.name}, {init}, lax.{kind}, {win}, {strides}, {pad}, {bdil}, {wdil})",
                 [x], exact)


def op_conv(g: Gen):
    dts = g.dtypes("conv_general_dilated", FLOATS)
    dt = g.pick_dtype(dts)
    if dt is None:
        return None
    ns = int(g.rng.choice([1, 1, 2, 2, 3]))
    sp = "HWD"[:ns]
    n, groups = int(g.rng.integers(1, 3)), int(g.rng.choice([1, 1, 2]))
    cin = groups * int(g.rng.integers(1, 3))
    cout = groups * int(g.rng.integers(1, 3))
    size = [int(g.rng.integers(1, 6)) for _ in range(ns)]
    ksize = [int(g.rng.integers(1, 4)) for _ in range(ns)]
    lhs_spec = list("NC" + sp)
    rhs_spec = list("OI" + sp)
    g.rng.shuffle(lhs_spec)
    g.rng.shuffle(rhs_spec)
    out_spec = list("NC" + sp)
    g.rng.shuffle(out_spec)
    dims = {"N": n, "C": cin, **dict(zip(sp, size))}
    kdims = {"O": cout, "I": cin // groups, **dict(zip(sp, ksize))}
    lhs = g.like(tuple(dims[c] for c in lhs_spec), dt, p_new=0.8)
    rhs = g.like(tuple(kdims[c] for c in rhs_spec), dt, p_new=0.9)
    strides = tuple(int(g.rng.integers(1, 3)) for _ in sp)
    pad = tuple((int(g.rng.integers(-1, 3)), int(g.rng.integers(-1, 3))) for _ in sp)
    ld = tuple(int(g.rng.choice([1, 1, 2])) for _ in sp)
    rd = tuple(int(g.rng.choice([1, 1, 2])) for _ in sp)
    spec = ("".join(lhs_spec), "".join(rhs_spec), "".join(out_spec))
    return g.add(f"lax.conv_general_dilated({lhs.name}, {rhs.name}, {strides}, {pad}, {ld}, {rd}, "
                 f"{spec}, feature_group_count={groups})", [lhs, rhs], False)


def op_iota(g: Gen):
    dt = g.pick_dtype(g.dtypes("iota", FLOATS + INTS))
    shape = g.shape(int(g.rng.integers(1, 4)))
    dim = int(g.rng.integers(len(shape)))
    return g.add(f"lax.broadcasted_iota({DTYPES[dt][1]}, {shape}, {dim})", [], True)


def op_reduce_precision(g: Gen):
    x = g.operand(g.dtypes("reduce_precision", FLOATS))
    if x is None or x.dtype not in FLOATS:
        return None
    e, m = int(g.rng.integers(2, 9)), int(g.rng.integers(0, 11))
    return g.add(f"lax.reduce_precision({x.name}, exponent_bits={e}, mantissa_bits={m})", [x], x.exact)


def op_split(g: Gen):
    x = g.operand(g.dtypes("split"))
    if x is None or x.rank == 0:
        return None
    axis = int(g.rng.integers(x.rank))
    d = x.shape[axis]
    cuts = sorted(g.rng.integers(0, d + 1, size=int(g.rng.integers(0, 3))).tolist())
    sizes = [b - a for a, b in zip([0] + cuts, cuts + [d])]
    return g.add(f"lax.split({x.name}, {tuple(sizes)}, axis={axis})", [x], True)


def op_tile(g: Gen):
    x = g.operand(g.dtypes("tile"))
    if x is None:
        return None
    reps = tuple(int(g.rng.integers(0, 3)) for _ in range(x.rank + int(g.rng.integers(0, 2))))
    return g.add(f"jnp.tile({x.name}, {reps})", [x], True)


def op_misc(g: Gen):
    x = g.operand(g.dtypes("copy"))
    if x is None:
        return None
    form = g.rng.choice(["lax.stop_gradient({})", "jnp.copy({})"])
    return g.add(form.format(x.name), [x], True)


# -- control flow: bodies drawn from the same grammar -----------------------------------------

def body(g: Gen, params: list[V], n_eqns: int, want: list[V] | None):
    """A sub-program over params. Returns (sub, results): results match `want` avals (or are
    free choices when want[i] is None)."""
    sub = Gen(g.rng, g.x64, g.claims, depth=g.depth + 1, prefix=g.prefix, defs=g.defs, counter=g.counter)
    sub.ns = g.ns
    for p in params:
        sub.vars.append(p)
    for _ in range(n_eqns):
        sub.step()
    results = []
    # a body's results are read after it (carries, branch outputs): never a terminal value
    readable = [v for v in sub.vars if not v.terminal]
    for w in want:
        if w is None:
            results.append(readable[-1])
            continue
        cands = [v for v in readable if v.shape == w.shape and v.dtype == w.dtype]
        fresh = [v for v in cands if v not in params]
        results.append(fresh[-1] if fresh else cands[-1])
    return sub, results


def write_def(g: Gen, name, params: list[V], sub: Gen, ret: str):
    lines = [f"def {name}({', '.join(p.name for p in params)}):"]
    lines += ["    " + line for line in sub.lines]
    lines.append(f"    return {ret}")
    g.defs.append(lines)
    exec("\n".join(lines), g.ns)


def rebind(g: Gen, vs: list[V]):
    return [V(g.fresh("p"), v.shape, v.dtype, v.exact, 0, carry=v.carry) for v in vs]


def op_cond(g: Gen):
    ops = [g.operand(g.dtypes("cond"), p_new=0.1) for _ in range(int(g.rng.integers(1, 3)))]
    if any(o is None for o in ops):
        return None
    nb = int(g.rng.choice([2, 2, 3]))
    target = ops[0]
    names, chain, exact = [], 0, True
    for b in range(nb):
        params = rebind(g, ops)
        sub, (res,) = body(g, params, int(g.rng.integers(0, 4)), [target])
        name = g.fresh("branch")
        write_def(g, name, params, sub, f"{res.name}")
        names.append(name)
        chain, exact = max(chain, res.chain), exact and res.exact
        g.special |= sub.special
    args = ", ".join(o.name for o in ops)
    if nb == 2 and g.rng.random() < 0.6:
        p = g.like((), "bool", p_new=0.5)
        return g.add(f"lax.cond({p.name}, {names[1]}, {names[0]}, {args})", [p] + ops, exact, chain)
    i = g.like((), "i32", p_new=0.5)
    # switch clamps its index into range, as cond does
    return g.add(f"lax.switch({i.name}, [{', '.join(names)}], {args})", [i] + ops, exact, chain)


def op_while(g: Gen):
    c = g.operand(g.dtypes("while"), p_new=0.1)
    if c is None:
        return None
    trips = int(g.rng.integers(0, 4))
    params = rebind(g, [c])
    sub, (res,) = body(g, params, int(g.rng.integers(1, 4)), [c])
    name = g.fresh("loop")
    write_def(g, name, [V("i_", (), "i32", True, 0)] + params, sub, f"(i_ + 1, {res.name})")
    g.special |= sub.special
    out = g.add(f"lax.while_loop(lambda s: s[0] < {trips}, lambda s: {name}(*s), (np.int32(0), {c.name}))[1]",
                [c], res.exact, res.chain * trips)
    return out


def op_scan(g: Gen):
    c = g.operand(g.dtypes("scan"), p_new=0.1)
    if c is None:
        return None
    length = int(g.rng.choice([0, 1, 2, 3, 4]))
    use_xs = g.rng.random() < 0.7
    params = rebind(g, [c])
    xs = None
    if use_xs:
        xs = g.like((length,) + g.shape(int(g.rng.integers(0, 3)), cap=24), g.pick_dtype(g.dtypes("scan")), p_new=0.7)
        if xs.rank == 0 or xs.shape[0] != length:
            return None
        params += rebind(g, [V(xs.name, xs.shape[1:], xs.dtype, xs.exact, xs.chain, carry=xs.carry)])
    sub, (res, y) = body(g, params, int(g.rng.integers(1, 4)), [c, None])
    name = g.fresh("step")
    if use_xs:
        write_def(g, name, params, sub, f"({res.name}, {y.name})")
        expr = f"lax.scan({name}, {c.name}, {xs.name}, reverse={bool(g.rng.random() < 0.3)})"
        args = [c, xs]
    else:
        write_def(g, name, params + [V("_", (), "i32", True, 0)], sub, f"({res.name}, {y.name})")
        expr = f"lax.scan({name}, {c.name}, None, length={length})"
        args = [c]
    g.special |= sub.special
    return g.add(expr, args, res.exact and y.exact, max(res.chain, y.chain) * max(length, 1))


def op_jit(g: Gen):
    x = g.operand(g.dtypes("pjit"), p_new=0.1)
    if x is None:
        return None
    params = rebind(g, [x])
    sub, (res,) = body(g, params, int(g.rng.integers(1, 4)), [None])
    name = g.fresh("inner")
    write_def(g, name, params, sub, res.name)
    g.special |= sub.special
    wrap = g.rng.choice(["jax.jit({})", "jax.checkpoint({})"])
    return g.add(f"{wrap.format(name)}({x.name})", [x], res.exact, res.chain)


CONTROL = {op_cond, op_while, op_scan, op_jit}

OPS = [
    (10, op_unary_float), (2, op_round), (4, op_unary_int), (14, op_binary), (4, op_bitwise),
    (4, op_compare), (3, op_select), (2, op_clamp), (2, op_integer_pow), (5, op_convert),
    (1, op_bitcast), (5, op_reduce), (2, op_argminmax), (2, op_cumulative), (3, op_broadcast),
    (4, op_reshape), (3, op_transpose), (2, op_rev), (2, op_squeeze_expand), (3, op_slice),
    (3, op_pad), (2, op_concat), (2, op_dynamic_slice), (2, op_dynamic_update_slice),
    (3, op_gather), (3, op_scatter), (2, op_sort), (1, op_top_k), (3, op_dot),
    (2, op_reduce_window), (2, op_conv), (1, op_iota), (1, op_reduce_precision), (1, op_split),
    (1, op_tile), (1, op_misc), (1.5, op_cond), (1, op_while), (1.5, op_scan), (1, op_jit),
]


COARSENESS = {"f64": 0, "f32": 1, "f16": 2, "bf16": 3}


def coarsest(codes):
    """The float type with the widest ulp among codes (others ignored), or None."""
    floats = [c for c in codes if c in COARSENESS]
    return max(floats, key=COARSENESS.get) if floats else None


def narrowest(g: Gen):
    seen = {v.dtype for v in g.vars}
    for line in g.defs:
        seen |= {d for d in ("bf16", "f16") if DTYPES[d][1] in "".join(line)}
    seen |= {d for d in ("bf16", "f16") if any(DTYPES[d][1] in line for line in g.lines)}
    return "bf16" if "bf16" in seen else "f16" if "f16" in seen else None


def generate(seed: int, claims: dict, max_eqns: int = 40) -> Program:
    rng = np.random.default_rng(seed)
    x64 = bool(rng.random() < 0.25)
    g = Gen(rng, x64, claims)
    n = int(rng.integers(1, max_eqns + 1)) if rng.random() < 0.5 else int(rng.integers(1, 9))
    with jax.enable_x64(x64):
        g.new_input(g.shape(), g.pick_dtype(g.dtypes(pool=FLOATS + INTS + ("bool",))))
        steps = 0
        while len(g.lines) < n and steps < n * 3:
            steps += 1
            g.step()
    produced = [v for v in g.vars if v not in g.args]
    if not produced:
        produced = list(g.args)
    # outputs: every sink (so no equation is dead and each one is checked), plus a few
    # intermediates
    text = "\n".join(g.lines)
    used = set(re.findall(r"\b[avkp]\d+\b", "\n".join(line.split(" = ", 1)[1] for line in g.lines)))
    sinks = [v for v in produced if v.name not in used]
    outs = [produced[-1]] + sinks[-8:] + [v for v in produced[:-1] if rng.random() < 0.1]
    del text
    outs = list({o.name: o for o in outs}.values())
    for i, o in enumerate(outs):
        if o.dtype == "bf16":  # widened for ONNX Runtime's Python API (exact)
            w = V(g.fresh(), o.shape, "f32", o.exact, o.chain, carry="bf16")
            g.lines.append(f"{w.name} = lax.convert_element_type({o.name}, jnp.float32)")
            g.vars.append(w)
            outs[i] = w
    outs = [o.name for o in outs]
    chains = {v.name: v.chain for v in g.vars}
    carries = {v.name: v.carry for v in g.vars if v.carry}
    return Program(seed=seed, x64=x64, args=[a.name for a in g.args], inputs=g.inputs,
                   body=g.lines, outputs=outs, defs=g.defs, chains={o: chains[o] for o in outs},
                   carries={o: carries[o] for o in outs if o in carries},
                   special=g.special, narrow=narrowest(g), rounded=set(g.rounded))
