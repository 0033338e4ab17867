//! Tests for the geometric baselines (spec/cases.md, "Baselines").
//!
//! Oracles: exact invariances (rotation/reflection, translation, isotropic scaling, zero-padding),
//! closed forms in one and two feature dimensions written here independently of the library (|Pearson
//! r| and r² in 1-D; the rotation/reflection maximum of tr(QᵀA) for 2 × 2 A), the Procrustes optimum
//! bounding every orthogonal Q from above, a brute-force M × M Gram computation of CKA, and the metric
//! axioms.

use dynsim::baselines::{
    cka_angular, cka_linear, pairwise_distances, procrustes_angular, procrustes_euclidean, Baseline,
};
use dynsim::faer::Mat;
use dynsim::Error;
use proptest::prelude::*;

use crate::common::{gaussian, gaussian_matrix, matmul, proptest_config, random_orthogonal, rng};

type Dist = fn(dynsim::faer::MatRef<'_, f64>, dynsim::faer::MatRef<'_, f64>) -> dynsim::Result<f64>;

/// The three distances, named, with the tolerance of their invariance tests (spec/cases.md §B.5):
/// the Procrustes distances are computed from the residual at the optimal Q, so they resolve 0 to
/// about 1e-15 relative to the data's own rounding (the translated copies in the tests carry a relative
/// error up to ~1e-12 when the translation is 3000 times the spread); arccos CKA is computed from the
/// cosine, so θ ≈ √(2(1 − CKA)) turns a few 1e-16 of rounding into a few 1e-8.
const DISTANCES: [(&str, Dist, f64); 3] = [
    ("procrustes_angular", procrustes_angular, 1e-11),
    ("procrustes_euclidean", procrustes_euclidean, 1e-11),
    ("cka_angular", cka_angular, 1e-7),
];

/// Column-centred copy, written independently of the library.
fn centred(x: &Mat<f64>) -> Mat<f64> {
    let m = x.nrows() as f64;
    Mat::from_fn(x.nrows(), x.ncols(), |i, j| {
        x[(i, j)] - (0..x.nrows()).map(|r| x[(r, j)]).sum::<f64>() / m
    })
}

fn frob(x: &Mat<f64>) -> f64 {
    (0..x.ncols())
        .flat_map(|j| (0..x.nrows()).map(move |i| (i, j)))
        .map(|(i, j)| x[(i, j)] * x[(i, j)])
        .sum::<f64>()
        .sqrt()
}

/// X Q c + 1 bᵀ: an orthogonal transformation, isotropic scaling and translation of X.
fn similar_copy(x: &Mat<f64>, seed: u64, c: f64) -> Mat<f64> {
    let mut r = rng(seed);
    let q = random_orthogonal(x.ncols(), &mut r);
    let b: Vec<f64> = (0..x.ncols()).map(|_| 3.0 * gaussian(&mut r)).collect();
    let xq = matmul(x, &q);
    Mat::from_fn(x.nrows(), x.ncols(), |i, j| c * xq[(i, j)] + b[j])
}

