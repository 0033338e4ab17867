//! Tests for reading a distance matrix (spec/cases.md, "Analysis").
//!
//! Oracles: hand-computed small examples (closed forms derived in the comments), brute-force
//! re-implementations written here independently of the library, exact invariances (relabelling,
//! reordering, transposing), and, for MDS, the fact that a Euclidean distance matrix of points in ℝ^p
//! is reproduced exactly by a p-dimensional embedding whose Gram matrix is the centred Gram of the
//! points.

use dynsim::analysis::{
    classical_mds, nearest_neighbor_accuracy, nearest_neighbors, silhouette, silhouette_samples,
};
use dynsim::faer::{Mat, MatRef};
use dynsim::Error;
use proptest::prelude::*;
use rand::RngExt;

use crate::common::{gaussian_matrix, matmul, proptest_config, random_orthogonal, rng};

/// Euclidean distance matrix of the rows of `p`.
fn euclidean_distances(p: &Mat<f64>) -> Mat<f64> {
    let k = p.nrows();
    Mat::from_fn(k, k, |i, j| {
        (0..p.ncols())
            .map(|c| (p[(i, c)] - p[(j, c)]).powi(2))
            .sum::<f64>()
            .sqrt()
    })
}

/// A K × K matrix from a row-major list.
fn mat(k: usize, v: &[f64]) -> Mat<f64> {
    Mat::from_fn(k, k, |i, j| v[i * k + j])
}

/// Silhouette by brute force (Rousseeuw 1987, scikit-learn's conventions), written independently: for
/// each i and each distinct label, the list of distances d(i, j) to the members j ≠ i, then means.
fn brute_silhouette(d: &Mat<f64>, labels: &[usize]) -> Vec<f64> {
    let k = labels.len();
    let mut distinct = labels.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    (0..k)
        .map(|i| {
            let mean_to = |l: usize| {
                let ds: Vec<f64> = (0..k)
                    .filter(|&j| j != i && labels[j] == l)
                    .map(|j| d[(i, j)])
                    .collect();
                (ds.iter().sum::<f64>() / ds.len() as f64, ds.len())
            };
            let (a, own) = mean_to(labels[i]);
            if own == 0 {
                return 0.0;
            }
            let b = distinct
                .iter()
                .filter(|&&l| l != labels[i])
                .map(|&l| mean_to(l).0)
                .fold(f64::INFINITY, f64::min);
            if a.max(b) == 0.0 {
                0.0
            } else {
                (b - a) / a.max(b)
            }
        })
        .collect()
}

/// A random non-negative K × K matrix (not symmetric; NaN on the diagonal, which must be ignored) and
/// random labels with at least two clusters and fewer clusters than points.
fn random_problem(seed: u64, k: usize, n_labels: usize) -> (Mat<f64>, Vec<usize>) {
    let mut r = rng(seed);
    let d = Mat::from_fn(k, k, |i, j| {
        if i == j {
            f64::NAN
        } else {
            r.random::<f64>() * 10.0
        }
    });
    let mut labels: Vec<usize> = (0..k).map(|_| 3 * r.random_range(0..n_labels)).collect();
    // Guarantee ≥ 2 clusters and a cluster with ≥ 2 points (so #clusters < K).
    labels[0] = 0;
    labels[1] = 0;
    labels[2] = 3;
    (d, labels)
}

