"""Random numbers drawn from a key passed to the model: threefry key data (uint32[..., 2]) in,
JAX's exact bits out."""

from __future__ import annotations

import numpy as np

import jax
import jax.numpy as jnp
from jax.extend.random import threefry2x32_p

from casekit import EXACT, case, f32, i32


def key_data(*batch):
    """Raw threefry keys: both words over the full uint32 range, so the high word matters too."""
    return lambda rng: rng.integers(0, 2**32, size=(*batch, 2), dtype=np.uint64).astype(np.uint32)


def seeded_key(lo=-2**31, hi=2**31 - 1):
    """The key data jax.random.key(seed) makes, for a random seed of either sign."""
    return lambda rng: np.asarray(jax.random.key_data(jax.random.key(int(rng.integers(lo, hi)))))


def typed_key(*batch):
    """A typed key array (jax.random.key style) as the model input: the model takes its key data."""
    raw = key_data(*batch)
    return lambda rng: jax.random.wrap_key_data(raw(rng))


def u32(*shape):
    return lambda rng: rng.integers(0, 2**32, size=shape, dtype=np.uint64).astype(np.uint32)


def wrap(k):
    return jax.random.wrap_key_data(k)


CASES = [
    case("threefry2x32_u32", lambda k0, k1, x0, x1: threefry2x32_p.bind(k0, k1, x0, x1),
         [u32(3, 4), u32(3, 4), u32(3, 4), u32(3, 4)], ["threefry2x32"], EXACT),
    case("random_bits_u32", lambda k: jax.random.bits(wrap(k), (3, 5)),
         [key_data()], ["random_wrap", "random_bits"], EXACT),
    case("random_bits_seeded_key", lambda k: jax.random.bits(wrap(k), (17,)),
         [seeded_key()], ["random_bits"], EXACT),
    case("random_bits_u8", lambda k: jax.random.bits(wrap(k), (4, 3), dtype=jnp.uint8),
         [key_data()], ["random_bits"], EXACT),
    case("random_bits_u16", lambda k: jax.random.bits(wrap(k), (9,), dtype=jnp.uint16),
         [key_data()], ["random_bits"], EXACT),
    case("random_bits_batched_keys", lambda k: jax.vmap(lambda kk: jax.random.bits(kk, (2, 3)))(wrap(k)),
         [key_data(4)], ["random_bits"], EXACT),
    case("random_split", lambda k: jax.random.key_data(jax.random.split(wrap(k), 5)),
         [key_data()], ["random_split", "random_unwrap"], EXACT),
    case("random_split_2d", lambda k: jax.random.key_data(jax.random.split(wrap(k), (2, 3))),
         [seeded_key()], ["random_split"], EXACT),
    case("random_fold_in_const", lambda k: jax.random.key_data(jax.random.fold_in(wrap(k), 12345)),
         [key_data()], ["random_fold_in"], EXACT),
    case("random_fold_in_input", lambda k, d: jax.random.key_data(jax.random.fold_in(wrap(k), d)),
         [key_data(), i32(lo=-2**31, hi=2**31 - 1)], ["random_fold_in"], EXACT),
    case("random_seed_i32", lambda s: jax.random.key_data(jax.random.key(s)),
         [i32(lo=-2**31, hi=2**31 - 1)], ["random_seed", "random_unwrap"], EXACT),
    case("random_fold_in_then_bits", lambda k: jax.random.bits(jax.random.fold_in(wrap(k), 3), (6,)),
         [key_data()], ["random_fold_in", "random_bits"], EXACT),
    case("typed_key_input_bits", lambda k: jax.random.bits(k, (2, 4)),
         [typed_key()], ["random_bits"], EXACT),
    case("typed_key_input_split_out", lambda k: jax.random.split(k, 3),
         [typed_key()], ["random_split"], EXACT),
    case("typed_key_batch_fold_in", lambda k, d: jax.random.key_data(jax.vmap(jax.random.fold_in, in_axes=(0, None))(k, d)),
         [typed_key(3), i32(lo=-100, hi=100)], ["random_fold_in"], EXACT),
    case("random_bits_u64", lambda k: jax.random.bits(wrap(k), (3, 2), dtype=jnp.uint64),
         [key_data()], ["random_bits"], EXACT, x64=True),
    case("random_seed_i64", lambda s: jax.random.key_data(jax.random.key(s)),
         [lambda rng: np.int64(rng.integers(-2**62, 2**62))], ["random_seed"], EXACT, x64=True),
]


