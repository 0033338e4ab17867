//! Tests of `dynsim::operator` against spec/operator.md. Oracles: closed forms (planted linear
//! systems), invariances (upstream.md §8.7), and an independent reference implementation written here
//! with faer's high-level API (thin SVD of H, LU solve) instead of the library's in-place QR route.

use dynsim::embedding::{Dataset, DelayParams};
use dynsim::operator::{fit, sort_eigenvalues, FitParams, Operator, RankRule, Regression};
use dynsim::Error;
use faer::linalg::solvers::Solve;
use faer::Mat;
use proptest::prelude::*;

use crate::common::*;

/// A 6-dimensional stable system with planted eigenvalues, conjugated by a random orthogonal matrix.
fn planted_system(seed: u64) -> (Mat<f64>, Vec<(f64, f64)>) {
    let real = [0.95, -0.6];
    let complex = [(0.7, 0.5), (-0.2, 0.85)];
    let block = block_diagonal(&real, &complex);
    let q = random_orthogonal(6, &mut rng(seed));
    let a = matmul(&matmul(&q, &block), &transpose(&q));
    let mut eigs: Vec<(f64, f64)> = real.iter().map(|&r| (r, 0.0)).collect();
    for &(re, im) in &complex {
        eigs.push((re, im));
        eigs.push((re, -im));
    }
    (a, eigs)
}

/// K trials of the noiseless system from Gaussian initial conditions.
fn trajectories(a: &Mat<f64>, k: usize, t_len: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut r = rng(seed);
    (0..k)
        .map(|_| {
            let x0: Vec<f64> = (0..a.nrows()).map(|_| gaussian(&mut r)).collect();
            simulate(a, &x0, t_len)
        })
        .collect()
}

fn dataset(trials: &[Vec<f64>], n: usize) -> Dataset {
    let slices: Vec<&[f64]> = trials.iter().map(|t| t.as_slice()).collect();
    Dataset::from_trials(&slices, n).unwrap()
}

fn params(d: usize, rank: RankRule, lambda: f64, k: usize) -> FitParams {
    FitParams {
        delay: DelayParams {
            n_delays: d,
            delay_interval: 1,
        },
        rank,
        lambda,
        steps_ahead: k,
        regression: Regression::PrincipalComponent,
    }
}

fn frob(a: faer::MatRef<'_, f64>) -> f64 {
    let mut s = 0.0;
    for j in 0..a.ncols() {
        for i in 0..a.nrows() {
            s += a[(i, j)] * a[(i, j)];
        }
    }
    s.sqrt()
}

/// The independent reference: embed (own loop), thin SVD H = V S Uᵀ with faer's high-level SVD,
/// transition pairs within trials (V₋, V₊ stacked explicitly), ridge regression by LU. Returns (A_v, σ,
/// R²) for PCR at rank r, or upstream's m × m RRR operator (row-vector convention) when `rrr`; R² is
/// 1 − ‖V₊ − V₋B̃‖² / ‖V₊ − 1v̄₊ᵀ‖² from the explicit residual (spec/operator.md §6).
fn reference_fit(
    trials: &[Vec<f64>],
    n: usize,
    d: usize,
    r: usize,
    lambda: f64,
    k: usize,
    rrr: bool,
) -> (Mat<f64>, Vec<f64>, f64) {
    let p = n * d;
    let mut rows: Vec<Vec<f64>> = Vec::new();
    let mut bounds = Vec::new();
    for trial in trials {
        let t_len = trial.len() / n;
        let start = rows.len();
        for t in 0..=(t_len - d) {
            let mut row = Vec::with_capacity(p);
            for b in 0..d {
                let src = t + (d - 1 - b);
                row.extend_from_slice(&trial[src * n..(src + 1) * n]);
            }
            rows.push(row);
        }
        bounds.push((start, rows.len()));
    }
    let h = Mat::from_fn(rows.len(), p, |i, j| rows[i][j]);
    let svd = h.thin_svd().unwrap();
    let v_full = svd.U().to_owned(); // H = V S Uᵀ in upstream's naming: faer's U is upstream's V.
    let sigma: Vec<f64> = svd.S().column_vector().iter().copied().collect();
    let cols = if rrr { p } else { r };
    let mut vm_rows = Vec::new();
    let mut vp_rows = Vec::new();
    for &(s, e) in &bounds {
        for t in s..e - k {
            vm_rows.push(t);
            vp_rows.push(t + k);
        }
    }
    let vm = Mat::from_fn(vm_rows.len(), cols, |i, j| v_full[(vm_rows[i], j)]);
    let vp = Mat::from_fn(vp_rows.len(), cols, |i, j| v_full[(vp_rows[i], j)]);
    let mut g = matmul(&transpose(&vm), &vm);
    for i in 0..cols {
        g[(i, i)] += lambda;
    }
    let x = matmul(&transpose(&vm), &vp);
    let b = g.partial_piv_lu().solve(&x); // (V₋ᵀV₋ + λI)⁻¹ V₋ᵀV₊
    let r2 = |pred: &Mat<f64>| {
        let fitted = matmul(&vm, pred);
        let rows = vp.nrows();
        let (mut res, mut tot) = (0.0, 0.0);
        for j in 0..cols {
            let mean = (0..rows).map(|i| vp[(i, j)]).sum::<f64>() / rows as f64;
            for i in 0..rows {
                res += (vp[(i, j)] - fitted[(i, j)]).powi(2);
                tot += (vp[(i, j)] - mean).powi(2);
            }
        }
        1.0 - res / tot
    };
    if !rrr {
        let fit_r2 = r2(&b);
        return (transpose(&b), sigma, fit_r2);
    }
    let proj = matmul(&transpose(&x), &b);
    let eig = proj.self_adjoint_eigen(faer::Side::Lower).unwrap();
    let u = eig.U();
    let w_r = Mat::from_fn(p, r, |i, j| u[(i, p - 1 - j)]);
    let op = matmul(&matmul(&b, &w_r), &transpose(&w_r));
    let fit_r2 = r2(&op);
    (op, sigma, fit_r2)
}

