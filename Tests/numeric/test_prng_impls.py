"""Keys of a PRNG other than threefry (philox4x32, rbg) hold uint32 key data of the same form, so
a lowering that took them for threefry keys would draw the wrong numbers silently. The Random
pack lowers threefry only: such programs fail, naming the PRNG."""

from __future__ import annotations

import numpy as np
import pytest

import jax

from jax2onnx_swift import ConversionError, to_onnx


@pytest.mark.parametrize("impl", ["philox4x32", "rbg"])
def test_non_threefry_keys_are_refused(impl, cli, tmp_path):
    data = np.asarray(jax.random.key_data(jax.random.key(7, impl=impl)))
    fn = lambda d: jax.random.bits(jax.random.wrap_key_data(d, impl=impl), (5,))
    with pytest.raises(ConversionError, match=f"keys of the {impl} PRNG"):
        to_onnx(fn, [data], tmp_path / "m.onnx", opset=18, cli=cli)


def test_seeding_another_prng_is_refused(cli, tmp_path):
    fn = lambda s: jax.random.key_data(jax.random.key(s, impl="philox4x32"))
    with pytest.raises(ConversionError, match="keys of the philox4x32 PRNG"):
        to_onnx(fn, [np.int32(3)], tmp_path / "m.onnx", opset=18, cli=cli)


@pytest.mark.parametrize("algorithm", ["RNG_DEFAULT", "RNG_PHILOX"])
def test_rng_bit_generator_philox_is_refused(algorithm, cli, tmp_path):
    """XLA's Philox (RNG_DEFAULT on CPU) scrambles its key in a way not reproduced: refused, not
    answered with other bits; RNG_THREE_FRY is lowered (cases_random.py)."""
    from jax import lax
    fn = lambda k: lax.rng_bit_generator(k, (3, 4), algorithm=getattr(lax.RandomAlgorithm, algorithm))
    key = np.arange(4, dtype=np.uint32)
    with pytest.raises(ConversionError, match="only algorithm=RNG_THREE_FRY"):
        to_onnx(fn, [key], tmp_path / "m.onnx", opset=18, cli=cli)
