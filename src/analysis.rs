//! Reading a distance matrix: silhouette scores, nearest-neighbour label accuracy and classical
//! (Torgerson) multidimensional scaling. Spec: `spec/cases.md`, section "Analysis".
//!
//! Every function takes the K × K distance matrix as a [`MatRef`]; a
//! [`DistanceMatrix`](crate::dsa::DistanceMatrix) `m` is viewed as one with
//! `MatRef::from_row_major_slice(&m.values, m.rows, m.cols)`. Entry (i, j) is read as the distance
//! *from* i *to* j; the matrix need not be symmetric, and its diagonal is never read (§A.1).

use std::collections::BTreeMap;

use faer::{Mat, MatRef};

use crate::error::{Error, Result};
use crate::linalg;

/// Validates a distance matrix (spec/cases.md, Analysis §A.1): square, K ≥ 1, every off-diagonal entry
/// finite and ≥ 0. Returns K.
fn check_distances(d: MatRef<'_, f64>) -> Result<usize> {
    let (r, c) = d.shape();
    if r != c || r == 0 {
        return Err(Error::Shape {
            array: "d".to_string(),
            reason: format!("{r} × {c}: a distance matrix must be square and non-empty"),
        });
    }
    // Row-major scan so that the first offending entry reported is the first in row-major order.
    for i in 0..r {
        for j in 0..r {
            if i == j {
                continue;
            }
            let v = d[(i, j)];
            if !v.is_finite() {
                return Err(Error::NonFinite {
                    array: "d".to_string(),
                    index: vec![i, j],
                    value: v,
                });
            }
            if v < 0.0 {
                return Err(Error::InvalidParameter {
                    name: "d",
                    value: format!("{v} at [{i}, {j}]"),
                    reason: "distances must be non-negative".to_string(),
                });
            }
        }
    }
    Ok(r)
}

/// Checks `labels` against K and maps the label values to dense cluster ids 0..C in increasing order
/// of value (spec/cases.md, Analysis §A.1). Returns (ids, cluster sizes).
fn dense_labels(labels: &[usize], k: usize) -> Result<(Vec<usize>, Vec<usize>)> {
    if labels.len() != k {
        return Err(Error::Shape {
            array: "labels".to_string(),
            reason: format!(
                "{} labels for a {k} × {k} distance matrix; give one label per row",
                labels.len()
            ),
        });
    }
    // Dense ids in increasing order of label value (independent of the order of first appearance).
    let order: BTreeMap<usize, usize> = labels
        .iter()
        .copied()
        .collect::<std::collections::BTreeSet<usize>>()
        .into_iter()
        .enumerate()
        .map(|(c, l)| (l, c))
        .collect();
    let dense: Vec<usize> = labels.iter().map(|l| order[l]).collect();
    let mut sizes = vec![0usize; order.len()];
    for &c in &dense {
        sizes[c] += 1;
    }
    Ok((dense, sizes))
}

/// Per-sample silhouette values s(i) (Rousseeuw 1987; spec/cases.md, Analysis §A.2):
///
/// a(i) = (1/(|C_i| − 1)) Σ_{j ∈ C_i, j ≠ i} d(i, j),
/// b(i) = min_{C ≠ C_i} (1/|C|) Σ_{j ∈ C} d(i, j),
/// s(i) = (b(i) − a(i)) / max(a(i), b(i)),
///
/// with s(i) = 0 when i is alone in its cluster (|C_i| = 1, scikit-learn's convention) and when
/// a(i) = b(i) = 0. `labels[i]` is i's cluster (any usize values). Requires 2 ≤ #clusters ≤ K − 1
/// ([`Error::InvalidParameter`] otherwise). Row i of `d` is read (distances from i), the diagonal is
/// ignored; off-diagonal entries must be finite ([`Error::NonFinite`]) and non-negative.
pub fn silhouette_samples(d: MatRef<'_, f64>, labels: &[usize]) -> Result<Vec<f64>> {
    let k = check_distances(d)?;
    let (ids, sizes) = dense_labels(labels, k)?;
    let nc = sizes.len();
    if nc < 2 || nc >= k {
        return Err(Error::InvalidParameter {
            name: "labels",
            value: format!("{nc} clusters for {k} samples"),
            reason: "the silhouette needs at least 2 clusters and fewer clusters than samples"
                .to_string(),
        });
    }
    let mut out = Vec::with_capacity(k);
    let mut sums = vec![0.0f64; nc];
    for i in 0..k {
        sums.iter_mut().for_each(|s| *s = 0.0);
        // Σ over j in increasing order: fixed summation order, deterministic.
        for j in 0..k {
            if j != i {
                sums[ids[j]] += d[(i, j)];
            }
        }
        let ci = ids[i];
        if sizes[ci] == 1 {
            out.push(0.0);
            continue;
        }
        let a = sums[ci] / (sizes[ci] - 1) as f64;
        let b = (0..nc)
            .filter(|&c| c != ci)
            .map(|c| sums[c] / sizes[c] as f64)
            .fold(f64::INFINITY, f64::min);
        let m = a.max(b);
        out.push(if m > 0.0 { (b - a) / m } else { 0.0 });
    }
    Ok(out)
}

