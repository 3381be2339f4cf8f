"""The Linalg pack beyond the case table: models written in plain jnp with a symbolic batch
(a Gaussian-process posterior, a PCA), graph size independent of the matrix size, and
reconstruction errors against JAX's own and against float64 numpy."""

from __future__ import annotations

import numpy as np
import pytest

import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
import onnx
import onnxruntime as ort
from jax import lax

from cases_linalg import general, spd, sym
from jax2onnx_swift import allclose, to_onnx


def gp_posterior(k, y, ks, kss_diag):
    """Posterior mean and variance of a GP: K = L Lᵀ, α = L⁻ᵀ L⁻¹ y, v = L⁻¹ Ksᵀ."""
    chol = jnp.linalg.cholesky(k)
    z = jsl.solve_triangular(chol, y[..., None], lower=True)
    alpha = jsl.solve_triangular(chol, z, lower=True, trans=1)
    mean = (ks @ alpha)[..., 0]
    v = jsl.solve_triangular(chol, jnp.swapaxes(ks, -1, -2), lower=True)
    var = kss_diag - jnp.sum(v * v, axis=-2)
    return mean, var


def pca(x):
    """Principal axes of each batch element's samples two ways: eigh of the covariance and svd
    of the centred data; the free signs are fixed at each axis' largest entry."""
    xc = x - x.mean(axis=-2, keepdims=True)
    cov = jnp.swapaxes(xc, -1, -2) @ xc / (x.shape[-2] - 1)
    w, v = jnp.linalg.eigh(cov)
    _, s, vt = jnp.linalg.svd(xc, full_matrices=False)

    def fix(a):  # columns
        big = jnp.argmax(jnp.abs(a), axis=-2, keepdims=True)
        return a * jnp.sign(jnp.take_along_axis(a, big, axis=-2))
    return w[..., ::-1], fix(v[..., ::-1]), s * s / (x.shape[-2] - 1), fix(jnp.swapaxes(vt, -1, -2))


N_TRAIN, N_TEST, SAMPLES, FEATURES = 12, 5, 40, 6


def gp_inputs(rng, b):
    pts = rng.uniform(-2, 2, size=(b, N_TRAIN, 1))
    tst = rng.uniform(-2, 2, size=(b, N_TEST, 1))
    kern = lambda p, q: np.exp(-0.5 * (p - np.swapaxes(q, -1, -2)) ** 2)
    k = kern(pts, pts) + 0.1 * np.eye(N_TRAIN)
    y = np.sin(3 * pts[..., 0]) + 0.1 * rng.standard_normal((b, N_TRAIN))
    return [a.astype(np.float32) for a in (k, y, kern(tst, pts), np.ones((b, N_TEST)))]


def pca_inputs(rng, b):
    mix = rng.standard_normal((b, FEATURES, FEATURES)) * np.linspace(3, 0.5, FEATURES)[:, None]
    return [(rng.standard_normal((b, SAMPLES, FEATURES)) @ mix).astype(np.float32)]


@pytest.mark.parametrize("name", ["gp", "pca"])
def test_symbolic_batch_models(name, cli, tmp_path):
    fn, specs, make = {
        "gp": (gp_posterior, [("B", N_TRAIN, N_TRAIN), ("B", N_TRAIN), ("B", N_TEST, N_TRAIN), ("B", N_TEST)], gp_inputs),
        "pca": (pca, [("B", SAMPLES, FEATURES)], pca_inputs),
    }[name]
    path = tmp_path / f"{name}.onnx"
    to_onnx(fn, specs, path, cli=cli)
    onnx.checker.check_model(str(path), full_check=True)
    rng = np.random.default_rng(3)
    for b in (1, 2, 7):
        ok, message = allclose(fn, path, make(rng, b), rtol=1e-4, atol=1e-4)
        assert ok, f"{name} at batch {b}: {message}"


def count_nodes(graph) -> int:
    total = 0
    for node in graph.node:
        total += 1
        for a in node.attribute:
            if a.type == onnx.AttributeProto.GRAPH:
                total += count_nodes(a.g)
    return total


