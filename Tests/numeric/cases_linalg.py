"""Linear algebra (the Linalg pack): factorizations, triangular solves and what jnp.linalg and
jax.scipy.linalg build on them. Inputs are well conditioned (cond <= 100: random orthogonal
factors around a controlled spectrum), batched, at several sizes, in float32 and float64.

Tolerances: 1e-5 for float32 (1e-4 for results that amplify rounding by the condition number,
such as inverses and determinants), 1e-10 for float64.
"""

from __future__ import annotations

import numpy as np

import jax.numpy as jnp
import jax.scipy.linalg as jsl
from jax import lax

from casekit import case, f32

F64_TOL = dict(rtol=1e-10, atol=1e-10)
F32_TOL = dict(rtol=1e-5, atol=1e-5)
# Solves and inverses amplify rounding by up to cond(A) = 100: float32 results differ from JAX's
# by that much more than the inputs' rounding.
F32_SOLVE_TOL = dict(rtol=1e-4, atol=1e-4)
SIZES = (1, 2, 3, 5, 8, 16, 64)


def _orthogonal(rng, batch, n):
    q, r = np.linalg.qr(rng.standard_normal(batch + (n, n)))
    return q * np.sign(np.diagonal(r, axis1=-2, axis2=-1))[..., None, :]


def spd(*shape, dtype=np.float32, cond=100.0):
    """Symmetric positive definite, eigenvalues spread over [1, cond]."""
    *batch, n, _ = shape

    def gen(rng):
        q = _orthogonal(rng, tuple(batch), n)
        ev = np.exp(rng.uniform(0, np.log(cond), size=tuple(batch) + (n,)))
        return ((q * ev[..., None, :]) @ np.swapaxes(q, -1, -2)).astype(dtype)
    return gen


def general(*shape, dtype=np.float32, cond=100.0):
    """A general matrix with singular values in [1, cond] (m x n, any aspect)."""
    *batch, m, n = shape

    def gen(rng):
        k = min(m, n)
        u = _orthogonal(rng, tuple(batch), m)[..., :k]
        v = _orthogonal(rng, tuple(batch), n)[..., :k]
        s = np.exp(rng.uniform(0, np.log(cond), size=tuple(batch) + (k,)))
        return ((u * s[..., None, :]) @ np.swapaxes(v, -1, -2)).astype(dtype)
    return gen


def triangular(*shape, dtype=np.float32):
    """Random in both triangles (the solves must ignore the other one), with a dominant diagonal."""
    *batch, n, _ = shape

    def gen(rng):
        a = rng.uniform(-1, 1, size=shape) / max(n, 1) ** 0.5
        d = rng.uniform(1, 2, size=tuple(batch) + (n,)) * rng.choice([-1, 1], size=tuple(batch) + (n,))
        return (a + d[..., None] * np.eye(n)).astype(dtype)
    return gen


def rhs(*shape, dtype=np.float32):
    return lambda rng: rng.standard_normal(shape).astype(dtype)


def fixed(value, dtype=np.float32):
    return lambda rng: np.asarray(value, dtype=dtype)


def tril(x):
    return jnp.tril(x)


def _both(id, fn, inputs_for, prims, f32_tol=F32_TOL, sizes=SIZES):
    """The case at every size, in float32 and float64."""
    out = []
    for n in sizes:
        for dt, tol, x64, name in ((np.float32, f32_tol, False, "f32"), (np.float64, F64_TOL, True, "f64")):
            out.append(case(f"{id}_n{n}_{name}", fn, inputs_for(n, dt), prims, tol=tol, x64=x64))
    return out


CASES = []

# -- cholesky -----------------------------------------------------------------------------------
CASES += _both("linalg_cholesky", jnp.linalg.cholesky, lambda n, dt: [spd(3, n, n, dtype=dt)], ["cholesky"])
CASES += [
    case("linalg_cholesky_unbatched", lambda a: lax.linalg.cholesky(a, symmetrize_input=False), [spd(6, 6)], ["cholesky"]),
    # Not positive definite: JAX gives NaN for the whole matrix (the good batch element stays finite).
    case("linalg_cholesky_not_spd", jnp.linalg.cholesky,
         [fixed([[[4.0, 2.0], [2.0, 1.0 - 3.0]], [[4.0, 2.0], [2.0, 3.0]]])], ["cholesky"]),
    case("linalg_cholesky_empty_batch", jnp.linalg.cholesky, [spd(0, 4, 4)], ["cholesky"]),
]