proptest! {
    #![proptest_config(proptest_config(64))]

    /// The library's silhouette equals the brute-force one (also for asymmetric matrices and
    /// singletons) and every s(i) is in [−1, 1].
    #[test]
    fn silhouette_matches_brute_force(seed in 0u64..10_000, k in 3usize..25, n_labels in 2usize..6) {
        let (d, labels) = random_problem(seed, k, n_labels);
        let s = silhouette_samples(d.as_ref(), &labels).unwrap();
        let b = brute_silhouette(&d, &labels);
        for i in 0..k {
            prop_assert!((s[i] - b[i]).abs() <= 1e-12, "i = {i}: {} vs {}", s[i], b[i]);
            prop_assert!((-1.0..=1.0).contains(&s[i]));
        }
        let mean = silhouette(d.as_ref(), &labels).unwrap();
        prop_assert!((mean - b.iter().sum::<f64>() / k as f64).abs() <= 1e-12);
    }

    /// Renaming the clusters (any injective relabelling) changes nothing, bit for bit; reordering the
    /// samples (D → P D Pᵀ, labels permuted) permutes the per-sample values.
    #[test]
    fn silhouette_is_invariant_to_relabelling_and_reordering(
        seed in 0u64..10_000, k in 3usize..20, n_labels in 2usize..5,
    ) {
        let (d, labels) = random_problem(seed, k, n_labels);
        let s = silhouette_samples(d.as_ref(), &labels).unwrap();
        let renamed: Vec<usize> = labels.iter().map(|&l| 1000 - 7 * l).collect();
        prop_assert_eq!(&s, &silhouette_samples(d.as_ref(), &renamed).unwrap());
        let mut r = rng(seed + 1);
        let mut perm: Vec<usize> = (0..k).collect();
        for i in (1..k).rev() {
            perm.swap(i, r.random_range(0..=i));
        }
        let dp = Mat::from_fn(k, k, |i, j| d[(perm[i], perm[j])]);
        let lp: Vec<usize> = perm.iter().map(|&p| labels[p]).collect();
        let sp = silhouette_samples(dp.as_ref(), &lp).unwrap();
        for i in 0..k {
            prop_assert!((sp[i] - s[perm[i]]).abs() <= 1e-12);
        }
    }

    /// Nearest neighbours agree with a brute-force scan (first minimum in index order) and the
    /// accuracy with its definition.
    #[test]
    fn nearest_neighbours_match_brute_force(seed in 0u64..10_000, k in 2usize..25, n_labels in 1usize..5) {
        let mut r = rng(seed);
        // Integer-valued distances make ties common.
        let d = Mat::from_fn(k, k, |i, j| if i == j { 0.0 } else { r.random_range(0..4) as f64 });
        let labels: Vec<usize> = (0..k).map(|_| r.random_range(0..n_labels)).collect();
        let nn = nearest_neighbors(d.as_ref()).unwrap();
        let mut hits = 0;
        for i in 0..k {
            let min = (0..k).filter(|&j| j != i).map(|j| d[(i, j)]).fold(f64::INFINITY, f64::min);
            let first = (0..k).find(|&j| j != i && d[(i, j)] == min).unwrap();
            prop_assert_eq!(nn[i], first);
            hits += usize::from(labels[first] == labels[i]);
        }
        let acc = nearest_neighbor_accuracy(d.as_ref(), &labels).unwrap();
        prop_assert_eq!(acc, hits as f64 / k as f64);
    }

    /// MDS of the Euclidean distances of K random points in ℝ^p (p = 2, 3) reproduces every distance
    /// (≤ 1e-9) and the centred Gram matrix (X Xᵀ = P̃ P̃ᵀ); eigenvalues are non-increasing, those past
    /// p vanish, the kept fraction is 1; each column obeys the sign convention; the coordinates are
    /// centred; rotating and translating the points changes no eigenvalue; the result is
    /// deterministic.
    #[test]
    fn mds_recovers_euclidean_configurations(seed in 0u64..10_000, k in 4usize..30, p in 2usize..4) {
        let mut r = rng(seed);
        let pts = gaussian_matrix(k, p, &mut r);
        let d = euclidean_distances(&pts);
        let mds = classical_mds(d.as_ref(), p).unwrap();
        let x = &mds.coordinates;
        prop_assert_eq!((x.nrows(), x.ncols()), (k, p));
        let dx = euclidean_distances(x);
        for i in 0..k {
            for j in 0..k {
                prop_assert!((dx[(i, j)] - d[(i, j)]).abs() <= 1e-9, "({i}, {j})");
            }
        }
        // Centred Gram matrices.
        let centre = |a: &Mat<f64>| Mat::from_fn(a.nrows(), a.ncols(), |i, j| {
            a[(i, j)] - (0..a.nrows()).map(|t| a[(t, j)]).sum::<f64>() / a.nrows() as f64
        });
        let pc = centre(&pts);
        let gram = |a: &Mat<f64>| Mat::from_fn(k, k, |i, j| (0..a.ncols()).map(|c| a[(i, c)] * a[(j, c)]).sum::<f64>());
        let (gx, gp) = (gram(x), gram(&pc));
        for i in 0..k {
            for j in 0..k {
                prop_assert!((gx[(i, j)] - gp[(i, j)]).abs() <= 1e-9);
            }
        }
        for c in 0..p {
            prop_assert!((0..k).map(|i| x[(i, c)]).sum::<f64>().abs() <= 1e-9);
            // Sign convention: the entry of largest |value| is positive.
            let arg = (0..k).fold(0, |a, i| if x[(i, c)].abs() > x[(a, c)].abs() { i } else { a });
            prop_assert!(x[(arg, c)] > 0.0);
        }
        let ev = &mds.eigenvalues;
        prop_assert_eq!(ev.len(), k);
        prop_assert!(ev.windows(2).all(|w| w[0] >= w[1]));
        prop_assert!(ev[p - 1] > 0.0);
        for l in &ev[p..] {
            prop_assert!(l.abs() <= 1e-9 * ev[0]);
        }
        prop_assert!(mds.kept_fraction >= 1.0 - 1e-9);
        // Rigid motion: same eigenvalues.
        let q = random_orthogonal(p, &mut r);
        let moved = matmul(&pts, &q);
        let moved = Mat::from_fn(k, p, |i, j| moved[(i, j)] + 5.0 * (j as f64 + 1.0));
        let mds2 = classical_mds(euclidean_distances(&moved).as_ref(), p).unwrap();
        for (a, b) in ev.iter().zip(&mds2.eigenvalues) {
            prop_assert!((a - b).abs() <= 1e-9 * ev[0]);
        }
        // Deterministic.
        let again = classical_mds(d.as_ref(), p).unwrap();
        prop_assert_eq!(&again.eigenvalues, ev);
        prop_assert!(again.coordinates == mds.coordinates);
        // Asking for more dimensions adds (near-)zero columns and leaves the first p unchanged.
        let more = classical_mds(d.as_ref(), (p + 2).min(k)).unwrap();
        for i in 0..k {
            for c in 0..more.coordinates.ncols() {
                if c < p {
                    prop_assert_eq!(more.coordinates[(i, c)], x[(i, c)]);
                } else {
                    prop_assert!(more.coordinates[(i, c)].abs() <= 1e-6);
                }
            }
        }
    }
}

