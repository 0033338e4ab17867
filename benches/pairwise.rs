//! The whole pipeline on many systems (spec/pipeline.md §6). Run: `cargo bench --bench pairwise`.
//!
//! 50 systems, each 10 trials × 200 steps × 10 features of a noisy random stable linear system
//! (different dynamics per system, so every pair is an unrelated pair: the hard case for PAVF),
//! fitted with D = 5 delays at rank 20, then the 50 × 50 matrix (1225 pairs) for the angular score
//! (with triangle repair) and for W₂². Uses rayon's global pool (all cores), as the CLI does by
//! default. Fitting is benchmarked separately from scoring.

use criterion::{criterion_group, criterion_main, Criterion};
use dynsim::dsa::{fit_all, pairwise, Score, ScoreOptions};
use dynsim::embedding::{Dataset, DelayParams};
use dynsim::operator::{FitParams, RankRule};

const SYSTEMS: usize = 50;
const TRIALS: usize = 10;
const STEPS: usize = 200;
const FEATURES: usize = 10;

/// A deterministic uniform generator (a fixed LCG), so the bench needs no dev-dependency.
struct Lcg(u64);

impl Lcg {
    fn uniform(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Approximately standard normal (sum of 12 uniforms − 6).
    fn normal(&mut self) -> f64 {
        (0..12).map(|_| self.uniform()).sum::<f64>() - 6.0
    }
}

/// System s: x_{t+1} = A x_t + 0.1 ξ_t with A a random matrix scaled to spectral norm 0.95.
fn system(s: usize) -> Dataset {
    let mut g = Lcg(0x5EED + s as u64 * 7919);
    let n = FEATURES;
    let mut a: Vec<f64> = (0..n * n).map(|_| g.normal()).collect();
    // Scale by the Frobenius norm (≥ spectral norm): stable.
    let norm = a.iter().map(|x| x * x).sum::<f64>().sqrt();
    a.iter_mut()
        .for_each(|x| *x *= 0.95 / norm * (n as f64).sqrt() / 2.0);
    let mut data = Vec::with_capacity(TRIALS * STEPS * n);
    for _ in 0..TRIALS {
        let mut x: Vec<f64> = (0..n).map(|_| g.normal()).collect();
        for _ in 0..STEPS {
            data.extend_from_slice(&x);
            x = (0..n)
                .map(|i| (0..n).map(|j| a[i * n + j] * x[j]).sum::<f64>() + 0.1 * g.normal())
                .collect();
        }
    }
    Dataset::from_array(&data, TRIALS, STEPS, n).expect("dataset")
}

fn bench_pairwise(c: &mut Criterion) {
    let data: Vec<Dataset> = (0..SYSTEMS).map(system).collect();
    let params = FitParams {
        delay: DelayParams {
            n_delays: 5,
            delay_interval: 1,
        },
        rank: RankRule::Fixed(20),
        ..FitParams::default()
    };
    let mut group = c.benchmark_group("pairwise_50");
    group.sample_size(10);
    group.bench_function("fit", |b| {
        b.iter(|| fit_all(&data, &[params]).expect("fit"))
    });
    let ops = fit_all(&data, &[params]).expect("fit");
    for score in [Score::Angular, Score::Wasserstein] {
        let options = ScoreOptions {
            score,
            ..ScoreOptions::default()
        };
        group.bench_function(score.name(), |b| {
            b.iter(|| pairwise(&ops, &options).expect("pairwise"))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_pairwise);
criterion_main!(benches);
