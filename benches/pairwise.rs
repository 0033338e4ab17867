//! The whole pipeline on many systems (spec/pipeline.md §6). Run: `cargo bench --bench pairwise`.
//!
//! 50 systems, each 10 trials × 200 steps × 10 features of a noisy random stable linear system
//! (different dynamics per system, so every pair is an unrelated pair: the hard case for PAVF),
//! fitted with D = 5 delays at rank 20, then the 50 × 50 matrix (1225 pairs) for the angular score
//! (with triangle repair) and for W₂². Uses rayon's global pool (all cores), as the CLI does by
//! default. Fitting is benchmarked separately from scoring. A second group does the same for 200
//! systems (19 900 pairs), fitting and W₂² only.
//!
//! Quick mode: `PAIRWISE_QUICK=1 cargo bench --bench pairwise` skips criterion and runs the angular
//! matrix once each with fewer and with more PAVF starts than the default (random restarts 0, the
//! default 4 at N = 20, and `PavfOptions::thorough()`), printing the wall time of each and how many
//! entries are above the thorough matrix's (by more than 1e-9) and by how much: the price in quality
//! of a faster start set (spec/pipeline.md §6).

use criterion::{criterion_group, Criterion};
use dynsim::dsa::{fit_all, pairwise, Score, ScoreOptions};
use dynsim::embedding::{Dataset, DelayParams};
use dynsim::operator::{FitParams, RankRule};

const SYSTEMS: usize = 50;
const LARGE_SYSTEMS: usize = 200;
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

/// D = 5 delays, rank 20 (the setting).
fn fit_params() -> FitParams {
    FitParams {
        delay: DelayParams {
            n_delays: 5,
            delay_interval: 1,
        },
        rank: RankRule::Fixed(20),
        ..FitParams::default()
    }
}

fn bench_pairwise(c: &mut Criterion) {
    let data: Vec<Dataset> = (0..SYSTEMS).map(system).collect();
    let params = fit_params();
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

    // 200 systems (19 900 pairs): fitting and W₂² only. The angular matrix at this size is ≈ 16× the
    // 50-system one (minutes per sample); its pairs-per-second scaling is measured by the side-by-side
    // script's `scaling` stage instead (BENCHMARKS.md).
    let data: Vec<Dataset> = (0..LARGE_SYSTEMS).map(system).collect();
    let mut group = c.benchmark_group("pairwise_200");
    group.sample_size(10);
    group.bench_function("fit", |b| {
        b.iter(|| fit_all(&data, &[params]).expect("fit"))
    });
    let ops = fit_all(&data, &[params]).expect("fit");
    let options = ScoreOptions {
        score: Score::Wasserstein,
        ..ScoreOptions::default()
    };
    group.bench_function(Score::Wasserstein.name(), |b| {
        b.iter(|| pairwise(&ops, &options).expect("pairwise"))
    });
    group.finish();
}

/// Quick mode: time against quality of the start set (see the module documentation).
fn quick() {
    use dynsim::alignment::PavfOptions;
    use std::time::Instant;
    let data: Vec<Dataset> = (0..SYSTEMS).map(system).collect();
    let params = fit_params();
    let ops = fit_all(&data, &[params]).expect("fit");
    let run = |pavf: PavfOptions| {
        let options = ScoreOptions {
            score: Score::Angular,
            pavf,
            ..ScoreOptions::default()
        };
        let t0 = Instant::now();
        let m = pairwise(&ops, &options).expect("pairwise");
        (t0.elapsed().as_secs_f64(), m)
    };
    let cases = [
        (
            "restarts 0 (10 deterministic starts)",
            PavfOptions {
                restarts: Some(0),
                ..PavfOptions::default()
            },
        ),
        (
            "default (10 deterministic + 4 random)",
            PavfOptions::default(),
        ),
        (
            "thorough (10 deterministic + 30 random, no agreement stop)",
            PavfOptions::thorough(),
        ),
    ];
    let results: Vec<(&str, f64, Vec<f64>, usize)> = cases
        .into_iter()
        .map(|(name, o)| {
            let (t, m) = run(o);
            (name, t, m.values, m.repaired)
        })
        .collect();
    let reference = &results[results.len() - 1].2;
    println!(
        "{SYSTEMS} systems, {} pairs, angular, {} threads",
        SYSTEMS * (SYSTEMS - 1) / 2,
        rayon::current_num_threads()
    );
    for (name, t, values, repaired) in &results {
        let mut above = 0;
        let mut max_above = 0.0f64;
        let mut below = 0;
        for i in 0..SYSTEMS {
            for j in (i + 1)..SYSTEMS {
                let (x, r) = (values[i * SYSTEMS + j], reference[i * SYSTEMS + j]);
                if x > r + 1e-9 {
                    above += 1;
                    max_above = max_above.max(x - r);
                } else if x < r - 1e-9 {
                    below += 1;
                }
            }
        }
        println!(
            "{name:<60} {t:>7.2} s  entries above thorough: {above} (max {max_above:.2e}), below: {below}, repaired: {repaired}"
        );
    }
}

criterion_group!(benches, bench_pairwise);

fn main() {
    if std::env::var_os("PAIRWISE_QUICK").is_some() {
        quick();
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