/// Hand-computed silhouette. Points on a line: 0, 2 (cluster 0), 10, 14 (cluster 1), 30 (cluster 2,
/// a singleton), d = |x_i − x_j|:
/// - x = 0:  a = 2, b = min((10 + 14)/2, 30) = 12, s = 10/12 = 5/6;
/// - x = 2:  a = 2, b = min((8 + 12)/2, 28) = 10, s = 8/10 = 4/5;
/// - x = 10: a = 4, b = min((10 + 8)/2, 20) = 9, s = 5/9;
/// - x = 14: a = 4, b = min((14 + 12)/2, 16) = 13, s = 9/13;
/// - x = 30: singleton, s = 0 (scikit-learn's convention).
#[test]
fn silhouette_hand_computed() {
    let x = [0.0, 2.0, 10.0, 14.0, 30.0];
    let d = Mat::from_fn(5, 5, |i, j| f64::abs(x[i] - x[j]));
    let labels = [0, 0, 1, 1, 2];
    let s = silhouette_samples(d.as_ref(), &labels).unwrap();
    let expected = [5.0 / 6.0, 4.0 / 5.0, 5.0 / 9.0, 9.0 / 13.0, 0.0];
    for i in 0..5 {
        assert!((s[i] - expected[i]).abs() <= 1e-15, "{i}: {}", s[i]);
    }
    let mean = silhouette(d.as_ref(), &labels).unwrap();
    assert!((mean - expected.iter().sum::<f64>() / 5.0).abs() <= 1e-15);
    // The same from a row-major buffer (how a `DistanceMatrix`'s values are viewed, spec §A.1).
    let buffer: Vec<f64> = (0..25).map(|t| d[(t / 5, t % 5)]).collect();
    let view = MatRef::from_row_major_slice(&buffer, 5, 5);
    assert_eq!(silhouette_samples(view, &labels).unwrap(), s);
}

