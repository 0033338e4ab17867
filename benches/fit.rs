//! Embedding + operator fit (spec/operator.md). Run: `cargo bench --bench fit`.
//!
//! Sizes: "small" (10 trials × 200 steps × 10 features, D = 5) is a typical single recording;
//! "medium" (20 trials × 500 steps × 20 features, D = 10) exercises the in-place QR on a
//! 9 820 × 200 Hankel matrix. The large case of the performance issue (100 × 1000 × 50, D = 10) lives
//! with the side-by-side upstream comparison.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use dynsim::embedding::{Dataset, DelayParams};
use dynsim::operator::{fit, FitParams};

/// Deterministic pseudo-random data (a fixed LCG; the values only need to be generic).
fn data(k: usize, t: usize, n: usize) -> Dataset {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let values: Vec<f64> = (0..k * t * n)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        })
        .collect();
    Dataset::from_array(&values, k, t, n).expect("valid benchmark data")
}

fn bench_fit(c: &mut Criterion) {
    let mut group = c.benchmark_group("fit");
    group.sample_size(10);
    for (name, k, t, n, d) in [("small", 10, 200, 10, 5), ("medium", 20, 500, 20, 10)] {
        let ds = data(k, t, n);
        let params = FitParams {
            delay: DelayParams {
                n_delays: d,
                delay_interval: 1,
            },
            ..FitParams::default()
        };
        group.bench_with_input(BenchmarkId::new("embed", name), &ds, |b, ds| {
            b.iter(|| ds.embed(&params.delay).expect("embed"))
        });
        group.bench_with_input(BenchmarkId::new("embed+fit", name), &ds, |b, ds| {
            b.iter(|| fit(ds, &params).expect("fit"))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_fit);
criterion_main!(benches);
