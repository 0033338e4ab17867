//! `dynsim demo`: DSA on an embedded, deterministically generated dataset.
//!
//! Four noisy linear systems (6 features, 8 trials × 120 steps, seeded): a system S with planted
//! eigenvalues, S seen through a random orthogonal readout, S seen through a random invertible
//! readout, and a system with a different spectrum. DSA must put the first three at ≈ 0 from each other
//! (spec/operator.md §8: readout invariance) and the fourth far away.

use dynsim::alignment::{align, spectral_distance, PavfOptions, SpectralScore, UnequalSizes};
use dynsim::embedding::{Dataset, DelayParams};
use dynsim::faer::Mat;
use dynsim::operator::{fit, FitParams, Operator, RankRule};
use dynsim::Result;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

const N: usize = 6;
const TRIALS: usize = 8;
const STEPS: usize = 120;
const NOISE: f64 = 0.05;

fn gaussian(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Gram–Schmidt orthonormalisation of a Gaussian matrix (Haar distributed).
fn orthogonal(rng: &mut ChaCha8Rng) -> Mat<f64> {
    let mut q = Mat::from_fn(N, N, |_, _| gaussian(rng));
    for j in 0..N {
        for k in 0..j {
            let dot: f64 = (0..N).map(|i| q[(i, j)] * q[(i, k)]).sum();
            for i in 0..N {
                q[(i, j)] -= dot * q[(i, k)];
            }
        }
        let norm = (0..N).map(|i| q[(i, j)].powi(2)).sum::<f64>().sqrt();
        for i in 0..N {
            q[(i, j)] /= norm;
        }
    }
    q
}

/// Q · blockdiag(real eigenvalues, 2×2 rotation-scaling blocks) · Qᵀ.
fn planted(real: &[f64], complex: &[(f64, f64)], rng: &mut ChaCha8Rng) -> Mat<f64> {
    let mut block = Mat::<f64>::zeros(N, N);
    for (i, &r) in real.iter().enumerate() {
        block[(i, i)] = r;
    }
    for (k, &(re, im)) in complex.iter().enumerate() {
        let i = real.len() + 2 * k;
        block[(i, i)] = re;
        block[(i, i + 1)] = -im;
        block[(i + 1, i)] = im;
        block[(i + 1, i + 1)] = re;
    }
    let q = orthogonal(rng);
    &q * &block * q.transpose()
}

/// Trials of x_{t+1} = A x_t + noise, as row-major T × N buffers.
fn simulate(a: &Mat<f64>, rng: &mut ChaCha8Rng) -> Vec<Vec<f64>> {
    (0..TRIALS)
        .map(|_| {
            let mut x: Vec<f64> = (0..N).map(|_| gaussian(rng)).collect();
            let mut out = Vec::with_capacity(STEPS * N);
            for _ in 0..STEPS {
                out.extend_from_slice(&x);
                x = (0..N)
                    .map(|i| (0..N).map(|j| a[(i, j)] * x[j]).sum::<f64>() + NOISE * gaussian(rng))
                    .collect();
            }
            out
        })
        .collect()
}

fn apply_readout(trials: &[Vec<f64>], m: &Mat<f64>) -> Vec<Vec<f64>> {
    trials
        .iter()
        .map(|t| {
            t.chunks(N)
                .flat_map(|row| {
                    (0..N).map(move |j| (0..N).map(|i| row[i] * m[(i, j)]).sum::<f64>())
                })
                .collect()
        })
        .collect()
}

fn dataset(name: &str, trials: &[Vec<f64>]) -> Result<Dataset> {
    let slices: Vec<&[f64]> = trials.iter().map(Vec::as_slice).collect();
    Ok(Dataset::from_trials(&slices, N)
        .map_err(|e| e.in_array(name))?
        .with_name(name))
}

pub fn run() -> Result<()> {
    let mut rng = ChaCha8Rng::seed_from_u64(2023);
    let a = planted(&[0.95, -0.6], &[(0.7, 0.5), (-0.2, 0.85)], &mut rng);
    let b = planted(&[0.9, 0.2], &[(0.3, 0.8), (0.6, -0.3)], &mut rng);
    let base = simulate(&a, &mut rng);
    let rotation = orthogonal(&mut rng);
    let mixing = Mat::from_fn(N, N, |i, j| if i == j { 1.5 } else { 0.0 })
        + Mat::from_fn(N, N, |_, _| 0.4 * gaussian(&mut rng));
    let systems = vec![
        ("S", dataset("S", &base)?),
        (
            "S, rotated readout",
            dataset("S, rotated readout", &apply_readout(&base, &rotation))?,
        ),
        (
            "S, mixed readout",
            dataset("S, mixed readout", &apply_readout(&base, &mixing))?,
        ),
        (
            "other spectrum",
            dataset("other spectrum", &simulate(&b, &mut rng))?,
        ),
    ];

    let params = FitParams {
        delay: DelayParams {
            n_delays: 2,
            delay_interval: 1,
        },
        rank: RankRule::Full,
        ..FitParams::default()
    };
    println!(
        "dynsim demo: {} systems, {TRIALS} trials × {STEPS} steps × {N} features, n_delays = 2, full rank, λ = 1e-8\n",
        systems.len()
    );
    let mut ops: Vec<Operator> = Vec::new();
    for (name, ds) in &systems {
        let op = fit(ds, &params)?;
        let lead: Vec<String> = op
            .eigenvalues()
            .iter()
            .take(4)
            .map(|(re, im)| format!("{re:+.3}{im:+.3}i"))
            .collect();
        println!(
            "{name:<20} rank {:>2}  R² {:.4}  leading eigenvalues {}",
            op.rank(),
            op.r2(),
            lead.join(" ")
        );
        ops.push(op);
    }

    let opts = PavfOptions::default();
    for (title, angular) in [
        ("PAVF angular distance (rad)", true),
        ("Wasserstein W₂ between spectra", false),
    ] {
        println!("\n{title}");
        print!("{:<20}", "");
        for (name, _) in &systems {
            print!(" {:>10.10}", name);
        }
        println!();
        for (i, (name, _)) in systems.iter().enumerate() {
            print!("{name:<20}");
            for j in 0..systems.len() {
                let d = if i == j {
                    0.0
                } else if angular {
                    align(ops[i].matrix(), ops[j].matrix(), &opts)?.angular
                } else {
                    spectral_distance(
                        ops[i].eigenvalues(),
                        ops[j].eigenvalues(),
                        SpectralScore::Wasserstein2,
                        UnequalSizes::Transport,
                    )?
                };
                print!(" {d:>10.4}");
            }
            println!();
        }
    }
    Ok(())
}