proptest! {
    #![proptest_config(proptest_config(48))]

    /// d(X, c X Q + 1bᵀ) = 0 for orthogonal Q (either determinant), c > 0 and any b; CKA = 1.
    #[test]
    fn similarity_transformations_are_at_zero_distance(
        seed in 0u64..10_000, m in 3usize..60, n in 1usize..7, log_c in -3.0f64..3.0,
    ) {
        let mut r = rng(seed);
        let x = gaussian_matrix(m, n, &mut r);
        let mut y = similar_copy(&x, seed + 1, 10f64.powf(log_c));
        // Force a reflection in half of the cases (det Q = −1 vs +1 is otherwise random).
        if seed % 2 == 0 {
            for i in 0..m {
                y[(i, 0)] = -y[(i, 0)];
            }
        }
        for (name, f, tol) in DISTANCES {
            let d = f(x.as_ref(), y.as_ref()).unwrap();
            prop_assert!(d <= tol, "{name}: {d:e}");
        }
        let cka = cka_linear(x.as_ref(), y.as_ref()).unwrap();
        prop_assert!((1.0 - cka).abs() <= 1e-14, "CKA {cka}");
    }

    /// Zero-padding a representation with zero (or constant) columns, or embedding it isometrically in
    /// more features (Y = X P with PPᵀ = I), does not change any distance.
    #[test]
    fn padding_and_isometric_embedding_are_invisible(
        seed in 0u64..10_000, m in 4usize..40, n in 1usize..5, extra in 1usize..4,
    ) {
        let mut r = rng(seed);
        let x = gaussian_matrix(m, n, &mut r);
        let z = gaussian_matrix(m, n + 1, &mut r);
        let padded = Mat::from_fn(m, n + extra, |i, j| if j < n { x[(i, j)] } else { 7.0 });
        // P = first n rows of an orthogonal (n + extra)² matrix: orthonormal rows.
        let q = random_orthogonal(n + extra, &mut r);
        let p = Mat::from_fn(n, n + extra, |i, j| q[(i, j)]);
        let embedded = matmul(&x, &p);
        for (name, f, tol) in DISTANCES {
            let base = f(x.as_ref(), z.as_ref()).unwrap();
            for (what, y) in [("padded", &padded), ("embedded", &embedded)] {
                let d = f(x.as_ref(), y.as_ref()).unwrap();
                prop_assert!(d <= tol, "{name} {what}: {d:e}");
                let other = f(y.as_ref(), z.as_ref()).unwrap();
                prop_assert!((other - base).abs() <= 1e-10, "{name} {what}: {other} vs {base}");
            }
        }
    }

    /// d(X, Y) = d(Y, X), also with different feature counts.
    #[test]
    fn distances_are_symmetric(
        seed in 0u64..10_000, m in 3usize..50, nx in 1usize..6, ny in 1usize..6,
    ) {
        let mut r = rng(seed);
        let x = gaussian_matrix(m, nx, &mut r);
        let y = gaussian_matrix(m, ny, &mut r);
        for (name, f, _) in DISTANCES {
            let (a, b) = (f(x.as_ref(), y.as_ref()).unwrap(), f(y.as_ref(), x.as_ref()).unwrap());
            prop_assert!((a - b).abs() <= 1e-12, "{name}: {a} vs {b}");
        }
        let (a, b) = (cka_linear(x.as_ref(), y.as_ref()).unwrap(), cka_linear(y.as_ref(), x.as_ref()).unwrap());
        prop_assert!((a - b).abs() <= 1e-12);
    }

    /// Triangle inequality for the three distances, on triples of related representations (Y and Z
    /// are noisy linear maps of X, so the angles are spread over [0, π/2]), mixed feature counts.
    #[test]
    fn distances_satisfy_the_triangle_inequality(
        seed in 0u64..10_000, m in 5usize..40, n in [1usize..5, 1usize..5, 1usize..5],
        noise in [0.0f64..2.0, 0.0f64..2.0],
    ) {
        let mut r = rng(seed);
        let x = gaussian_matrix(m, n[0], &mut r);
        let mut related = |k: usize, s: f64| {
            let a = gaussian_matrix(n[0], n[k], &mut r);
            let e = gaussian_matrix(m, n[k], &mut r);
            let xa = matmul(&x, &a);
            Mat::from_fn(m, n[k], |i, j| xa[(i, j)] + s * e[(i, j)])
        };
        let y = related(1, noise[0]);
        let z = related(2, noise[1]);
        let reps = [&x, &y, &z];
        for (name, f, _) in DISTANCES {
            let d = |i: usize, j: usize| f(reps[i].as_ref(), reps[j].as_ref()).unwrap();
            for (i, j, k) in [(0, 1, 2), (1, 0, 2), (0, 2, 1)] {
                let (dik, dij, djk) = (d(i, k), d(i, j), d(j, k));
                prop_assert!(dik <= dij + djk + 1e-9, "{name}: d({i},{k}) = {dik} > {dij} + {djk}");
            }
        }
    }

    /// CKA ∈ [0, 1], and equals the M × M Gram formula ⟨K_X, K_Y⟩ / (‖K_X‖ ‖K_Y‖) computed by brute
    /// force with K = X̃X̃ᵀ.
    #[test]
    fn cka_is_in_the_unit_interval_and_matches_the_gram_formula(
        seed in 0u64..10_000, m in 2usize..30, nx in 1usize..6, ny in 1usize..6,
    ) {
        let mut r = rng(seed);
        let x = gaussian_matrix(m, nx, &mut r);
        let y = gaussian_matrix(m, ny, &mut r);
        let cka = cka_linear(x.as_ref(), y.as_ref()).unwrap();
        prop_assert!((0.0..=1.0).contains(&cka));
        let gram = |a: &Mat<f64>| {
            let c = centred(a);
            Mat::from_fn(m, m, |i, j| (0..c.ncols()).map(|k| c[(i, k)] * c[(j, k)]).sum::<f64>())
        };
        let (kx, ky) = (gram(&x), gram(&y));
        let inner: f64 = (0..m).flat_map(|i| (0..m).map(move |j| (i, j))).map(|(i, j)| kx[(i, j)] * ky[(i, j)]).sum();
        let expected = inner / (frob(&kx) * frob(&ky));
        prop_assert!((cka - expected).abs() <= 1e-12, "{cka} vs {expected}");
    }

    /// No orthogonal Q beats the Procrustes optimum: cos θ ≥ tr(Qᵀ X̂ᵀŶ) for random Q (N_x = N_y), and
    /// the Euclidean distance is the chord of the angle, √(2 − 2 cos θ).
    #[test]
    fn procrustes_bounds_every_orthogonal_alignment(seed in 0u64..10_000, m in 3usize..30, n in 1usize..6) {
        let mut r = rng(seed);
        let x = centred(&gaussian_matrix(m, n, &mut r));
        let y = centred(&gaussian_matrix(m, n, &mut r));
        let cos = procrustes_angular(x.as_ref(), y.as_ref()).unwrap().cos();
        let (nx, ny) = (frob(&x), frob(&y));
        for _ in 0..20 {
            let q = random_orthogonal(n, &mut r);
            let yq = matmul(&y, &q);
            let inner: f64 = (0..m).flat_map(|i| (0..n).map(move |j| (i, j)))
                .map(|(i, j)| x[(i, j)] * yq[(i, j)]).sum::<f64>() / (nx * ny);
            prop_assert!(inner <= cos + 1e-12, "{inner} > {cos}");
        }
        let eu = procrustes_euclidean(x.as_ref(), y.as_ref()).unwrap();
        prop_assert!((eu - (2.0 - 2.0 * cos).sqrt()).abs() <= 1e-12);
    }
}