fn eig(a: &Mat<f64>) -> Vec<(f64, f64)> {
    a.eigenvalues()
        .unwrap()
        .iter()
        .map(|c| (c.re, c.im))
        .collect()
}

#[test]
fn noiseless_linear_system_recovers_planted_eigenvalues() {
    // spec/operator.md §8 (upstream.md §8.8): D = 1, full rank, λ = 0 → eig(A_v) = eig(A).
    for seed in 0..5 {
        let (a, planted) = planted_system(seed);
        let trials = trajectories(&a, 4, 30, 100 + seed);
        let op = fit(&dataset(&trials, 6), &params(1, RankRule::Full, 0.0, 1)).unwrap();
        assert_eq!(op.rank(), 6);
        let err = spectrum_distance(op.eigenvalues(), &planted);
        assert!(err < 1e-9, "seed {seed}: eigenvalue error {err:e}");
        assert!(
            (op.r2() - 1.0).abs() < 1e-10,
            "noiseless fit must have R² = 1, got {}",
            op.r2()
        );
        // With upstream's default ridge λ = 1e-8 the bias is O(λ / σ_min(V₋ᵀV₋)).
        let op = fit(&dataset(&trials, 6), &FitParams::default()).unwrap();
        assert!(spectrum_distance(op.eigenvalues(), &planted) < 1e-6);
    }
}

#[test]
fn steps_ahead_gives_powers_of_the_eigenvalues() {
    // v_{t+k} = A_v^k v_t for a noiseless system: eig(A_v) = eig(A)^k.
    let (a, planted) = planted_system(7);
    let trials = trajectories(&a, 5, 30, 8);
    for k in [2usize, 3] {
        let op = fit(&dataset(&trials, 6), &params(1, RankRule::Full, 0.0, k)).unwrap();
        let powered: Vec<(f64, f64)> = planted
            .iter()
            .map(|&(re, im)| {
                let (m, ph) = (re.hypot(im), im.atan2(re));
                let (mk, phk) = (m.powi(k as i32), ph * k as f64);
                (mk * phk.cos(), mk * phk.sin())
            })
            .collect();
        let err = spectrum_distance(op.eigenvalues(), &powered);
        assert!(err < 1e-9, "k = {k}: error {err:e}");
        assert_eq!(op.n_transitions(), 5 * (30 - k));
    }
}

