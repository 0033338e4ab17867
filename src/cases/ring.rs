//! A ring (bump) attractor of rate neurons, its readout deformations and its morph into a line
//! attractor (spec/cases.md §2; after the DSA paper's ring-attractor study and Wang & Kang's bump
//! network).
//!
//! N neurons with preferred angles θ_i = 2π i / N, rates r ∈ ℝᴺ, Euler–Maruyama with step `dt`:
//!
//!   r_{t+1} = r_t + (dt/τ) (−r_t + φ(h_t)) + σ √dt ξ_t,          ξ_t ~ N(0, I_N),
//!   h_t     = (W + v_t V) r_t + b,                                φ(x) = tanh(max(x, 0)),
//!   W_ij    = (J₀ + c_ij J₁ K(θ_i − θ_j)) / N,   V_ij = c_ij J_v sin(θ_i − θ_j) K(θ_i − θ_j) / N,
//!   K(d)    = exp(κ (cos d − 1))                                  (von Mises local excitation),
//!   v_{t+1} = −v_t with probability γ dt, else v_t,                v_0 = ±v (equally likely),
//!
//! with the cut factor c_ij = 1 − α when the shorter arc between i and j crosses the point between
//! neuron N−1 and neuron 0 (|i − j| > N/2), else 1. α = 0 is the rotation-invariant ring; α = 1
//! removes every local connection (J₁, J_v) across that point and keeps the global inhibition J₀,
//! which leaves a chain of neurons: a line attractor (spec/cases.md §2 says where the topology
//! changes: between α = 0.79 and 0.80 for the default parameters). The velocity v_t ∈ {−v, +v} (a telegraph
//! process: constant speed, direction reversals at rate γ) gates the antisymmetric V, which moves
//! the bump along the ring at a constant angular speed between reversals.

use rand::RngExt;

use super::{gaussian, stream, uniform};
use crate::embedding::Dataset;
use crate::error::{Error, Result};

/// Parameters of the network and of its trials (spec/cases.md §2). `Default` is the documented
/// study.
#[derive(Debug, Clone, PartialEq)]
pub struct RingParams {
    /// Number of neurons N.
    pub neurons: usize,
    /// Rate time constant τ.
    pub tau: f64,
    /// Euler step dt.
    pub dt: f64,
    /// Uniform coupling J₀ (negative: global inhibition).
    pub j0: f64,
    /// Local (von Mises) excitation J₁.
    pub j1: f64,
    /// Concentration κ of the von Mises kernel K(d) = exp(κ (cos d − 1)).
    pub kappa: f64,
    /// Velocity coupling J_v of the antisymmetric sine connectivity.
    pub jv: f64,
    /// Bias b (the same for every neuron).
    pub bias: f64,
    /// Noise σ of the rate equation (σ √dt per step).
    pub noise: f64,
    /// Velocity magnitude v (the input that moves the bump).
    pub velocity: f64,
    /// Reversal rate γ of the velocity's direction (per unit time).
    pub reversal_rate: f64,
    /// The cut α ∈ [0, 1]: connections across the point between neuron N−1 and 0 are scaled by
    /// 1 − α.
    pub cut: f64,
    /// Steps simulated before the first recorded sample (the bump settles).
    pub transient_steps: usize,
    /// Euler steps between recorded samples.
    pub subsample: usize,
    /// Samples per trial.
    pub samples: usize,
    /// Trials (each from its own random initial bump position).
    pub trials: usize,
    /// The seed.
    pub seed: u64,
}

impl Default for RingParams {
    fn default() -> Self {
        Self {
            neurons: 100,
            tau: 1.0,
            dt: 0.1,
            j0: -10.0,
            j1: 25.0,
            kappa: 4.0,
            jv: 40.0,
            bias: 0.5,
            noise: 0.05,
            velocity: 1.0,
            reversal_rate: 0.2,
            cut: 0.0,
            transient_steps: 200,
            subsample: 10,
            samples: 200,
            trials: 20,
            seed: 0,
        }
    }
}

