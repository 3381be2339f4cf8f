import PluginKit

/// The built-in pack for dense linear algebra: factorizations, triangular solves and
/// decompositions as ONNX `Loop`s over columns (or sweeps), so the graph's size does not depend
/// on the matrix size. See docs/linalg.md for the algorithms and their conventions.
let linalgPack = Pack(
    name: "Linalg", version: "0.1.0",
    description: "cholesky, triangular_solve, lu, qr, eigh, svd, eig, schur and friends as Loops over columns or sweeps",
    lowerings: [choleskyLowering(), triangularSolveLowering(), luLowering(), luPivotsToPermutationLowering(),
                customLinearSolveLowering(), platformIndexLowering()]
        + qrLowerings() + schurLowerings() + eighLowerings() + svdLowerings() + [tridiagonalSolveLowering(), choleskyUpdateLowering(), tridiagonalLowering(), symmetricProductLowering(), hessenbergLowering()])

@_cdecl("jax2onnx_pack")
public func jax2onnxPack() -> UnsafeRawPointer { linalgPack.descriptor }