# -- triangular solves --------------------------------------------------------------------------
for left in (True, False):
    for lower in (True, False):
        for trans in (0, 1):
            for unit in (False, True):
                def fn(a, b, left=left, lower=lower, trans=trans, unit=unit):
                    return lax.linalg.triangular_solve(a, b, left_side=left, lower=lower, transpose_a=bool(trans),
                                                       unit_diagonal=unit)
                tag = f"{'left' if left else 'right'}_{'lower' if lower else 'upper'}_t{trans}_{'unit' if unit else 'diag'}"
                CASES += _both(f"linalg_triangular_solve_{tag}", fn,
                               lambda n, dt, left=left: [triangular(2, n, n, dtype=dt),
                                                         rhs(2, n, 3, dtype=dt) if left else rhs(2, 3, n, dtype=dt)],
                               ["triangular_solve"], sizes=(1, 5, 16))
CASES += [
    case("linalg_triangular_solve_conjugate", lambda a, b: lax.linalg.triangular_solve(
        a, b, left_side=True, lower=True, transpose_a=True, conjugate_a=True), [triangular(4, 4), rhs(4, 2)],
         ["triangular_solve"]),
]
CASES += _both("linalg_solve_triangular", lambda a, b: jsl.solve_triangular(a, b, lower=True, trans=1),
               lambda n, dt: [triangular(2, n, n, dtype=dt), rhs(2, n, 2, dtype=dt)], ["triangular_solve"], sizes=(3, 8))

# -- lu and what builds on it -------------------------------------------------------------------
CASES += _both("linalg_lu", lambda a: lax.linalg.lu(a), lambda n, dt: [general(2, n, n, dtype=dt)],
               ["lu"], f32_tol=F32_SOLVE_TOL)
CASES += [
    case("linalg_lu_wide", lambda a: lax.linalg.lu(a), [general(2, 3, 5)], ["lu"], tol=F32_SOLVE_TOL),
    case("linalg_lu_tall", lambda a: lax.linalg.lu(a), [general(2, 6, 4)], ["lu"], tol=F32_SOLVE_TOL),
    case("linalg_lu_singular", lambda a: lax.linalg.lu(a), [fixed([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]])], ["lu"]),
    case("linalg_lu_pivots_to_permutation", lambda p: lax.linalg.lu_pivots_to_permutation(p, 6),
         [fixed([[3, 4, 2, 5], [0, 1, 2, 3]], np.int32)], ["lu_pivots_to_permutation"]),
    case("scipy_lu", jsl.lu, [general(5, 5)], ["lu"], tol=F32_SOLVE_TOL),
    case("scipy_lu_factor_solve", lambda a, b: jsl.lu_solve(jsl.lu_factor(a), b), [general(5, 5), rhs(5, 2)], ["lu"],
         tol=F32_SOLVE_TOL),
]
CASES += _both("linalg_inv", jnp.linalg.inv, lambda n, dt: [general(2, n, n, dtype=dt)],
               ["lu", "triangular_solve", "custom_linear_solve"], f32_tol=F32_SOLVE_TOL)
CASES += _both("linalg_solve", jnp.linalg.solve, lambda n, dt: [general(2, n, n, dtype=dt), rhs(2, n, 3, dtype=dt)],
               ["lu", "custom_linear_solve"], f32_tol=F32_SOLVE_TOL, sizes=(1, 5, 16, 64))
# Below 4x4 jnp.linalg.det has closed forms; from there on it is lu.
CASES += _both("linalg_det", jnp.linalg.det, lambda n, dt: [general(2, n, n, dtype=dt, cond=4.0)], ["lu"],
               f32_tol=F32_SOLVE_TOL, sizes=(4, 5, 8))
CASES += _both("linalg_slogdet", jnp.linalg.slogdet, lambda n, dt: [general(2, n, n, dtype=dt)],
               ["lu"], f32_tol=F32_SOLVE_TOL, sizes=(3, 16, 64))
CASES += _both("linalg_slogdet_unbatched", jnp.linalg.slogdet, lambda n, dt: [general(n, n, dtype=dt)],
               ["lu", "platform_index"], f32_tol=F32_SOLVE_TOL, sizes=(3, 8))
