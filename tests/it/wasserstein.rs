//! Tests for the spectral Wasserstein scores and their exact solvers (spec/alignment-wasserstein.md).
//!
//! Oracles: brute force over all permutations (n ≤ 7), the replication argument for unequal sizes
//! (uniform measures on n and m points are uniform measures on L = lcm(n, m) replicated points, where
//! transport is an assignment), LP duality certificates for sizes beyond brute force, closed forms, and
//! the similarity invariance of spectra.

use dynsim::alignment::{
    solve_assignment, solve_uniform_transport, spectral_coupling, spectral_distance,
    spectral_distance_operators, SpectralScore, UnequalSizes,
};
use dynsim::faer::Mat;
use dynsim::Error;
use proptest::prelude::*;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

const SCORES: [SpectralScore; 3] = [
    SpectralScore::Wasserstein,
    SpectralScore::Wasserstein2,
    SpectralScore::Wasserstein1,
];

/// `default_cases` cases unless PROPTEST_CASES is set; no regression files are written.
fn config(default_cases: u32) -> ProptestConfig {
    crate::common::proptest_config(default_cases)
}

/// All permutations of 0..k (k ≤ 7), in lexicographic order.
fn permutations(k: usize) -> Vec<Vec<usize>> {
    fn rec(prefix: &mut Vec<usize>, used: &mut Vec<bool>, out: &mut Vec<Vec<usize>>) {
        if prefix.len() == used.len() {
            out.push(prefix.clone());
            return;
        }
        for c in 0..used.len() {
            if !used[c] {
                used[c] = true;
                prefix.push(c);
                rec(prefix, used, out);
                prefix.pop();
                used[c] = false;
            }
        }
    }
    let mut out = Vec::new();
    rec(&mut Vec::new(), &mut vec![false; k], &mut out);
    out
}

/// min over injective maps rows → columns of Σ cost, by enumeration (n ≤ m ≤ 7).
fn brute_assignment(cost: &Mat<f64>) -> f64 {
    let (n, m) = (cost.nrows(), cost.ncols());
    permutations(m)
        .iter()
        .map(|p| (0..n).map(|i| cost[(i, p[i])]).sum::<f64>())
        .fold(f64::INFINITY, f64::min)
}

fn random_cost(rng: &mut ChaCha8Rng, n: usize, m: usize, ties: bool) -> Mat<f64> {
    Mat::from_fn(n, m, |_, _| {
        if ties {
            rng.random_range(0..4) as f64
        } else {
            rng.random_range(-1.0..1.0)
        }
    })
}

/// A spectrum of a real matrix: real eigenvalues and conjugate pairs; with `ties`, values come from a
/// coarse grid so that repeated eigenvalues and equal costs are common.
fn random_spectrum(rng: &mut ChaCha8Rng, n: usize, ties: bool) -> Vec<(f64, f64)> {
    let draw = |rng: &mut ChaCha8Rng| {
        if ties {
            rng.random_range(-2..=2) as f64 * 0.5
        } else {
            rng.random_range(-1.5..1.5)
        }
    };
    let mut s = Vec::with_capacity(n);
    while s.len() < n {
        let re = draw(rng);
        if s.len() + 2 <= n && rng.random_bool(0.4) {
            let im = draw(rng).abs().max(0.25);
            s.push((re, im));
            s.push((re, -im));
        } else {
            s.push((re, 0.0));
        }
    }
    s
}

fn dist2(p: (f64, f64), q: (f64, f64)) -> f64 {
    (p.0 - q.0).powi(2) + (p.1 - q.1).powi(2)
}

fn dist(p: (f64, f64), q: (f64, f64)) -> f64 {
    (p.0 - q.0).hypot(p.1 - q.1)
}

/// (W₂², W₁) for equal sizes by enumeration of all permutations.
fn brute_spectral(a: &[(f64, f64)], b: &[(f64, f64)]) -> (f64, f64) {
    let n = a.len() as f64;
    let mut best2 = f64::INFINITY;
    let mut best1 = f64::INFINITY;
    for p in permutations(a.len()) {
        let s2: f64 = a.iter().zip(&p).map(|(&x, &k)| dist2(x, b[k])).sum();
        let s1: f64 = a.iter().zip(&p).map(|(&x, &k)| dist(x, b[k])).sum();
        best2 = best2.min(s2 / n);
        best1 = best1.min(s1 / n);
    }
    (best2, best1)
}