#[test]
fn delay_embedding_of_a_scalar_observation_recovers_the_spectrum() {
    // A scalar readout y = c·x of an observable 4-dim system: the D = 4 delay vectors are an
    // invertible linear image of x, so eig(A_v) = eig(A) (full rank, λ = 0).
    let a = block_diagonal(&[], &[(0.8, 0.4), (0.3, -0.75)]);
    let q = random_orthogonal(4, &mut rng(11));
    let a = matmul(&matmul(&q, &a), &transpose(&q));
    let planted = vec![(0.8, 0.4), (0.8, -0.4), (0.3, 0.75), (0.3, -0.75)];
    let c = Mat::from_fn(4, 1, |i, _| [1.0, -0.5, 0.25, 2.0][i]);
    let trials: Vec<Vec<f64>> = trajectories(&a, 6, 25, 12)
        .iter()
        .map(|t| readout(t, 4, &c))
        .collect();
    let op = fit(&dataset(&trials, 1), &params(4, RankRule::Full, 0.0, 1)).unwrap();
    let err = spectrum_distance(op.eigenvalues(), &planted);
    assert!(err < 1e-8, "error {err:e}");
}

#[test]
fn matches_independent_reference_implementation() {
    // Noisy data, several ranks, ridge on and off, k = 1 and 2, ragged trials: the whole PCR path
    // against the reference built from faer's high-level SVD. A_v agrees up to singular-vector signs
    // (a diagonal ±1 similarity), so compare |A_v| entrywise and the spectra.
    let mut r = rng(21);
    let n = 3;
    let trials: Vec<Vec<f64>> = [40usize, 33, 51]
        .iter()
        .map(|&t| (0..t * n).map(|_| gaussian(&mut r)).collect())
        .collect();
    for (d, rank, lambda, k) in [
        (1, 3, 0.0, 1),
        (2, 4, 1e-3, 1),
        (3, 9, 1e-8, 2),
        (3, 2, 0.1, 1),
    ] {
        let op = fit(
            &dataset(&trials, n),
            &params(d, RankRule::Fixed(rank), lambda, k),
        )
        .unwrap();
        let (reference, sigma, r2) = reference_fit(&trials, n, d, rank, lambda, k, false);
        // R² from the Gram-matrix expansion (spec/operator.md §6.1) against the explicit residual.
        assert!((op.r2() - r2).abs() <= 1e-12, "R² {} vs {r2}", op.r2());
        for (s, t) in op.singular_values().iter().zip(&sigma) {
            assert!(
                (s - t).abs() <= 1e-12 * sigma[0],
                "singular values {s} vs {t}"
            );
        }
        for i in 0..rank {
            for j in 0..rank {
                let (x, y) = (op.matrix()[(i, j)].abs(), reference[(i, j)].abs());
                assert!(
                    (x - y).abs() < 1e-10,
                    "d={d} r={rank}: |A_v|[{i},{j}] {x} vs {y}"
                );
            }
        }
        assert!(spectrum_distance(op.eigenvalues(), &eig(&reference)) < 1e-10);
    }
}

#[test]
fn reduced_rank_regression_matches_reference_spectrum() {
    // spec/operator.md §5: dynsim's r × r RRR operator W_rᵀBᵀW_r has exactly the non-zero spectrum of
    // upstream's m × m operator B W_r W_rᵀ; at full rank it equals PCR's spectrum.
    let mut r = rng(5);
    let n = 4;
    let trials: Vec<Vec<f64>> = (0..3)
        .map(|_| (0..60 * n).map(|_| gaussian(&mut r)).collect())
        .collect();
    let ds = dataset(&trials, n);
    for (d, rank) in [(1usize, 2usize), (2, 5), (2, 8)] {
        let p = FitParams {
            regression: Regression::ReducedRank,
            ..params(d, RankRule::Fixed(rank), 1e-6, 1)
        };
        let op = fit(&ds, &p).unwrap();
        assert_eq!(op.matrix().shape(), (rank, rank));
        let (up, _, r2) = reference_fit(&trials, n, d, rank, 1e-6, 1, true);
        assert!((op.r2() - r2).abs() <= 1e-12, "R² {} vs {r2}", op.r2());
        let mut up_eigs = eig(&up);
        sort_eigenvalues(&mut up_eigs);
        let nonzero: Vec<(f64, f64)> = up_eigs[..rank].to_vec();
        assert!(up_eigs[rank..].iter().all(|e| e.0.hypot(e.1) < 1e-10));
        let err = spectrum_distance(op.eigenvalues(), &nonzero);
        assert!(err < 1e-10, "d={d} r={rank}: {err:e}");
        if rank == n * d {
            let pcr = fit(&ds, &params(d, RankRule::Full, 1e-6, 1)).unwrap();
            assert!(spectrum_distance(op.eigenvalues(), pcr.eigenvalues()) < 1e-10);
        }
    }
}

