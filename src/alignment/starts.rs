//! Deterministic starting points for the PAVF optimiser (spec/alignment.md §5).
//!
//! Every start is an orthogonal matrix C₀ for the (normalised, padded) problem min ‖A − C B Cᵀ‖.

use faer::{Mat, MatRef};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::riemannian::Workspace;
use crate::error::Result;
use crate::linalg::{mul, sym_eig};

/// Symmetric part (X + Xᵀ)/2 and skew part (X − Xᵀ)/2.
pub(super) fn sym_skew(x: MatRef<'_, f64>) -> (Mat<f64>, Mat<f64>) {
    let n = x.nrows();
    let s = Mat::from_fn(n, n, |i, j| 0.5 * (x[(i, j)] + x[(j, i)]));
    let k = Mat::from_fn(n, n, |i, j| 0.5 * (x[(i, j)] - x[(j, i)]));
    (s, k)
}

/// Ising problem max Σᵢ≠ⱼ dᵢ dⱼ Wᵢⱼ over d ∈ {±1}ⁿ (W symmetric; its diagonal is ignored), solved
/// heuristically: signs of the leading eigenvector of W (zero diagonal), then greedy single flips while
/// one improves the objective (spec/alignment.md §5.2). Returns d and the "twin" d' that differs from d
/// in the one sign whose flip costs least (so det D' = −det D).
pub(super) fn ising(w: MatRef<'_, f64>, what: &'static str) -> Result<(Vec<f64>, Vec<f64>)> {
    let n = w.nrows();
    if n == 0 {
        return Ok((Vec::new(), Vec::new()));
    }
    let w0 = Mat::from_fn(n, n, |i, j| if i == j { 0.0 } else { w[(i, j)] });
    let (_, v) = sym_eig(w0.as_ref(), what)?;
    let mut d: Vec<f64> = (0..n)
        .map(|i| if v[(i, n - 1)] >= 0.0 { 1.0 } else { -1.0 })
        .collect();
    // Local field hᵢ = Σⱼ≠ᵢ Wᵢⱼ dⱼ; flipping dᵢ changes the objective by −4 dᵢ hᵢ.
    let mut h: Vec<f64> = (0..n)
        .map(|i| (0..n).map(|j| w0[(i, j)] * d[j]).sum())
        .collect();
    let scale = (0..n)
        .map(|i| (0..n).map(|j| w0[(i, j)].abs()).sum::<f64>())
        .fold(0.0, f64::max);
    let tol = 1e-14 * scale;
    for _ in 0..(4 * n + 4) {
        let mut best = None;
        let mut best_gain = tol;
        for i in 0..n {
            let gain = -4.0 * d[i] * h[i];
            if gain > best_gain {
                best_gain = gain;
                best = Some(i);
            }
        }
        let Some(i) = best else { break };
        let old = d[i];
        d[i] = -old;
        for (j, hj) in h.iter_mut().enumerate() {
            *hj -= 2.0 * w0[(j, i)] * old;
        }
    }
    // Twin: flip the sign with the smallest loss 4 dᵢ hᵢ.
    let mut k = 0;
    let mut k_loss = f64::INFINITY;
    for i in 0..n {
        let loss = d[i] * h[i];
        if loss < k_loss {
            k_loss = loss;
            k = i;
        }
    }
    let mut twin = d.clone();
    twin[k] = -twin[k];
    Ok((d, twin))
}

/// C₀ = V_A D V_Bᵀ.
fn vdv(va: MatRef<'_, f64>, d: &[f64], vb: MatRef<'_, f64>) -> Mat<f64> {
    let n = va.nrows();
    let vad = Mat::from_fn(n, n, |i, j| va[(i, j)] * d[j]);
    mul(vad.as_ref(), vb.transpose())
}

/// A spectral start of spec/alignment.md §5.2 and its det-flipped twin: given orthonormal eigenvector
/// bases V_A, V_B of a covariant symmetric pair (X(A), X(B)) (eigenvalues in the same order), the start
/// is C₀ = V_A D V_Bᵀ with the signs D maximising ⟨A', D B' D⟩, A' = V_Aᵀ A V_A, B' = V_Bᵀ B V_B.
pub(super) fn spectral(
    a: MatRef<'_, f64>,
    va: MatRef<'_, f64>,
    b: MatRef<'_, f64>,
    vb: MatRef<'_, f64>,
) -> Result<(Mat<f64>, Mat<f64>)> {
    let n = va.nrows();
    let ap = mul(va.transpose(), mul(a, va).as_ref());
    let bp = mul(vb.transpose(), mul(b, vb).as_ref());
    let w = Mat::from_fn(n, n, |i, j| {
        0.5 * (ap[(i, j)] * bp[(i, j)] + ap[(j, i)] * bp[(j, i)])
    });
    let (d, twin) = ising(
        w.as_ref(),
        "eigendecomposition of the sign problem (spectral start)",
    )?;
    Ok((vdv(va, &d, vb), vdv(va, &twin, vb)))
}

/// Eigenvectors (ascending eigenvalues) of XᵀX (`right`) or X Xᵀ, covariant under X ↦ C X Cᵀ.
pub(super) fn gram_vectors(
    x: MatRef<'_, f64>,
    right: bool,
    what: &'static str,
) -> Result<Mat<f64>> {
    let g = if right {
        mul(x.transpose(), x)
    } else {
        mul(x, x.transpose())
    };
    Ok(sym_eig(g.as_ref(), what)?.1)
}