/// Mean silhouette score (1/K) Σ_i s(i) ∈ [−1, 1], with s(i) from [`silhouette_samples`] (same inputs
/// and errors; spec/cases.md, Analysis §A.2). Near 1: tight, well-separated clusters.
pub fn silhouette(d: MatRef<'_, f64>, labels: &[usize]) -> Result<f64> {
    let s = silhouette_samples(d, labels)?;
    Ok(s.iter().sum::<f64>() / s.len() as f64)
}

/// For every i, its nearest other point n(i) = argmin_{j ≠ i} d(i, j), ties broken towards the smallest
/// index j (spec/cases.md, Analysis §A.3). Requires K ≥ 2; errors as [`silhouette_samples`].
pub fn nearest_neighbors(d: MatRef<'_, f64>) -> Result<Vec<usize>> {
    let k = check_distances(d)?;
    if k < 2 {
        return Err(Error::Shape {
            array: "d".to_string(),
            reason: "1 × 1: nearest neighbours need at least 2 points".to_string(),
        });
    }
    Ok((0..k)
        .map(|i| {
            let mut best = usize::MAX;
            let mut best_d = f64::INFINITY;
            for j in (0..k).filter(|&j| j != i) {
                // Strict < keeps the first (smallest) index among equal distances.
                if best == usize::MAX || d[(i, j)] < best_d {
                    best = j;
                    best_d = d[(i, j)];
                }
            }
            best
        })
        .collect())
}

/// Leave-one-out 1-nearest-neighbour accuracy (spec/cases.md, Analysis §A.3):
///
/// acc = (1/K) #{ i : labels\[n(i)\] = labels\[i\] },  n(i) from [`nearest_neighbors`] (ties → smallest
/// index).
///
/// Any labels are allowed (a single cluster gives 1). Requires K ≥ 2; errors as [`silhouette_samples`].
pub fn nearest_neighbor_accuracy(d: MatRef<'_, f64>, labels: &[usize]) -> Result<f64> {
    let k = check_distances(d)?;
    if labels.len() != k {
        return Err(Error::Shape {
            array: "labels".to_string(),
            reason: format!(
                "{} labels for a {k} × {k} distance matrix; give one label per row",
                labels.len()
            ),
        });
    }
    let nn = nearest_neighbors(d)?;
    let hits = (0..k).filter(|&i| labels[nn[i]] == labels[i]).count();
    Ok(hits as f64 / k as f64)
}

/// The result of [`classical_mds`].
#[derive(Debug, Clone)]
pub struct Mds {
    /// K × dims coordinates, column c = √max(λ_c, 0) · v_c (v_c with its sign convention, §A.4).
    pub coordinates: Mat<f64>,
    /// All K eigenvalues of B = −½ J D⁽²⁾ J, non-increasing (negative ones indicate that D is not
    /// Euclidean).
    pub eigenvalues: Vec<f64>,
    /// Σ_{c < dims} max(λ_c, 0) / Σ_c |λ_c| ∈ [0, 1]: the share of eigenvalue mass the embedding keeps
    /// (1 when every λ is 0, i.e. all points coincide).
    pub kept_fraction: f64,
}

