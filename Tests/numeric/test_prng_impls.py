"""JAX's PRNG impls other than threefry. rbg and unsafe_rbg (uint32[4] key data) draw their bits
with lax.rng_bit_generator's default algorithm, which XLA's CPU compiler expands as Philox: the
Random pack lowers it, so their jax.random draws convert and match JAX bit for bit. Keys of
philox4x32 hold uint32[2] key data like threefry keys, so a lowering that took them for threefry
keys would draw the wrong numbers silently: such programs fail, naming the PRNG."""

from __future__ import annotations

import numpy as np
import pytest

import jax
import jax.numpy as jnp
from jax import lax

from jax2onnx_swift import ConversionError, allclose, to_onnx

EXACT = dict(rtol=0.0, atol=0.0)


@pytest.fixture(params=["rbg", "unsafe_rbg"])
def rbg_impl(request):
    """The rbg impl as JAX's default PRNG for the test, restored afterwards."""
    before = jax.config.jax_default_prng_impl
    jax.config.update("jax_default_prng_impl", request.param)
    yield request.param
    jax.config.update("jax_default_prng_impl", before)


def _seed(rng):
    return np.int32(rng.integers(-2**31, 2**31 - 1))


def _key_data(rng):
    return rng.integers(0, 2**32, size=4, dtype=np.uint64).astype(np.uint32)


def _check(fn, inputs, tmp_path, cli, tol=EXACT, opset=None):
    path = tmp_path / "m.onnx"
    kwargs = {} if opset is None else {"opset": opset}
    to_onnx(fn, inputs, path, cli=cli, **kwargs)
    ok, message = allclose(fn, path, inputs, **tol)
    assert ok, message


# (name, fn of a key, tolerance): the draws that go through random_bits.
DRAWS = [
    ("bits", lambda k: jax.random.bits(k, (3, 5)), EXACT),
    ("bits_u8", lambda k: jax.random.bits(k, (7,), dtype=jnp.uint8), EXACT),
    ("bits_u16", lambda k: jax.random.bits(k, (2, 3), dtype=jnp.uint16), EXACT),
    ("uniform", lambda k: jax.random.uniform(k, (4, 7), minval=-2.0, maxval=3.0), dict(rtol=1e-6, atol=1e-6)),
    ("normal", lambda k: jax.random.normal(k, (5, 3)), dict(rtol=1e-5, atol=1e-5)),
    ("randint", lambda k: jax.random.randint(k, (9,), -50, 1000), EXACT),
]


@pytest.mark.parametrize("name,draw,tol", DRAWS, ids=[d[0] for d in DRAWS])
def test_rbg_draws_from_a_seed(rbg_impl, name, draw, tol, cli, tmp_path):
    rng = np.random.default_rng(11)
    _check(lambda s: draw(jax.random.key(s)), [_seed(rng)], tmp_path, cli, tol)


@pytest.mark.parametrize("name,draw,tol", DRAWS, ids=[d[0] for d in DRAWS])
def test_rbg_draws_from_key_data(rbg_impl, name, draw, tol, cli, tmp_path):
    rng = np.random.default_rng(12)
    _check(lambda d: draw(jax.random.wrap_key_data(d, impl=rbg_impl)), [_key_data(rng)], tmp_path, cli, tol)


def test_rbg_draws_from_a_typed_key_input(rbg_impl, cli, tmp_path):
    key = jax.random.wrap_key_data(_key_data(np.random.default_rng(13)), impl=rbg_impl)
    _check(lambda k: jax.random.normal(k, (6,)), [key], tmp_path, cli, dict(rtol=1e-5, atol=1e-5))


def test_rbg_bits_64(rbg_impl, cli, tmp_path):
    with jax.enable_x64(True):
        _check(lambda d: jax.random.bits(jax.random.wrap_key_data(d, impl=rbg_impl), (5,), dtype=jnp.uint64),
               [_key_data(np.random.default_rng(14))], tmp_path, cli)