# Drawing distributions and dropout from a key input: bits, then float arithmetic (uniform is
# bits -> shift -> or -> bitcast -> affine; normal adds erf_inv).
CASES += [
    case("random_uniform", lambda k: jax.random.uniform(wrap(k), (4, 6), minval=-2.0, maxval=3.0),
         [key_data()], ["random_bits", "shift_right_logical", "bitcast_convert_type"]),
    case("random_normal", lambda k: jax.random.normal(wrap(k), (5, 7)),
         [key_data()], ["random_bits", "erf_inv"]),
    case("random_randint", lambda k: jax.random.randint(wrap(k), (6, 4), -7, 19),
         [key_data()], ["random_bits"], EXACT),
    case("random_dropout", lambda k, x: jnp.where(jax.random.bernoulli(wrap(k), 0.8, x.shape), x / 0.8, 0.0),
         [key_data(), f32(6, 5)], ["random_bits", "select_n"]),
    case("random_dropout_typed_key", lambda k, x: jnp.where(jax.random.bernoulli(k, 0.5, x.shape), x * 2.0, 0.0),
         [typed_key(), f32(3, 8)], ["random_bits"]),
]

REQUIRED = ["threefry2x32", "random_bits", "random_wrap", "random_unwrap", "random_seed",
            "random_split", "random_fold_in"]


def iota_2x32(x):
    """The (high, low) words of the flat index over a shape: the counters threefry encrypts."""
    from jax._src.random.prng import iota_2x32_shape
    hi, lo = iota_2x32_shape((3, 5))
    return hi, lo + x


CASES += [
    case("iota_2x32_shape", iota_2x32, [u32(3, 5)], ["iota_2x32_shape"], EXACT),
]


def shape_params(lo=0.05, hi=6.0):
    """Gamma shape parameters on both sides of 1 (below 1 JAX boosts a to a + 1)."""
    return lambda rng: rng.uniform(lo, hi, size=(4, 25)).astype(np.float32)


# random_gamma: JAX's own rejection sampler on its threefry stream, so the draws are JAX's.
CASES += [
    case("random_gamma", lambda k, a: jax.random.gamma(wrap(k), a),
         [key_data(), shape_params()], ["random_gamma"]),
    case("random_loggamma", lambda k, a: jax.random.loggamma(wrap(k), a),
         [key_data(), shape_params(0.01, 3.0)], ["random_gamma"], dict(rtol=1e-4, atol=1e-5)),
    case("random_gamma_batched_keys", lambda k, a: jax.vmap(jax.random.gamma)(wrap(k), a),
         [key_data(4), shape_params()], ["random_gamma"]),
    case("random_gamma_shape_arg", lambda k, a: jax.random.gamma(wrap(k), a[0, :5], shape=(3, 5)),
         [key_data(), shape_params()], ["random_gamma"]),
    case("random_beta", lambda k, a: jax.random.beta(wrap(k), a, a[::-1] + 0.5),
         [key_data(), shape_params()], ["random_gamma"], dict(rtol=1e-4, atol=1e-5)),
    case("random_dirichlet", lambda k, a: jax.random.dirichlet(wrap(k), a[0, :6], (7,)),
         [key_data(), shape_params(0.3, 4.0)], ["random_gamma"], dict(rtol=1e-4, atol=1e-5)),
]