/// Linear assignment: a permutation p minimising Σᵢ cost[i][p[i]] (Hungarian method with potentials,
/// O(n³)). `cost` is n×n, finite. Falls back to the identity if the costs are not finite.
pub(super) fn assignment(cost: MatRef<'_, f64>) -> Vec<usize> {
    let n = cost.nrows();
    let identity: Vec<usize> = (0..n).collect();
    if n == 0 {
        return identity;
    }
    for j in 0..n {
        for i in 0..n {
            if !cost[(i, j)].is_finite() {
                return identity;
            }
        }
    }
    // 1-based arrays; index 0 is a sentinel column.
    let mut u = vec![0.0f64; n + 1];
    let mut v = vec![0.0f64; n + 1];
    let mut p = vec![0usize; n + 1]; // p[j] = row matched to column j
    let mut way = vec![0usize; n + 1];
    for i in 1..=n {
        p[0] = i;
        let mut j0 = 0usize;
        let mut minv = vec![f64::INFINITY; n + 1];
        let mut used = vec![false; n + 1];
        loop {
            used[j0] = true;
            let i0 = p[j0];
            let mut delta = f64::INFINITY;
            let mut j1 = 0usize;
            for j in 1..=n {
                if !used[j] {
                    let cur = cost[(i0 - 1, j - 1)] - u[i0] - v[j];
                    if cur < minv[j] {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    if minv[j] < delta {
                        delta = minv[j];
                        j1 = j;
                    }
                }
            }
            if j1 == 0 {
                return identity;
            }
            for j in 0..=n {
                if used[j] {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut perm = vec![0usize; n];
    for j in 1..=n {
        if p[j] >= 1 {
            perm[p[j] - 1] = j - 1;
        }
    }
    perm
}

/// Sorted absolute values of row i (or column i) of X without the diagonal entry.
fn sorted_abs(x: MatRef<'_, f64>, i: usize, row: bool) -> Vec<f64> {
    let n = x.nrows();
    let mut v: Vec<f64> = (0..n)
        .filter(|&j| j != i)
        .map(|j| {
            if row {
                x[(i, j)].abs()
            } else {
                x[(j, i)].abs()
            }
        })
        .collect();
    v.sort_by(f64::total_cmp);
    v
}

/// The signed-permutation start (spec/alignment.md §5.3) and its det-flipped twin: a permutation
/// matching indices by signed-permutation-invariant features (diagonal entry, sorted |row|, sorted
/// |column|), then signs from the Ising problem on W = A ∘ (P B Pᵀ).
pub(super) fn signed_permutation(
    a: MatRef<'_, f64>,
    b: MatRef<'_, f64>,
) -> Result<(Mat<f64>, Mat<f64>)> {
    let n = a.nrows();
    let ra: Vec<Vec<f64>> = (0..n).map(|i| sorted_abs(a, i, true)).collect();
    let ca: Vec<Vec<f64>> = (0..n).map(|i| sorted_abs(a, i, false)).collect();
    let rb: Vec<Vec<f64>> = (0..n).map(|i| sorted_abs(b, i, true)).collect();
    let cb: Vec<Vec<f64>> = (0..n).map(|i| sorted_abs(b, i, false)).collect();
    let sq = |x: &[f64], y: &[f64]| x.iter().zip(y).map(|(p, q)| (p - q) * (p - q)).sum::<f64>();
    let cost = Mat::from_fn(n, n, |i, j| {
        let dd = a[(i, i)] - b[(j, j)];
        dd * dd + sq(&ra[i], &rb[j]) + sq(&ca[i], &cb[j])
    });
    let perm = assignment(cost.as_ref());
    // B' = P B Pᵀ with B'ᵢⱼ = B_{π(i) π(j)}.
    let w = Mat::from_fn(n, n, |i, j| {
        0.5 * (a[(i, j)] * b[(perm[i], perm[j])] + a[(j, i)] * b[(perm[j], perm[i])])
    });
    let (d, twin) = ising(
        w.as_ref(),
        "eigendecomposition of the sign problem (permutation start)",
    )?;
    let build = |d: &[f64]| {
        let mut c = Mat::zeros(n, n);
        for i in 0..n {
            c[(i, perm[i])] = d[i];
        }
        c
    };
    Ok((build(&d), build(&twin)))
}

/// A Haar-distributed orthogonal matrix: qf(G) with G standard Gaussian (Box–Muller from uniform
/// f64 draws, column-major order), diag(R) > 0 (spec/alignment.md §5.4).
pub(super) fn haar(rng: &mut ChaCha8Rng, n: usize, ws: &mut Workspace) -> Mat<f64> {
    let mut g = Mat::<f64>::zeros(n, n);
    let mut spare: Option<f64> = None;
    for j in 0..n {
        for i in 0..n {
            g[(i, j)] = match spare.take() {
                Some(z) => z,
                None => {
                    let u1 = 1.0 - rng.random::<f64>(); // (0, 1]
                    let u2 = rng.random::<f64>();
                    let r = (-2.0 * u1.ln()).sqrt();
                    let t = std::f64::consts::TAU * u2;
                    spare = Some(r * t.sin());
                    r * t.cos()
                }
            };
        }
    }
    let mut q = Mat::zeros(n, n);
    ws.qf(&mut g, &mut q);
    q
}

/// Re-orthonormalise a nearly orthogonal matrix: qf(X) (stays in the same component of O(n)).
pub(super) fn reorthonormalize(x: MatRef<'_, f64>, ws: &mut Workspace) -> Mat<f64> {
    let n = x.nrows();
    let mut g = x.to_owned();
    let mut q = Mat::zeros(n, n);
    ws.qf(&mut g, &mut q);
    q
}