SIZE_FREE = {
    "cholesky": (jnp.linalg.cholesky, lambda n: [spd(2, n, n)]),
    "triangular_solve": (lambda a, b: jsl.solve_triangular(a, b, lower=False), lambda n: [spd(2, n, n), general(2, n, 3)]),
    "lu": (lambda a: lax.linalg.lu(a), lambda n: [general(2, n, n)]),
    "solve": (jnp.linalg.solve, lambda n: [general(2, n, n), general(2, n, 2)]),
    "qr": (jnp.linalg.qr, lambda n: [general(2, n, n)]),
    "eigh": (jnp.linalg.eigh, lambda n: [sym(2, n, n)]),
    "svd": (jnp.linalg.svd, lambda n: [general(2, n, n)]),
    "eig": (lambda a: lax.linalg.eig(a), lambda n: [general(2, n, n)]),
    "schur": (lambda a: lax.linalg.schur(a), lambda n: [general(2, n, n)]),
    "qr_pivoting": (lambda a: lax.linalg.qr(a, pivoting=True), lambda n: [general(2, n, n)]),
    "eig_complex": (lambda a: lax.linalg.eig(a), lambda n: [lambda rng: general(2, n, n)(rng).astype(np.complex64)]),
    "schur_complex": (lambda a: lax.linalg.schur(a), lambda n: [lambda rng: general(2, n, n)(rng).astype(np.complex64)]),
}


@pytest.mark.parametrize("name", sorted(SIZE_FREE))
def test_node_count_does_not_depend_on_n(name, cli, tmp_path):
    fn, make = SIZE_FREE[name]
    counts = {}
    for n in (4, 256):
        path = tmp_path / f"{name}_{n}.onnx"
        # Shapes only: the export does not need values. Unoptimized: the optimizer folds small
        # constant masks (n = 4) but not large ones, which says nothing about the lowering.
        shapes = [jax.ShapeDtypeStruct(x.shape, x.dtype) for x in (g(np.random.default_rng(0)) for g in make(n))]
        to_onnx(fn, shapes, path, optimize=False, cli=cli)
        counts[n] = count_nodes(onnx.load(str(path)).graph)
    assert counts[4] == counts[256], counts


def run(path, inputs):
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, {i.name: x for i, x in zip(sess.get_inputs(), inputs)})


def residuals(kind, a, outs):
    """The factorization's reconstruction error, in float64, per batch element (max norm)."""
    a = a.astype(np.float64)
    if kind == "eig":
        # Ours are complex as (real, imag) pairs; eigenvectors are compared through A v = λ v and
        # uᴴ A = λ uᴴ, which hold whatever phase each vector has.
        w, vl, vr = (o if np.iscomplexobj(o) else o[..., 0] + 1j * o[..., 1] for o in map(np.asarray, outs))
        w, vl, vr = w.astype(np.complex128), vl.astype(np.complex128), vr.astype(np.complex128)
        right = a @ vr - vr * w[..., None, :]
        vlh = np.conj(np.swapaxes(vl, -1, -2))
        left = vlh @ a - w[..., :, None] * vlh
        return np.maximum(np.abs(right).max(axis=(-2, -1)), np.abs(left).max(axis=(-2, -1)))
    outs = [np.asarray(o, np.float64) for o in outs]
    if kind == "cholesky":
        (l,) = outs
        r = a - l @ np.swapaxes(l, -1, -2)
    elif kind == "qr":
        q, rr = outs
        r = a - q @ rr
    elif kind == "svd":
        u, s, vt = outs
        r = a - (u * s[..., None, :]) @ vt
    elif kind == "eigh":
        w, v = outs
        r = a @ v - v * w[..., None, :]
    elif kind == "schur":
        t, z = outs
        r = a - z @ t @ np.swapaxes(z, -1, -2)
    elif kind == "qr_pivoting":
        q, rr, perm = outs
        r = np.take_along_axis(a, perm.astype(np.int64)[..., None, :], axis=-1) - q @ rr
    else:  # lu: P A = L U
        lu, _, perm = outs
        n = a.shape[-1]
        lower = np.tril(lu, -1) + np.eye(n)
        upper = np.triu(lu)
        pa = np.take_along_axis(a, perm.astype(np.int64)[..., None], axis=-2)
        r = pa - lower @ upper
    return np.abs(r).max(axis=(-2, -1))