CASES += [
    case("linalg_det_singular", jnp.linalg.det,
         [fixed([[1.0, 2.0, 0.0, 1.0], [2.0, 4.0, 0.0, 2.0], [0.0, 0.0, 1.0, 0.0], [1.0, 0.0, 0.0, 3.0]])], ["lu"]),
    case("linalg_slogdet_singular", jnp.linalg.slogdet, [fixed([[1.0, 2.0, 0.0], [2.0, 4.0, 0.0], [0.0, 0.0, 1.0]])], ["lu"]),
    case("linalg_inv_singular", jnp.linalg.inv, [fixed([[1.0, 2.0], [2.0, 4.0]])], ["lu"]),
    case("linalg_matrix_power", lambda a: jnp.linalg.matrix_power(a, -2), [general(2, 4, 4, cond=4.0)], ["lu"],
         tol=F32_SOLVE_TOL),
    case("scipy_cho_solve", lambda a, b: jsl.cho_solve(jsl.cho_factor(a, lower=True), b), [spd(4, 4), rhs(4, 3)],
         ["cholesky", "triangular_solve"], tol=F32_SOLVE_TOL),
    case("scipy_cho_solve_f64", lambda a, b: jsl.cho_solve(jsl.cho_factor(a), b),
         [spd(3, 6, 6, dtype=np.float64), rhs(3, 6, 2, dtype=np.float64)], ["cholesky", "triangular_solve"],
         tol=F64_TOL, x64=True),
]

# -- qr ----------------------------------------------------------------------------------------
# Householder with LAPACK's signs: Q and R compare with JAX's directly.
CASES += _both("linalg_qr", jnp.linalg.qr, lambda n, dt: [general(2, n, n, dtype=dt)], ["qr"], f32_tol=F32_SOLVE_TOL)
for mode in ("reduced", "complete", "r"):
    for m_, n_ in ((7, 4), (4, 7)):
        CASES += _both(f"linalg_qr_{mode}_{m_}x{n_}", lambda a, mode=mode: jnp.linalg.qr(a, mode=mode),
                       lambda n, dt, m_=m_, n_=n_: [general(3, m_, n_, dtype=dt)], ["qr"], f32_tol=F32_SOLVE_TOL, sizes=(0,))
CASES += [
    case("linalg_qr_rank_deficient", jnp.linalg.qr, [fixed([[1.0, 2.0, 3.0], [0.0, 0.0, 1.0], [0.0, 0.0, 2.0]])], ["qr"]),
    case("scipy_qr_economic", lambda a: jsl.qr(a, mode="economic"), [general(6, 3)], ["qr"], tol=F32_SOLVE_TOL),
    case("linalg_householder_product", lambda a, t: lax.linalg.householder_product(a, t),
         [general(2, 6, 4), rhs(2, 3)], ["householder_product"]),
    case("linalg_householder_product_f64", lambda a, t: lax.linalg.householder_product(a, t),
         [general(6, 6, dtype=np.float64), rhs(5, dtype=np.float64)], ["householder_product"], tol=F64_TOL, x64=True),
]

# Column pivoting (geqp3): the permutation is compared exactly; distinct random column norms
# make every pivot choice unique.
for full in (False, True):
    for m_, n_ in ((7, 4), (4, 7), (5, 5)):
        CASES += _both(f"linalg_qr_pivoting_{'full' if full else 'reduced'}_{m_}x{n_}",
                       lambda a, full=full: lax.linalg.qr(a, pivoting=True, full_matrices=full),
                       lambda n, dt, m_=m_, n_=n_: [f32(3, m_, n_) if dt == np.float32
                                                    else (lambda rng: f32(3, m_, n_)(rng).astype(np.float64))],
                       ["qr"], f32_tol=F32_SOLVE_TOL, sizes=(0,))
CASES += _both("linalg_qr_pivoting", lambda a: lax.linalg.qr(a, pivoting=True, full_matrices=False),
               lambda n, dt: [general(2, n, n, dtype=dt)], ["qr"], f32_tol=F32_SOLVE_TOL, sizes=(1, 3, 16, 64))
CASES += [
    case("scipy_qr_pivoting", lambda a: jsl.qr(a, pivoting=True), [general(8, 5)], ["qr"], tol=F32_SOLVE_TOL),
    case("scipy_qr_pivoting_economic", lambda a: jsl.qr(a, pivoting=True, mode="economic"), [general(5, 8)], ["qr"],
         tol=F32_SOLVE_TOL),
]

