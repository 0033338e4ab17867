//! Lower bounds and closed forms for PAVF (spec/alignment.md §6, §7).

use faer::{Mat, MatRef};

use super::starts::sym_skew;
use crate::error::Result;
use crate::linalg::{mul, singular_values, sym_eig};

/// ‖x − y‖₂ of two equally long sequences, each scaled (x·sx, y·sy).
fn diff_norm(x: &[f64], sx: f64, y: &[f64], sy: f64) -> f64 {
    x.iter()
        .zip(y)
        .map(|(p, q)| {
            let d = p * sx - q * sy;
            d * d
        })
        .sum::<f64>()
        .sqrt()
}

/// The spectral data every bound needs, for one normalised operator X̂ (spec/alignment.md §6).
pub(super) struct Spectra {
    /// Eigenvalues of the symmetric part S = (X̂ + X̂ᵀ)/2, ascending.
    pub(super) sym_values: Vec<f64>,
    /// The matching orthonormal eigenvectors (columns).
    pub(super) sym_vectors: Mat<f64>,
    /// Singular values of K, non-increasing.
    pub(super) skew_singular: Vec<f64>,
    /// Singular values of X̂, non-increasing.
    pub(super) singular: Vec<f64>,
}

impl Spectra {
    pub(super) fn new(x: MatRef<'_, f64>, what: Which) -> Result<Self> {
        let (s, k) = sym_skew(x);
        let (sym_values, sym_vectors) = sym_eig(s.as_ref(), what.sym())?;
        let skew_singular = singular_values(k.as_ref(), what.skew())?;
        let singular = singular_values(x, what.full())?;
        Ok(Self {
            sym_values,
            sym_vectors,
            skew_singular,
            singular,
        })
    }
}

/// Which operator a decomposition concerns (for error messages).
#[derive(Clone, Copy)]
pub(super) enum Which {
    A,
    B,
}

impl Which {
    fn sym(self) -> &'static str {
        match self {
            Which::A => "eigendecomposition of the symmetric part of operator A",
            Which::B => "eigendecomposition of the symmetric part of operator B",
        }
    }
    fn skew(self) -> &'static str {
        match self {
            Which::A => "SVD of the skew part of operator A",
            Which::B => "SVD of the skew part of operator B",
        }
    }
    fn full(self) -> &'static str {
        match self {
            Which::A => "SVD of operator A",
            Which::B => "SVD of operator B",
        }
    }
}

/// Lower bound on min_C ‖sa·Â − C (sb·B̂) Cᵀ‖_F (spec/alignment.md §6): the larger of
/// Mirsky, ‖sa·σ(Â) − sb·σ(B̂)‖₂, and the split bound
/// √(‖sa·λ↑(S_A) − sb·λ↑(S_B)‖² + ‖sa·σ(K_A) − sb·σ(K_B)‖²). Not yet reduced by the rounding margin.
pub(super) fn lower_bound(a: &Spectra, sa: f64, b: &Spectra, sb: f64) -> f64 {
    let mirsky = diff_norm(&a.singular, sa, &b.singular, sb);
    let s = diff_norm(&a.sym_values, sa, &b.sym_values, sb);
    let k = diff_norm(&a.skew_singular, sa, &b.skew_singular, sb);
    let split = (s * s + k * k).sqrt();
    mirsky.max(split)
}

/// True when X equals Xᵀ bit for bit.
pub(super) fn exactly_symmetric(x: MatRef<'_, f64>) -> bool {
    let n = x.nrows();
    (0..n).all(|j| (0..j).all(|i| x[(i, j)] == x[(j, i)]))
}

/// Closed form for symmetric A and B (spec/alignment.md §7.1): C = V_A V_Bᵀ, eigenvalues in the same
/// (ascending) order.
pub(super) fn closed_symmetric(a: &Spectra, b: &Spectra) -> Mat<f64> {
    mul(a.sym_vectors.as_ref(), b.sym_vectors.transpose())
}

/// The decomposition X = αI + βJ + S of a 2×2 matrix (J = [[0, −1], [1, 0]], S = [[p, q], [q, −p]]):
/// returns (α, β, p, q).
fn parts2(x: MatRef<'_, f64>) -> (f64, f64, f64, f64) {
    let alpha = 0.5 * (x[(0, 0)] + x[(1, 1)]);
    let beta = 0.5 * (x[(1, 0)] - x[(0, 1)]);
    let p = 0.5 * (x[(0, 0)] - x[(1, 1)]);
    let q = 0.5 * (x[(0, 1)] + x[(1, 0)]);
    (alpha, beta, p, q)
}

/// Closed form for n = 2 (spec/alignment.md §7.2): returns C and the exact minimum
/// d² = 2(α_A − α_B)² + 2 min(|β_A − β_B|, |β_A + β_B|)² + 2(s_A − s_B)².
pub(super) fn closed_2x2(a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> (Mat<f64>, f64) {
    let (aa, ba, pa, qa) = parts2(a);
    let (ab, bb, pb, qb) = parts2(b);
    let psi_a = qa.atan2(pa);
    let psi_b = qb.atan2(pb);
    let (sa, sb) = (pa.hypot(qa), pb.hypot(qb));
    let rotation = (ba - bb).abs() <= (ba + bb).abs();
    let c = if rotation {
        // C = R(φ), 2φ = ψ_A − ψ_B: rotates S_B's angle onto S_A's, keeps J.
        let phi = 0.5 * (psi_a - psi_b);
        let (s, co) = phi.sin_cos();
        Mat::from_fn(2, 2, |i, j| match (i, j) {
            (0, 0) | (1, 1) => co,
            (0, 1) => -s,
            _ => s,
        })
    } else {
        // C = R(φ) F, F = diag(1, −1): F conjugates S_B's angle and flips β_B; 2φ = ψ_A + ψ_B.
        let phi = 0.5 * (psi_a + psi_b);
        let (s, co) = phi.sin_cos();
        Mat::from_fn(2, 2, |i, j| match (i, j) {
            (0, 0) => co,
            (1, 0) => s,
            (0, 1) => s,
            _ => -co,
        })
    };
    let db = (ba - bb).abs().min((ba + bb).abs());
    let d2 = 2.0 * (aa - ab).powi(2) + 2.0 * db * db + 2.0 * (sa - sb).powi(2);
    (c, d2.sqrt())
}