fn close(x: f64, y: f64, rel: f64) -> bool {
    (x - y).abs() <= rel * (1.0 + x.abs().max(y.abs()))
}

fn matmul(a: &Mat<f64>, b: &Mat<f64>) -> Mat<f64> {
    Mat::from_fn(a.nrows(), b.ncols(), |i, j| {
        (0..a.ncols()).map(|k| a[(i, k)] * b[(k, j)]).sum()
    })
}

fn transpose(a: &Mat<f64>) -> Mat<f64> {
    Mat::from_fn(a.ncols(), a.nrows(), |i, j| a[(j, i)])
}

/// A random orthogonal matrix: a product of n Householder reflections.
fn random_orthogonal(rng: &mut ChaCha8Rng, n: usize) -> Mat<f64> {
    let mut q = Mat::from_fn(n, n, |i, j| if i == j { 1.0 } else { 0.0 });
    for _ in 0..n {
        let v: Vec<f64> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
        let norm2: f64 = v.iter().map(|x| x * x).sum();
        if norm2 < 1e-3 {
            continue;
        }
        // q ← (I − 2vvᵀ/‖v‖²) q
        for j in 0..n {
            let dot: f64 = (0..n).map(|i| v[i] * q[(i, j)]).sum();
            for i in 0..n {
                q[(i, j)] -= 2.0 * v[i] * dot / norm2;
            }
        }
    }
    q
}

/// A well-conditioned invertible matrix Q₁ diag(s) Q₂ with s ∈ [0.5, 2] (so κ₂ ≤ 4) and its inverse.
fn random_well_conditioned(rng: &mut ChaCha8Rng, n: usize) -> (Mat<f64>, Mat<f64>) {
    let q1 = random_orthogonal(rng, n);
    let q2 = random_orthogonal(rng, n);
    let s: Vec<f64> = (0..n).map(|_| rng.random_range(0.5..=2.0)).collect();
    let mid = Mat::from_fn(n, n, |i, j| s[i] * q2[(i, j)]);
    let mid_inv = Mat::from_fn(n, n, |i, j| q1[(j, i)] / s[i]);
    (matmul(&q1, &mid), matmul(&transpose(&q2), &mid_inv))
}

/// Block-diagonal real matrix with the given spectrum (a conjugate pair a ± ib becomes [[a, −b], [b, a]]).
fn block_diagonal(spec: &[(f64, f64)]) -> Mat<f64> {
    let n = spec.len();
    let mut d = Mat::zeros(n, n);
    let mut k = 0;
    while k < n {
        let (re, im) = spec[k];
        if im != 0.0 && k + 1 < n {
            d[(k, k)] = re;
            d[(k + 1, k + 1)] = re;
            d[(k, k + 1)] = -im.abs();
            d[(k + 1, k)] = im.abs();
            k += 2;
        } else {
            d[(k, k)] = re;
            k += 1;
        }
    }
    d
}