RECON = {
    "cholesky": (jnp.linalg.cholesky, spd),
    "qr": (jnp.linalg.qr, general),
    "svd": (lambda a: jnp.linalg.svd(a, full_matrices=False), general),
    "eigh": (jnp.linalg.eigh, sym),
    "lu": (lambda a: lax.linalg.lu(a), general),
    "eig": (lambda a: lax.linalg.eig(a), general),
    "schur": (lambda a: lax.linalg.schur(a), general),
    "qr_pivoting": (lambda a: lax.linalg.qr(a, pivoting=True), general),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 16, 64])
@pytest.mark.parametrize("kind", sorted(RECON))
def test_reconstruction_within_ten_times_jax(kind, n, dtype, cli, tmp_path):
    fn, make = RECON[kind]
    with jax.enable_x64(dtype == np.float64):
        a = make(4, n, n, dtype=dtype)(np.random.default_rng(n))
        path = tmp_path / f"{kind}.onnx"
        to_onnx(fn, [a], path, cli=cli)
        ours = residuals(kind, a, run(path, [a]))
        theirs = residuals(kind, a, [np.asarray(o) for o in jax.tree_util.tree_leaves(fn(a))])
    eps = np.finfo(dtype).eps
    floor = eps * np.abs(a).max() * n
    assert np.all(ours <= 10 * np.maximum(theirs, floor)), (ours, theirs)


@pytest.mark.parametrize("n", [3, 16, 64])
def test_float32_against_float64_numpy(n, cli, tmp_path):
    """Our float32 results against numpy's float64 ones: eigenvalues, singular values, solve."""
    rng = np.random.default_rng(n)
    a_sym = sym(3, n, n)(rng)
    a_gen = general(3, n, n)(rng)
    b = rng.standard_normal((3, n, 2)).astype(np.float32)
    fn = lambda s, g, b: (jnp.linalg.eigvalsh(s), jnp.linalg.svdvals(g), jnp.linalg.solve(g, b))
    path = tmp_path / "f32.onnx"
    to_onnx(fn, [a_sym, a_gen, b], path, cli=cli)
    w, s, x = run(path, [a_sym, a_gen, b])
    w64 = np.linalg.eigvalsh(a_sym.astype(np.float64))
    s64 = np.linalg.svd(a_gen.astype(np.float64), compute_uv=False)
    x64 = np.linalg.solve(a_gen.astype(np.float64), b.astype(np.float64))
    eps = np.finfo(np.float32).eps
    # Backward-stable algorithms: errors of eps ‖A‖ (times a small multiple of n) on eigen- and
    # singular values, eps cond(A) on the solution.
    assert np.abs(w - w64).max() <= 4 * n * eps * np.abs(w64).max()
    assert np.abs(s - s64).max() <= 4 * n * eps * s64.max()
    cond = s64.max(axis=-1) / s64.min(axis=-1)
    assert np.all(np.abs(x - x64).max(axis=(-2, -1)) <= 4 * n * eps * cond * np.abs(x64).max(axis=(-2, -1)))