# -- eig and schur ---------------------------------------------------------------------------------
# The order of eigenvalues (the Schur form's diagonal) and the Schur form itself depend on the
# algorithm's path, so general inputs compare through what does not: power sums of the
# eigenvalues (traces of A and A²), the residual |A v - v λ| (any phase), and Z T Zᵀ.


def eig_invariants(a):
    w, v = jnp.linalg.eig(a)
    residual = jnp.abs(jnp.matmul(a.astype(v.dtype), v) - v * w[..., None, :]).max(axis=(-2, -1))
    return jnp.sum(w, axis=-1), jnp.sum(w * w, axis=-1), residual


def schur_reconstruction(a):
    t, z = lax.linalg.schur(a)
    return z @ t @ jnp.swapaxes(z, -1, -2), jnp.trace(t, axis1=-2, axis2=-1)


BLOCKS_2X2 = [[[1.0, 2.0], [-3.0, 0.5]], [[0.3, -1.5], [2.0, -0.4]], [[2.0, 1.0], [-1.0, 2.0]], [[0.5, -2.5], [1.2, 1.5]]]
for n in (2, 3, 5, 8):
    CASES += [
        case(f"linalg_eig_invariants_n{n}_f32", eig_invariants, [f32(3, n, n)], ["eig"], tol=F32_SOLVE_TOL),
        case(f"linalg_eig_invariants_n{n}_f64", eig_invariants, [lambda rng, n=n: f32(3, n, n)(rng).astype(np.float64)],
             ["eig"], tol=F64_TOL, x64=True),
        case(f"linalg_schur_reconstruction_n{n}_f32", schur_reconstruction, [f32(3, n, n)], ["schur"], tol=F32_SOLVE_TOL),
        case(f"linalg_schur_reconstruction_n{n}_f64", schur_reconstruction,
             [lambda rng, n=n: f32(3, n, n)(rng).astype(np.float64)], ["schur"], tol=F64_TOL, x64=True),
    ]
CASES += [
    # 1x1: the eigenvalue is the entry, both eigenvectors 1; the Schur form is the matrix.
    case("linalg_eig_1x1_full", lambda a: lax.linalg.eig(a, compute_left_eigenvectors=True), [f32(4, 1, 1)], ["eig"]),
    case("linalg_schur_1x1", lambda a: lax.linalg.schur(a), [f32(4, 1, 1)], ["schur"]),
    # 2x2 with complex eigenvalues: already a Schur block, rotated to LAPACK's standard form
    # (dlanv2: equal diagonal, off-diagonal entries of opposite sign), T, Z and eig as JAX's.
    case("linalg_schur_2x2_standard_block", lambda a: lax.linalg.schur(a), [fixed(BLOCKS_2X2)], ["schur"]),
    case("linalg_eig_2x2_standard_block", lambda a: lax.linalg.eig(a, compute_left_eigenvectors=True),
         [fixed(BLOCKS_2X2)], ["eig"]),
    # Upper triangular with distinct diagonal: already a Schur form, eigenvalues in its order.
    case("linalg_eigvals_triangular", jnp.linalg.eigvals, [fixed([[3.0, 1.0, -2.0], [0.0, 2.0, 0.5], [0.0, 0.0, -1.0]])],
         ["eig"]),
]

# Complex input (zgeev, zgees): the Schur form is triangular, and the same order-free quantities
# compare. Random complex normal matrices, both parts non-zero.


def complex_normal(*shape, dtype=np.complex64):
    return lambda rng: (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)


def complex_eig_invariants(a):
    w, vl, vr = lax.linalg.eig(a, compute_left_eigenvectors=True)
    right = jnp.abs(a @ vr - vr * w[..., None, :]).max(axis=(-2, -1))
    vlh = jnp.conj(jnp.swapaxes(vl, -1, -2))
    left = jnp.abs(vlh @ a - w[..., :, None] * vlh).max(axis=(-2, -1))
    norms = jnp.linalg.norm(vr, axis=-2), jnp.linalg.norm(vl, axis=-2)
    return jnp.sum(w, axis=-1), jnp.sum(w * w, axis=-1), right, left, *norms