proptest! {
    #![proptest_config(config(64))]

    /// The assignment solver attains the brute-force optimum (square and rectangular, with and
    /// without ties), returns an injective map whose cost it reports exactly, and its potentials
    /// certify optimality (dual feasible, zero duality gap).
    #[test]
    fn assignment_matches_brute_force(seed in any::<u64>(), n in 1usize..=7, extra in 0usize..=2, ties in any::<bool>()) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let m = (n + extra).min(7);
        let cost = random_cost(&mut rng, n, m, ties);
        let asg = solve_assignment(cost.as_ref()).unwrap();
        prop_assert_eq!(asg.columns.len(), n);
        let mut seen = vec![false; m];
        for &j in &asg.columns {
            prop_assert!(j < m && !seen[j]);
            seen[j] = true;
        }
        let recomputed: f64 = asg.columns.iter().enumerate().map(|(i, &j)| cost[(i, j)]).sum();
        prop_assert_eq!(asg.cost, recomputed);
        let brute = brute_assignment(&cost);
        prop_assert!(close(asg.cost, brute, 1e-12), "solver {} vs brute force {}", asg.cost, brute);
        for i in 0..n {
            for j in 0..m {
                prop_assert!(asg.row_potentials[i] + asg.column_potentials[j] <= cost[(i, j)] + 1e-12);
            }
        }
        for (j, &v) in asg.column_potentials.iter().enumerate() {
            prop_assert!(v <= 1e-12);
            if !seen[j] {
                prop_assert_eq!(v, 0.0);
            }
        }
        let dual: f64 = asg.row_potentials.iter().sum::<f64>() + asg.column_potentials.iter().sum::<f64>();
        prop_assert!(close(dual, asg.cost, 1e-12));
    }

    /// Transport between uniform measures of different sizes equals the assignment between the
    /// measures replicated to L = lcm(n, m) points each (exact by the Birkhoff–von Neumann theorem),
    /// brute-forced for L ≤ 7.
    #[test]
    fn transport_matches_replicated_brute_force(seed in any::<u64>(), pair in 0usize..16, ties in any::<bool>()) {
        const PAIRS: [(usize, usize); 16] = [
            (1, 2), (1, 3), (1, 4), (1, 5), (1, 6), (1, 7), (2, 1), (5, 1),
            (2, 4), (4, 2), (2, 6), (6, 2), (3, 6), (6, 3), (2, 3), (3, 2),
        ];
        let (n, m) = PAIRS[pair];
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let cost = random_cost(&mut rng, n, m, ties);
        let l = n * m / gcd(n, m);
        let rep = Mat::from_fn(l, l, |a, b| cost[(a / (l / n), b / (l / m))]);
        let brute = brute_assignment(&rep) / l as f64;
        let t = solve_uniform_transport(cost.as_ref()).unwrap();
        prop_assert!(close(t.cost, brute, 1e-12), "transport {} vs replicated brute force {}", t.cost, brute);
    }

    /// Transport certificate beyond brute-force sizes: exact marginals 1/n and 1/m, a vertex of the
    /// transport polytope (at most n + m − 1 non-zero entries), reported cost = Σ P c, dual feasibility
    /// and zero duality gap.
    #[test]
    fn transport_certificate(seed in any::<u64>(), n in 1usize..=40, m in 1usize..=40, ties in any::<bool>()) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let cost = random_cost(&mut rng, n, m, ties);
        let t = solve_uniform_transport(cost.as_ref()).unwrap();
        prop_assert!(t.plan.len() < n + m);
        let mut rows = vec![0.0; n];
        let mut cols = vec![0.0; m];
        let mut total = 0.0;
        for &(i, j, w) in &t.plan {
            prop_assert!(w > 0.0);
            rows[i] += w;
            cols[j] += w;
            total += w * cost[(i, j)];
        }
        for r in rows {
            prop_assert!((r - 1.0 / n as f64).abs() <= 1e-14);
        }
        for c in cols {
            prop_assert!((c - 1.0 / m as f64).abs() <= 1e-14);
        }
        prop_assert!(close(total, t.cost, 1e-12));
        for i in 0..n {
            for j in 0..m {
                prop_assert!(t.source_potentials[i] + t.sink_potentials[j] <= cost[(i, j)] + 1e-12);
            }
        }
        let dual = t.source_potentials.iter().sum::<f64>() / n as f64
            + t.sink_potentials.iter().sum::<f64>() / m as f64;
        prop_assert!(close(dual, t.cost, 1e-12), "dual {} vs primal {}", dual, t.cost);
    }

    /// For n = m the transport solver and the assignment solver agree (value / n).
    #[test]
    fn transport_equals_assignment_when_square(seed in any::<u64>(), n in 1usize..=30, ties in any::<bool>()) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let cost = random_cost(&mut rng, n, n, ties);
        let t = solve_uniform_transport(cost.as_ref()).unwrap();
        let a = solve_assignment(cost.as_ref()).unwrap();
        prop_assert!(close(t.cost, a.cost / n as f64, 1e-12), "{} vs {}", t.cost, a.cost / n as f64);
    }

    /// W₂², W₂ and W₁ on equal-size spectra equal their brute-force definitions, under both
    /// conventions for unequal sizes (which do not apply here).
    #[test]
    fn scores_match_brute_force(seed in any::<u64>(), n in 1usize..=7, ties in any::<bool>()) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let a = random_spectrum(&mut rng, n, ties);
        let b = random_spectrum(&mut rng, n, ties);
        let (w22, w1) = brute_spectral(&a, &b);
        for unequal in [UnequalSizes::Transport, UnequalSizes::ZeroPad] {
            let got22 = spectral_distance(&a, &b, SpectralScore::Wasserstein, unequal).unwrap();
            let got2 = spectral_distance(&a, &b, SpectralScore::Wasserstein2, unequal).unwrap();
            let got1 = spectral_distance(&a, &b, SpectralScore::Wasserstein1, unequal).unwrap();
            prop_assert!(close(got22, w22, 1e-12), "W2^2 {} vs {}", got22, w22);
            prop_assert!(close(got2, w22.sqrt(), 1e-12), "W2 {} vs {}", got2, w22.sqrt());
            prop_assert!(close(got1, w1, 1e-12), "W1 {} vs {}", got1, w1);
        }
    }

    /// Unequal sizes (Transport): the score equals the equal-size score of the spectra replicated to
    /// lcm(n, m) points, brute-forced.
    #[test]
    fn unequal_scores_match_replicated_brute_force(seed in any::<u64>(), pair in 0usize..8, ties in any::<bool>()) {
        const PAIRS: [(usize, usize); 8] = [(1, 2), (1, 3), (3, 1), (1, 6), (2, 4), (2, 6), (3, 6), (2, 3)];
        let (n, m) = PAIRS[pair];
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let a = random_spectrum(&mut rng, n, ties);
        let b = random_spectrum(&mut rng, m, ties);
        let l = n * m / gcd(n, m);
        let ra: Vec<_> = (0..l).map(|k| a[k / (l / n)]).collect();
        let rb: Vec<_> = (0..l).map(|k| b[k / (l / m)]).collect();
        let (w22, w1) = brute_spectral(&ra, &rb);
        let got22 = spectral_distance(&a, &b, SpectralScore::Wasserstein, UnequalSizes::Transport).unwrap();
        let got1 = spectral_distance(&a, &b, SpectralScore::Wasserstein1, UnequalSizes::Transport).unwrap();
        prop_assert!(close(got22, w22, 1e-12), "W2^2 {} vs {}", got22, w22);
        prop_assert!(close(got1, w1, 1e-12), "W1 {} vs {}", got1, w1);
    }

    /// W(A, S A S⁻¹) ≈ 0 for a diagonalizable A = V D V⁻¹ (D block diagonal and normal, κ(V) ≤ 4) and
    /// S with κ(S) ≤ 4: by Bauer–Fike every computed eigenvalue moves by at most about
    /// κ(S)²κ(V)²·n·ε·‖D‖ ≈ 1e-12, so 1e-9 (W₂, W₁) and 1e-18 (W₂²) leave a margin of 1000.
    #[test]
    fn similarity_invariance(seed in any::<u64>(), n in 1usize..=8, ties in any::<bool>()) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let spec = random_spectrum(&mut rng, n, ties);
        let (v, v_inv) = random_well_conditioned(&mut rng, n);
        let a = matmul(&matmul(&v, &block_diagonal(&spec)), &v_inv);
        let (s, s_inv) = random_well_conditioned(&mut rng, n);
        let b = matmul(&matmul(&s, &a), &s_inv);
        for (score, tol) in [
            (SpectralScore::Wasserstein, 1e-18),
            (SpectralScore::Wasserstein2, 1e-9),
            (SpectralScore::Wasserstein1, 1e-9),
        ] {
            let d = spectral_distance_operators(a.as_ref(), b.as_ref(), score, UnequalSizes::Transport).unwrap();
            prop_assert!((0.0..=tol).contains(&d), "{:?}: {}", score, d);
            // And both are close to the planted spectrum.
            let d_planted = spectral_distance_operators(a.as_ref(), block_diagonal(&spec).as_ref(), score, UnequalSizes::Transport).unwrap();
            prop_assert!((0.0..=tol).contains(&d_planted), "{:?} vs planted: {}", score, d_planted);
        }
    }

    /// W₂ and W₁ are metrics on spectra (Transport convention, any sizes): exact symmetry (bitwise, by
    /// canonical ordering), zero self-distance (exactly), and the triangle inequality up to 1e-9.
    #[test]
    fn metric_axioms(seed in any::<u64>(), na in 1usize..=6, nb in 1usize..=6, nc in 1usize..=6, ties in any::<bool>()) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let a = random_spectrum(&mut rng, na, ties);
        let b = random_spectrum(&mut rng, nb, ties);
        let c = random_spectrum(&mut rng, nc, ties);
        let t = UnequalSizes::Transport;
        for score in SCORES {
            prop_assert_eq!(spectral_distance(&a, &a, score, t).unwrap(), 0.0);
            prop_assert_eq!(spectral_distance(&a, &b, score, t).unwrap(), spectral_distance(&b, &a, score, t).unwrap());
            prop_assert_eq!(
                spectral_distance(&a, &b, score, UnequalSizes::ZeroPad).unwrap(),
                spectral_distance(&b, &a, score, UnequalSizes::ZeroPad).unwrap()
            );
        }
        for score in [SpectralScore::Wasserstein2, SpectralScore::Wasserstein1] {
            let ab = spectral_distance(&a, &b, score, t).unwrap();
            let bc = spectral_distance(&b, &c, score, t).unwrap();
            let ac = spectral_distance(&a, &c, score, t).unwrap();
            prop_assert!(ac <= ab + bc + 1e-9, "{:?}: {} > {} + {}", score, ac, ab, bc);
        }
    }

    /// The value depends only on the multisets: shuffling either spectrum gives a bit-identical result.
    #[test]
    fn order_invariance(seed in any::<u64>(), na in 1usize..=12, nb in 1usize..=12, ties in any::<bool>()) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let a = random_spectrum(&mut rng, na, ties);
        let b = random_spectrum(&mut rng, nb, ties);
        let mut a2 = a.clone();
        let mut b2 = b.clone();
        for k in (1..a2.len()).rev() {
            a2.swap(k, rng.random_range(0..=k));
        }
        for k in (1..b2.len()).rev() {
            b2.swap(k, rng.random_range(0..=k));
        }
        for score in SCORES {
            for unequal in [UnequalSizes::Transport, UnequalSizes::ZeroPad] {
                prop_assert_eq!(
                    spectral_distance(&a, &b, score, unequal).unwrap(),
                    spectral_distance(&a2, &b2, score, unequal).unwrap()
                );
            }
        }
    }

    /// ZeroPad equals the equal-size score of explicitly zero-padded spectra, bit for bit.
    #[test]
    fn zero_pad_is_explicit_padding(seed in any::<u64>(), na in 1usize..=9, nb in 1usize..=9) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let a = random_spectrum(&mut rng, na, false);
        let b = random_spectrum(&mut rng, nb, false);
        let l = na.max(nb);
        let mut pa = a.clone();
        pa.resize(l, (0.0, 0.0));
        let mut pb = b.clone();
        pb.resize(l, (0.0, 0.0));
        for score in SCORES {
            prop_assert_eq!(
                spectral_distance(&a, &b, score, UnequalSizes::ZeroPad).unwrap(),
                spectral_distance(&pa, &pb, score, UnequalSizes::Transport).unwrap()
            );
        }
    }

    /// The coupling refers to the caller's indices: its marginals are uniform (1/n, 1/m; with ZeroPad
    /// 1/max over the padded indices) and re-evaluating the score on it gives the reported value.
    #[test]
    fn coupling_is_consistent(seed in any::<u64>(), na in 1usize..=15, nb in 1usize..=15) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let a = random_spectrum(&mut rng, na, false);
        let b = random_spectrum(&mut rng, nb, false);
        for unequal in [UnequalSizes::Transport, UnequalSizes::ZeroPad] {
            let (la, lb) = match unequal {
                UnequalSizes::Transport => (na, nb),
                _ => (na.max(nb), na.max(nb)),
            };
            let at = |k: usize| a.get(k).copied().unwrap_or((0.0, 0.0));
            let bt = |k: usize| b.get(k).copied().unwrap_or((0.0, 0.0));
            for score in SCORES {
                let c = spectral_coupling(&a, &b, score, unequal).unwrap();
                let mut rows = vec![0.0; la];
                let mut cols = vec![0.0; lb];
                let mut value = 0.0;
                for &(i, j, w) in &c.plan {
                    rows[i] += w;
                    cols[j] += w;
                    value += w * match score {
                        SpectralScore::Wasserstein1 => dist(at(i), bt(j)),
                        _ => dist2(at(i), bt(j)),
                    };
                }
                prop_assert!(rows.iter().all(|&r| (r - 1.0 / la as f64).abs() <= 1e-14));
                prop_assert!(cols.iter().all(|&r| (r - 1.0 / lb as f64).abs() <= 1e-14));
                let expected = if score == SpectralScore::Wasserstein2 { value.sqrt() } else { value };
                prop_assert!(close(c.value, expected, 1e-12), "{:?} {:?}: {} vs {}", score, unequal, c.value, expected);
            }
        }
    }
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Upstream's example: {1} vs {0.2, 0.4}. Transport (what upstream's `DSA` computes) moves half of the
/// mass at 1 to each point: W₂² = (0.8² + 0.6²)/2 = 0.5, W₁ = (0.8 + 0.6)/2 = 0.7. ZeroPad compares
/// {1, 0} with {0.2, 0.4}: best pairing 1↔0.4, 0↔0.2, so W₂² = (0.36 + 0.04)/2 = 0.2, W₁ = 0.4.
#[test]
fn unequal_sizes_worked_example() {
    let a = [(1.0, 0.0)];
    let b = [(0.2, 0.0), (0.4, 0.0)];
    let expect = [
        (SpectralScore::Wasserstein, UnequalSizes::Transport, 0.5),
        (
            SpectralScore::Wasserstein2,
            UnequalSizes::Transport,
            0.5f64.sqrt(),
        ),
        (SpectralScore::Wasserstein1, UnequalSizes::Transport, 0.7),
        (SpectralScore::Wasserstein, UnequalSizes::ZeroPad, 0.2),
        (
            SpectralScore::Wasserstein2,
            UnequalSizes::ZeroPad,
            0.2f64.sqrt(),
        ),
        (SpectralScore::Wasserstein1, UnequalSizes::ZeroPad, 0.4),
    ];
    for (score, unequal, want) in expect {
        for (x, y) in [(&a[..], &b[..]), (&b[..], &a[..])] {
            let got = spectral_distance(x, y, score, unequal).unwrap();
            assert!(
                (got - want).abs() <= 4.0 * f64::EPSILON,
                "{score:?} {unequal:?}: {got} vs {want}"
            );
        }
    }
    assert_eq!(UnequalSizes::default(), UnequalSizes::Transport);
    assert_eq!(SpectralScore::default(), SpectralScore::Wasserstein);
    let t = spectral_coupling(&a, &b, SpectralScore::Wasserstein, UnequalSizes::Transport).unwrap();
    assert_eq!(t.plan, vec![(0, 0, 0.5), (0, 1, 0.5)]);
    let z = spectral_coupling(&a, &b, SpectralScore::Wasserstein, UnequalSizes::ZeroPad).unwrap();
    assert_eq!(z.plan, vec![(0, 1, 0.5), (1, 0, 0.5)]);
}