def multiset_error(values, ref):
    """Largest distance when each reference value is matched to the nearest value not yet taken."""
    left = list(values)
    worst = 0.0
    for lam in ref:
        k = int(np.argmin([abs(lam - x) for x in left]))
        worst = max(worst, abs(lam - left.pop(k)))
    return worst


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("n", [2, 3, 5, 8, 16, 32])
def test_eig_and_schur_against_float64_numpy(n, dtype, cli, tmp_path):
    """eig's eigenvalues as a multiset against numpy's float64 ones (their order is the Schur
    form's, which need not be LAPACK's), unit-norm eigenvectors, and a Schur form that is
    quasi-upper-triangular with an orthogonal Z. Random normal matrices: complex pairs included."""
    rng = np.random.default_rng(100 + n)
    a = rng.standard_normal((3, n, n)).astype(dtype)
    fn = lambda a: (*jnp.linalg.eig(a), *lax.linalg.schur(a))
    with jax.enable_x64(dtype == np.float64):
        path = tmp_path / "eig.onnx"
        to_onnx(fn, [a], path, cli=cli)
        w, v, t, z = run(path, [a])
    w = w[..., 0] + 1j * w[..., 1]
    v = v[..., 0] + 1j * v[..., 1]
    w64 = np.linalg.eigvals(a.astype(np.float64))
    eps = np.finfo(dtype).eps
    scale = np.abs(a).max() * n
    with jax.enable_x64(dtype == np.float64):
        w_jax = np.asarray(jnp.linalg.eigvals(a))
    floor = 10 * eps * scale
    for ours, theirs, ref in zip(w, w_jax, w64):
        # Eigenvalues are as sensitive as their condition numbers: ours must be as close to the
        # float64 reference as LAPACK's at this precision, within 10x.
        assert multiset_error(ours, ref) <= 10 * max(multiset_error(theirs, ref), floor), (ours, theirs, ref)
    assert np.abs(np.linalg.norm(v, axis=-2) - 1).max() <= 10 * eps
    assert np.abs(np.swapaxes(z, -1, -2) @ z - np.eye(n)).max() <= 10 * n * eps
    assert np.all(np.tril(t, -2) == 0)
    # No two consecutive subdiagonal entries: 2x2 blocks only, each with complex eigenvalues.
    sub = np.diagonal(t, offset=-1, axis1=-2, axis2=-1)
    assert not np.any((sub[..., 1:] != 0) & (sub[..., :-1] != 0))
    for b, c in zip(*np.nonzero(sub)):
        blk = t[b, c:c + 2, c:c + 2].astype(np.float64)
        # LAPACK's standard form (dlanv2): equal diagonal entries, off-diagonal ones of opposite sign.
        assert blk[0, 0] == blk[1, 1] and blk[0, 1] * blk[1, 0] < 0, blk


def pairs_to_complex(o):
    o = np.asarray(o)
    return o if np.iscomplexobj(o) else (o[..., 0] + 1j * o[..., 1])


def complex_eig_schur_errors(a, w, vl, vr, t, z):
    """Per batch element, in complex128: |A v - v λ|, |uᴴ A - λ uᴴ| and |A - Z T Zᴴ| (max norm)."""
    a = a.astype(np.complex128)
    w, vl, vr, t, z = (x.astype(np.complex128) for x in (w, vl, vr, t, z))
    right = np.abs(a @ vr - vr * w[..., None, :]).max(axis=(-2, -1))
    vlh = np.conj(np.swapaxes(vl, -1, -2))
    left = np.abs(vlh @ a - w[..., :, None] * vlh).max(axis=(-2, -1))
    recon = np.abs(a - z @ t @ np.conj(np.swapaxes(z, -1, -2))).max(axis=(-2, -1))
    return right, left, recon


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128], ids=["c64", "c128"])
@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 16])
def test_complex_eig_and_schur(n, dtype, cli, tmp_path):
    """Complex input: eigenvalues as a multiset against numpy's complex128 ones and JAX's, both
    residuals and A - Z T Zᴴ within 10x of JAX's own, eigenvectors of unit norm with their
    largest entry real and positive (zgeev's normalisation), T upper triangular, Z unitary."""
    rng = np.random.default_rng(200 + n)
    a = (rng.standard_normal((3, n, n)) + 1j * rng.standard_normal((3, n, n))).astype(dtype)
    fn = lambda a: (*lax.linalg.eig(a, compute_left_eigenvectors=True), *lax.linalg.schur(a))
    with jax.enable_x64(dtype == np.complex128):
        path = tmp_path / "eig.onnx"
        to_onnx(fn, [a], path, cli=cli)
        ours = [pairs_to_complex(o) for o in run(path, [np.stack([a.real, a.imag], -1)])]
        theirs = [np.asarray(o) for o in fn(a)]
    w, vl, vr, t, z = ours
    eps = np.finfo(dtype).eps
    scale = np.abs(a).max() * n
    floor = 10 * eps * scale
    w64 = np.linalg.eigvals(a.astype(np.complex128))
    for mine, jax_w, ref in zip(w, theirs[0], w64):
        assert multiset_error(mine, ref) <= 10 * max(multiset_error(jax_w, ref), floor), (mine, jax_w, ref)
        assert multiset_error(mine, jax_w) <= 10 * max(multiset_error(jax_w, ref), floor), (mine, jax_w)
    for mine, jax_err in zip(complex_eig_schur_errors(a, *ours), complex_eig_schur_errors(a, *theirs)):
        assert np.all(mine <= 10 * np.maximum(jax_err, eps * scale)), (mine, jax_err)
    for v in (vl, vr):
        assert np.abs(np.linalg.norm(v, axis=-2) - 1).max() <= 10 * eps
        big = np.take_along_axis(v, np.abs(v).argmax(axis=-2)[..., None, :], axis=-2)
        assert np.all(big.imag == 0) and np.all(big.real > 0)
    assert np.all(np.tril(t, -1) == 0)
    assert np.abs(np.conj(np.swapaxes(z, -1, -2)) @ z - np.eye(n)).max() <= 10 * n * eps
    assert np.allclose(np.diagonal(t, axis1=-2, axis2=-1), w, rtol=0, atol=0)