/// The connectivity (W, V) of a network, each row-major N × N (spec/cases.md §2).
#[derive(Debug, Clone, PartialEq)]
pub struct RingNetwork {
    /// N.
    pub neurons: usize,
    /// W_ij = (J₀ + c_ij J₁ K(θ_i − θ_j)) / N.
    pub w: Vec<f64>,
    /// V_ij = c_ij J_v sin(θ_i − θ_j) K(θ_i − θ_j) / N.
    pub v: Vec<f64>,
}

/// The cut factor c_ij: 1 − α when |i − j| > N/2 (the shorter arc between i and j crosses the
/// point between neuron N−1 and neuron 0), else 1.
pub fn cut_factor(i: usize, j: usize, neurons: usize, cut: f64) -> f64 {
    if 2 * i.abs_diff(j) > neurons {
        1.0 - cut
    } else {
        1.0
    }
}

fn validate(p: &RingParams) -> Result<()> {
    for (name, v) in [("tau", p.tau), ("dt", p.dt)] {
        if !(v.is_finite() && v > 0.0) {
            return Err(Error::InvalidParameter {
                name,
                value: v.to_string(),
                reason: "must be a finite number > 0".into(),
            });
        }
    }
    for (name, v) in [
        ("noise", p.noise),
        ("velocity", p.velocity),
        ("reversal_rate", p.reversal_rate),
    ] {
        if !(v.is_finite() && v >= 0.0) {
            return Err(Error::InvalidParameter {
                name,
                value: v.to_string(),
                reason: "must be a finite number ≥ 0".into(),
            });
        }
    }
    for (name, v) in [
        ("j0", p.j0),
        ("j1", p.j1),
        ("kappa", p.kappa),
        ("jv", p.jv),
        ("bias", p.bias),
    ] {
        if !v.is_finite() {
            return Err(Error::InvalidParameter {
                name,
                value: v.to_string(),
                reason: "must be finite".into(),
            });
        }
    }
    if !(0.0..=1.0).contains(&p.cut) {
        return Err(Error::InvalidParameter {
            name: "cut",
            value: p.cut.to_string(),
            reason: "the cut α must be in [0, 1]".into(),
        });
    }
    if p.dt > p.tau || p.reversal_rate * p.dt > 1.0 {
        return Err(Error::InvalidParameter {
            name: "dt",
            value: p.dt.to_string(),
            reason: "need dt ≤ τ and γ dt ≤ 1".into(),
        });
    }
    if p.neurons < 3 || p.samples < 2 || p.trials == 0 || p.subsample == 0 {
        return Err(Error::InvalidParameter {
            name: "neurons",
            value: format!(
                "neurons {}, samples {}, trials {}, subsample {}",
                p.neurons, p.samples, p.trials, p.subsample
            ),
            reason: "need ≥ 3 neurons, ≥ 2 samples, ≥ 1 trial and subsample ≥ 1".into(),
        });
    }
    Ok(())
}

/// The connectivity of the network with parameters `p` (its cut α included).
pub fn network(p: &RingParams) -> Result<RingNetwork> {
    validate(p)?;
    let n = p.neurons;
    let mut w = vec![0.0; n * n];
    let mut v = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            let d = std::f64::consts::TAU * (i as f64 - j as f64) / n as f64;
            let c = cut_factor(i, j, n, p.cut);
            let k = (p.kappa * (d.cos() - 1.0)).exp();
            w[i * n + j] = (p.j0 + c * p.j1 * k) / n as f64;
            v[i * n + j] = c * p.jv * d.sin() * k / n as f64;
        }
    }
    Ok(RingNetwork { neurons: n, w, v })
}

/// φ(x) = tanh(max(x, 0)).
pub fn phi(x: f64) -> f64 {
    x.max(0.0).tanh()
}