def complex_schur_reconstruction(a):
    t, z = lax.linalg.schur(a)
    return z @ t @ jnp.conj(jnp.swapaxes(z, -1, -2)), jnp.trace(t, axis1=-2, axis2=-1), jnp.tril(t, -1)


for n in (1, 2, 3, 5, 8, 16):
    CASES += [
        case(f"linalg_eig_complex_invariants_n{n}_c64", complex_eig_invariants, [complex_normal(3, n, n)], ["eig"],
             tol=F32_SOLVE_TOL),
        case(f"linalg_eig_complex_invariants_n{n}_c128", complex_eig_invariants,
             [complex_normal(3, n, n, dtype=np.complex128)], ["eig"], tol=F64_TOL, x64=True),
        case(f"linalg_schur_complex_reconstruction_n{n}_c64", complex_schur_reconstruction, [complex_normal(3, n, n)],
             ["schur"], tol=F32_SOLVE_TOL),
        case(f"linalg_schur_complex_reconstruction_n{n}_c128", complex_schur_reconstruction,
             [complex_normal(3, n, n, dtype=np.complex128)], ["schur"], tol=F64_TOL, x64=True),
    ]
# Direct comparisons, where the Schur form is unique: 1x1 (T = A, Z = 1, vectors 1), and an upper
# triangular matrix with distinct diagonal (T = A, Z = I, eigenvalues in its order, vectors
# normalised as zgeev does: unit norm, largest entry real and positive).
TRIANGULAR_COMPLEX = [[2.0 + 1.0j, 1.0 - 0.5j, -2.0 + 0.3j, 0.4j], [0.0, -1.0 + 2.0j, 0.5 + 0.5j, 1.0],
                      [0.0, 0.0, 0.5 - 1.5j, -0.7 + 0.2j], [0.0, 0.0, 0.0, -2.5 - 0.5j]]
CASES += [
    case("linalg_eig_complex_1x1_full", lambda a: lax.linalg.eig(a, compute_left_eigenvectors=True),
         [complex_normal(4, 1, 1)], ["eig"]),
    case("linalg_schur_complex_1x1", lambda a: lax.linalg.schur(a), [complex_normal(4, 1, 1)], ["schur"]),
    case("linalg_eig_complex_triangular", lambda a: lax.linalg.eig(a, compute_left_eigenvectors=True),
         [fixed(TRIANGULAR_COMPLEX, np.complex64)], ["eig"]),
    case("linalg_eig_complex_triangular_c128", lambda a: lax.linalg.eig(a, compute_left_eigenvectors=True),
         [fixed(TRIANGULAR_COMPLEX, np.complex128)], ["eig"], tol=F64_TOL, x64=True),
    case("linalg_schur_complex_triangular", lambda a: lax.linalg.schur(a), [fixed(TRIANGULAR_COMPLEX, np.complex64)],
         ["schur"]),
    case("linalg_schur_complex_triangular_no_vectors", lambda a: lax.linalg.schur(a, compute_schur_vectors=False),
         [fixed(TRIANGULAR_COMPLEX, np.complex64)], ["schur"]),
    # Each combination of vectors asked for; values only is jnp.linalg.eigvals (order-free sums).
    case("linalg_eigvals_complex", lambda a: (lambda w: (jnp.sum(w, -1), jnp.sum(w * w * w, -1)))(jnp.linalg.eigvals(a)),
         [complex_normal(2, 6, 6)], ["eig"], tol=F32_SOLVE_TOL),
    case("linalg_eig_complex_left_only",
         lambda a: (lambda w, vl: jnp.abs(jnp.conj(vl).swapaxes(-1, -2) @ a - w[..., :, None] * jnp.conj(vl).swapaxes(-1, -2)).max((-2, -1)))(
             *lax.linalg.eig(a, compute_left_eigenvectors=True, compute_right_eigenvectors=False)),
         [complex_normal(2, 6, 6)], ["eig"], tol=F32_SOLVE_TOL),
    case("linalg_eig_complex_right_only",
         lambda a: (lambda w, vr: jnp.abs(a @ vr - vr * w[..., None, :]).max((-2, -1)))(*lax.linalg.eig(a, compute_left_eigenvectors=False)),
         [complex_normal(2, 6, 6)], ["eig"], tol=F32_SOLVE_TOL),
]