/// 1-D closed forms: with one feature, θ = arccos |r| and CKA = r², r the Pearson correlation.
#[test]
fn one_feature_closed_forms() {
    for seed in 0..50 {
        let mut r = rng(seed);
        let m = 3 + (seed as usize % 20);
        let x = gaussian_matrix(m, 1, &mut r);
        let noise = gaussian_matrix(m, 1, &mut r);
        let s = if seed % 2 == 0 { 0.5 } else { -0.7 };
        let y = Mat::from_fn(m, 1, |i, _| s * x[(i, 0)] + noise[(i, 0)]);
        let (xc, yc) = (centred(&x), centred(&y));
        let rho = (0..m).map(|i| xc[(i, 0)] * yc[(i, 0)]).sum::<f64>() / (frob(&xc) * frob(&yc));
        let theta = procrustes_angular(x.as_ref(), y.as_ref()).unwrap();
        assert!((theta.cos() - rho.abs()).abs() <= 1e-13, "seed {seed}");
        let cka = cka_linear(x.as_ref(), y.as_ref()).unwrap();
        assert!((cka - rho * rho).abs() <= 1e-13, "seed {seed}");
    }
}

/// 2-D closed form: max over rotations R(φ) of tr(RᵀA) is √((a₁₁ + a₂₂)² + (a₂₁ − a₁₂)²) and over
/// reflections √((a₁₁ − a₂₂)² + (a₁₂ + a₂₁)²); the larger of the two is the Procrustes optimum.
/// Checked against a fine grid over φ too (which needs no closed form at all).
#[test]
fn two_feature_closed_form_and_grid_search() {
    for seed in 0..40 {
        let mut r = rng(100 + seed);
        let m = 5 + seed as usize;
        let x = centred(&gaussian_matrix(m, 2, &mut r));
        let mix = gaussian_matrix(2, 2, &mut r);
        let noise = gaussian_matrix(m, 2, &mut r);
        let xm = matmul(&x, &mix);
        let y = centred(&Mat::from_fn(m, 2, |i, j| xm[(i, j)] + noise[(i, j)]));
        // A = X̃ᵀỸ / (‖X̃‖ ‖Ỹ‖); the objective is tr(QᵀA) over orthogonal Q.
        let norm = frob(&x) * frob(&y);
        let a = Mat::from_fn(2, 2, |i, j| {
            (0..m).map(|t| x[(t, i)] * y[(t, j)]).sum::<f64>() / norm
        });
        let rot = ((a[(0, 0)] + a[(1, 1)]).powi(2) + (a[(1, 0)] - a[(0, 1)]).powi(2)).sqrt();
        let refl = ((a[(0, 0)] - a[(1, 1)]).powi(2) + (a[(0, 1)] + a[(1, 0)]).powi(2)).sqrt();
        let closed = rot.max(refl);
        let cos = procrustes_angular(x.as_ref(), y.as_ref()).unwrap().cos();
        assert!(
            (cos - closed).abs() <= 1e-13,
            "seed {seed}: {cos} vs {closed}"
        );
        // Grid: Q = [[c, −s], [s, c]] and [[c, s], [s, −c]]; tr(QᵀA) = Σ Q_ij A_ij.
        let mut best = f64::NEG_INFINITY;
        for k in 0..20_000 {
            let phi = std::f64::consts::TAU * k as f64 / 20_000.0;
            let (s, c) = phi.sin_cos();
            let rot = c * a[(0, 0)] - s * a[(0, 1)] + s * a[(1, 0)] + c * a[(1, 1)];
            let refl = c * a[(0, 0)] + s * a[(0, 1)] + s * a[(1, 0)] - c * a[(1, 1)];
            best = best.max(rot).max(refl);
        }
        // Grid step 3e-4 rad: the maximum of a sinusoid is missed by at most ~ (step/2)²/2 · amplitude.
        assert!(
            best <= cos + 1e-13 && cos - best <= 2e-8,
            "seed {seed}: grid {best} vs {cos}"
        );
    }
}