# The ciphers under JAX's other PRNG impls (philox4x32, philox2x32, threefry4x32), bound as
# the impls bind them: exact uint32 words.
from jax._src.random.philox2x32 import philox2x32_p  # noqa: E402
from jax._src.random.philox4x32 import philox4x32_p  # noqa: E402
from jax._src.random.threefry4x32 import threefry4x32_p  # noqa: E402

CASES += [
    case("philox4x32", lambda *w: philox4x32_p.bind(*w), [u32(3, 4)] * 6, ["philox4x32"], EXACT),
    case("philox4x32_broadcast_key", lambda k0, k1, *x: philox4x32_p.bind(k0, k1, *x),
         [u32(), u32(), u32(5), u32(5), u32(5), u32(5)], ["philox4x32"], EXACT),
    case("philox2x32", lambda *w: philox2x32_p.bind(*w), [u32(7), u32(7), u32(7)], ["philox2x32"], EXACT),
    case("threefry4x32", lambda *w: threefry4x32_p.bind(*w), [u32(2, 6)] * 8, ["threefry4x32"], EXACT),
]


def three_fry_bits(shape):
    """lax.rng_bit_generator with XLA's ThreeFry: the new key and the bits."""
    return lambda k: lax.rng_bit_generator(k, shape, algorithm=lax.RandomAlgorithm.RNG_THREE_FRY)


def counter_near_carry(rng):
    """A key whose 64-bit counter's low word is about to wrap, so the carry into word 3 matters."""
    k = rng.integers(0, 2**32, size=4, dtype=np.uint64).astype(np.uint32)
    k[2] = np.uint32(2**32 - 2)
    return k


from jax import lax  # noqa: E402

CASES += [
    case("rng_bit_generator_three_fry", three_fry_bits((3, 4)), [u32(4)], ["rng_bit_generator"], EXACT),
    case("rng_bit_generator_three_fry_odd", three_fry_bits((7,)), [u32(4)], ["rng_bit_generator"], EXACT),
    case("rng_bit_generator_three_fry_carry", three_fry_bits((2, 5)), [counter_near_carry], ["rng_bit_generator"],
         EXACT),
    # XLA halves the first even axis, else the largest odd one.
    case("rng_bit_generator_three_fry_square", three_fry_bits((4, 4)), [u32(4)], ["rng_bit_generator"], EXACT),
    case("rng_bit_generator_three_fry_all_odd", three_fry_bits((3, 5, 3)), [u32(4)], ["rng_bit_generator"], EXACT),
    case("rng_bit_generator_three_fry_3d", three_fry_bits((3, 2, 6)), [u32(4)], ["rng_bit_generator"], EXACT),
    case("rng_bit_generator_three_fry_odd_then_even", three_fry_bits((5, 7, 4)), [u32(4)], ["rng_bit_generator"], EXACT),
    case("rng_bit_generator_three_fry_scalar", three_fry_bits(()), [u32(4)], ["rng_bit_generator"], EXACT),
]


def rbg_bits(algorithm, shape, dtype):
    """lax.rng_bit_generator with the given algorithm and bit dtype: the new state and the bits."""
    return lambda k: lax.rng_bit_generator(k, shape, dtype=dtype, algorithm=getattr(lax.RandomAlgorithm, algorithm))


def u64_state(rng):
    """A uint64[2] state (x64 only), both words over the full range."""
    return rng.integers(0, 2**64, size=2, dtype=np.uint64)


def philox_counter_near_carry(rng):
    """A state whose counter's low half (words 2, 3) wraps within the first blocks, so the carry
    into the high half (the key words) matters to the counters but not to the new state."""
    k = rng.integers(0, 2**32, size=4, dtype=np.uint64).astype(np.uint32)
    k[2], k[3] = np.uint32(2**32 - 2), np.uint32(2**32 - 1)
    return k