/// W₂² is not a metric: on {0}, {1}, {2}, W₂²(0, 2) = 4 > W₂²(0, 1) + W₂²(1, 2) = 2, while W₂ and W₁
/// (2 ≤ 1 + 1) satisfy the triangle inequality with equality.
#[test]
fn squared_wasserstein_breaks_triangle_inequality() {
    let (p0, p1, p2) = ([(0.0, 0.0)], [(1.0, 0.0)], [(2.0, 0.0)]);
    let d = |x: &[(f64, f64)], y: &[(f64, f64)], s| {
        spectral_distance(x, y, s, UnequalSizes::Transport).unwrap()
    };
    let w = SpectralScore::Wasserstein;
    assert_eq!(d(&p0, &p2, w), 4.0);
    assert_eq!(d(&p0, &p1, w) + d(&p1, &p2, w), 2.0);
    for s in [SpectralScore::Wasserstein2, SpectralScore::Wasserstein1] {
        assert_eq!(d(&p0, &p2, s), 2.0);
        assert_eq!(d(&p0, &p1, s) + d(&p1, &p2, s), 2.0);
    }
}

/// Spectra of known block-diagonal operators (including different sizes) give the same score as the
/// spectra themselves.
#[test]
fn operators_use_their_spectra() {
    let sa = [(0.9, 0.3), (0.9, -0.3), (-0.5, 0.0)];
    let sb = [(0.7, 0.0), (0.1, 0.0)];
    let (a, b) = (block_diagonal(&sa), block_diagonal(&sb));
    for score in SCORES {
        for unequal in [UnequalSizes::Transport, UnequalSizes::ZeroPad] {
            let from_ops =
                spectral_distance_operators(a.as_ref(), b.as_ref(), score, unequal).unwrap();
            let from_spectra = spectral_distance(&sa, &sb, score, unequal).unwrap();
            assert!(
                close(from_ops, from_spectra, 1e-12),
                "{score:?} {unequal:?}: {from_ops} vs {from_spectra}"
            );
        }
    }
}

