//! Lorenz-63 clips at several ρ (spec/cases.md §3).
//!
//! ẋ = σ(y − x), ẏ = x(ρ − z) − y, ż = xy − βz with σ = 10, β = 8/3, integrated by the classical
//! fourth-order Runge–Kutta method with step `dt`. Each clip starts from its own random initial
//! condition (uniform in [−20, 20]² × [0, 40]), runs a transient, then records `samples` states every
//! `subsample` steps, and is standardised per feature (zero mean, unit variance over the clip).

use super::{stream, uniform};
use crate::embedding::Dataset;
use crate::error::{Error, Result};

/// The study's ρ values.
pub const RHOS: [f64; 5] = [10.0, 20.0, 75.0, 152.0, 220.0];

/// Parameters of the clips (spec/cases.md §3). `Default` is the documented study.
#[derive(Debug, Clone, PartialEq)]
pub struct LorenzParams {
    /// σ.
    pub sigma: f64,
    /// β.
    pub beta: f64,
    /// RK4 step.
    pub dt: f64,
    /// Transient before each clip, in time units.
    pub transient: f64,
    /// Integration steps between recorded samples.
    pub subsample: usize,
    /// Samples per clip.
    pub samples: usize,
    /// Clips per ρ.
    pub clips: usize,
    /// The seed (initial conditions).
    pub seed: u64,
}

impl Default for LorenzParams {
    fn default() -> Self {
        Self {
            sigma: 10.0,
            beta: 8.0 / 3.0,
            dt: 0.001,
            transient: 20.0,
            subsample: 10,
            samples: 1000,
            clips: 8,
            seed: 0,
        }
    }
}

fn field(s: [f64; 3], sigma: f64, rho: f64, beta: f64) -> [f64; 3] {
    [
        sigma * (s[1] - s[0]),
        s[0] * (rho - s[2]) - s[1],
        s[0] * s[1] - beta * s[2],
    ]
}

/// One classical RK4 step.
pub fn rk4_step(s: [f64; 3], dt: f64, sigma: f64, rho: f64, beta: f64) -> [f64; 3] {
    let add =
        |a: [f64; 3], k: [f64; 3], h: f64| [a[0] + h * k[0], a[1] + h * k[1], a[2] + h * k[2]];
    let k1 = field(s, sigma, rho, beta);
    let k2 = field(add(s, k1, dt / 2.0), sigma, rho, beta);
    let k3 = field(add(s, k2, dt / 2.0), sigma, rho, beta);
    let k4 = field(add(s, k3, dt), sigma, rho, beta);
    [
        s[0] + dt / 6.0 * (k1[0] + 2.0 * k2[0] + 2.0 * k3[0] + k4[0]),
        s[1] + dt / 6.0 * (k1[1] + 2.0 * k2[1] + 2.0 * k3[1] + k4[1]),
        s[2] + dt / 6.0 * (k1[2] + 2.0 * k2[2] + 2.0 * k3[2] + k4[2]),
    ]
}

/// The raw (unstandardised) clip `clip` at `rho`: `samples` × 3, row-major.
pub fn raw_clip(rho: f64, clip: usize, p: &LorenzParams) -> Result<Vec<f64>> {
    for (name, v) in [
        ("sigma", p.sigma),
        ("beta", p.beta),
        ("dt", p.dt),
        ("rho", rho),
    ] {
        if !(v.is_finite() && v > 0.0) {
            return Err(Error::InvalidParameter {
                name,
                value: v.to_string(),
                reason: "must be a finite number > 0".into(),
            });
        }
    }
    if !(p.transient.is_finite() && p.transient >= 0.0) || p.subsample == 0 || p.samples < 2 {
        return Err(Error::InvalidParameter {
            name: "transient",
            value: format!(
                "transient {}, subsample {}, samples {}",
                p.transient, p.subsample, p.samples
            ),
            reason: "need transient ≥ 0, subsample ≥ 1 and samples ≥ 2".into(),
        });
    }
    // Stream per (ρ index by bits, clip): independent initial conditions.
    let mut g = stream(p.seed ^ rho.to_bits(), clip as u64);
    let mut s = [
        uniform(&mut g, -20.0, 20.0),
        uniform(&mut g, -20.0, 20.0),
        uniform(&mut g, 0.0, 40.0),
    ];
    let transient_steps = (p.transient / p.dt).round() as usize;
    for _ in 0..transient_steps {
        s = rk4_step(s, p.dt, p.sigma, rho, p.beta);
    }
    let mut out = Vec::with_capacity(3 * p.samples);
    for k in 0..p.samples {
        if k > 0 {
            for _ in 0..p.subsample {
                s = rk4_step(s, p.dt, p.sigma, rho, p.beta);
            }
        }
        out.extend_from_slice(&s);
    }
    if let Some(i) = out.iter().position(|v| !v.is_finite()) {
        return Err(Error::NonFinite {
            array: format!("lorenz rho={rho} clip {clip}"),
            index: vec![i / 3, i % 3],
            value: out[i],
        });
    }
    Ok(out)
}

/// Standardises each of the 3 columns of a `samples × 3` clip (zero mean, unit variance); a
/// column with zero variance is only centred.
pub fn standardise(clip: &mut [f64]) {
    let n = clip.len() / 3;
    for d in 0..3 {
        let mean = (0..n).map(|t| clip[3 * t + d]).sum::<f64>() / n as f64;
        let var = (0..n)
            .map(|t| (clip[3 * t + d] - mean).powi(2))
            .sum::<f64>()
            / n as f64;
        let scale = if var > 0.0 { var.sqrt() } else { 1.0 };
        for t in 0..n {
            clip[3 * t + d] = (clip[3 * t + d] - mean) / scale;
        }
    }
}

/// The study: `clips` standardised clips for each ρ of `rhos`, as datasets named `rho=…/clip`, in
/// order ρ-major; the label of clip k is k / clips.
pub fn clips(rhos: &[f64], p: &LorenzParams) -> Result<Vec<Dataset>> {
    let mut out = Vec::with_capacity(rhos.len() * p.clips);
    for &rho in rhos {
        for c in 0..p.clips {
            let mut x = raw_clip(rho, c, p)?;
            standardise(&mut x);
            out.push(Dataset::from_array(&x, 1, p.samples, 3)?.with_name(format!("rho={rho}/{c}")));
        }
    }
    Ok(out)
}