fn invariants(op: &Operator) -> (Vec<(f64, f64)>, Vec<f64>) {
    let a = op.matrix().to_owned();
    (op.eigenvalues().to_vec(), singular_values(&a))
}

fn assert_orthogonally_similar(a: &Operator, b: &Operator, tol: f64, what: &str) {
    assert_eq!(a.rank(), b.rank(), "{what}: ranks differ");
    let (ea, sa) = invariants(a);
    let (eb, sb) = invariants(b);
    let e = spectrum_distance(&ea, &eb);
    let s = sa
        .iter()
        .zip(&sb)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max);
    assert!(
        e < tol && s < tol,
        "{what}: eigenvalue error {e:e}, singular value error {s:e}"
    );
}

#[test]
fn orthogonal_readout_changes_nothing_at_any_rank() {
    // upstream.md §8.7: data X M, M orthogonal: same V up to column signs, so A_v changes by a
    // diagonal ±1 similarity: |A_v| is unchanged entrywise, at every rank.
    let mut r = rng(31);
    let n = 5;
    let trials: Vec<Vec<f64>> = (0..4)
        .map(|_| (0..50 * n).map(|_| gaussian(&mut r)).collect())
        .collect();
    let m = random_orthogonal(n, &mut r);
    let rotated: Vec<Vec<f64>> = trials.iter().map(|t| readout(t, n, &m)).collect();
    for rank in [
        RankRule::Fixed(3),
        RankRule::Fixed(7),
        RankRule::Full,
        RankRule::ExplainedVariance(0.6),
    ] {
        let p = params(2, rank, 1e-8, 1);
        let a = fit(&dataset(&trials, n), &p).unwrap();
        let b = fit(&dataset(&rotated, n), &p).unwrap();
        assert_orthogonally_similar(&a, &b, 1e-9, "orthogonal readout");
        for i in 0..a.rank() {
            for j in 0..a.rank() {
                assert!((a.matrix()[(i, j)].abs() - b.matrix()[(i, j)].abs()).abs() < 1e-9);
            }
        }
    }
}

#[test]
fn invertible_readout_changes_nothing_at_full_rank() {
    // upstream.md §8.7: M invertible, no truncation: A_v is orthogonally conjugated, with ridge.
    let mut r = rng(41);
    let n = 4;
    let trials: Vec<Vec<f64>> = (0..3)
        .map(|_| (0..40 * n).map(|_| gaussian(&mut r)).collect())
        .collect();
    let m =
        Mat::from_fn(n, n, |i, j| if i == j { 2.0 } else { 0.0 }) + gaussian_matrix(n, n, &mut r);
    let mixed: Vec<Vec<f64>> = trials.iter().map(|t| readout(t, n, &m)).collect();
    for lambda in [0.0, 1e-8, 1e-2] {
        let p = params(2, RankRule::Full, lambda, 1);
        let a = fit(&dataset(&trials, n), &p).unwrap();
        let b = fit(&dataset(&mixed, n), &p).unwrap();
        assert_orthogonally_similar(&a, &b, 1e-8, "invertible readout");
    }
    // Truncation breaks it (the spec says so): the rank-2 operators differ.
    let p = params(2, RankRule::Fixed(2), 0.0, 1);
    let a = fit(&dataset(&trials, n), &p).unwrap();
    let b = fit(&dataset(&mixed, n), &p).unwrap();
    assert!(spectrum_distance(a.eigenvalues(), b.eigenvalues()) > 1e-3);
}