# -- eigh ----------------------------------------------------------------------------------------
def fix_signs(v, axis=-2):
    """Eigen- and singular vectors up to sign: each made positive at its largest-magnitude entry."""
    big = jnp.argmax(jnp.abs(v), axis=axis, keepdims=True)
    return v * jnp.sign(jnp.take_along_axis(v, big, axis=axis))


def eigh_fixed(a, lower=True):
    v, w = lax.linalg.eigh(a, lower=lower)
    return fix_signs(v), w


def eigh_residual(a):
    """‖A V - V Λ‖ and ‖VᵀV - I‖: small whatever basis a repeated eigenvalue gets."""
    w, v = jnp.linalg.eigh(a)
    eye = jnp.eye(a.shape[-1], dtype=a.dtype)
    return (jnp.abs(a @ v - v * w[..., None, :]).max() < 1e-4 * jnp.abs(a).max(),
            jnp.abs(jnp.swapaxes(v, -1, -2) @ v - eye).max() < 1e-5, w)


def sym(*shape, dtype=np.float32):
    """Symmetric with eigenvalues of both signs spread over [1, 100] in magnitude, well separated."""
    base = spd(*shape, dtype=np.float64)

    def gen(rng):
        a = base(rng)
        *batch, n, _ = shape
        w, v = np.linalg.eigh(a)
        w = np.sort(np.linspace(1.0, 100.0, n) * rng.choice([-1, 1], size=tuple(batch) + (n,)), axis=-1)
        return ((v * w[..., None, :]) @ np.swapaxes(v, -1, -2)).astype(dtype)
    return gen


# An eigenvector moves by about eps ‖A‖ / gap: with eigenvalues 100/n apart that is n * eps
# relative, so float32 vectors at n = 64 agree with JAX's to a few 1e-4.
F32_EIGVEC_TOL = dict(rtol=1e-3, atol=1e-3)
CASES += _both("linalg_eigh", eigh_fixed, lambda n, dt: [sym(2, n, n, dtype=dt)], ["eigh"], f32_tol=F32_EIGVEC_TOL)
CASES += [
    case("linalg_eigh_upper", lambda a: eigh_fixed(a, lower=False), [f32(3, 5, 5)], ["eigh"], tol=F32_SOLVE_TOL),
    case("linalg_eigvalsh", jnp.linalg.eigvalsh, [sym(4, 6, 6)], ["eigh"], tol=F32_SOLVE_TOL),
    case("linalg_eigh_unsorted_values", lambda a: jnp.sort(lax.linalg.eigh(a, sort_eigenvalues=False)[1]),
         [sym(2, 5, 5)], ["eigh"], tol=F32_SOLVE_TOL),
    # Repeated eigenvalues: any basis of the eigenspace is right, so check the residuals and values.
    case("linalg_eigh_repeated", eigh_residual,
         [fixed([[[2.0, 0.0, 0.0, 0.0], [0.0, 2.0, 0.0, 0.0], [0.0, 0.0, 5.0, 0.0], [0.0, 0.0, 0.0, 2.0]],
                 [[3.0, 1.0, 1.0, 1.0], [1.0, 3.0, 1.0, 1.0], [1.0, 1.0, 3.0, 1.0], [1.0, 1.0, 1.0, 3.0]]])], ["eigh"]),
    case("linalg_eigh_empty_batch", jnp.linalg.eigh, [sym(0, 3, 3)], ["eigh"]),
]

# -- svd -----------------------------------------------------------------------------------------
def svd_fixed(a):
    """Thin SVD with each (u_i, v_i) pair's free sign fixed by u_i."""
    u, s, vt = jnp.linalg.svd(a, full_matrices=False)
    big = jnp.argmax(jnp.abs(u), axis=-2, keepdims=True)
    sign = jnp.sign(jnp.take_along_axis(u, big, axis=-2))
    return u * sign, s, vt * jnp.swapaxes(sign, -1, -2)


def svd_full_checks(a):
    """full_matrices: the thin part as above; the completion is any orthonormal basis of the
    complement, so check U and V orthogonal and the reconstruction instead of its entries."""
    u, s, vt = jnp.linalg.svd(a, full_matrices=True)
    m, n = a.shape[-2:]
    k = min(m, n)
    recon = (u[..., :, :k] * s[..., None, :]) @ vt[..., :k, :]
    ortho_u = jnp.abs(jnp.swapaxes(u, -1, -2) @ u - jnp.eye(m, dtype=a.dtype)).max()
    ortho_v = jnp.abs(vt @ jnp.swapaxes(vt, -1, -2) - jnp.eye(n, dtype=a.dtype)).max()
    return s, jnp.abs(recon - a).max() < 1e-4 * jnp.abs(a).max(), ortho_u < 1e-5, ortho_v < 1e-5, u.shape[-1] + vt.shape[-2]