/// The initial bump centred at angle ψ: r_i = ½ max(cos(θ_i − ψ), 0) (a rough bump; the transient
/// lets the network give it its own shape).
pub fn initial_bump(neurons: usize, psi: f64) -> Vec<f64> {
    (0..neurons)
        .map(|i| {
            let th = std::f64::consts::TAU * i as f64 / neurons as f64;
            0.5 * (th - psi).cos().max(0.0)
        })
        .collect()
}

/// One Euler–Maruyama step of the rates (spec/cases.md §2) at velocity `velocity` (`xi` the N standard normal draws,
/// or zeros for the noise-free network).
pub fn step(
    net: &RingNetwork,
    p: &RingParams,
    r: &[f64],
    velocity: f64,
    xi: &[f64],
    out: &mut [f64],
) {
    let m: Vec<f64> = net
        .w
        .iter()
        .zip(&net.v)
        .map(|(w, v)| w + velocity * v)
        .collect();
    step_with(&m, p, r, xi, out);
}

/// The step with the effective connectivity M = W + v V precomputed (row-major N × N).
fn step_with(m: &[f64], p: &RingParams, r: &[f64], xi: &[f64], out: &mut [f64]) {
    let n = r.len();
    let (a, s) = (p.dt / p.tau, p.noise * p.dt.sqrt());
    for (i, o) in out.iter_mut().enumerate() {
        let row = &m[i * n..(i + 1) * n];
        let h = p.bias + row.iter().zip(r).map(|(w, x)| w * x).sum::<f64>();
        *o = r[i] + a * (phi(h) - r[i]) + s * xi[i];
    }
}

/// The centre of mass of the activity on the ring, atan2(Σ r_i sin θ_i, Σ r_i cos θ_i) ∈ (−π, π].
pub fn bump_angle(r: &[f64]) -> f64 {
    let n = r.len() as f64;
    let (mut c, mut s) = (0.0, 0.0);
    for (i, &x) in r.iter().enumerate() {
        let th = std::f64::consts::TAU * i as f64 / n;
        c += x * th.cos();
        s += x * th.sin();
    }
    s.atan2(c)
}

/// Simulates trial k (spec/cases.md §2): ψ and the rate noise from stream k of the seed, the
/// velocity sequence from stream 2³² + ⌊k/2⌋. Returns the `samples × N` row-major rates.
fn trial(net: &RingNetwork, p: &RingParams, k: usize) -> Vec<f64> {
    let n = net.neurons;
    let mut g = stream(p.seed, k as u64);
    let psi = uniform(&mut g, 0.0, std::f64::consts::TAU);
    // The velocity sequence of trial k comes from stream 2³² + ⌊k/2⌋, with the sign flipped for odd
    // k: trials come in mirrored pairs, so the data set has no net rotation.
    let mut gv = stream(p.seed, (1 << 32) + (k / 2) as u64);
    let mirror = if k % 2 == 0 { 1.0 } else { -1.0 };
    let mut velocity = mirror
        * if gv.random::<f64>() < 0.5 {
            p.velocity
        } else {
            -p.velocity
        };
    let mut r = initial_bump(n, psi);
    let mut next = vec![0.0; n];
    let mut xi = vec![0.0; n];
    let flip = p.reversal_rate * p.dt;
    // The velocity takes two values only: precompute W ± v V.
    let effective = |sign: f64| -> Vec<f64> {
        net.w
            .iter()
            .zip(&net.v)
            .map(|(w, v)| w + sign * p.velocity * v)
            .collect()
    };
    let (m_plus, m_minus) = (effective(1.0), effective(-1.0));
    let mut out = Vec::with_capacity(n * p.samples);
    let total = p.transient_steps + (p.samples - 1) * p.subsample;
    for t in 0..=total {
        if t >= p.transient_steps && (t - p.transient_steps) % p.subsample == 0 {
            out.extend_from_slice(&r);
        }
        if t == total {
            break;
        }
        for x in &mut xi {
            *x = gaussian(&mut g);
        }
        let m = if velocity > 0.0 { &m_plus } else { &m_minus };
        step_with(m, p, &r, &xi, &mut next);
        std::mem::swap(&mut r, &mut next);
        if gv.random::<f64>() < flip {
            velocity = -velocity;
        }
    }
    out
}