/// Scaling every eigenvalue by 2^k scales W₂ and W₁ by 2^k exactly and W₂² by 4^k, from 2⁻⁶⁰⁰ to 2⁶⁰⁰
/// (where the squared costs would under- or overflow without the solver's internal rescaling).
#[test]
fn extreme_scales() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let a = random_spectrum(&mut rng, 6, false);
    let b = random_spectrum(&mut rng, 4, false);
    let base: Vec<f64> = SCORES
        .iter()
        .map(|&s| spectral_distance(&a, &b, s, UnequalSizes::Transport).unwrap())
        .collect();
    for k in [-600i32, -300, 300, 600] {
        let f = 2f64.powi(k);
        let sa: Vec<_> = a.iter().map(|&(x, y)| (x * f, y * f)).collect();
        let sb: Vec<_> = b.iter().map(|&(x, y)| (x * f, y * f)).collect();
        for (idx, &score) in SCORES.iter().enumerate() {
            let got = spectral_distance(&sa, &sb, score, UnequalSizes::Transport).unwrap();
            let want = match score {
                SpectralScore::Wasserstein => base[idx] * f * f,
                _ => base[idx] * f,
            };
            if want.is_finite() && want != 0.0 {
                assert!(
                    close(got / want, 1.0, 1e-14),
                    "{score:?} at 2^{k}: {got} vs {want}"
                );
            } else {
                // 2^±1200 is outside f64; W₂² saturates like the true value does.
                assert_eq!(got, want, "{score:?} at 2^{k}");
            }
        }
    }
}