proptest! {
    #![proptest_config(proptest_config(24))]

    /// Trial order changes neither the singular values nor A_v beyond column signs.
    #[test]
    fn trial_order_does_not_matter(seed in 0u64..1000, rank in 1usize..7) {
        let mut r = rng(seed);
        let n = 3;
        let mut trials: Vec<Vec<f64>> = [30usize, 22, 41, 27]
            .iter().map(|&t| (0..t * n).map(|_| gaussian(&mut r)).collect()).collect();
        let p = params(2, RankRule::Fixed(rank), 1e-8, 1);
        let a = fit(&dataset(&trials, n), &p).unwrap();
        trials.reverse();
        trials.swap(0, 2);
        let b = fit(&dataset(&trials, n), &p).unwrap();
        assert_orthogonally_similar(&a, &b, 1e-9, "trial order");
    }

    /// Larger λ shrinks ‖A_v‖_F (each eigendirection of V₋ᵀV₋ is scaled by 1/(g + λ)).
    #[test]
    fn ridge_shrinks_the_operator(seed in 0u64..1000) {
        let mut r = rng(seed);
        let trials: Vec<Vec<f64>> = (0..2).map(|_| (0..40 * 3).map(|_| gaussian(&mut r)).collect()).collect();
        let ds = dataset(&trials, 3);
        let norms: Vec<f64> = [0.0, 1e-3, 1e-2, 1e-1, 1.0, 10.0]
            .iter()
            .map(|&l| frob(fit(&ds, &params(2, RankRule::Full, l, 1)).unwrap().matrix()))
            .collect();
        for w in norms.windows(2) {
            prop_assert!(w[1] < w[0], "norms not decreasing: {:?}", norms);
        }
    }

    /// Same input, same output, bit for bit.
    #[test]
    fn fit_is_deterministic(seed in 0u64..1000) {
        let mut r = rng(seed);
        let trials: Vec<Vec<f64>> = (0..3).map(|_| (0..25 * 2).map(|_| gaussian(&mut r)).collect()).collect();
        let p = params(3, RankRule::Full, 1e-8, 1);
        let a = fit(&dataset(&trials, 2), &p).unwrap();
        let b = fit(&dataset(&trials, 2), &p).unwrap();
        prop_assert_eq!(a.matrix().to_owned(), b.matrix().to_owned());
        prop_assert_eq!(a.eigenvalues(), b.eigenvalues());
        prop_assert_eq!(a.r2().to_bits(), b.r2().to_bits());
    }
}

/// A single-trial dataset whose Hankel matrix (D = 1) has exactly the singular values `s`.
fn planted_singular_values(s: &[f64], t_len: usize, seed: u64) -> Dataset {
    let n = s.len();
    let mut r = rng(seed);
    let left = random_orthogonal(t_len, &mut r);
    let right = random_orthogonal(n, &mut r);
    let x = Mat::from_fn(t_len, n, |i, j| {
        (0..n).map(|k| left[(i, k)] * s[k] * right[(j, k)]).sum()
    });
    Dataset::from_array(&to_row_major(&x), 1, t_len, n).unwrap()
}

#[test]
fn rank_rules_on_constructed_singular_values() {
    let s = [8.0, 4.0, 2.0, 1.0, 0.5, 0.25];
    let ds = planted_singular_values(&s, 40, 3);
    let rank_of = |rule| fit(&ds, &params(1, rule, 1e-8, 1)).unwrap().rank();
    let op = fit(&ds, &params(1, RankRule::Full, 1e-8, 1)).unwrap();
    for (x, y) in op.singular_values().iter().zip(&s) {
        approx::assert_abs_diff_eq!(x, y, epsilon = 1e-12 * 8.0);
    }
    assert_eq!(rank_of(RankRule::Full), 6);
    assert_eq!(rank_of(RankRule::Fixed(4)), 4);
    assert_eq!(rank_of(RankRule::Threshold(1.5)), 3); // 8, 4, 2 > 1.5
    assert_eq!(rank_of(RankRule::Threshold(0.9)), 4);
    assert_eq!(rank_of(RankRule::Threshold(100.0)), 1); // at least 1
                                                        // Σσ² = 64 + 16 + 4 + 1 + 0.25 + 0.0625 = 85.3125; cumulative 64, 80, 84, 85, …
    assert_eq!(rank_of(RankRule::ExplainedVariance(0.75)), 1); // 64/85.3 = 0.750…
    assert_eq!(rank_of(RankRule::ExplainedVariance(0.76)), 2); // 80/85.3 = 0.938
    assert_eq!(rank_of(RankRule::ExplainedVariance(0.95)), 3); // 84/85.3 = 0.985
    assert_eq!(rank_of(RankRule::ExplainedVariance(0.99)), 4); // 85/85.3 = 0.9963
    assert_eq!(rank_of(RankRule::ExplainedVariance(1.0)), 6);
}

