"""Complex values and fft. A complex64 (complex128) array crosses the model boundary as float32
(float64) pairs on a trailing axis of 2, which `allclose` converts to and from.

FFT tolerances follow the error an FFT has relative to its input: for f32, at most 1e-5 × ‖x‖₁
per element, where ‖x‖₁ bounds every output element of the transform (`fft_tol`)."""

from __future__ import annotations

import numpy as np

import jax.numpy as jnp
import jax.scipy.signal as jss
from jax import lax

from casekit import Case, case, f32, pos

S = (3, 4)


def c64(*shape, lo=0.1, hi=3.0, dtype=np.complex64):
    """Complex values with both parts non-zero, of both signs, magnitudes in [lo, hi]."""
    def gen(rng):
        parts = rng.uniform(lo, hi, size=(2,) + shape) * rng.choice([-1.0, 1.0], size=(2,) + shape)
        return (parts[0] + 1j * parts[1]).astype(dtype)
    return gen


def c128(*shape, **kw):
    return c64(*shape, dtype=np.complex128, **kw)


def f64(*shape):
    g = f32(*shape)
    return lambda rng: g(rng).astype(np.float64)


def fft_tol(n_total, hi=3.0, x64=False):
    """rtol 1e-5 plus atol 1e-5 × ‖x‖₁ (each element at most hi·√2 in magnitude); f64 1e-12."""
    scale = 1e-12 if x64 else 1e-5
    return dict(rtol=scale, atol=scale * n_total * hi * 2 ** 0.5)


# Each output element sums up to a few dozen products of magnitude up to 9.
CONV_TOL = dict(rtol=1e-5, atol=1e-4)