#[test]
fn assignment_edge_cases() {
    // All-equal costs: the documented tie-breaking gives the identity.
    let flat = Mat::from_fn(5, 5, |_, _| 3.0);
    assert_eq!(
        solve_assignment(flat.as_ref()).unwrap().columns,
        vec![0, 1, 2, 3, 4]
    );
    // Empty: the empty assignment.
    let empty = Mat::<f64>::zeros(0, 3);
    let e = solve_assignment(empty.as_ref()).unwrap();
    assert!(e.columns.is_empty() && e.cost == 0.0);
    // Huge entries go through the internal rescaling and come back exact.
    let huge = Mat::from_fn(3, 3, |i, j| if i == j { 1e300 } else { 1.5e300 });
    let h = solve_assignment(huge.as_ref()).unwrap();
    assert_eq!(h.columns, vec![0, 1, 2]);
    assert_eq!(h.cost, 3e300);
    // More rows than columns.
    let tall = Mat::<f64>::zeros(3, 2);
    assert!(matches!(
        solve_assignment(tall.as_ref()),
        Err(Error::Shape { .. })
    ));
    // Non-finite entries.
    let mut bad = Mat::<f64>::zeros(2, 2);
    bad[(1, 0)] = f64::NAN;
    assert!(matches!(
        solve_assignment(bad.as_ref()),
        Err(Error::NonFinite { ref index, .. }) if index == &vec![1, 0]
    ));
    bad[(1, 0)] = f64::INFINITY;
    assert!(matches!(
        solve_uniform_transport(bad.as_ref()),
        Err(Error::NonFinite { .. })
    ));
    assert!(matches!(
        solve_uniform_transport(Mat::<f64>::zeros(0, 2).as_ref()),
        Err(Error::Shape { .. })
    ));
}

