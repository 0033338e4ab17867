//! PAVF alignment of random operator pairs (spec/alignment.md §12), and every Wasserstein variant at
//! n = 10 and 100. Run: `cargo bench --bench alignment` (`-- wasserstein` for the latter alone).
//!
//! Pairs of unrelated Gaussian operators at n = 10, 30, 100 with the default options (the hardest
//! case: no early stop on agreement is likely, so every default start is refined), plus a
//! near-conjugate pair (B = P A Pᵀ with P a random signed permutation), which the spectral starts solve
//! at once. Single-threaded: every kernel is sequential.
//!
//! Quick mode: `PAVF_QUICK=1 cargo bench --bench alignment` skips criterion and prints, for every case,
//! the minimum and median wall time of a few runs (21 at n ≤ 10, 7 at n ≤ 30, 1 above) and the
//! certificate's counters (starts tried, iterations, Hessian products, stop reason, value), which are
//! the reliable evidence on a shared machine. `PAVF_QUICK_SIZES=10,20` chooses the sizes,
//! `PAVF_QUICK_SEEDS=k` adds k further unrelated pairs per size (seeds 10/11, 12/13, …, one run each), and
//! `PAVF_QUICK_THOROUGH=1` uses `PavfOptions::thorough()` instead of the defaults.

use std::time::Instant;

use criterion::{BenchmarkId, Criterion};
use dynsim::alignment::{align, PavfOptions};
use dynsim::faer::Mat;

/// Deterministic pseudo-random Gaussian-like entries (a fixed LCG, sum of uniforms).
fn matrix(n: usize, seed: u64) -> Mat<f64> {
    let mut state: u64 = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    Mat::from_fn(n, n, |_, _| (0..4).map(|_| next()).sum::<f64>() - 2.0)
}

/// A random signed permutation conjugate P A Pᵀ.
fn signed_permutation_conjugate(a: &Mat<f64>, seed: u64) -> Mat<f64> {
    let n = a.nrows();
    let u = matrix(n, seed);
    let mut perm: Vec<usize> = (0..n).collect();
    perm.sort_by(|&i, &j| u[(i, 0)].total_cmp(&u[(j, 0)]));
    let sign = |i: usize| if u[(i, 1)] < 0.0 { -1.0 } else { 1.0 };
    Mat::from_fn(n, n, |i, j| sign(i) * sign(j) * a[(perm[i], perm[j])])
}

fn bench_align(c: &mut Criterion) {
    let mut group = c.benchmark_group("pavf");
    group.sample_size(10);
    let options = PavfOptions::default();
    for n in [10usize, 30, 100] {
        let a = matrix(n, 1);
        let b = matrix(n, 2);
        group.bench_with_input(
            BenchmarkId::new("random_pair", n),
            &(a.clone(), b),
            |bench, (a, b)| bench.iter(|| align(a.as_ref(), b.as_ref(), &options).expect("align")),
        );
        let p = signed_permutation_conjugate(&a, 3);
        group.bench_with_input(
            BenchmarkId::new("signed_permutation", n),
            &(a, p),
            |bench, (a, p)| bench.iter(|| align(a.as_ref(), p.as_ref(), &options).expect("align")),
        );
    }
    group.finish();
}