CASES += _both("linalg_svd", svd_fixed, lambda n, dt: [general(2, n, n, dtype=dt)], ["svd"], f32_tol=F32_EIGVEC_TOL)
for m_, n_ in ((7, 4), (4, 7)):
    CASES += _both(f"linalg_svd_{m_}x{n_}", svd_fixed, lambda n, dt, m_=m_, n_=n_: [general(3, m_, n_, dtype=dt)], ["svd"],
                   f32_tol=F32_EIGVEC_TOL, sizes=(0,))
    CASES += [case(f"linalg_svd_full_{m_}x{n_}", svd_full_checks, [general(3, m_, n_)], ["svd"], tol=F32_SOLVE_TOL)]
CASES += _both("linalg_svdvals", jnp.linalg.svdvals, lambda n, dt: [general(2, n, n + 2, dtype=dt)], ["svd"],
               f32_tol=F32_SOLVE_TOL, sizes=(1, 3, 16, 64))
CASES += [
    case("linalg_pinv", jnp.linalg.pinv, [general(2, 6, 4)], ["svd"], tol=F32_SOLVE_TOL),
    case("linalg_pinv_f64", jnp.linalg.pinv, [general(2, 5, 8, dtype=np.float64)], ["svd"], tol=F64_TOL, x64=True),
    case("linalg_lstsq", lambda a, b: jnp.linalg.lstsq(a, b)[0], [general(8, 5), rhs(8, 2)], ["svd"], tol=F32_SOLVE_TOL),
    case("linalg_matrix_rank", jnp.linalg.matrix_rank,
         [fixed([[[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]], [[1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 3.0]]])],
         ["svd"]),
    case("linalg_norm_2", lambda a: jnp.linalg.norm(a, ord=2, axis=(-2, -1)), [general(3, 5, 5)], ["svd"], tol=F32_SOLVE_TOL),
    case("linalg_norm_nuc", lambda a: jnp.linalg.norm(a, ord="nuc", axis=(-2, -1)), [general(3, 4, 6)], ["svd"],
         tol=F32_SOLVE_TOL),
    case("linalg_cond", jnp.linalg.cond, [general(3, 5, 5)], ["svd"], tol=F32_SOLVE_TOL),
    case("linalg_svd_rank_deficient_values", jnp.linalg.svdvals, [fixed([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]])],
         ["svd"]),
]

# -- tridiagonal_solve, cholesky_update --------------------------------------------------------
def diagonals(*shape, dtype=np.float32):
    """dl, d, du of a diagonally dominant tridiagonal matrix (dl[0] and du[-1] unused: random)."""
    def gen(rng):
        off = rng.uniform(-1, 1, size=(2,) + shape)
        d = (rng.uniform(2.5, 4, size=shape) * rng.choice([-1, 1], size=shape))
        return np.stack([off[0], d, off[1]]).astype(dtype)
    return gen


def tridiagonal_solve(diags, b):
    return lax.linalg.tridiagonal_solve(diags[0], diags[1], diags[2], b)


CASES += _both("linalg_tridiagonal_solve", tridiagonal_solve,
               lambda n, dt: [diagonals(2, n, dtype=dt), rhs(2, n, 3, dtype=dt)], ["tridiagonal_solve"], sizes=(1, 2, 5, 64))


def upper_factor(n, dtype=np.float32):
    base = spd(n, n, dtype=np.float64, cond=10.0)
    return lambda rng: np.linalg.cholesky(base(rng)).T.astype(dtype)


CASES += _both("linalg_cholesky_update", lambda r, w: lax.linalg.cholesky_update(r, w),
               lambda n, dt: [upper_factor(n, dtype=dt), rhs(n, dtype=dt)], ["cholesky_update"], sizes=(1, 3, 8, 32))

def ormqr(a, c, left, transpose):
    h, taus = jnp.linalg.qr(a, mode="raw")
    return lax.linalg.ormqr(jnp.swapaxes(h, -1, -2), taus, c, left=left, transpose=transpose)


