//! Geometric (non-dynamical) similarity baselines between two representations of the same samples:
//! Procrustes shape distances (Williams, Kunz, Kornblith & Linderman, NeurIPS 2021) and linear CKA
//! (Kornblith, Norouzi, Lee & Hinton, ICML 2019).
//!
//! A representation is an M × N matrix: M samples (rows, e.g. time points or stimuli, the same for both
//! representations and in the same order) by N features (columns, e.g. neurons; N may differ between the
//! two). Everything is computed from N × N cross-products, never from M × M Gram matrices, so M can be
//! large. Spec: `spec/cases.md`, section "Baselines".

use faer::{Mat, MatRef};
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::linalg;

/// A representation prepared once (spec/cases.md, Baselines §B.1): finite-checked, columns centred,
/// rescaled by powers of two (exact, and harmless since every score is scale invariant).
struct Centred {
    /// X̃ · 2^k: the centred columns, largest |entry| in [½, 1).
    x: Mat<f64>,
    /// ‖X̃ 2^k‖_F.
    norm: f64,
}

/// The largest |entry| of a matrix (0 for an all-zero matrix).
fn max_abs(a: MatRef<'_, f64>) -> f64 {
    let mut m = 0.0f64;
    for j in 0..a.ncols() {
        for i in 0..a.nrows() {
            m = m.max(a[(i, j)].abs());
        }
    }
    m
}

/// A power of two 2^k with m · 2^k in [½, 1) (k clamped to ±1000 so that 2^k itself is finite; for
/// subnormal m the product is then merely small). m must be finite and positive.
fn pow2_scale(m: f64) -> f64 {
    let k = -(m.log2().floor() as i32) - 1;
    2f64.powi(k.clamp(-1000, 1000))
}

/// Validates and centres one representation (spec/cases.md, Baselines §B.1).
///
/// Steps: check non-empty and finite; scale by 2^k so that max |x_ij| ∈ [½, 1) (no overflow in the
/// sums below); subtract each column's mean, computed in two passes (x̄ = Σx/M, then x̄ += Σ(x − x̄)/M);
/// a column whose entries are all equal is set to exactly 0 (so a constant column is never turned into
/// rounding noise); rescale by 2^k again; refuse X̃ = 0.
fn centre(x: MatRef<'_, f64>, name: &str) -> Result<Centred> {
    let (m, n) = x.shape();
    if m == 0 || n == 0 {
        return Err(Error::Shape {
            array: name.to_string(),
            reason: format!(
                "{m} × {n}: a representation needs at least one sample (row) and one feature (column)"
            ),
        });
    }
    linalg::check_finite(x, name)?;
    let raw_max = max_abs(x);
    if raw_max == 0.0 {
        return Err(zero_variance(name));
    }
    let s1 = pow2_scale(raw_max);
    let mf = m as f64;
    let mut c = Mat::<f64>::zeros(m, n);
    for j in 0..n {
        let first = x[(0, j)];
        if (1..m).all(|i| x[(i, j)] == first) {
            continue; // constant column: exactly zero after centring
        }
        let mut sum = 0.0;
        for i in 0..m {
            sum += x[(i, j)] * s1;
        }
        let mean0 = sum / mf;
        let mut corr = 0.0;
        for i in 0..m {
            corr += x[(i, j)] * s1 - mean0;
        }
        let mean = mean0 + corr / mf;
        for i in 0..m {
            c[(i, j)] = x[(i, j)] * s1 - mean;
        }
    }
    let centred_max = max_abs(c.as_ref());
    if centred_max == 0.0 {
        return Err(zero_variance(name));
    }
    let s2 = pow2_scale(centred_max);
    for j in 0..n {
        for i in 0..m {
            c[(i, j)] *= s2;
        }
    }
    let norm = linalg::frob_norm(c.as_ref());
    Ok(Centred { x: c, norm })
}

fn zero_variance(name: &str) -> Error {
    Error::InvalidParameter {
        name: "representation",
        value: format!("{name} (every column constant)"),
        reason:
            "the representation has zero variance after centring its columns (‖X̃‖_F = 0), so its \
                 normalised shape, and any distance to it, is undefined"
                .to_string(),
    }
}

fn check_rows(x: MatRef<'_, f64>, y: MatRef<'_, f64>) -> Result<()> {
    if x.nrows() != y.nrows() {
        return Err(Error::Shape {
            array: "y".to_string(),
            reason: format!(
                "{} rows, but x has {}: both representations must have the same samples (rows), in \
                 the same order",
                y.nrows(),
                x.nrows()
            ),
        });
    }
    Ok(())
}

