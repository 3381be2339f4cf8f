"""The two models complex support exists for, exported once with a symbolic batch and run at two
batch sizes against JAX: an FNO-style spectral layer (rfft2, a multiply by complex weights on the
kept modes, irfft2) and an STFT magnitude front end (framing, window, rfft, abs)."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

import jax
import jax.numpy as jnp
import jax.scipy.signal as jss

from jax2onnx_swift import from_pairs, to_onnx, to_pairs

RNG = np.random.default_rng(20)
C_IN, C_OUT, H, W, M1, M2 = 3, 4, 16, 12, 4, 5
WEIGHTS = [(RNG.normal(size=(C_IN, C_OUT, M1, M2)) + 1j * RNG.normal(size=(C_IN, C_OUT, M1, M2))).astype(np.complex64) * 0.3
           for _ in range(2)]


def spectral_layer(x):
    """x: [B, C_IN, H, W] real. Keeps the M1 lowest and M1 highest row modes and M2 column modes."""
    xf = jnp.fft.rfft2(x)                                             # [B, C, H, W//2+1] complex
    low = jnp.einsum("bixy,ioxy->boxy", xf[:, :, :M1, :M2], WEIGHTS[0])
    high = jnp.einsum("bixy,ioxy->boxy", xf[:, :, -M1:, :M2], WEIGHTS[1])
    middle = jnp.zeros((x.shape[0], C_OUT, H - 2 * M1, M2), jnp.complex64)
    out = jnp.concatenate([low, middle, high], axis=2)                # [B, C_OUT, H, M2]
    return jnp.fft.irfft2(out, s=(H, W))                              # zero-pads the columns to W//2+1


N_FFT, HOP, T = 64, 16, 400
WINDOW = np.hanning(N_FFT).astype(np.float32)
FRAMES = 1 + (T - N_FFT) // HOP


def stft_magnitude(x):
    """x: [B, T] real audio; [B, frames, N_FFT//2+1] magnitudes."""
    idx = np.arange(FRAMES)[:, None] * HOP + np.arange(N_FFT)[None, :]
    frames = x[:, idx] * WINDOW
    return jnp.abs(jnp.fft.rfft(frames, axis=-1))


def scipy_stft_magnitude(x):
    _, _, z = jss.stft(x, nperseg=32, noverlap=16)
    return jnp.abs(z)


def run(fn, per_example_shape, path, cli, sizes=(2, 5)):
    spec = jax.ShapeDtypeStruct(jax.export.symbolic_shape("B, " + ", ".join(map(str, per_example_shape))), np.float32)
    to_onnx(fn, [spec], path, cli=cli)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for b in sizes:
        x = RNG.normal(size=(b,) + per_example_shape).astype(np.float32)
        got = session.run(None, {session.get_inputs()[0].name: x})[0]
        want = np.asarray(fn(x))
        if want.dtype.kind == "c":
            got = from_pairs(got)
        assert got.shape == want.shape
        # An FFT's f32 error grows with its input's L1 norm: 1e-5 × ‖x‖₁ per element.
        norm = np.abs(x).reshape(b, -1).sum(axis=1).max()
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * norm)


def test_fno_spectral_layer(cli, tmp_path):
    run(spectral_layer, (C_IN, H, W), tmp_path / "fno.onnx", cli)


def test_stft_magnitude(cli, tmp_path):
    run(stft_magnitude, (T,), tmp_path / "stft.onnx", cli)


def test_scipy_stft_magnitude(cli, tmp_path):
    run(scipy_stft_magnitude, (T,), tmp_path / "scipy_stft.onnx", cli)


def test_complex_input_and_output_are_float_pairs(cli, tmp_path):
    """A complex model input and output cross as float pairs on a trailing axis of 2."""
    def f(z):
        return jnp.fft.fft(z) * (1 - 2j)

    z = (RNG.normal(size=(3, 10)) + 1j * RNG.normal(size=(3, 10))).astype(np.complex64)
    path = to_onnx(f, [z], tmp_path / "pairs.onnx", cli=cli)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (inp,), (out,) = session.get_inputs(), session.get_outputs()
    assert inp.shape == [3, 10, 2] and inp.type == "tensor(float)"
    assert out.shape == [3, 10, 2] and out.type == "tensor(float)"
    got = from_pairs(session.run(None, {inp.name: to_pairs(z)})[0])
    np.testing.assert_allclose(got, np.asarray(f(z)), rtol=1e-5, atol=1e-4)