#[test]
fn bad_spectra_and_operators_are_refused() {
    let ok = [(1.0, 0.0), (0.5, 0.0)];
    let t = UnequalSizes::Transport;
    let w = SpectralScore::Wasserstein;
    match spectral_distance(&[(0.0, 0.0), (f64::NAN, 0.0)], &ok, w, t) {
        Err(Error::NonFinite {
            array,
            index,
            value,
        }) => {
            assert_eq!(array, "spectrum A");
            assert_eq!(index, vec![1, 0]);
            assert!(value.is_nan());
        }
        other => panic!("expected NonFinite, got {other:?}"),
    }
    match spectral_distance(&ok, &[(0.0, f64::NEG_INFINITY)], w, t) {
        Err(Error::NonFinite { array, index, .. }) => {
            assert_eq!(array, "spectrum B");
            assert_eq!(index, vec![0, 1]);
        }
        other => panic!("expected NonFinite, got {other:?}"),
    }
    for unequal in [UnequalSizes::Transport, UnequalSizes::ZeroPad] {
        assert!(
            matches!(spectral_distance(&[], &ok, w, unequal), Err(Error::Shape { ref array, .. }) if array == "spectrum A")
        );
        assert!(
            matches!(spectral_distance(&ok, &[], w, unequal), Err(Error::Shape { ref array, .. }) if array == "spectrum B")
        );
    }
    let good = Mat::from_fn(2, 2, |i, j| (i + 2 * j) as f64);
    let rect = Mat::<f64>::zeros(2, 3);
    assert!(matches!(
        spectral_distance_operators(rect.as_ref(), good.as_ref(), w, t),
        Err(Error::Shape { ref array, .. }) if array == "operator A"
    ));
    assert!(matches!(
        spectral_distance_operators(good.as_ref(), Mat::<f64>::zeros(0, 0).as_ref(), w, t),
        Err(Error::Shape { ref array, .. }) if array == "operator B"
    ));
    let mut nan = good.clone();
    nan[(0, 1)] = f64::NAN;
    assert!(matches!(
        spectral_distance_operators(good.as_ref(), nan.as_ref(), w, t),
        Err(Error::NonFinite { ref array, ref index, .. }) if array == "operator B" && index == &vec![0, 1]
    ));
}