#[test]
fn gavish_donoho_rule_on_constructed_singular_values() {
    // β = p / M = 6 / 40 = 0.15: ω = 0.56·0.15³ − 0.95·0.15² + 1.82·0.15 + 1.43 = 1.683515;
    // median of σ = (2 + 1)/2 = 1.5 → τ = 2.524: σ > τ for 8 and 4 → r = 2.
    let beta: f64 = 0.15;
    let omega = 0.56 * beta.powi(3) - 0.95 * beta.powi(2) + 1.82 * beta + 1.43;
    assert!((omega - 1.683515).abs() < 1e-12);
    assert!((dynsim::operator::gavish_donoho_omega(beta) - omega).abs() < 1e-15);
    let ds = planted_singular_values(&[8.0, 4.0, 2.0, 1.0, 0.5, 0.25], 40, 4);
    assert_eq!(
        fit(&ds, &params(1, RankRule::Auto, 1e-8, 1))
            .unwrap()
            .rank(),
        2
    );
    // A low-rank signal plus small noise: the rule finds the signal rank.
    let mut r = rng(9);
    let (t_len, n) = (400, 20);
    let u = gaussian_matrix(t_len, 3, &mut r);
    let w = gaussian_matrix(3, n, &mut r);
    let noise = gaussian_matrix(t_len, n, &mut r);
    let x = Mat::from_fn(t_len, n, |i, j| {
        (0..3).map(|k| u[(i, k)] * w[(k, j)]).sum::<f64>() + 0.05 * noise[(i, j)]
    });
    let ds = Dataset::from_array(&to_row_major(&x), 1, t_len, n).unwrap();
    assert_eq!(
        fit(&ds, &params(1, RankRule::Auto, 1e-8, 1))
            .unwrap()
            .rank(),
        3
    );
}

#[test]
fn rank_rule_selection_directly() {
    let s = [3.0, 2.0, 1.0]; // σ² = 9, 4, 1; total 14
    assert_eq!(
        RankRule::ExplainedVariance(0.5)
            .select(&s, &s, 0.5)
            .unwrap(),
        1
    );
    assert_eq!(
        RankRule::ExplainedVariance(0.9)
            .select(&s, &s, 0.5)
            .unwrap(),
        2
    ); // 13/14
    assert_eq!(
        RankRule::ExplainedVariance(0.95)
            .select(&s, &s, 0.5)
            .unwrap(),
        3
    );
    // Overflow-safe: the same profile scaled by 1e300 gives the same ranks.
    let big: Vec<f64> = s.iter().map(|x| x * 1e300).collect();
    assert_eq!(
        RankRule::ExplainedVariance(0.9)
            .select(&big, &big, 0.5)
            .unwrap(),
        2
    );
    assert_eq!(RankRule::Threshold(2.0).select(&s, &s, 0.5).unwrap(), 1); // strictly greater
    assert!(matches!(
        RankRule::Fixed(4).select(&s, &s, 0.5),
        Err(Error::RankOutOfRange { rank: 4, max: 3 })
    ));
}

#[test]
fn rank_options_like_upstream() {
    assert_eq!(
        RankRule::from_options(None, None, None, false).unwrap(),
        RankRule::Full
    );
    let zero = RankRule::from_options(Some(0), None, None, false).unwrap_err();
    assert!(matches!(zero, Error::RankOutOfRange { rank: 0, .. }));
    assert!(zero.to_string().contains("at least 1"), "{zero}");
    assert_eq!(
        RankRule::from_options(Some(3), None, None, false).unwrap(),
        RankRule::Fixed(3)
    );
    assert!(matches!(
        RankRule::from_options(Some(3), Some(0.1), None, false),
        Err(Error::ConflictingRankRules { .. })
    ));
    assert!(matches!(
        RankRule::from_options(None, None, Some(0.9), true),
        Err(Error::ConflictingRankRules { .. })
    ));
    assert!(matches!(
        RankRule::from_options(None, None, Some(1.5), false),
        Err(Error::InvalidParameter { .. })
    ));
    assert!(matches!(
        RankRule::from_options(None, Some(f64::NAN), None, false),
        Err(Error::InvalidParameter { .. })
    ));
}