/// Orthogonal representations (X̃ᵀỸ = 0) are at the maximal angle π/2 and CKA 0.
#[test]
fn orthogonal_representations_are_at_right_angles() {
    // Columns of X and Y are disjoint centred ±1 patterns, mutually orthogonal.
    let x = Mat::from_fn(4, 1, |i, _| [1.0, -1.0, 1.0, -1.0][i]);
    let y = Mat::from_fn(4, 2, |i, j| {
        [[1.0, 1.0], [1.0, -1.0], [-1.0, -1.0], [-1.0, 1.0]][i][j]
    });
    let half_pi = std::f64::consts::FRAC_PI_2;
    assert!((procrustes_angular(x.as_ref(), y.as_ref()).unwrap() - half_pi).abs() <= 1e-15);
    assert!((procrustes_euclidean(x.as_ref(), y.as_ref()).unwrap() - 2f64.sqrt()).abs() <= 1e-15);
    assert_eq!(cka_linear(x.as_ref(), y.as_ref()).unwrap(), 0.0);
    assert!((cka_angular(x.as_ref(), y.as_ref()).unwrap() - half_pi).abs() <= 1e-15);
}

/// Extreme magnitudes (1e±200) neither overflow nor underflow: the power-of-two prescaling makes the
/// result independent of the overall scale (spec §B.1).
#[test]
fn extreme_scales_give_the_same_distances() {
    let mut r = rng(7);
    let x = gaussian_matrix(30, 3, &mut r);
    let y = gaussian_matrix(30, 4, &mut r);
    for (name, f, _) in DISTANCES {
        let base = f(x.as_ref(), y.as_ref()).unwrap();
        for s in [1e200, 1e-200, 1e300, 1e-300] {
            let xs = Mat::from_fn(30, 3, |i, j| s * x[(i, j)]);
            let d = f(xs.as_ref(), y.as_ref()).unwrap();
            assert!(
                (d - base).abs() <= 1e-12,
                "{name}, scale {s:e}: {d} vs {base}"
            );
        }
    }
}

/// A constant column (even a large one) contributes exactly nothing, whatever rounding the mean has.
#[test]
fn constant_columns_are_exactly_zero_after_centring() {
    let mut r = rng(8);
    let x = gaussian_matrix(25, 2, &mut r);
    let y = gaussian_matrix(25, 3, &mut r);
    let xc = Mat::from_fn(
        25,
        3,
        |i, j| if j < 2 { x[(i, j)] } else { 0.1 + 1e6 / 3.0 },
    );
    for (name, f, _) in DISTANCES {
        let a = f(x.as_ref(), y.as_ref()).unwrap();
        let b = f(xc.as_ref(), y.as_ref()).unwrap();
        assert!((a - b).abs() <= 1e-14, "{name}: {a} vs {b}");
    }
}