/// The Procrustes chord d = min_Q ‖X̂ − ŶQ‖_F (X̂ = X̃/‖X̃‖_F, Ŷ = Ỹ/‖Ỹ‖_F, Q orthogonal after
/// zero-padding) computed as the norm of the residual at the optimal Q, not as √(2 − 2‖X̂ᵀŶ‖_*), so that
/// small distances keep full accuracy (spec/cases.md, Baselines §B.2, §B.5).
///
/// With N_x ≤ N_y (else the roles are swapped; d is symmetric) and X̂ᵀŶ = U S Vᵀ (thin SVD, U square),
/// the optimal map sends Ŷ to ŶVUᵀ in X's features and the rest of Ŷ, Ŷ(I − VVᵀ), to the padding:
///
/// d² = ‖X̂ − ŶVUᵀ‖²_F + ‖Ŷ − ŶVVᵀ‖²_F   (the second term is absent when N_x = N_y).
fn procrustes_chord(a: &Centred, b: &Centred) -> Result<f64> {
    let (a, b) = if a.x.ncols() <= b.x.ncols() {
        (a, b)
    } else {
        (b, a)
    };
    let (m, nx, ny) = (a.x.nrows(), a.x.ncols(), b.x.ncols());
    let g = linalg::mul(a.x.transpose(), b.x.as_ref());
    let (u, _s, v) = linalg::svd(g.as_ref(), "SVD of the cross-product X̃ᵀỸ")?;
    // Ŷ V and (Ŷ V) Uᵀ, on the unnormalised centred matrices; normalisation is applied entrywise.
    let yv = linalg::mul(b.x.as_ref(), v.as_ref());
    let yq = linalg::mul(yv.as_ref(), u.transpose());
    let r1 = Mat::<f64>::from_fn(m, nx, |i, j| a.x[(i, j)] / a.norm - yq[(i, j)] / b.norm);
    let d1 = linalg::frob_norm(r1.as_ref());
    let d2 = if nx == ny {
        0.0
    } else {
        let proj = linalg::mul(yv.as_ref(), v.transpose());
        let r2 = Mat::<f64>::from_fn(m, ny, |i, j| (b.x[(i, j)] - proj[(i, j)]) / b.norm);
        linalg::frob_norm(r2.as_ref())
    };
    Ok(d1.hypot(d2).min(2f64.sqrt()))
}

/// θ = 2 arcsin(d/2) from the chord d ∈ [0, √2] (spec/cases.md, Baselines §B.2).
fn chord_to_angle(d: f64) -> f64 {
    2.0 * (0.5 * d).min(1.0).asin()
}

/// ‖X̃ᵀX̃‖_F (spec/cases.md, Baselines §B.3).
fn gram_norm(a: &Centred) -> f64 {
    linalg::frob_norm(linalg::mul(a.x.transpose(), a.x.as_ref()).as_ref())
}

/// CKA = ‖X̃ᵀỸ‖²_F / (‖X̃ᵀX̃‖_F ‖ỸᵀỸ‖_F), clamped to [0, 1] (spec/cases.md, Baselines §B.3).
fn cka_value(a: &Centred, b: &Centred, gram_a: f64, gram_b: f64) -> f64 {
    let f = linalg::frob_norm(linalg::mul(a.x.transpose(), b.x.as_ref()).as_ref());
    (f * f / (gram_a * gram_b)).clamp(0.0, 1.0)
}

/// Angular Procrustes shape distance (Williams et al. 2021; spec/cases.md, Baselines §B.2):
///
/// θ(X, Y) = arccos( ‖X̃ᵀỸ‖_* / (‖X̃‖_F ‖Ỹ‖_F) ) ∈ [0, π/2],
///
/// where X̃, Ỹ have centred columns and ‖·‖_* is the nuclear norm (sum of singular values). This is
/// min over orthogonal Q of the angle between X̃/‖X̃‖_F and ỸQ/‖Ỹ‖_F; with N_x ≠ N_y it equals the
/// distance after zero-padding the narrower matrix (no padding is actually done). Invariant to
/// translations, isotropic scalings and orthogonal transformations (rotations and reflections) of
/// either representation's features; a metric on their equivalence classes.
///
/// `x` is M × N_x, `y` is M × N_y. Errors: [`Error::Shape`] (different M, empty),
/// [`Error::NonFinite`], [`Error::InvalidParameter`] (a representation with zero variance).
/// Computed as θ = 2 arcsin(d/2) from the residual d of [`procrustes_euclidean`] at the optimal Q, so
/// small distances keep full accuracy (no arccos floor; §B.2, §B.5).
pub fn procrustes_angular(x: MatRef<'_, f64>, y: MatRef<'_, f64>) -> Result<f64> {
    check_rows(x, y)?;
    let (a, b) = (centre(x, "x")?, centre(y, "y")?);
    Ok(chord_to_angle(procrustes_chord(&a, &b)?))
}