/// Every Wasserstein variant (W₂², W₂, W₁; spec/alignment.md "Wasserstein distances on spectra") at
/// n = 10 and 100: on the operators (eigenvalues included, as the pipeline computes them once per
/// operator it is the `spectra` case that a pairwise matrix pays per pair), and on precomputed spectra.
/// n = 100 also with unequal sizes (100 vs 90 eigenvalues: exact transport and zero-padding).
fn bench_wasserstein(c: &mut Criterion) {
    use dynsim::alignment::{
        spectral_distance, spectral_distance_operators, SpectralScore, UnequalSizes,
    };
    let mut group = c.benchmark_group("wasserstein");
    group.sample_size(20);
    let eig = |m: &Mat<f64>| -> Vec<(f64, f64)> {
        m.eigenvalues()
            .expect("eigenvalues")
            .iter()
            .map(|z| (z.re, z.im))
            .collect()
    };
    for n in [10usize, 100] {
        let a = matrix(n, 1);
        let b = matrix(n, 2);
        let (ea, eb) = (eig(&a), eig(&b));
        for (name, score) in [
            ("w2sq", SpectralScore::Wasserstein),
            ("w2", SpectralScore::Wasserstein2),
            ("w1", SpectralScore::Wasserstein1),
        ] {
            group.bench_function(BenchmarkId::new(format!("{name}/operators"), n), |bench| {
                bench.iter(|| {
                    spectral_distance_operators(
                        a.as_ref(),
                        b.as_ref(),
                        score,
                        UnequalSizes::Transport,
                    )
                    .expect("distance")
                })
            });
            group.bench_function(BenchmarkId::new(format!("{name}/spectra"), n), |bench| {
                bench.iter(|| {
                    spectral_distance(&ea, &eb, score, UnequalSizes::Transport).expect("distance")
                })
            });
        }
        if n == 100 {
            let short = &eb[..90];
            for (name, unequal) in [
                ("transport", UnequalSizes::Transport),
                ("zeropad", UnequalSizes::ZeroPad),
            ] {
                group.bench_function(
                    BenchmarkId::new(format!("w2sq/unequal_{name}"), n),
                    |bench| {
                        bench.iter(|| {
                            spectral_distance(&ea, short, SpectralScore::Wasserstein, unequal)
                                .expect("distance")
                        })
                    },
                );
            }
        }
    }
    group.finish();
}

/// One quick-mode line: timing over `runs` runs and the certificate of the last one.
fn quick_case(name: &str, a: &Mat<f64>, b: &Mat<f64>, runs: usize) {
    let options = if std::env::var_os("PAVF_QUICK_THOROUGH").is_some() {
        PavfOptions::thorough()
    } else {
        PavfOptions::default()
    };
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let t0 = Instant::now();
        let r = align(a.as_ref(), b.as_ref(), &options).expect("align");
        times.push(t0.elapsed().as_secs_f64() * 1e3);
        last = Some(r);
    }
    times.sort_by(f64::total_cmp);
    let r = last.expect("at least one run");
    let c = &r.certificate;
    println!(
        "{name:<28} min {:>9.3} ms  median {:>9.3} ms  d={:.12}  lb={:.4}  starts={:>2} at_best={} iters={:>6} hess={:>6} conv={} best={:?} stop={:?}",
        times[0],
        times[runs / 2],
        r.euclidean,
        c.euclidean_lower_bound,
        c.starts_tried,
        c.starts_at_best,
        c.total_iterations,
        c.hessian_products,
        c.converged,
        c.best_start,
        c.stop
    );
}

fn quick() {
    let extra: u64 = std::env::var("PAVF_QUICK_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let sizes: Vec<usize> = std::env::var("PAVF_QUICK_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|t| t.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![10, 30, 100]);
    for &n in &sizes {
        let runs = if n <= 10 {
            21
        } else if n <= 30 {
            7
        } else {
            1
        };
        let a = matrix(n, 1);
        let b = matrix(n, 2);
        quick_case(&format!("random_pair/{n}"), &a, &b, runs);
        let p = signed_permutation_conjugate(&a, 3);
        quick_case(&format!("signed_permutation/{n}"), &a, &p, runs);
        for s in 0..extra {
            let a = matrix(n, 10 + 2 * s);
            let b = matrix(n, 11 + 2 * s);
            quick_case(&format!("random_pair/{n}/seed{}", 10 + 2 * s), &a, &b, 1);
        }
    }
}