/// `pairwise_distances` is symmetric with a zero diagonal and reproduces the single-pair functions bit
/// for bit; it is deterministic.
#[test]
fn pairwise_matches_single_pairs() {
    let mut r = rng(9);
    let reps: Vec<Mat<f64>> = (0..5)
        .map(|k| gaussian_matrix(20, 1 + k % 3, &mut r))
        .collect();
    let views: Vec<_> = reps.iter().map(|m| m.as_ref()).collect();
    for (baseline, (name, f, _)) in [
        Baseline::ProcrustesAngular,
        Baseline::ProcrustesEuclidean,
        Baseline::CkaAngular,
    ]
    .into_iter()
    .zip(DISTANCES)
    {
        let d = pairwise_distances(&views, baseline).unwrap();
        assert_eq!(d, pairwise_distances(&views, baseline).unwrap());
        for i in 0..5 {
            assert_eq!(d[i * 5 + i], 0.0);
            for j in i + 1..5 {
                assert_eq!(d[i * 5 + j], d[j * 5 + i]);
                let single = f(views[i], views[j]).unwrap();
                assert_eq!(
                    d[i * 5 + j].to_bits(),
                    single.to_bits(),
                    "{name} ({i}, {j})"
                );
            }
        }
    }
    assert!(pairwise_distances(&[], Baseline::CkaAngular)
        .unwrap()
        .is_empty()); // 1 and 3 threads: bit-identical.
    for baseline in [Baseline::ProcrustesAngular, Baseline::CkaAngular] {
        let one =
            dynsim::dsa::with_threads(Some(1), || pairwise_distances(&views, baseline)).unwrap();
        let three =
            dynsim::dsa::with_threads(Some(3), || pairwise_distances(&views, baseline)).unwrap();
        assert_eq!(one.unwrap(), three.unwrap());
    }
}

/// Tall data (M = 200 000 samples): everything goes through N × N cross-products (an M × M Gram
/// matrix would need 320 GB), and the invariances hold at the same tolerances.
#[test]
fn tall_representations_are_cheap_and_accurate() {
    let mut r = rng(11);
    let m = 200_000;
    let x = gaussian_matrix(m, 4, &mut r);
    let y = similar_copy(&x, 12, 0.5);
    let z = gaussian_matrix(m, 3, &mut r);
    for (name, f, tol) in DISTANCES {
        let d = f(x.as_ref(), y.as_ref()).unwrap();
        assert!(d <= tol, "{name}: {d:e}");
        // Independent data: nearly orthogonal (cos θ = O(1/√M)).
        let far = f(x.as_ref(), z.as_ref()).unwrap();
        assert!(far > 1.0, "{name}: {far}");
    }
}

#[test]
fn errors() {
    let mut r = rng(10);
    let x = gaussian_matrix(10, 3, &mut r);
    let y = gaussian_matrix(11, 3, &mut r);
    for (name, f, _) in DISTANCES {
        // Mismatched rows.
        assert!(
            matches!(f(x.as_ref(), y.as_ref()), Err(Error::Shape { ref array, .. }) if array == "y"),
            "{name}"
        );
        // Empty.
        let empty = Mat::<f64>::zeros(10, 0);
        assert!(
            matches!(f(x.as_ref(), empty.as_ref()), Err(Error::Shape { .. })),
            "{name}"
        );
        let no_rows = Mat::<f64>::zeros(0, 2);
        assert!(
            matches!(
                f(no_rows.as_ref(), no_rows.as_ref()),
                Err(Error::Shape { .. })
            ),
            "{name}"
        );
        // Non-finite, with its index.
        for bad in [f64::NAN, f64::INFINITY] {
            let mut z = x.clone();
            z[(4, 1)] = bad;
            match f(x.as_ref(), z.as_ref()) {
                Err(Error::NonFinite { array, index, .. }) => {
                    assert_eq!((array.as_str(), index), ("y", vec![4, 1]), "{name}")
                }
                other => panic!("{name}: {other:?}"),
            }
        }
        // Zero variance: constant columns, all zeros, a single sample.
        let constant = Mat::from_fn(10, 2, |_, j| j as f64 + 0.3);
        let zeros = Mat::<f64>::zeros(10, 2);
        for c in [&constant, &zeros] {
            assert!(
                matches!(
                    f(c.as_ref(), x.as_ref()),
                    Err(Error::InvalidParameter { .. })
                ),
                "{name}"
            );
            assert!(
                matches!(
                    f(x.as_ref(), c.as_ref()),
                    Err(Error::InvalidParameter { .. })
                ),
                "{name}"
            );
        }
        let one = Mat::from_fn(1, 3, |_, j| j as f64);
        assert!(matches!(
            f(one.as_ref(), one.as_ref()),
            Err(Error::InvalidParameter { .. })
        ));
    }
    let z = gaussian_matrix(10, 2, &mut r);
    match pairwise_distances(
        &[x.as_ref(), z.as_ref(), y.as_ref()],
        Baseline::ProcrustesAngular,
    ) {
        Err(Error::Shape { array, .. }) => assert_eq!(array, "representation 2"),
        other => panic!("{other:?}"),
    }
}