# RNG_PHILOX, and RNG_DEFAULT (Philox on XLA's CPU), over every bit dtype and shapes that leave a
# partial last block (odd sizes), none (size 0) or a scalar; ThreeFry over the dtypes beyond uint32.
# uint64 bits need JAX's 64-bit mode.
_RBG_SHAPES = {"2x6": (2, 6), "7": (7,), "3x5x3": (3, 5, 3), "scalar": (), "empty": (0,), "4x0x3": (4, 0, 3)}
_RBG_DTYPES = {"u8": np.uint8, "u16": np.uint16, "u32": np.uint32, "u64": np.uint64}
for _alg in ["RNG_PHILOX", "RNG_DEFAULT", "RNG_THREE_FRY"]:
    for _dn, _dt in _RBG_DTYPES.items():
        for _sn, _shape in _RBG_SHAPES.items():
            if _alg == "RNG_THREE_FRY" and _dn == "u32":
                continue
            CASES.append(case(f"rng_bit_generator_{_alg[4:].lower()}_{_dn}_{_sn}", rbg_bits(_alg, _shape, _dt), [u32(4)],
                              ["rng_bit_generator"], EXACT, x64=_dn == "u64"))
CASES += [
    case("rng_bit_generator_philox_carry", rbg_bits("RNG_PHILOX", (5, 3), np.uint32), [philox_counter_near_carry],
         ["rng_bit_generator"], EXACT),
    case("rng_bit_generator_philox_carry_u64", rbg_bits("RNG_PHILOX", (9,), np.uint64), [philox_counter_near_carry],
         ["rng_bit_generator"], EXACT, x64=True),
    case("rng_bit_generator_philox_u64_state", rbg_bits("RNG_PHILOX", (3, 5), np.uint32), [u64_state],
         ["rng_bit_generator"], EXACT, x64=True),
    case("rng_bit_generator_default_u64_state_u64", rbg_bits("RNG_DEFAULT", (4, 3), np.uint64), [u64_state],
         ["rng_bit_generator"], EXACT, x64=True),
    case("rng_bit_generator_three_fry_u64_state", rbg_bits("RNG_THREE_FRY", (2, 3), np.uint32), [u64_state],
         ["rng_bit_generator"], EXACT, x64=True),
    # A big draw, many blocks: the counter steps are computed, not stored.
    case("rng_bit_generator_default_large", rbg_bits("RNG_DEFAULT", (123, 257), np.uint32), [u32(4)],
         ["rng_bit_generator"], EXACT),
]


def rng_uniform_summary(dtype, n=20000):
    """lax.rng_uniform's values are the backend's own (XLA's and ONNX Runtime's differ), so the
    case compares what both must agree on: every draw lies in [lo, hi), and the draws' mean,
    rescaled to [0, 1) and rounded to one decimal, is 0.5 (its standard deviation is 0.002)."""
    def f(lo, hi):
        u = jax.lax.rng_uniform(lo, hi, (n,))
        inside = jnp.all((u >= lo) & (u < hi))
        mean = jnp.mean((u.astype(jnp.float32) - lo.astype(jnp.float32)) / (hi - lo).astype(jnp.float32))
        return inside, jnp.round(mean * 10) / 10, u.shape[0] * jnp.ones((), jnp.int32)
    return f


def bounds(dtype, lo, hi):
    return [lambda rng: np.asarray(rng.uniform(lo, lo + 1)).astype(dtype),
            lambda rng: np.asarray(rng.uniform(hi, hi + 1)).astype(dtype)]


CASES += [
    case("rng_uniform_f32", rng_uniform_summary(np.float32), bounds(np.float32, -3.0, 2.0), ["rng_uniform"], EXACT, max_opset=21),
    case("rng_uniform_f64", rng_uniform_summary(np.float64), bounds(np.float64, -1e3, 5e3), ["rng_uniform"], EXACT, x64=True, max_opset=21),
    case("rng_uniform_f16", rng_uniform_summary(np.float16), bounds(np.float16, 0.5, 4.0), ["rng_uniform"], EXACT, max_opset=21),
    case("rng_uniform_i32", rng_uniform_summary(np.int32), bounds(np.int32, -500, 900), ["rng_uniform"], EXACT, max_opset=21),
]
