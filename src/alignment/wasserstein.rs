//! Wasserstein distances between eigenvalue spectra (spec/alignment.md, "Wasserstein distances between
//! spectra").
//!
//! A spectrum is a list of eigenvalues λ = (Re λ, Im λ), seen as the uniform probability measure on those
//! points of ℝ² (a repeated eigenvalue carries its multiplicity). Every score is invariant under any
//! similarity A ↦ S A S⁻¹, because the spectrum is.

use faer::{Mat, MatRef};

use super::assignment::{exponent, scale_pow2, solve_assignment, solve_uniform_transport};
use crate::error::{Error, Result};

/// Which Wasserstein score to compute between two spectra λ₁…λₙ and μ₁…μₘ (uniform weights).
///
/// With P ranging over couplings of the two uniform measures (for n = m: the permutation matrices / n):
/// - [`Wasserstein`](Self::Wasserstein): W₂² = min_P Σᵢⱼ Pᵢⱼ |λᵢ − μⱼ|². Upstream's
///   `score_method='wasserstein'` (no square root). **Not a metric**: the triangle inequality fails
///   (spectra {0}, {1}, {2}: 4 > 1 + 1).
/// - [`Wasserstein2`](Self::Wasserstein2): W₂ = √(W₂²), a metric.
/// - [`Wasserstein1`](Self::Wasserstein1): W₁ = min_P Σᵢⱼ Pᵢⱼ |λᵢ − μⱼ| (Euclidean ground cost, its own
///   optimal coupling); for n = m the mean |λᵢ − μ_π(i)| under the best permutation (after Redman et
///   al.). A metric.
///
/// "Metric" means: on spectra of one size, and across sizes on the uniform measures they define (with
/// [`UnequalSizes::Transport`], {1} and {1, 1} are the same measure, at distance 0). On matrices all
/// three are invariant under similarity, so at best pseudometrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SpectralScore {
    /// W₂², squared Euclidean ground cost, no square root (upstream's default score; not a metric).
    #[default]
    Wasserstein,
    /// W₂ = √(W₂²) (a metric).
    Wasserstein2,
    /// W₁, Euclidean ground cost |λ − μ| (a metric).
    Wasserstein1,
}

/// How to compare spectra of different sizes n ≠ m (for n = m both give the same value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum UnequalSizes {
    /// Exact optimal transport between the uniform measures (weights 1/n and 1/m): what upstream's `DSA`
    /// class computes. {1} vs {0.2, 0.4} gives W₂² = 0.5.
    #[default]
    Transport,
    /// Append zeros to the shorter spectrum, then solve the assignment problem on max(n, m) points:
    /// upstream's matrix code path. {1} vs {0.2, 0.4} gives W₂² = 0.2. Across sizes this is not a
    /// metric, even for W₂ and W₁ (see the spec for a triangle-inequality counterexample).
    ZeroPad,
}

/// A spectral score together with the coupling that attains it (see [`spectral_coupling`]).
#[derive(Debug, Clone, PartialEq)]
pub struct SpectralCoupling {
    /// The score's value (≥ 0).
    pub value: f64,
    /// The non-zero entries (i, j, mass) of an optimal coupling for the score's ground cost, sorted by
    /// (i, j): mass moved from eigenvalue i of `a` to eigenvalue j of `b` (indices into the slices as
    /// given). The masses sum to 1; for n = m they form a permutation with mass 1/n each. With
    /// [`UnequalSizes::ZeroPad`] the shorter spectrum is extended by zeros, which take the indices
    /// len..max(n, m).
    pub plan: Vec<(usize, usize, f64)>,
}

/// The Wasserstein score between two spectra (eigenvalues as (re, im) pairs).
///
/// The value depends only on the two multisets: it is bit-identical under any reordering of either slice
/// and under swapping `a` and `b`. See [`spectral_coupling`] for the details and errors.
pub fn spectral_distance(
    a: &[(f64, f64)],
    b: &[(f64, f64)],
    score: SpectralScore,
    unequal: UnequalSizes,
) -> Result<f64> {
    spectral_coupling(a, b, score, unequal).map(|c| c.value)
}