/// Euclidean Procrustes shape distance on unit-norm representations (spec/cases.md, Baselines §B.2):
///
/// d(X, Y) = min over orthogonal Q of ‖X̃/‖X̃‖_F − ỸQ/‖Ỹ‖_F‖_F = √(2 − 2 cos θ) = 2 sin(θ/2) ∈ [0, √2],
///
/// with θ as in [`procrustes_angular`] (the chord of the same great-circle arc). Same inputs, errors
/// and invariances as [`procrustes_angular`]. Computed as the norm of the residual at the optimal Q
/// (not as √(2 − 2 cos θ), which would lose half the digits near 0; §B.2).
pub fn procrustes_euclidean(x: MatRef<'_, f64>, y: MatRef<'_, f64>) -> Result<f64> {
    check_rows(x, y)?;
    let (a, b) = (centre(x, "x")?, centre(y, "y")?);
    procrustes_chord(&a, &b)
}

/// Linear CKA (Kornblith et al. 2019; spec/cases.md, Baselines §B.3), a similarity in [0, 1]:
///
/// CKA(X, Y) = ‖ỸᵀX̃‖²_F / (‖X̃ᵀX̃‖_F ‖ỸᵀỸ‖_F) = ⟨X̃X̃ᵀ, ỸỸᵀ⟩_F / (‖X̃X̃ᵀ‖_F ‖ỸỸᵀ‖_F),
///
/// with centred columns; computed from the N × N cross-products, not the M × M Gram matrices. Same
/// inputs and errors as [`procrustes_angular`].
pub fn cka_linear(x: MatRef<'_, f64>, y: MatRef<'_, f64>) -> Result<f64> {
    check_rows(x, y)?;
    let (a, b) = (centre(x, "x")?, centre(y, "y")?);
    Ok(cka_value(&a, &b, gram_norm(&a), gram_norm(&b)))
}

/// Angular CKA distance (spec/cases.md, Baselines §B.3): arccos CKA(X, Y) ∈ [0, π/2], the angle between
/// the centred Gram matrices X̃X̃ᵀ and ỸỸᵀ in the Frobenius inner product, hence a metric on Gram
/// matrices up to scale (proof in §B.3). Same inputs and errors as [`procrustes_angular`].
///
/// Computed as arccos of the computed CKA, so values below ~1e-7 are rounding (θ ≈ √(2(1 − CKA)) turns
/// a few 1e-16 into a few 1e-8; §B.3, §B.5).
pub fn cka_angular(x: MatRef<'_, f64>, y: MatRef<'_, f64>) -> Result<f64> {
    Ok(cka_linear(x, y)?.acos())
}

/// A baseline distance, for [`pairwise_distances`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Baseline {
    /// [`procrustes_angular`].
    ProcrustesAngular,
    /// [`procrustes_euclidean`].
    ProcrustesEuclidean,
    /// [`cka_angular`].
    CkaAngular,
}

/// The K × K matrix (row-major) of a baseline distance between K representations of the same M samples
/// (spec/cases.md, Baselines §B.4). Each representation is validated and centred once; only pairs
/// i < j are computed (one rayon task each, results written by index, so the matrix is bit-identical
/// for any thread count); (j, i) is a copy of (i, j) and the diagonal is exactly 0. Entry (i, j) equals
/// the single-pair function on (reps\[i\], reps\[j\]) bit for bit.
///
/// Errors as for the single-pair functions, naming the representation as `"representation i"`; an
/// empty list gives an empty matrix.
pub fn pairwise_distances(reps: &[MatRef<'_, f64>], baseline: Baseline) -> Result<Vec<f64>> {
    let k = reps.len();
    if let Some(first) = reps.first() {
        for (i, r) in reps.iter().enumerate() {
            if r.nrows() != first.nrows() {
                return Err(Error::Shape {
                    array: format!("representation {i}"),
                    reason: format!(
                        "{} rows, but representation 0 has {}: all representations must have the \
                         same samples (rows)",
                        r.nrows(),
                        first.nrows()
                    ),
                });
            }
        }
    }
    let prepared: Vec<Centred> = reps
        .iter()
        .enumerate()
        .map(|(i, r)| centre(*r, &format!("representation {i}")))
        .collect::<Result<_>>()?;
    let grams: Vec<f64> = if baseline == Baseline::CkaAngular {
        prepared.par_iter().map(gram_norm).collect()
    } else {
        Vec::new()
    };
    let pairs: Vec<(usize, usize)> = (0..k)
        .flat_map(|i| (i + 1..k).map(move |j| (i, j)))
        .collect();
    let values: Vec<f64> = pairs
        .par_iter()
        .map(|&(i, j)| {
            let (a, b) = (&prepared[i], &prepared[j]);
            Ok(match baseline {
                Baseline::ProcrustesAngular => chord_to_angle(procrustes_chord(a, b)?),
                Baseline::ProcrustesEuclidean => procrustes_chord(a, b)?,
                Baseline::CkaAngular => cka_value(a, b, grams[i], grams[j]).acos(),
            })
        })
        .collect::<Result<_>>()?;
    let mut out = vec![0.0; k * k];
    for (&(i, j), &v) in pairs.iter().zip(&values) {
        out[i * k + j] = v;
        out[j * k + i] = v;
    }
    Ok(out)
}