/// The trials of the network with parameters `p` (spec/cases.md §2): `trials` buffers of
/// `samples × N` rates (row-major). Trial k starts from the bump at ψ ~ U[0, 2π) and draws ψ and its
/// noise from ChaCha8 stream k of the seed; its velocity sequence comes from stream 2³² + ⌊k/2⌋,
/// sign-flipped for odd k (mirrored pairs). More trials leave the earlier ones unchanged.
pub fn simulate(p: &RingParams) -> Result<Vec<Vec<f64>>> {
    let net = network(p)?;
    let out: Vec<Vec<f64>> = (0..p.trials).map(|k| trial(&net, p, k)).collect();
    for (k, tr) in out.iter().enumerate() {
        if let Some(i) = tr.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                array: format!("ring trial {k}"),
                index: vec![k, i / p.neurons, i % p.neurons],
                value: tr[i],
            });
        }
    }
    Ok(out)
}

/// The readout deformation y_i = s_i / (1 + exp(−β r_i)) applied to every sample (spec/cases.md §2),
/// with s_i = 1 when `scales` is `None`. β must be finite and > 0; the scales (one per neuron) must
/// be finite and their count must divide every trial's length.
pub fn sigmoid_readout(
    trials: &[Vec<f64>],
    beta: f64,
    scales: Option<&[f64]>,
) -> Result<Vec<Vec<f64>>> {
    if !(beta.is_finite() && beta > 0.0) {
        return Err(Error::InvalidParameter {
            name: "beta",
            value: beta.to_string(),
            reason: "the gain must be a finite number > 0".into(),
        });
    }
    if let Some(s) = scales {
        if let Some(bad) = s.iter().find(|v| !v.is_finite()) {
            return Err(Error::InvalidParameter {
                name: "scales",
                value: bad.to_string(),
                reason: "scales must be finite".into(),
            });
        }
        if s.is_empty() || trials.iter().any(|t| t.len() % s.len() != 0) {
            return Err(Error::Shape {
                array: "scales".into(),
                reason: format!("{} scales do not divide the trials into rows", s.len()),
            });
        }
    }
    Ok(trials
        .iter()
        .map(|tr| {
            tr.iter()
                .enumerate()
                .map(|(idx, &r)| {
                    let y = 1.0 / (1.0 + (-beta * r).exp());
                    match scales {
                        Some(s) => y * s[idx % s.len()],
                        None => y,
                    }
                })
                .collect()
        })
        .collect())
}

/// Subtracts each neuron's mean over all trials and samples (the datasets DSA compares are
/// centred: a constant offset is not dynamics).
pub fn centre(trials: &mut [Vec<f64>], neurons: usize) {
    let mut mean = vec![0.0; neurons];
    let mut count = 0usize;
    for tr in trials.iter() {
        for row in tr.chunks(neurons) {
            for (m, &x) in mean.iter_mut().zip(row) {
                *m += x;
            }
            count += 1;
        }
    }
    for m in &mut mean {
        *m /= count.max(1) as f64;
    }
    for tr in trials.iter_mut() {
        for row in tr.chunks_mut(neurons) {
            for (x, m) in row.iter_mut().zip(&mean) {
                *x -= m;
            }
        }
    }
}

/// The trials as a (centred) dataset named `name`.
pub fn dataset(trials: &[Vec<f64>], neurons: usize, name: &str) -> Result<Dataset> {
    let mut centred = trials.to_vec();
    centre(&mut centred, neurons);
    let slices: Vec<&[f64]> = centred.iter().map(Vec::as_slice).collect();
    Ok(Dataset::from_trials(&slices, neurons)?.with_name(name))
}