/// Classical (Torgerson) multidimensional scaling (spec/cases.md, Analysis §A.4):
///
/// S_ij = ½(d_ij² + d_ji²) (i ≠ j), S_ii = 0;  B = −½ J S J,  J = I − (1/K) 1 1ᵀ;
/// B = Σ_c λ_c v_c v_cᵀ, λ_1 ≥ … ≥ λ_K;  coordinates X_{:,c} = √max(λ_c, 0) v_c, c < dims.
///
/// Sign convention: each v_c is flipped so that its entry of largest |value| (the first such entry
/// on exact ties) is positive. For a Euclidean distance matrix of points in ℝ^p (p ≤ dims), the
/// pairwise distances of the rows of X reproduce D and X Xᵀ = B. `dims` must be in 1..=K
/// ([`Error::InvalidParameter`]); `d` as in [`silhouette_samples`] (diagonal ignored). Deterministic
/// (sequential eigensolver); the matrix is pre-scaled by a power of two, so distances up to the
/// largest f64 work.
pub fn classical_mds(d: MatRef<'_, f64>, dims: usize) -> Result<Mds> {
    let k = check_distances(d)?;
    if dims == 0 || dims > k {
        return Err(Error::InvalidParameter {
            name: "dims",
            value: dims.to_string(),
            reason: format!("the embedding dimension must be between 1 and K = {k}"),
        });
    }
    // Exact power-of-two scaling so that squares neither overflow nor underflow (§A.4).
    let mut dmax = 0.0f64;
    for i in 0..k {
        for j in 0..k {
            if i != j {
                dmax = dmax.max(d[(i, j)]);
            }
        }
    }
    let scale = if dmax > 0.0 {
        2f64.powi((-(dmax.log2().floor() as i32)).clamp(-1000, 1000))
    } else {
        1.0
    };
    let kf = k as f64;
    let s = Mat::<f64>::from_fn(k, k, |i, j| {
        if i == j {
            0.0
        } else {
            let (a, b) = (d[(i, j)] * scale, d[(j, i)] * scale);
            0.5 * (a * a + b * b)
        }
    });
    // Row means r_i (= column means, S symmetric) and the grand mean g.
    let r: Vec<f64> = (0..k)
        .map(|i| (0..k).map(|j| s[(i, j)]).sum::<f64>() / kf)
        .collect();
    let g = r.iter().sum::<f64>() / kf;
    // B_ij = −½ (S_ij − r_i − r_j + g), built on the lower triangle and mirrored (exactly symmetric).
    let mut b = Mat::<f64>::zeros(k, k);
    for j in 0..k {
        for i in j..k {
            let v = -0.5 * (s[(i, j)] - r[i] - r[j] + g);
            b[(i, j)] = v;
            b[(j, i)] = v;
        }
    }
    let (w, v) = linalg::sym_eig(b.as_ref(), "eigendecomposition of the MDS matrix B")?;
    // sym_eig is ascending: column k−1−c holds the c-th largest.
    // Undo the scaling in two divisions (scale² alone could underflow); λ overflows to +∞ only when
    // distances exceed ~1e154 (§A.4).
    let eigenvalues: Vec<f64> = (0..k).map(|c| w[k - 1 - c] / scale / scale).collect();
    let mut coordinates = Mat::<f64>::zeros(k, dims);
    for c in 0..dims {
        let col = k - 1 - c;
        let mut arg = 0;
        for i in 1..k {
            if v[(i, col)].abs() > v[(arg, col)].abs() {
                arg = i;
            }
        }
        let sign = if v[(arg, col)] < 0.0 { -1.0 } else { 1.0 };
        let root = w[col].max(0.0).sqrt() / scale;
        for i in 0..k {
            coordinates[(i, c)] = sign * v[(i, col)] * root;
        }
    }
    // The kept fraction from the scaled eigenvalues (finite even when λ overflows).
    let total: f64 = w.iter().rev().map(|l| l.abs()).sum();
    let kept: f64 = w.iter().rev().take(dims).map(|l| l.max(0.0)).sum();
    let kept_fraction = if total > 0.0 {
        (kept / total).clamp(0.0, 1.0)
    } else {
        1.0
    };
    Ok(Mds {
        coordinates,
        eigenvalues,
        kept_fraction,
    })
}