/// Perfect clusters: coincident points within clusters, distinct clusters apart, give s = 1 exactly;
/// tight clusters (spread δ, separation L) give s ≥ 1 − 2δ/L.
#[test]
fn perfect_and_tight_clusters() {
    let labels = [0, 0, 0, 1, 1, 2, 2, 2];
    let centre = [0.0, 0.0, 0.0, 5.0, 5.0, 11.0, 11.0, 11.0];
    let d = Mat::from_fn(8, 8, |i, j| f64::abs(centre[i] - centre[j]));
    assert_eq!(silhouette(d.as_ref(), &labels).unwrap(), 1.0);
    let mut r = rng(3);
    let jitter: Vec<f64> = (0..8).map(|_| 1e-3 * r.random::<f64>()).collect();
    let d = Mat::from_fn(8, 8, |i, j| {
        f64::abs(centre[i] + jitter[i] - centre[j] - jitter[j])
    });
    let s = silhouette(d.as_ref(), &labels).unwrap();
    assert!((1.0 - 2.0 * 1e-3 / 5.0..1.0).contains(&s), "{s}");
    // Both a and b zero (i coincides with its own cluster and another): s(i) = 0, not NaN.
    let d = Mat::<f64>::zeros(4, 4);
    assert_eq!(
        silhouette_samples(d.as_ref(), &[0, 0, 1, 1]).unwrap(),
        vec![0.0; 4]
    );
}

/// The transpose is read through rows: an asymmetric example where the two directions differ.
#[test]
fn silhouette_reads_rows() {
    // d(i, j) for i in cluster 0 = {0, 1} towards cluster 1 = {2, 3} is 4, back it is 1; within 1.
    let d = mat(
        4,
        &[
            0.0, 1.0, 4.0, 4.0, 1.0, 0.0, 4.0, 4.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0,
        ],
    );
    let s = silhouette_samples(d.as_ref(), &[0, 0, 1, 1]).unwrap();
    assert_eq!(s, vec![0.75, 0.75, 0.0, 0.0]);
}

#[test]
fn nearest_neighbour_examples() {
    // Ties go to the smallest index: d(0, 1) = d(0, 2) = 1 → n(0) = 1 (another label), so 0 misses.
    // n(1) = 2 (d = 0.5), n(2) = 1; labels 1 and 0 differ, both miss; n(3) = 2, same label, hit.
    let d = mat(
        4,
        &[
            0.0, 1.0, 1.0, 9.0, //
            1.0, 0.0, 0.5, 9.0, //
            1.0, 0.5, 0.0, 2.0, //
            9.0, 9.0, 2.0, 0.0,
        ],
    );
    assert_eq!(nearest_neighbors(d.as_ref()).unwrap(), vec![1, 2, 1, 2]);
    assert_eq!(
        nearest_neighbor_accuracy(d.as_ref(), &[0, 1, 0, 0]).unwrap(),
        0.25
    );
    // One label: accuracy 1; two points: each other's neighbour.
    assert_eq!(nearest_neighbor_accuracy(d.as_ref(), &[4; 4]).unwrap(), 1.0);
    let two = mat(2, &[0.0, 3.0, 3.0, 0.0]);
    assert_eq!(nearest_neighbors(two.as_ref()).unwrap(), vec![1, 0]);
}