#[test]
fn bad_input_gives_specific_errors() {
    let mut r = rng(1);
    let good: Vec<f64> = (0..20 * 3).map(|_| gaussian(&mut r)).collect();
    let ds = Dataset::from_array(&good, 1, 20, 3)
        .unwrap()
        .with_name("sys.npy");
    let base = FitParams::default();

    let mut bad = good.clone();
    bad[7] = f64::NAN;
    assert!(matches!(
        Dataset::from_array(&bad, 1, 20, 3),
        Err(Error::NonFinite { .. })
    ));

    // Too few time points for D = 10 and k = 1: 20 < 9 + 1 + 1? no; D = 20 needs 21.
    let p = FitParams {
        delay: DelayParams {
            n_delays: 20,
            delay_interval: 1,
        },
        ..base
    };
    match fit(&ds, &p).unwrap_err() {
        Error::TooFewTimePoints { array, needed, .. } => {
            assert_eq!(array, "sys.npy");
            assert_eq!(needed, 21);
        }
        e => panic!("{e:?}"),
    }
    // K·T' < N·D: D = 6 gives T' = 15 rows but 18 columns.
    let p = FitParams {
        delay: DelayParams {
            n_delays: 6,
            delay_interval: 1,
        },
        ..base
    };
    assert_eq!(
        fit(&ds, &p).unwrap_err(),
        Error::TooFewSamples {
            array: "sys.npy".into(),
            rows: 15,
            cols: 18
        }
    );
    // Rank 0 and above N·D.
    for rank in [0usize, 4] {
        let p = FitParams {
            rank: RankRule::Fixed(rank),
            ..base
        };
        assert!(
            matches!(fit(&ds, &p), Err(Error::RankOutOfRange { max, .. }) if rank == 0 || max == 3)
        );
    }
    // λ < 0, NaN, infinite.
    for lambda in [-1e-3, f64::NAN, f64::INFINITY] {
        let p = FitParams { lambda, ..base };
        assert!(matches!(
            fit(&ds, &p),
            Err(Error::InvalidParameter { name: "lambda", .. })
        ));
    }
    // steps_ahead 0.
    let p = FitParams {
        steps_ahead: 0,
        ..base
    };
    assert!(matches!(
        fit(&ds, &p),
        Err(Error::InvalidParameter {
            name: "steps_ahead",
            ..
        })
    ));
    // All-zero data: no operator.
    let zeros = Dataset::from_array(&[0.0; 30], 1, 10, 3).unwrap();
    assert!(matches!(
        fit(&zeros, &base),
        Err(Error::DegenerateData { .. })
    ));
}

#[test]
fn huge_and_tiny_magnitudes_do_not_overflow() {
    // A_v is scale invariant: data × 1e150 or × 1e-150 gives the same operator up to round-off.
    let (a, _) = planted_system(2);
    let trials = trajectories(&a, 3, 30, 4);
    let base = fit(&dataset(&trials, 6), &FitParams::default()).unwrap();
    for scale in [1e150, 1e-150] {
        let scaled: Vec<Vec<f64>> = trials
            .iter()
            .map(|t| t.iter().map(|x| x * scale).collect())
            .collect();
        let op = fit(&dataset(&scaled, 6), &params(1, RankRule::Full, 1e-8, 1)).unwrap();
        assert!(op.matrix().is_all_finite());
        assert!(
            spectrum_distance(op.eigenvalues(), base.eigenvalues()) < 1e-6,
            "scale {scale:e}"
        );
    }
}

#[test]
fn from_parts_round_trips() {
    let (a, _) = planted_system(3);
    let trials = trajectories(&a, 3, 30, 5);
    let op = fit(&dataset(&trials, 6), &FitParams::default()).unwrap();
    let back = Operator::from_parts(
        op.matrix().to_owned(),
        op.singular_values().to_vec(),
        op.r2(),
        *op.params(),
        op.n_features(),
        op.n_samples(),
        op.n_transitions(),
    )
    .unwrap();
    assert_eq!(back.eigenvalues(), op.eigenvalues());
    let not_square = Mat::<f64>::zeros(2, 3);
    assert!(matches!(
        Operator::from_parts(
            not_square,
            vec![1.0; 3],
            0.0,
            FitParams::default(),
            3,
            10,
            9
        ),
        Err(Error::Shape { .. })
    ));
}

#[test]
fn eigenvalue_order_is_documented_order() {
    let mut e = vec![(0.1, 0.0), (0.5, -0.5), (-0.9, 0.0), (0.5, 0.5), (0.9, 0.0)];
    sort_eigenvalues(&mut e);
    assert_eq!(
        e,
        vec![(0.9, 0.0), (-0.9, 0.0), (0.5, 0.5), (0.5, -0.5), (0.1, 0.0)]
    );
}