/// Small Procrustes distances keep their accuracy (computed from the residual, not from arccos): in
/// 1-D, θ is the angle between the unit vectors x̂ and ±ŷ, 2 arcsin(min ‖x̂ ∓ ŷ‖ / 2), computed here
/// directly; y = ±x + 1e-9 · noise puts θ near 1e-9, far below arccos's floor of ~1e-8.
#[test]
fn small_procrustes_distances_are_accurate() {
    for seed in 0..20 {
        let mut r = rng(200 + seed);
        let m = 10 + seed as usize;
        let x = gaussian_matrix(m, 1, &mut r);
        let e = gaussian_matrix(m, 1, &mut r);
        let sign = if seed % 2 == 0 { 1.0 } else { -1.0 };
        let y = Mat::from_fn(m, 1, |i, _| sign * x[(i, 0)] + 1e-9 * e[(i, 0)]);
        let (xc, yc) = (centred(&x), centred(&y));
        let (nx, ny) = (frob(&xc), frob(&yc));
        let chord = |s: f64| {
            (0..m)
                .map(|i| (xc[(i, 0)] / nx - s * yc[(i, 0)] / ny).powi(2))
                .sum::<f64>()
                .sqrt()
        };
        let expected = 2.0 * (chord(1.0).min(chord(-1.0)) / 2.0).asin();
        let theta = procrustes_angular(x.as_ref(), y.as_ref()).unwrap();
        assert!(expected > 1e-11, "seed {seed}: {expected:e}");
        assert!(
            (theta - expected).abs() <= 1e-6 * expected,
            "seed {seed}: {theta:e} vs {expected:e}"
        );
    }
}

/// Why the angle: 1 − CKA is not a metric, arccos CKA is. With centred orthogonal unit patterns
/// u = (1, −1, 0, 0)/√2 and w = (0, 0, 1, −1)/√2, take X = u, Z = w (one feature each) and Y = [u, w]:
/// CKA(X, Z) = 0 and CKA(X, Y) = CKA(Y, Z) = ⟨uuᵀ, uuᵀ + wwᵀ⟩ / ‖uuᵀ + wwᵀ‖_F = 1/√2. Then
/// 1 − CKA(X, Z) = 1 > 2 (1 − 1/√2) ≈ 0.586 violates the triangle inequality, while the angles are
/// π/2 = π/4 + π/4 (equality: Y's Gram lies on the great circle between X's and Z's).
#[test]
fn one_minus_cka_is_not_a_metric_but_arccos_cka_is() {
    let h = 0.5f64.sqrt();
    let u = [h, -h, 0.0, 0.0];
    let w = [0.0, 0.0, h, -h];
    let x = Mat::from_fn(4, 1, |i, _| u[i]);
    let z = Mat::from_fn(4, 1, |i, _| w[i]);
    let y = Mat::from_fn(4, 2, |i, j| if j == 0 { u[i] } else { w[i] });
    let cka = |a: &Mat<f64>, b: &Mat<f64>| cka_linear(a.as_ref(), b.as_ref()).unwrap();
    assert_eq!(cka(&x, &z), 0.0);
    assert!((cka(&x, &y) - h).abs() <= 1e-15 && (cka(&y, &z) - h).abs() <= 1e-15);
    assert!(1.0 - cka(&x, &z) > (1.0 - cka(&x, &y)) + (1.0 - cka(&y, &z)) + 0.4);
    let ang = |a: &Mat<f64>, b: &Mat<f64>| cka_angular(a.as_ref(), b.as_ref()).unwrap();
    let quarter = std::f64::consts::FRAC_PI_4;
    assert!((ang(&x, &y) - quarter).abs() <= 1e-15 && (ang(&y, &z) - quarter).abs() <= 1e-15);
    assert!(ang(&x, &z) <= ang(&x, &y) + ang(&y, &z) + 1e-15);
}
