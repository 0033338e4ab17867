//! Thin wrappers over faer's decompositions, always sequential (`Par::Seq`) so that results are
//! bit-identical whatever the thread count, with faer's errors mapped to [`Error`].
//!
//! All matrices here are small (operator-sized) except where a caller says otherwise.

use faer::diag::Diag;
use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::evd::ComputeEigenvectors;
use faer::linalg::svd::ComputeSvdVectors;
use faer::{Accum, Mat, MatRef, Par};

use crate::error::{Error, Result};

/// The parallelism used for every dense kernel in the library (see the module docs).
pub(crate) const PAR: Par = Par::Seq;

/// C = A B (sequential).
pub(crate) fn mul(a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> Mat<f64> {
    let mut c = Mat::zeros(a.nrows(), b.ncols());
    faer::linalg::matmul::matmul(c.as_mut(), Accum::Replace, a, b, 1.0, PAR);
    c
}

/// Thin SVD A = U diag(s) Vᵀ, singular values non-increasing.
/// Returns (U: m×p, s: p, V: n×p) with p = min(m, n).
pub(crate) fn svd(
    a: MatRef<'_, f64>,
    what: &'static str,
) -> Result<(Mat<f64>, Vec<f64>, Mat<f64>)> {
    let (m, n) = a.shape();
    let p = m.min(n);
    let mut s = Diag::<f64>::zeros(p);
    let mut u = Mat::<f64>::zeros(m, p);
    let mut v = Mat::<f64>::zeros(n, p);
    let req = faer::linalg::svd::svd_scratch::<f64>(
        m,
        n,
        ComputeSvdVectors::Thin,
        ComputeSvdVectors::Thin,
        PAR,
        Default::default(),
    );
    let mut buf = MemBuffer::new(req);
    faer::linalg::svd::svd(
        a,
        s.as_mut(),
        Some(u.as_mut()),
        Some(v.as_mut()),
        PAR,
        MemStack::new(&mut buf),
        Default::default(),
    )
    .map_err(|_| Error::Decomposition { what })?;
    let s = s.column_vector().iter().copied().collect();
    Ok((u, s, v))
}

/// Singular values only, non-increasing.
pub(crate) fn singular_values(a: MatRef<'_, f64>, what: &'static str) -> Result<Vec<f64>> {
    let (m, n) = a.shape();
    let p = m.min(n);
    let mut s = Diag::<f64>::zeros(p);
    let req = faer::linalg::svd::svd_scratch::<f64>(
        m,
        n,
        ComputeSvdVectors::No,
        ComputeSvdVectors::No,
        PAR,
        Default::default(),
    );
    let mut buf = MemBuffer::new(req);
    faer::linalg::svd::svd(
        a,
        s.as_mut(),
        None,
        None,
        PAR,
        MemStack::new(&mut buf),
        Default::default(),
    )
    .map_err(|_| Error::Decomposition { what })?;
    Ok(s.column_vector().iter().copied().collect())
}

/// Symmetric eigendecomposition A = W diag(w) Wᵀ of a symmetric matrix (only the lower triangle is
/// read), eigenvalues non-decreasing.
pub(crate) fn sym_eig(a: MatRef<'_, f64>, what: &'static str) -> Result<(Vec<f64>, Mat<f64>)> {
    let n = a.nrows();
    let mut s = Diag::<f64>::zeros(n);
    let mut w = Mat::<f64>::zeros(n, n);
    let req = faer::linalg::evd::self_adjoint_evd_scratch::<f64>(
        n,
        ComputeEigenvectors::Yes,
        PAR,
        Default::default(),
    );
    let mut buf = MemBuffer::new(req);
    faer::linalg::evd::self_adjoint_evd(
        a,
        s.as_mut(),
        Some(w.as_mut()),
        PAR,
        MemStack::new(&mut buf),
        Default::default(),
    )
    .map_err(|_| Error::Decomposition { what })?;
    Ok((s.column_vector().iter().copied().collect(), w))
}

/// Eigenvalues (re, im) of a real square matrix, in faer's order (callers sort).
pub(crate) fn eigenvalues(a: MatRef<'_, f64>, what: &'static str) -> Result<Vec<(f64, f64)>> {
    let n = a.nrows();
    if n == 0 {
        return Ok(Vec::new());
    }
    let mut re = Diag::<f64>::zeros(n);
    let mut im = Diag::<f64>::zeros(n);
    let req = faer::linalg::evd::evd_scratch::<f64>(
        n,
        ComputeEigenvectors::No,
        ComputeEigenvectors::No,
        PAR,
        Default::default(),
    );
    let mut buf = MemBuffer::new(req);
    faer::linalg::evd::evd_real(
        a,
        re.as_mut(),
        im.as_mut(),
        None,
        None,
        PAR,
        MemStack::new(&mut buf),
        Default::default(),
    )
    .map_err(|_| Error::Decomposition { what })?;
    Ok(re
        .column_vector()
        .iter()
        .zip(im.column_vector().iter())
        .map(|(&r, &i)| (r, i))
        .collect())
}

/// Checks that every entry is finite; the error names `array` and the first non-finite entry in
/// row-major order as `[i, j]`. The scan runs down faer's columns (contiguous), so a tall Hankel
/// matrix is read at memory speed; only when something is found is the row-major first entry located.
pub(crate) fn check_finite(a: MatRef<'_, f64>, array: &str) -> Result<()> {
    let all_finite = (0..a.ncols()).all(|j| a.col(j).iter().all(|x| x.is_finite()));
    if all_finite {
        return Ok(());
    }
    for i in 0..a.nrows() {
        for j in 0..a.ncols() {
            let value = a[(i, j)];
            if !value.is_finite() {
                return Err(Error::NonFinite {
                    array: array.to_string(),
                    index: vec![i, j],
                    value,
                });
            }
        }
    }
    Ok(())
}

/// Frobenius norm, computed with scaling so that entries near 1e±300 neither overflow nor underflow.
pub(crate) fn frob_norm(a: MatRef<'_, f64>) -> f64 {
    let mut scale = 0.0f64;
    for j in 0..a.ncols() {
        for i in 0..a.nrows() {
            scale = scale.max(a[(i, j)].abs());
        }
    }
    if scale == 0.0 || !scale.is_finite() {
        return scale;
    }
    let mut ss = 0.0;
    for j in 0..a.ncols() {
        for i in 0..a.nrows() {
            let x = a[(i, j)] / scale;
            ss += x * x;
        }
    }
    scale * ss.sqrt()
}

/// Solves (A) X = B in place for symmetric positive-definite A (lower triangle read, A overwritten by
/// its Cholesky factor). Returns `false` when a pivot is not positive (A not numerically SPD).
pub(crate) fn spd_solve_in_place(mut a: faer::MatMut<'_, f64>, b: faer::MatMut<'_, f64>) -> bool {
    use faer::linalg::cholesky::llt;
    let n = a.nrows();
    let mut buf = MemBuffer::new(llt::factor::cholesky_in_place_scratch::<f64>(
        n,
        PAR,
        Default::default(),
    ));
    if llt::factor::cholesky_in_place(
        a.as_mut(),
        Default::default(),
        PAR,
        MemStack::new(&mut buf),
        Default::default(),
    )
    .is_err()
    {
        return false;
    }
    let mut buf = MemBuffer::new(llt::solve::solve_in_place_scratch::<f64>(n, b.ncols(), PAR));
    llt::solve::solve_in_place_with_conj(
        a.as_ref(),
        faer::Conj::No,
        b,
        PAR,
        MemStack::new(&mut buf),
    );
    true
}

/// Householder QR of a tall matrix (rows ≥ cols) in place: on return the upper triangle of `a` holds R
/// and the part below the diagonal the Householder vectors; the returned matrix holds the block
/// Householder factors needed by [`apply_q`]. No copy of `a` is made.
pub(crate) fn qr_in_place(mut a: faer::MatMut<'_, f64>) -> Mat<f64> {
    use faer::linalg::qr::no_pivoting::factor;
    let (m, n) = a.shape();
    let bs = factor::recommended_block_size::<f64>(m, n);
    let mut q_coeff = Mat::<f64>::zeros(bs, m.min(n));
    let mut buf = MemBuffer::new(factor::qr_in_place_scratch::<f64>(
        m,
        n,
        bs,
        PAR,
        Default::default(),
    ));
    factor::qr_in_place(
        a.as_mut(),
        q_coeff.as_mut(),
        PAR,
        MemStack::new(&mut buf),
        Default::default(),
    );
    q_coeff
}

/// The bytes [`qr_in_place`] and [`apply_q`] (on a rows × k right-hand side) allocate besides their
/// arguments (spec/operator.md §7.1): the block factors and faer's workspaces, as faer itself
/// computes them, plus one m × bs panel for the matrix-product kernel's thread-local packing
/// buffer (a measured bound: the kernel reserves far more address space than it touches).
pub(crate) fn qr_workspace_bytes(m: usize, n: usize, k: usize) -> u64 {
    use faer::linalg::householder;
    use faer::linalg::qr::no_pivoting::factor;
    // faer's size functions multiply unchecked; beyond 2^48 elements (2 PiB) no budget can hold the
    // fit anyway, so the estimate saturates instead of asking faer.
    const LIMIT: usize = 1 << 48;
    if m.checked_mul(n.max(k)).is_none_or(|x| x > LIMIT) {
        return u64::MAX;
    }
    let bs = factor::recommended_block_size::<f64>(m, n);
    let coeff = (bs as u64)
        .saturating_mul(m.min(n) as u64)
        .saturating_mul(8);
    let qr = factor::qr_in_place_scratch::<f64>(m, n, bs, PAR, Default::default())
        .unaligned_bytes_required() as u64;
    let apply =
        householder::apply_block_householder_sequence_on_the_left_in_place_scratch::<f64>(m, bs, k)
            .unaligned_bytes_required() as u64;
    let packing = (m as u64).saturating_mul(bs as u64).saturating_mul(8);
    coeff.saturating_add(qr.max(apply)).saturating_add(packing)
}

/// Overwrites `x` (rows × k) with Q x, where Q is the orthogonal factor of a QR computed by
/// [`qr_in_place`] (`factored` is the factored matrix, `q_coeff` its block factors).
pub(crate) fn apply_q(
    factored: MatRef<'_, f64>,
    q_coeff: MatRef<'_, f64>,
    x: faer::MatMut<'_, f64>,
) {
    use faer::linalg::householder;
    let req = householder::apply_block_householder_sequence_on_the_left_in_place_scratch::<f64>(
        factored.nrows(),
        q_coeff.nrows(),
        x.ncols(),
    );
    let mut buf = MemBuffer::new(req);
    householder::apply_block_householder_sequence_on_the_left_in_place_with_conj(
        factored,
        q_coeff,
        faer::Conj::No,
        x,
        PAR,
        MemStack::new(&mut buf),
    );
}