#[test]
fn inconsistent_hankel_is_refused() {
    let ds = Dataset::from_array(&[0.5, 1.0, -0.25, 2.0, 0.0, 1.5, 3.0, -1.0], 1, 8, 1).unwrap();
    let mut h = ds.embed(&DelayParams::default()).unwrap();
    h.offsets = vec![0, 5, 3, 8];
    assert!(matches!(
        dynsim::operator::fit_hankel(h, &FitParams::default()),
        Err(Error::Shape { .. })
    ));
}

#[test]
fn extreme_magnitudes_neither_overflow_nor_underflow() {
    // spec/operator.md §2.2. Scaling the data by 2ᵏ scales H exactly, and the fit rescales H by a
    // power of two before its QR, so A_v, R² and the eigenvalues are bit-identical and σ scales by
    // exactly 2ᵏ, from k = −1000 to k = 1000 (data near 1e301), as long as the scaled data stay
    // normal numbers. Decimal scales 1e±300 are not exact, and 1e-310 makes the data subnormal
    // (about 44 significant bits left): those are compared to tolerances.
    let (a, _) = planted_system(3);
    let trials = trajectories(&a, 3, 60, 4);
    let base = fit(
        &dataset(&trials, 6),
        &params(2, RankRule::Fixed(8), 1e-8, 1),
    )
    .unwrap();
    let scaled_fit = |s: f64| {
        let t: Vec<Vec<f64>> = trials
            .iter()
            .map(|x| x.iter().map(|v| v * s).collect())
            .collect();
        fit(&dataset(&t, 6), &params(2, RankRule::Fixed(8), 1e-8, 1)).unwrap()
    };
    let bits = |op: &Operator| {
        let m = op.matrix();
        (0..m.nrows())
            .flat_map(|i| (0..m.ncols()).map(move |j| m[(i, j)].to_bits()))
            .collect::<Vec<_>>()
    };
    for k in [-1000, -300, 300, 1000] {
        let s = 2f64.powi(k / 2) * 2f64.powi(k - k / 2);
        let op = scaled_fit(s);
        assert_eq!(bits(&op), bits(&base), "2^{k}");
        assert_eq!(op.r2().to_bits(), base.r2().to_bits());
        for (x, y) in op.singular_values().iter().zip(base.singular_values()) {
            assert_eq!(*x, y * s, "2^{k}");
        }
    }
    for s in [1e300, 1e-300, 1e-310] {
        // Rounding differs from the unscaled fit, so A_v is compared up to the orthogonal similarity
        // that nearly equal singular values leave free (its eigenvalues and singular values).
        let op = scaled_fit(s);
        assert_orthogonally_similar(&op, &base, 1e-9, &format!("scale {s:e}"));
        for (x, y) in op.singular_values().iter().zip(base.singular_values()) {
            assert!(
                (x / s - y).abs() <= 1e-12 * base.singular_values()[0],
                "scale {s:e}"
            );
        }
    }
}

#[test]
fn r_squared_holds_for_data_with_a_large_offset() {
    // spec/operator.md §6: uncentred data with an offset 1e4 times the noise give V a nearly constant
    // column; at rank 1 V₊ is nearly constant, ‖V₊ − V₋B‖² is a tiny difference of O(1) terms, and an
    // R² expanded through the Gram matrices (‖V₊‖² − 2⟨X, B⟩ + ⟨B, G₀B⟩) is off by 2e-7 here. The
    // explicit residual matches the reference.
    let mut r = rng(33);
    let n = 3;
    let trials: Vec<Vec<f64>> = [50usize, 41]
        .iter()
        .map(|&t| (0..t * n).map(|_| 1e4 + gaussian(&mut r)).collect())
        .collect();
    for (d, rank) in [(1, 1), (2, 1), (1, 3), (2, 6), (3, 4)] {
        let op = fit(
            &dataset(&trials, n),
            &params(d, RankRule::Fixed(rank), 1e-8, 1),
        )
        .unwrap();
        let (_, _, r2) = reference_fit(&trials, n, d, rank, 1e-8, 1, false);
        assert!(
            (op.r2() - r2).abs() <= 1e-9,
            "d={d} r={rank}: R² {} vs {r2}",
            op.r2()
        );
    }
}
