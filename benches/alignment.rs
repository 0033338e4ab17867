//! PAVF alignment of random operator pairs (spec/alignment.md §12). Run: `cargo bench --bench alignment`.
//!
//! Pairs of unrelated Gaussian operators at n = 10, 30, 100 with the default options (the hardest
//! case: no early stop on agreement is likely, so every default start is refined), plus a
//! near-conjugate pair (B = P A Pᵀ with P a random signed permutation), which the spectral starts solve
//! at once. Single-threaded: every kernel is sequential.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
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

criterion_group!(benches, bench_align);
criterion_main!(benches);