/// The Wasserstein score between two spectra, with an optimal coupling.
///
/// Both spectra are first put in a canonical order (sorted by (re, im); the pair ordered so that the
/// result is symmetric) and rescaled by a common power of two so that every coordinate lies in (−1, 1)
/// (exact; it makes overflow and underflow of the ground costs impossible). Equal sizes, and
/// [`UnequalSizes::ZeroPad`], go to [`solve_assignment`]; unequal sizes with [`UnequalSizes::Transport`]
/// go to [`solve_uniform_transport`]. The value is then re-evaluated on the optimal coupling in a scaled
/// form (W₂ as M·√(Σ P (d/M)²) with M the largest matched distance, W₂² = W₂·W₂) and mapped back to the
/// original scale, so it overflows to +∞ only when the true value exceeds f64::MAX.
///
/// # Errors
/// - [`Error::Shape`] if a spectrum is empty (`array` = "spectrum A" / "spectrum B");
/// - [`Error::NonFinite`] if a coordinate is NaN or ±∞ (`index` = `[k, 0]` for Re λₖ, `[k, 1]` for Im λₖ).
pub fn spectral_coupling(
    a: &[(f64, f64)],
    b: &[(f64, f64)],
    score: SpectralScore,
    unequal: UnequalSizes,
) -> Result<SpectralCoupling> {
    check_spectrum(a, "spectrum A")?;
    check_spectrum(b, "spectrum B")?;
    coupling_checked(a, b, score, unequal)
}

/// The Wasserstein score between the spectra of two real square matrices (e.g. two fitted operators A_v),
/// which may have different sizes; see [`spectral_coupling`].
///
/// # Errors
/// - [`Error::Shape`] if an operator is empty or not square (`array` = "operator A" / "operator B");
/// - [`Error::NonFinite`] if an entry is NaN or ±∞ (`index` = `[i, j]`), or if an eigenvalue comes out
///   non-finite (`array` = "eigenvalues of operator A" / "… B");
/// - [`Error::Decomposition`] if the eigenvalue iteration does not converge.
pub fn spectral_distance_operators(
    a: MatRef<'_, f64>,
    b: MatRef<'_, f64>,
    score: SpectralScore,
    unequal: UnequalSizes,
) -> Result<f64> {
    check_operator(a, "operator A")?;
    check_operator(b, "operator B")?;
    let ea = crate::linalg::eigenvalues(a, "eigenvalues of operator A")?;
    let eb = crate::linalg::eigenvalues(b, "eigenvalues of operator B")?;
    check_spectrum(&ea, "eigenvalues of operator A")?;
    check_spectrum(&eb, "eigenvalues of operator B")?;
    Ok(coupling_checked(&ea, &eb, score, unequal)?.value)
}

fn check_spectrum(s: &[(f64, f64)], array: &str) -> Result<()> {
    if s.is_empty() {
        return Err(Error::Shape {
            array: array.into(),
            reason: "the spectrum is empty; a uniform measure needs at least one eigenvalue".into(),
        });
    }
    for (k, &(re, im)) in s.iter().enumerate() {
        for (part, x) in [(0, re), (1, im)] {
            if !x.is_finite() {
                return Err(Error::NonFinite {
                    array: array.into(),
                    index: vec![k, part],
                    value: x,
                });
            }
        }
    }
    Ok(())
}

fn check_operator(a: MatRef<'_, f64>, array: &str) -> Result<()> {
    let (r, c) = a.shape();
    if r != c || r == 0 {
        return Err(Error::Shape {
            array: array.into(),
            reason: format!("{r}×{c}: an operator must be square and non-empty"),
        });
    }
    crate::linalg::check_finite(a, array)
}

/// A point of a spectrum in canonical form: coordinates (with −0 turned into +0) and its index in the
/// caller's slice (indices ≥ len are zero padding).
#[derive(Clone, Copy)]
struct Point {
    re: f64,
    im: f64,
    index: usize,
}

fn canonical(s: &[(f64, f64)], padded_len: usize) -> Vec<Point> {
    let mut pts: Vec<Point> = (0..padded_len)
        .map(|k| {
            let (re, im) = s.get(k).copied().unwrap_or((0.0, 0.0));
            Point {
                re: re + 0.0,
                im: im + 0.0,
                index: k,
            }
        })
        .collect();
    pts.sort_by(|p, q| p.re.total_cmp(&q.re).then(p.im.total_cmp(&q.im)));
    pts
}