/// Two points at distance 2: S = [[0, 4], [4, 0]], B = [[1, −1], [−1, 1]], λ = (2, 0), v₁ = (1, −1)/√2
/// (an exact tie in |entry|: the first entry is made positive), coordinates (1, −1). Three collinear
/// points 0, 1, 3 (mean 4/3): coordinates ±(x − 4/3), sign from the largest |x − 4/3| = 5/3 (x = 3).
#[test]
fn mds_closed_forms() {
    let m = classical_mds(mat(2, &[0.0, 2.0, 2.0, 0.0]).as_ref(), 2).unwrap();
    assert!((m.eigenvalues[0] - 2.0).abs() <= 1e-15 && m.eigenvalues[1].abs() <= 1e-15);
    assert!((m.coordinates[(0, 0)] - 1.0).abs() <= 1e-15);
    assert!((m.coordinates[(1, 0)] + 1.0).abs() <= 1e-15);
    assert!(m.coordinates[(0, 1)].abs() <= 1e-7 && m.coordinates[(1, 1)].abs() <= 1e-7);
    let x = [0.0, 1.0, 3.0];
    let d = Mat::from_fn(3, 3, |i, j| f64::abs(x[i] - x[j]));
    let m = classical_mds(d.as_ref(), 1).unwrap();
    for (i, xi) in x.iter().enumerate() {
        assert!((m.coordinates[(i, 0)] - (xi - 4.0 / 3.0)).abs() <= 1e-14);
    }
    // λ₁ = Σ (x − x̄)² = 16/9 + 1/9 + 25/9 = 42/9.
    assert!((m.eigenvalues[0] - 42.0 / 9.0).abs() <= 1e-13);
    // Coincident points: B = 0, zero coordinates, kept fraction 1.
    let m = classical_mds(Mat::<f64>::zeros(3, 3).as_ref(), 2).unwrap();
    assert!(m.coordinates.col(0).iter().all(|&v| v == 0.0));
    assert_eq!(m.kept_fraction, 1.0);
    // K = 1.
    let m = classical_mds(Mat::<f64>::zeros(1, 1).as_ref(), 1).unwrap();
    assert_eq!(m.eigenvalues, vec![0.0]);
}

/// A non-Euclidean matrix (d₀₂ = 3 > d₀₁ + d₁₂ = 2) has a negative eigenvalue; its coordinate column
/// is zero and the kept fraction is below 1. The diagonal is ignored and D and Dᵀ give the same result
/// bit for bit (the squares are symmetrised as ½(d_ij² + d_ji²)).
#[test]
fn mds_non_euclidean_and_asymmetric() {
    let d = mat(3, &[5.0, 1.0, 3.0, 1.0, f64::NAN, 1.0, 3.0, 1.0, -2.0]);
    let m = classical_mds(d.as_ref(), 3).unwrap();
    assert!(m.eigenvalues[2] < -1e-3, "{:?}", m.eigenvalues);
    assert!((0..3).all(|i| m.coordinates[(i, 2)] == 0.0));
    assert!(m.kept_fraction < 1.0 && m.kept_fraction > 0.5);
    let total: f64 = m.eigenvalues.iter().map(|l| l.abs()).sum();
    let kept: f64 = m.eigenvalues.iter().map(|l| l.max(0.0)).sum();
    assert!((m.kept_fraction - kept / total).abs() <= 1e-15);
    let mut r = rng(4);
    let a = Mat::from_fn(
        6,
        6,
        |i, j| if i == j { 0.0 } else { 1.0 + r.random::<f64>() },
    );
    let (m1, m2) = (
        classical_mds(a.as_ref(), 3).unwrap(),
        classical_mds(a.transpose(), 3).unwrap(),
    );
    assert_eq!(m1.eigenvalues, m2.eigenvalues);
    assert!(m1.coordinates == m2.coordinates);
}