CASES: list[Case] = [
    # -- creation and parts
    case("complex_from_parts", lambda a, b: lax.complex(a, b), [f32(*S), f32(*S)], ["complex"]),
    case("complex_scalar_imag", lambda a: lax.complex(a, 2.0), [f32(*S)], ["complex"]),
    case("complex_real_imag", lambda z: (jnp.real(z) * 2, jnp.imag(z) - 1), [c64(*S)], ["real", "imag"]),
    case("complex_conj", jnp.conj, [c64(*S)], ["conj"]),
    case("conj_of_real", lax.conj, [f32(*S)], ["conj"]),
    case("conj_of_real_f64", lambda x: lax.conj(x) * (1 + 2j), [f64(*S)], ["conj"], tol=dict(rtol=1e-12, atol=1e-12), x64=True),
    # -- arithmetic and math
    case("complex_add_sub_neg", lambda z, w: (z + w, z - w, -z), [c64(*S), c64(*S)], ["add", "sub", "neg"]),
    case("complex_mul", lambda z, w: z * w, [c64(*S), c64(*S)], ["mul"]),
    case("complex_mul_literal", lambda z: z * (2 - 3j), [c64(*S)], ["mul"]),
    case("complex_div", lambda z, w: z / w, [c64(*S), c64(*S)], ["div"]),
    case("complex_abs", jnp.abs, [c64(*S)], ["abs"]),
    case("complex_angle", jnp.angle, [c64(*S)], ["atan2", "real", "imag"]),
    case("complex_exp", jnp.exp, [c64(*S, hi=2.0)], ["exp"]),
    case("complex_log", jnp.log, [c64(*S)], ["log"]),
    case("complex_sqrt", jnp.sqrt, [c64(*S)], ["sqrt"]),
    case("complex_pow", lambda z, w: z ** w, [c64(*S, hi=1.5), c64(*S, hi=1.0)], ["pow"], tol=dict(rtol=1e-4, atol=1e-4)),
    case("complex_integer_pow", lambda z: (z ** 3, z ** -2, z ** 1), [c64(*S)], ["integer_pow"], tol=dict(rtol=1e-5, atol=1e-4)),
    case("complex_square", jnp.square, [c64(*S)], ["square|integer_pow|mul"]),
    case("complex_sign", lax.sign, [c64(*S)], ["sign"]),
    # -- dot_general
    case("complex_matmul", jnp.matmul, [c64(4, 5), c64(5, 3)], ["dot_general"], tol=dict(rtol=1e-5, atol=1e-4)),
    case("complex_batched_einsum", lambda a, b: jnp.einsum("bij,bjk->bik", a, b), [c64(2, 3, 4), c64(2, 4, 5)],
         ["dot_general"], tol=dict(rtol=1e-5, atol=1e-4)),
    case("complex_times_real_dot",
         lambda z, r: lax.dot_general(z, r, (((1,), (0,)), ((), ())), preferred_element_type=jnp.complex64),
         [c64(4, 5), f32(5, 3)], ["dot_general"], tol=dict(rtol=1e-5, atol=1e-4)),
    # -- reductions
    case("complex_reduce_sum", lambda z: (jnp.sum(z, axis=1), jnp.sum(z)), [c64(*S)], ["reduce_sum"]),
    case("complex_reduce_prod", lambda z: jnp.prod(z, axis=0), [c64(*S, hi=2.0)], ["reduce_prod"], tol=dict(rtol=1e-5, atol=1e-4)),
    # -- data movement
    case("complex_broadcast_reshape_transpose",
         lambda z: (jnp.broadcast_to(z[:, None, :], (3, 2, 4)), z.reshape(2, 6), z.T, z[None]),
         [c64(*S)], ["broadcast_in_dim", "reshape", "transpose"]),
    case("complex_copy_squeeze", lambda z: (jnp.copy(z), z[:1].squeeze(0)), [c64(*S)], ["copy", "squeeze"]),
    case("complex_slice_concat_rev", lambda z: (z[1:, ::2], jnp.concatenate([z, z * 2], axis=0), z[::-1]),
         [c64(*S)], ["slice", "concatenate", "rev"]),
    case("complex_pad", lambda z: (jnp.pad(z, ((1, 2), (0, 1))), lax.pad(z, 1 + 2j, ((1, -1, 0), (0, 2, 0)))),
         [c64(*S)], ["pad"]),
    # a complex payload sorted by real keys (jnp.roots orders its eigenvalues so)
    case("complex_sorted_by_real_keys", lambda k, z: lax.sort((k, z), dimension=1, num_keys=1),
         [f32(3, 5), c64(3, 5)], ["sort"]),
    case("complex_roots", lambda c: jnp.roots(c, strip_zeros=False),
         [lambda rng: rng.normal(size=(4,)).astype(np.float32) + np.array([3, 0, 0, 0], np.float32)],
         ["eig", "sort"], tol=dict(rtol=1e-4, atol=1e-4)),
    case("complex_gather", lambda z, i: (z[i], jnp.take_along_axis(z, i[:, None] % 4, axis=1)),
         [c64(*S), lambda rng: rng.integers(0, 3, size=(3,)).astype(np.int32)], ["gather"]),
    # scatter: ScatterND writes whole (real, imag) pairs; a complex product scatters into ones first
    case("complex_scatter_set_add_sub", lambda z, u, i: (jnp.asarray(z).at[i].set(u), jnp.asarray(z).at[i].add(u), jnp.asarray(z).at[i].subtract(u)),
         [c64(*S), c64(3, 4), lambda rng: rng.integers(0, 3, size=(3,)).astype(np.int32)],
         ["scatter", "scatter-add", "scatter-sub|scatter-add"]),
    case("complex_scatter_mul_unique", lambda z, u: (jnp.asarray(z).at[:, 1:3].multiply(u), jnp.asarray(z).at[..., 1:-1].multiply(2)),
         [c64(*S), c64(3, 2)], ["scatter-mul"]),
    case("complex_scatter_fill_or_drop", lambda z, u, i: jnp.asarray(z).at[i].add(u, mode="drop"),
         [c64(*S), c64(2, 4), lambda rng: np.array([1, 5], np.int32)], ["scatter-add"]),
    case("complex128_scatter", lambda z, u: jnp.asarray(z).at[1:, 2].set(u).at[0].multiply(1 - 2j),
         [c128(*S), c128(2)], ["scatter", "scatter-mul"], tol=dict(rtol=1e-12, atol=1e-12), x64=True),
    case("complex_select", lambda p, z, w: jnp.where(p > 0, z, w), [f32(*S), c64(*S), c64(*S)], ["select_n"]),
    case("complex_dynamic_slice", lambda z, i: lax.dynamic_slice(z, (i, 1), (2, 2)),
         [c64(*S), lambda rng: np.int32(rng.integers(0, 3))], ["dynamic_slice"]),
    case("complex_dynamic_update_slice", lambda z, u, i: lax.dynamic_update_slice(z, u, (i, 2)),
         [c64(*S), c64(2, 2), lambda rng: np.int32(rng.integers(0, 3))], ["dynamic_update_slice"]),
    case("complex_split_tile", lambda z: (*jnp.split(z, [1, 3], axis=1), jnp.tile(z, (2, 1))), [c64(*S)],
         ["split", "tile|broadcast_in_dim"]),
    # -- conv_general_dilated: four real convolutions of the parts, every param carried
    case("complex_conv1d_ncw_stride_same", lambda x, w: lax.conv_general_dilated(x, w, (2,), "SAME"),
         [c64(2, 3, 11), c64(4, 3, 3)], ["conv_general_dilated"], tol=CONV_TOL),
    case("complex_conv1d_nwc_dilated", lambda x, w: lax.conv_general_dilated(
        x, w, (1,), ((2, 1),), rhs_dilation=(2,), dimension_numbers=("NWC", "WIO", "NWC")),
         [c64(2, 12, 3), c64(3, 3, 5)], ["conv_general_dilated"], tol=CONV_TOL),
    case("complex_conv2d_nhwc", lambda x, w: lax.conv_general_dilated(
        x, w, (1, 2), ((1, 0), (2, 1)), rhs_dilation=(2, 1), dimension_numbers=("NHWC", "HWIO", "NHWC")),
         [c64(2, 7, 6, 3), c64(3, 3, 3, 4)], ["conv_general_dilated"], tol=CONV_TOL),
    case("complex_conv2d_nchw_groups", lambda x, w: lax.conv_general_dilated(
        x, w, (2, 1), "VALID", feature_group_count=2, dimension_numbers=("NCHW", "OIHW", "NCHW")),
         [c64(2, 4, 7, 5), c64(6, 2, 3, 2)], ["conv_general_dilated"], tol=CONV_TOL),
    case("complex_conv2d_depthwise_nhwc", lambda x, w: lax.conv_general_dilated(
        x, w, (1, 1), "SAME", feature_group_count=3, dimension_numbers=("NHWC", "HWIO", "NHWC")),
         [c64(1, 6, 5, 3), c64(3, 3, 1, 3)], ["conv_general_dilated"], tol=CONV_TOL),
    case("complex_conv2d_lhs_dilation", lambda x, w: lax.conv_general_dilated(
        x, w, (1, 1), ((2, 2), (1, 1)), lhs_dilation=(2, 2), dimension_numbers=("NCHW", "OIHW", "NCHW")),
         [c64(1, 2, 4, 5), c64(3, 2, 3, 3)], ["conv_general_dilated"], tol=CONV_TOL),
    case("complex_conv2d_batch_groups", lambda x, w: lax.conv_general_dilated(
        x, w, (1, 1), "VALID", batch_group_count=2, dimension_numbers=("NCHW", "OIHW", "NCHW")),
         [c64(4, 3, 5, 5), c64(4, 3, 2, 2)], ["conv_general_dilated"], tol=CONV_TOL),
    # JAX gives both operands one dtype: a real kernel or signal is converted to complex first.
    case("complex_conv_real_kernel", lambda x, k: lax.conv_general_dilated(
        x, k.astype(jnp.complex64), (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")),
         [c64(2, 6, 6, 2), f32(3, 3, 2, 4)], ["conv_general_dilated", "convert_element_type"], tol=CONV_TOL),
    case("complex_conv_real_input", lambda x, w: lax.conv_general_dilated(
        x.astype(jnp.complex64), w, (1,), ((1, 1),), dimension_numbers=("NCH", "OIH", "NCH")),
         [f32(3, 2, 9), c64(4, 2, 3)], ["conv_general_dilated", "convert_element_type"], tol=CONV_TOL),
    case("complex_convolve_real_filter", lambda z, h: jnp.convolve(z, h), [c64(16), f32(5)],
         ["conv_general_dilated"], tol=CONV_TOL),
    case("complex128_conv2d_nhwc_groups", lambda x, w: lax.conv_general_dilated(
        x, w, (2, 1), ((1, 1), (0, 2)), rhs_dilation=(1, 2), feature_group_count=2,
        dimension_numbers=("NHWC", "HWIO", "NHWC")),
         [c128(2, 7, 6, 4), c128(3, 2, 2, 6)], ["conv_general_dilated"], tol=dict(rtol=1e-12, atol=1e-11), x64=True),
    case("complex128_conv1d_real_kernel", lambda x, k: lax.conv_general_dilated(x, k.astype(jnp.complex128), (1,), "SAME"),
         [c128(2, 3, 10), f64(2, 3, 4)], ["conv_general_dilated"], tol=dict(rtol=1e-12, atol=1e-11), x64=True),
    # -- conversion and comparison
    case("complex_convert", lambda x, z: (x.astype(jnp.complex64) * z, lax.convert_element_type(z, jnp.float32)),
         [f32(*S), c64(*S)], ["convert_element_type"]),
    case("complex_eq_ne", lambda z, w: (z == w, z != w, z == z), [c64(*S), c64(*S)], ["eq", "ne"]),
    case("complex128_math", lambda z, w: (z * w, z / w, jnp.exp(z), jnp.abs(z), jnp.sqrt(z)),
         [c128(*S, hi=2.0), c128(*S)], ["mul", "div", "exp", "abs", "sqrt"], tol=dict(rtol=1e-12, atol=1e-12), x64=True),
    case("complex128_convert", lambda z: z.astype(jnp.complex64), [c128(*S)], ["convert_element_type"], x64=True),
    # -- control flow carries complex storage like any value
    case("complex_scan", lambda z: lax.scan(lambda c, x: (c * x + 1j, c * 2), z[0], z), [c64(5, 4, hi=1.2)], ["scan"],
         tol=dict(rtol=1e-5, atol=1e-4)),
    case("complex_cond", lambda z, p: lax.cond(p[0] > 0, lambda z: z * z, jnp.conj, z), [c64(*S), f32(1)], ["cond"]),
    case("complex_while", lambda z: lax.while_loop(lambda s: jnp.abs(s[1]).max() < 40, lambda s: (s[0] + 1, s[1] * (1 + 0.5j)),
                                                    (0, z))[1], [c64(*S)], ["while"]),
    # -- fft, MatMul path (short) and DFT path (long), both complex and real, odd and even
    case("fft_len8", jnp.fft.fft, [c64(4, 8)], ["fft"], tol=fft_tol(8)),
    case("fft_len7_odd", jnp.fft.fft, [c64(4, 7)], ["fft"], tol=fft_tol(7)),
    case("fft_len200", jnp.fft.fft, [c64(3, 200)], ["fft"], tol=fft_tol(200)),
    case("fft_len256", jnp.fft.fft, [c64(2, 256)], ["fft"], tol=fft_tol(256)),
    case("ifft_len12", jnp.fft.ifft, [c64(4, 12)], ["fft"], tol=fft_tol(12)),
    case("ifft_len300", jnp.fft.ifft, [c64(2, 300)], ["fft"], tol=fft_tol(300)),
    case("fft_len1500_bluestein", jnp.fft.fft, [c64(2, 1500)], ["fft"], tol=fft_tol(1500)),
    case("ifft_len1031_bluestein", jnp.fft.ifft, [c64(2, 1031)], ["fft"], tol=fft_tol(1031)),
    case("fft_1d_unbatched", jnp.fft.fft, [c64(9)], ["fft"], tol=fft_tol(9)),
    case("fft_unbatched_long", lambda z: (jnp.fft.fft(z), jnp.fft.ifft(z[:1100])), [c64(1024)], ["fft"], tol=fft_tol(1100)),
    case("rfft_irfft_unbatched_long", lambda x: (jnp.fft.rfft(x), jnp.fft.irfft(jnp.fft.rfft(x[:1030]), n=1030)), [f32(2048)],
         ["fft"], tol=fft_tol(2048)),
    case("fft_axis0", lambda z: jnp.fft.fft(z, axis=0), [c64(6, 3)], ["fft"], tol=fft_tol(6)),
    case("fft_real_input", jnp.fft.fft, [f32(3, 10)], ["fft"], tol=fft_tol(10)),
    case("fft_n_pad_crop", lambda z: (jnp.fft.fft(z, n=12), jnp.fft.fft(z, n=5)), [c64(3, 8)], ["fft", "pad|slice"],
         tol=fft_tol(12)),
    case("fft2", jnp.fft.fft2, [c64(2, 6, 5)], ["fft"], tol=fft_tol(30)),
    case("fftn_3axes", jnp.fft.fftn, [c64(2, 4, 3, 5)], ["fft"], tol=fft_tol(60)),
    case("ifftn_3axes_long", lambda z: jnp.fft.ifftn(z, axes=(-3, -2, -1)), [c64(3, 4, 256)], ["fft"], tol=fft_tol(3072)),
    case("rfft_len16", jnp.fft.rfft, [f32(4, 16)], ["fft"], tol=fft_tol(16)),
    case("rfft_len7_odd", jnp.fft.rfft, [f32(4, 7)], ["fft"], tol=fft_tol(7)),
    case("rfft_len301", jnp.fft.rfft, [f32(2, 301)], ["fft"], tol=fft_tol(301)),
    case("rfft_len512_dft", jnp.fft.rfft, [f32(2, 512)], ["fft"], tol=fft_tol(512)),
    case("rfft_len1100_bluestein", jnp.fft.rfft, [f32(2, 1100)], ["fft"], tol=fft_tol(1100)),
    case("rfft_n_pad", lambda x: jnp.fft.rfft(x, n=20), [f32(3, 13)], ["fft"], tol=fft_tol(20)),
    case("irfft_len16", jnp.fft.irfft, [c64(4, 9)], ["fft"], tol=fft_tol(16)),
    case("irfft_odd_n", lambda z: jnp.fft.irfft(z, n=9), [c64(4, 5)], ["fft"], tol=fft_tol(9)),
    case("irfft_long_odd", lambda z: jnp.fft.irfft(z, n=301), [c64(2, 151)], ["fft"], tol=fft_tol(301)),
    case("irfft_len512_dft", lambda z: jnp.fft.irfft(z, n=512), [c64(2, 257)], ["fft"], tol=fft_tol(512)),
    case("irfft_len1201_bluestein", lambda z: jnp.fft.irfft(z, n=1201), [c64(2, 601)], ["fft"], tol=fft_tol(1201)),
    case("irfft_n_crop_pad", lambda z: (jnp.fft.irfft(z, n=6), jnp.fft.irfft(z, n=20)), [c64(3, 7)], ["fft"],
         tol=fft_tol(20)),
    case("rfft2_irfft2", lambda x: (jnp.fft.rfft2(x), jnp.fft.irfft2(jnp.fft.rfft2(x), s=x.shape[-2:])),
         [f32(2, 6, 7)], ["fft"], tol=fft_tol(42)),
    case("rfftn_3axes", jnp.fft.rfftn, [f32(2, 3, 4, 6)], ["fft"], tol=fft_tol(72)),
    case("fft_roundtrip", lambda z: jnp.fft.ifft(jnp.fft.fft(z)), [c64(4, 33)], ["fft"], tol=fft_tol(33)),
    case("rfft_roundtrip_odd", lambda x: jnp.fft.irfft(jnp.fft.rfft(x), n=x.shape[-1]), [f32(4, 15)], ["fft"],
         tol=fft_tol(15)),
    case("fft_f64", jnp.fft.fft, [c128(3, 24)], ["fft"], tol=fft_tol(24, x64=True), x64=True),
    case("fft_f64_dft", jnp.fft.fft, [c128(2, 512)], ["fft"], tol=fft_tol(512, x64=True), x64=True),
    case("fft_f64_bluestein", jnp.fft.fft, [c128(2, 1300)], ["fft"], tol=fft_tol(1300, x64=True), x64=True),
    case("rfft_irfft_f64", lambda x: (jnp.fft.rfft(x), jnp.fft.irfft(jnp.fft.rfft(x), n=x.shape[-1])),
         [f64(3, 11)], ["fft"], tol=fft_tol(11, x64=True), x64=True),
    # -- every jnp.fft entry point: norm modes, Hermitian transforms, axes and s anywhere
    case("fft_norm_modes", lambda z: (jnp.fft.fft(z, norm="ortho"), jnp.fft.fft(z, norm="forward"),
                                      jnp.fft.ifft(z, norm="ortho"), jnp.fft.ifft(z, norm="forward")),
         [c64(3, 9)], ["fft"], tol=fft_tol(9)),
    case("rfft_irfft_norm_modes", lambda x: (jnp.fft.rfft(x, norm="ortho"), jnp.fft.irfft(jnp.fft.rfft(x), n=10, norm="forward"),
                                             jnp.fft.rfftn(x, norm="forward")),
         [f32(2, 3, 10)], ["fft"], tol=fft_tol(60)),
    case("hfft_ihfft_odd", lambda z, x: (jnp.fft.hfft(z, n=9), jnp.fft.ihfft(x), jnp.fft.hfft(z, norm="ortho")),
         [c64(3, 5), f32(3, 11)], ["fft"], tol=fft_tol(11)),
    case("fftn_axes_anywhere", lambda z: (jnp.fft.fftn(z, axes=(0, 2)), jnp.fft.fftn(z, axes=(2, 0)),
                                          jnp.fft.ifftn(z, s=(6, 3), axes=(0, 1))),
         [c64(4, 3, 5)], ["fft"], tol=fft_tol(60)),
    case("rfftn_irfftn_axes_s", lambda x, z: (jnp.fft.rfftn(x, axes=(0, 1)), jnp.fft.rfftn(x, s=(5, 9), axes=(1, 2)),
                                              jnp.fft.irfftn(z, s=(3, 9), axes=(0, 2))),
         [f32(4, 6, 7), c64(4, 2, 6)], ["fft"], tol=fft_tol(45)),
    case("rfft_irfft_axis0_n", lambda x, z: (jnp.fft.rfft(x, n=9, axis=0), jnp.fft.irfft(z, n=7, axis=0)),
         [f32(6, 3), c64(5, 3)], ["fft"], tol=fft_tol(18)),
    case("fftshift_fftfreq", lambda z: (jnp.fft.fftshift(z), jnp.fft.ifftshift(z, axes=0),
                                        z * jnp.fft.fftfreq(6), z[:, :4] * jnp.fft.rfftfreq(7, d=0.5)),
         [c64(5, 6)], ["mul"]),
    # -- what complex support makes possible
    case("fftconvolve", lambda a, b: jss.fftconvolve(a, b), [f32(20), f32(7)], ["fft"],
         tol=fft_tol(26)),
    case("signal_convolve_correlate_complex", lambda a, b, r: (jss.convolve(a, b, method="direct"), jss.correlate(a, b, mode="same"),
                                                               jss.correlate2d(a.reshape(4, 5), r)),
         [c64(20), c64(5), f32(3, 3)], ["conv_general_dilated"], tol=CONV_TOL),
    case("signal_welch_csd", lambda x, y: (jss.welch(x, nperseg=16)[1], jss.csd(x, y, nperseg=16)[1]), [f32(2, 64), f32(2, 64)],
         ["fft", "scatter-mul"], tol=fft_tol(64)),
    case("signal_istft", lambda z: jss.istft(z, nperseg=16)[1], [c64(9, 7)], ["fft"], tol=fft_tol(63)),
    # Angles of a complex signal's spectrum: no bin sits on the branch cut, as a real signal's DC does.
    case("spectrum_magnitude_angle", lambda x, z: (jnp.abs(jnp.fft.rfft(x)), jnp.angle(jnp.fft.fft(z))),
         [f32(3, 16), c64(3, 16)], ["fft", "abs", "atan2"], tol=fft_tol(16)),
]

REQUIRED = ["complex", "real", "imag", "conj", "fft", "dot_general", "reduce_prod", "pad", "select_n", "dynamic_slice", "gather",
            "conv_general_dilated",
            "eq", "ne", "integer_pow", "pow", "sign", "sqrt", "log"]