CASES += [case("linalg_qr_raw", lambda a: jnp.linalg.qr(a, mode="raw"), [general(2, 6, 4)], ["geqrf"], tol=F32_SOLVE_TOL)]
for left in (True, False):
    for transpose in (False, True):
        CASES += _both(f"linalg_ormqr_{'left' if left else 'right'}{'_t' if transpose else ''}",
                       lambda a, c, left=left, transpose=transpose: ormqr(a, c, left, transpose),
                       lambda n, dt, left=left: [general(2, 6, 4, dtype=dt), rhs(2, 6, 3, dtype=dt) if left else rhs(2, 3, 6, dtype=dt)],
                       ["geqrf", "ormqr"], f32_tol=F32_SOLVE_TOL, sizes=(0,))

# -- geqp3 (pivoted geqrf, LAPACK's packed form) -----------------------------------------------------
# The packed reflectors, pivots (1-based) and taus are compared directly: the signs are LAPACK's,
# and distinct random column norms make every pivot choice unique. A nonzero jpvt entry fixes its
# column at the front. JAX binds geqp3 only inside qr(pivoting=True) and does not export it, so
# the cases call its internal wrapper.
from jax._src.lax.linalg import geqp3 as _geqp3


def _random_f(dt, *shape):
    return lambda rng: f32(*shape)(rng).astype(dt)


for m_, n_ in ((1, 1), (7, 4), (4, 7), (5, 5), (16, 16)):
    CASES += _both(f"linalg_geqp3_{m_}x{n_}", lambda a: _geqp3(a, jnp.zeros(a.shape[:-2] + a.shape[-1:], jnp.int32)),
                   lambda n, dt, m_=m_, n_=n_: [_random_f(dt, 3, m_, n_)], ["geqp3"], f32_tol=F32_SOLVE_TOL, sizes=(0,))
CASES += _both("linalg_geqp3_fixed_columns", lambda a, p: _geqp3(a, p),
               lambda n, dt: [_random_f(dt, 2, 6, 5), fixed([[0, 1, 0, 1, 0], [0, 0, 0, 0, 1]], np.int32)],
               ["geqp3"], f32_tol=F32_SOLVE_TOL, sizes=(0,))

# -- hessenberg (gehrd, LAPACK's packed form) ---------------------------------------------------------
CASES += _both("linalg_hessenberg", lambda a: lax.linalg.hessenberg(a),
               lambda n, dt: [_random_f(dt, 2, n, n)], ["hessenberg"], f32_tol=F32_SOLVE_TOL, sizes=(1, 2, 3, 5, 16))

# -- symmetric_product (alpha a aᵀ + beta c) ----------------------------------------------------------
for symmetrize in (False, True):
    for m_, n_ in ((1, 1), (3, 5), (5, 3), (16, 8)):
        CASES += _both(f"linalg_symmetric_product{'_symmetrized' if symmetrize else ''}_{m_}x{n_}",
                       lambda a, c, symmetrize=symmetrize: lax.linalg.symmetric_product(a, c, alpha=-1.5, beta=0.75, symmetrize_output=symmetrize),
                       lambda n, dt, m_=m_, n_=n_: [_random_f(dt, 2, m_, n_), _random_f(dt, 2, m_, m_)],
                       ["symmetric_product"], sizes=(0,))

# -- tridiagonal (sytrd) ---------------------------------------------------------------------------
for lower in (True, False):
    CASES += _both(f"linalg_tridiagonal_{'lower' if lower else 'upper'}", lambda a, lower=lower: lax.linalg.tridiagonal(a, lower=lower),
                   lambda n, dt: [f32(2, n, n) if dt == np.float32 else (lambda rng: f32(2, n, n)(rng).astype(np.float64))],
                   ["tridiagonal"], f32_tol=F32_SOLVE_TOL, sizes=(1, 2, 4, 16))

REQUIRED = ["cholesky", "triangular_solve", "lu", "lu_pivots_to_permutation", "custom_linear_solve", "platform_index",
            "qr", "householder_product", "eigh", "svd",
            "tridiagonal_solve", "cholesky_update", "tridiagonal", "geqrf", "ormqr", "eig", "schur",
            "geqp3", "hessenberg", "symmetric_product"]