/// Orders two canonical spectra: shorter first, then lexicographically by coordinates.
fn precedes(p: &[Point], q: &[Point]) -> bool {
    let by_coords = p
        .iter()
        .zip(q)
        .map(|(x, y)| x.re.total_cmp(&y.re).then(x.im.total_cmp(&y.im)))
        .find(|o| o.is_ne())
        .unwrap_or(std::cmp::Ordering::Equal);
    p.len().cmp(&q.len()).then(by_coords).is_le()
}

/// The score for two validated (non-empty, finite) spectra. The solvers cannot fail on the finite costs
/// built here; their errors are propagated rather than assumed away.
fn coupling_checked(
    a: &[(f64, f64)],
    b: &[(f64, f64)],
    score: SpectralScore,
    unequal: UnequalSizes,
) -> Result<SpectralCoupling> {
    let (la, lb) = match unequal {
        UnequalSizes::ZeroPad => {
            let l = a.len().max(b.len());
            (l, l)
        }
        UnequalSizes::Transport => (a.len(), b.len()),
    };
    let pa = canonical(a, la);
    let pb = canonical(b, lb);
    let swapped = !precedes(&pa, &pb);
    let (p, q) = if swapped { (&pb, &pa) } else { (&pa, &pb) };

    // Common power-of-two scale: every coordinate in (−1, 1), so |λ − μ|² ≤ 8.
    let max_abs = p
        .iter()
        .chain(q.iter())
        .map(|x| x.re.abs().max(x.im.abs()))
        .fold(0.0, f64::max);
    let shift = if max_abs > 0.0 {
        exponent(max_abs) + 1
    } else {
        0
    };
    let scaled = |x: &Point| (scale_pow2(x.re, -shift), scale_pow2(x.im, -shift));
    let sp: Vec<(f64, f64)> = p.iter().map(scaled).collect();
    let sq: Vec<(f64, f64)> = q.iter().map(scaled).collect();
    let delta = |i: usize, j: usize| (sp[i].0 - sq[j].0, sp[i].1 - sq[j].1);
    let dist = |i: usize, j: usize| {
        let (dx, dy) = delta(i, j);
        dx.hypot(dy)
    };
    let euclidean = score == SpectralScore::Wasserstein1;
    let cost = if euclidean {
        Mat::from_fn(sp.len(), sq.len(), dist)
    } else {
        Mat::from_fn(sp.len(), sq.len(), |i, j| {
            let (dx, dy) = delta(i, j);
            dx * dx + dy * dy
        })
    };

    // Optimal coupling, in canonical indices.
    let canon_plan: Vec<(usize, usize, f64)> = if sp.len() == sq.len() {
        let inv_n = 1.0 / sp.len() as f64;
        let asg = solve_assignment(cost.as_ref())?;
        asg.columns
            .iter()
            .enumerate()
            .map(|(i, &j)| (i, j, inv_n))
            .collect()
    } else {
        solve_uniform_transport(cost.as_ref())?.plan
    };

    // Re-evaluate the value on the plan, in scaled form.
    let value_scaled = if euclidean {
        canon_plan
            .iter()
            .map(|&(i, j, w)| w * dist(i, j))
            .sum::<f64>()
    } else {
        let big = canon_plan
            .iter()
            .map(|&(i, j, _)| dist(i, j))
            .fold(0.0, f64::max);
        if big > 0.0 {
            let s: f64 = canon_plan
                .iter()
                .map(|&(i, j, w)| {
                    let r = dist(i, j) / big;
                    w * r * r
                })
                .sum();
            big * s.max(0.0).sqrt()
        } else {
            0.0
        }
    };
    let unscaled = scale_pow2(value_scaled, shift).max(0.0);
    let value = match score {
        SpectralScore::Wasserstein => unscaled * unscaled,
        SpectralScore::Wasserstein2 | SpectralScore::Wasserstein1 => unscaled,
    };

    let mut plan: Vec<(usize, usize, f64)> = canon_plan
        .into_iter()
        .map(|(i, j, w)| {
            let (x, y) = (p[i].index, q[j].index);
            if swapped {
                (y, x, w)
            } else {
                (x, y, w)
            }
        })
        .collect();
    plan.sort_by(|x, y| x.0.cmp(&y.0).then(x.1.cmp(&y.1)));
    Ok(SpectralCoupling { value, plan })
}