/// What the conventions identify and where ZeroPad stops being a metric (spec, "Metric properties"):
/// under Transport a spectrum and its replication are the same uniform measure ({1} vs {1, 1}: 0);
/// ZeroPad breaks the triangle inequality across sizes: a = {−1}, b = {−2, 0}, c = {2} give
/// W₁(a, c) = 3 > W₁(a, b) + W₁(b, c) = 0.5 + 2 and W₂(a, c) = 3 > √½ + 2, while Transport gives
/// 3 ≤ 1 + 2 (with equality) for both.
#[test]
fn what_the_size_conventions_identify() {
    let one = [(1.0, 0.0)];
    let one_twice = [(1.0, 0.0), (1.0, 0.0)];
    for score in SCORES {
        let d = spectral_distance(&one, &one_twice, score, UnequalSizes::Transport).unwrap();
        assert_eq!(d, 0.0, "{score:?}");
    }
    let (a, b, c) = ([(-1.0, 0.0)], [(-2.0, 0.0), (0.0, 0.0)], [(2.0, 0.0)]);
    let zp = |x: &[(f64, f64)], y: &[(f64, f64)], s| {
        spectral_distance(x, y, s, UnequalSizes::ZeroPad).unwrap()
    };
    let tr = |x: &[(f64, f64)], y: &[(f64, f64)], s| {
        spectral_distance(x, y, s, UnequalSizes::Transport).unwrap()
    };
    let w1 = SpectralScore::Wasserstein1;
    let w2 = SpectralScore::Wasserstein2;
    assert_eq!(
        (zp(&a, &c, w1), zp(&a, &b, w1), zp(&b, &c, w1)),
        (3.0, 0.5, 2.0)
    );
    assert!(zp(&a, &c, w2) > zp(&a, &b, w2) + zp(&b, &c, w2));
    assert!(close(zp(&a, &b, w2), 0.5f64.sqrt(), 1e-15));
    for s in [w1, w2] {
        assert!(tr(&a, &c, s) <= tr(&a, &b, s) + tr(&b, &c, s) + 1e-12);
    }
}