/// Median wall time in seconds of `runs` calls of `f`.
fn median_seconds(runs: usize, mut f: impl FnMut()) -> f64 {
    let mut t: Vec<f64> = (0..runs)
        .map(|_| {
            let t0 = Instant::now();
            f();
            t0.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[runs / 2]
}

/// Efficiency mode (`PAVF_EFFICIENCY=1`, spec/alignment.md §12.1): the achieved GFLOP/s of one L-BFGS
/// iteration against faer's own N × N × N product on this machine, same thread (sequential).
///
/// The iteration's cost is timed as the difference of `align_from` capped at k₂ and k₁ iterations
/// from one Haar-random start (both below the L-BFGS hand-over, so every counted iteration is an
/// L-BFGS step); its flops are counted from the code (spec/alignment.md §12.1): the retraction C·Ω
/// (2N³), the Gram matrix XᵀX (2N³), its Cholesky factor (N³/3) and the triangular solve (N³), the
/// pull-back Cᵀ(AC) (4N³) and the gradient E Bᵀ + Eᵀ B (4N³): 13⅓ N³ per iteration with one
/// line-search trial (a lower bound: backtracking adds trials).
fn efficiency() {
    use dynsim::alignment::align_from;
    use dynsim::faer::linalg::matmul::matmul;
    use dynsim::faer::{Accum, Par};
    let sizes: Vec<usize> = std::env::var("PAVF_QUICK_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|t| t.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![10, 30, 100]);
    println!("n, matmul [us], matmul GFLOP/s, L-BFGS iteration [us], iteration GFLOP/s (model), efficiency, k1..k2");
    for &n in &sizes {
        let a = matrix(n, 1);
        let b = matrix(n, 2);
        let x = matrix(n, 5);
        let mut out = Mat::<f64>::zeros(n, n);
        let reps = (2_000_000 / (n * n * n)).max(1);
        let t_mm = median_seconds(31, || {
            for _ in 0..reps {
                matmul(
                    out.as_mut(),
                    Accum::Replace,
                    a.as_ref(),
                    x.as_ref(),
                    1.0,
                    Par::Seq,
                );
            }
        }) / reps as f64;
        let flops_mm = 2.0 * (n * n * n) as f64;
        let q = x.qr().compute_Q();
        let (k1, k2) = if n <= 10 {
            (2, 12)
        } else if n <= 30 {
            (10, 60)
        } else {
            (20, 120)
        };
        let run = |k: usize| {
            let o = PavfOptions {
                max_iterations: k,
                ..PavfOptions::default()
            };
            let r = align_from(a.as_ref(), b.as_ref(), q.as_ref(), &o).expect("align_from");
            // Every iteration used, none of them a trust-region step (no Hessian products).
            assert_eq!(
                r.certificate.iterations, k,
                "the capped solve must use every iteration"
            );
            assert_eq!(
                r.certificate.hessian_products, 0,
                "only L-BFGS iterations are timed"
            );
        };
        let runs = if n >= 100 { 5 } else { 21 };
        let t1 = median_seconds(runs, || run(k1));
        let t2 = median_seconds(runs, || run(k2));
        let t_it = (t2 - t1) / (k2 - k1) as f64;
        let flops_it = 40.0 / 3.0 * (n * n * n) as f64;
        println!(
            "{n}, {:.2}, {:.1}, {:.2}, {:.1}, {:.0}%, {k1}..{k2}",
            t_mm * 1e6,
            flops_mm / t_mm * 1e-9,
            t_it * 1e6,
            flops_it / t_it * 1e-9,
            100.0 * (flops_it / t_it) / (flops_mm / t_mm),
        );
    }
}

fn main() {
    if std::env::var_os("PAVF_EFFICIENCY").is_some() {
        efficiency();
        return;
    }
    if std::env::var_os("PAVF_QUICK").is_some() {
        quick();
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    bench_align(&mut c);
    bench_wasserstein(&mut c);
    c.final_summary();
}