@pytest.mark.parametrize("left, right", [(False, False), (True, False), (False, True), (True, True)])
def test_complex_eig_vector_choices(left, right, cli, tmp_path):
    """Every combination of eigenvectors asked for gives those outputs, each with its residual."""
    n = 5
    rng = np.random.default_rng(7)
    a = (rng.standard_normal((2, n, n)) + 1j * rng.standard_normal((2, n, n))).astype(np.complex64)
    fn = lambda a: lax.linalg.eig(a, compute_left_eigenvectors=left, compute_right_eigenvectors=right)
    path = tmp_path / "eig.onnx"
    to_onnx(fn, [a], path, cli=cli)
    outs = [pairs_to_complex(o) for o in run(path, [np.stack([a.real, a.imag], -1)])]
    assert len(outs) == 1 + left + right
    w = outs[0]
    w64 = np.linalg.eigvals(a.astype(np.complex128))
    for mine, ref in zip(w, w64):
        assert multiset_error(mine, ref) <= 1e-4 * np.abs(ref).max()
    a64 = a.astype(np.complex128)
    if left:
        vlh = np.conj(np.swapaxes(outs[1], -1, -2))
        assert np.abs(vlh @ a64 - w[..., :, None] * vlh).max() <= 1e-4 * np.abs(w).max()
    if right:
        vr = outs[-1]
        assert np.abs(a64 @ vr - vr * w[..., None, :]).max() <= 1e-4 * np.abs(w).max()


def test_complex_eig_symbolic_batch(cli, tmp_path):
    """Complex eig exported once with a symbolic batch dim, run at two batch sizes."""
    b, = jax.export.symbolic_shape("b")
    fn = lambda a: lax.linalg.eig(a, compute_left_eigenvectors=False)
    path = tmp_path / "eig.onnx"
    to_onnx(fn, [jax.ShapeDtypeStruct((b, 2, 4, 4), np.complex64)], path, cli=cli)
    for batch in (1, 3):
        rng = np.random.default_rng(batch)
        a = (rng.standard_normal((batch, 2, 4, 4)) + 1j * rng.standard_normal((batch, 2, 4, 4))).astype(np.complex64)
        w, vr = (pairs_to_complex(o) for o in run(path, [np.stack([a.real, a.imag], -1)]))
        wj, vrj = (np.asarray(o) for o in fn(a))
        a64 = a.astype(np.complex128)
        ours = np.abs(a64 @ vr - vr * w[..., None, :]).max(axis=(-2, -1))
        theirs = np.abs(a64 @ vrj - vrj * wj[..., None, :]).max(axis=(-2, -1))
        assert w.shape == wj.shape and vr.shape == vrj.shape
        assert np.all(ours <= 10 * np.maximum(theirs, np.finfo(np.float32).eps * np.abs(a).max() * 4)), (ours, theirs)