def test_rbg_split_and_fold_in(rbg_impl, cli, tmp_path):
    """split and fold_in differ between rbg (threefry on each half of the key) and unsafe_rbg
    (rng_bit_generator draws): the new keys' data and draws from them."""
    def fn(d):
        key = jax.random.wrap_key_data(d, impl=rbg_impl)
        a, b = jax.random.split(key)
        c = jax.random.fold_in(b, 7)
        keys = jax.random.split(a, (2, 3))
        return (jax.random.key_data(keys), jax.random.key_data(c), jax.random.uniform(c, (3,)),
                jax.random.key_data(jax.vmap(jax.vmap(lambda k: jax.random.fold_in(k, 123)))(keys)))
    _check(fn, [_key_data(np.random.default_rng(15))], tmp_path, cli)


def test_rbg_batched_keys(rbg_impl, cli, tmp_path):
    """Draws from a batch of keys (vmap): JAX batches rng_bit_generator by drawing the whole batch
    from the first key."""
    def fn(d):
        keys = jax.random.split(jax.random.wrap_key_data(d, impl=rbg_impl), 3)
        split = jax.vmap(lambda k: jax.random.split(k, 3))(keys)
        return (jax.vmap(lambda k: jax.random.bits(k, (2, 5)))(keys), jax.vmap(lambda k: jax.random.normal(k, (4,)))(keys),
                jax.random.key_data(split))
    _check(fn, [_key_data(np.random.default_rng(16))], tmp_path, cli, dict(rtol=1e-5, atol=1e-5))


@pytest.mark.parametrize("algorithm", ["RNG_DEFAULT", "RNG_PHILOX"])
def test_rng_bit_generator_philox_below_and_at_opset_18(algorithm, cli, tmp_path):
    """Opset 18 brings the bitwise ops the cipher uses; below it they are worked on bit planes
    (PluginKit's bitwise), and the bits must be the same."""
    fn = lambda k: lax.rng_bit_generator(k, (3, 4), algorithm=getattr(lax.RandomAlgorithm, algorithm))
    key = _key_data(np.random.default_rng(17))
    for opset in (13, 17, 18):
        _check(fn, [key], tmp_path, cli, opset=opset)


def test_rng_bit_generator_symbolic_shape_is_refused(cli, tmp_path):
    """XLA fixes the blocks drawn, and so the new state, when it compiles: a shape known only at
    run time is refused with a clear message."""
    fn = lambda k, x: lax.rng_bit_generator(k, x.shape, algorithm=lax.RandomAlgorithm.RNG_PHILOX)[1]
    with pytest.raises(ConversionError, match="static shapes"):
        to_onnx(fn, [jax.ShapeDtypeStruct((4,), np.uint32), ("B",)], tmp_path / "m.onnx", cli=cli)


def test_rbg_gamma_is_refused(rbg_impl, cli, tmp_path):
    """random_gamma is lowered on threefry's stream only: other keys are refused by name."""
    fn = lambda d, a: jax.random.gamma(jax.random.wrap_key_data(d, impl=rbg_impl), a)
    with pytest.raises(ConversionError, match=f"keys of the {rbg_impl} PRNG"):
        to_onnx(fn, [_key_data(np.random.default_rng(19)), np.full((3,), 2.0, np.float32)], tmp_path / "m.onnx", cli=cli)


def test_philox_keys_are_refused(cli, tmp_path):
    data = np.asarray(jax.random.key_data(jax.random.key(7, impl="philox4x32")))
    fn = lambda d: jax.random.bits(jax.random.wrap_key_data(d, impl="philox4x32"), (5,))
    with pytest.raises(ConversionError, match="keys of the philox4x32 PRNG"):
        to_onnx(fn, [data], tmp_path / "m.onnx", opset=18, cli=cli)


def test_typed_philox_key_input_is_refused(cli, tmp_path):
    """A philox4x32 key passed in as a typed key array: its data looks like a threefry key's, so
    only the PRNG name the bundle records tells them apart."""
    key = jax.random.key(7, impl="philox4x32")
    with pytest.raises(ConversionError, match="keys of the philox4x32 PRNG"):
        to_onnx(lambda k: jax.random.bits(k, (5,)), [key], tmp_path / "m.onnx", opset=18, cli=cli)


def test_seeding_another_prng_is_refused(cli, tmp_path):
    fn = lambda s: jax.random.key_data(jax.random.key(s, impl="philox4x32"))
    with pytest.raises(ConversionError, match="keys of the philox4x32 PRNG"):
        to_onnx(fn, [np.int32(3)], tmp_path / "m.onnx", opset=18, cli=cli)