/// Distances of 1e200 (squares overflow f64) and 1e-200 (squares underflow) embed correctly.
#[test]
fn mds_extreme_scales() {
    let mut r = rng(5);
    let pts = gaussian_matrix(8, 2, &mut r);
    let d = euclidean_distances(&pts);
    let base = classical_mds(d.as_ref(), 2).unwrap();
    for s in [1e200, 1e-200] {
        let ds = Mat::from_fn(8, 8, |i, j| s * d[(i, j)]);
        let m = classical_mds(ds.as_ref(), 2).unwrap();
        for i in 0..8 {
            for c in 0..2 {
                let (a, b) = (m.coordinates[(i, c)] / s, base.coordinates[(i, c)]);
                assert!((a - b).abs() <= 1e-12, "scale {s:e}: {a} vs {b}");
            }
        }
        assert!((m.kept_fraction - base.kept_fraction).abs() <= 1e-12);
    }
}

#[test]
fn errors() {
    let d = mat(3, &[0.0, 1.0, 2.0, 1.0, 0.0, 1.0, 2.0, 1.0, 0.0]);
    let labels = [0, 0, 1];
    let rect = Mat::<f64>::zeros(3, 2);
    let empty = Mat::<f64>::zeros(0, 0);
    let mut nan = d.clone();
    nan[(2, 1)] = f64::NAN;
    let mut neg = d.clone();
    neg[(0, 2)] = -1.0;
    let shape = |r: Result<_, Error>| matches!(r, Err(Error::Shape { .. }));
    let param = |r: Result<_, Error>| matches!(r, Err(Error::InvalidParameter { .. }));
    for m in [rect.as_ref(), empty.as_ref()] {
        assert!(shape(silhouette(m, &labels).map(|_| ())));
        assert!(shape(nearest_neighbor_accuracy(m, &labels).map(|_| ())));
        assert!(shape(classical_mds(m, 1).map(|_| ())));
    }
    let non_finite = |r: Result<(), Error>| match r {
        Err(Error::NonFinite { array, index, .. }) => array == "d" && index == vec![2, 1],
        _ => false,
    };
    assert!(non_finite(silhouette(nan.as_ref(), &labels).map(|_| ())));
    assert!(non_finite(nearest_neighbors(nan.as_ref()).map(|_| ())));
    assert!(non_finite(classical_mds(nan.as_ref(), 1).map(|_| ())));
    assert!(param(silhouette(neg.as_ref(), &labels).map(|_| ())));
    assert!(param(nearest_neighbors(neg.as_ref()).map(|_| ())));
    assert!(param(classical_mds(neg.as_ref(), 1).map(|_| ())));
    // Labels: wrong length; one cluster; as many clusters as points.
    let v: MatRef<'_, f64> = d.as_ref();
    assert!(shape(silhouette(v, &[0, 1]).map(|_| ())));
    assert!(shape(
        nearest_neighbor_accuracy(v, &[0, 1, 2, 3]).map(|_| ())
    ));
    assert!(param(silhouette(v, &[5, 5, 5]).map(|_| ())));
    assert!(param(silhouette(v, &[0, 1, 2]).map(|_| ())));
    // Nearest neighbours need two points; MDS needs 1 ≤ dims ≤ K.
    assert!(shape(
        nearest_neighbors(Mat::<f64>::zeros(1, 1).as_ref()).map(|_| ())
    ));
    assert!(param(classical_mds(v, 0).map(|_| ())));
    assert!(param(classical_mds(v, 4).map(|_| ())));
}
