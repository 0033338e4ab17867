//! Saddle vs line vs point attractor with matched condition averages (spec/cases.md §1; after
//! Galgali et al. 2023 and the DSA paper's Fig. 3).
//!
//! Three classes of 2-D linear stochastic systems, simulated by Euler–Maruyama with step `dt`:
//!
//!   x_{t+1} = x_t + dt (J x_t + u_c(t)) + σ ξ_t,   x_0 = 0,   ξ_t ~ N(0, I₂),
//!
//! with J = R diag(λ₁, −κ) Rᵀ (R a rotation by φ): λ₁ = +λ (saddle: unstable along the decision
//! axis R e₁), λ₁ = 0 (line attractor), λ₁ = −λ (point attractor). Condition c ∈ {+1, −1} gets the
//! constant input u = c·μ·R e₁ in the saddle model. The mean trajectory of a linear system obeys the
//! noise-free recursion m_{t+1} = m_t + dt (J m_t + u_c(t)); model i of the line and point classes
//! shares φ and κ with saddle model i and receives the feedback input
//!
//!   u_c(t) = (m^S_{t+1} − m^S_t)/dt − J m^S_t,
//!
//! which makes its mean trajectory equal the saddle model's m^S, step for step. So the three classes
//! have the same condition averages (up to sampling noise), but different dynamics around them.

use faer::Mat;

use super::{gaussian, stream, uniform};
use crate::embedding::Dataset;
use crate::error::{Error, Result};

/// The class of an attractor system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttractorClass {
    /// A saddle point: one unstable, one stable direction (a bistable decision).
    Saddle,
    /// A line attractor: one neutral, one stable direction.
    Line,
    /// A point attractor: two stable directions.
    Point,
}

impl AttractorClass {
    /// The classes, in label order (0, 1, 2).
    pub const ALL: [AttractorClass; 3] = [Self::Saddle, Self::Line, Self::Point];

    /// The label: 0 saddle, 1 line, 2 point.
    pub fn label(self) -> usize {
        match self {
            Self::Saddle => 0,
            Self::Line => 1,
            Self::Point => 2,
        }
    }

    /// `saddle`, `line` or `point`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Saddle => "saddle",
            Self::Line => "line",
            Self::Point => "point",
        }
    }
}

/// Parameters of the study (spec/cases.md §1). `Default` is the documented study.
#[derive(Debug, Clone, PartialEq)]
pub struct AttractorParams {
    /// Euler step dt.
    pub dt: f64,
    /// Noise σ per step.
    pub noise: f64,
    /// Input magnitude μ.
    pub input: f64,
    /// Trials per condition (two conditions).
    pub trials_per_condition: usize,
    /// Time steps per trial.
    pub steps: usize,
    /// Models per class.
    pub models_per_class: usize,
    /// Range of λ (|eigenvalue| of the decision axis for saddle and point).
    pub lambda: (f64, f64),
    /// Range of κ (the stable direction's decay rate).
    pub kappa: (f64, f64),
    /// The seed.
    pub seed: u64,
}

impl Default for AttractorParams {
    fn default() -> Self {
        Self {
            dt: 0.01,
            noise: 0.05,
            input: 0.1,
            trials_per_condition: 200,
            steps: 100,
            models_per_class: 5,
            lambda: (1.0, 1.5),
            kappa: (2.4, 2.6),
            seed: 0,
        }
    }
}

/// One simulated system.
#[derive(Debug, Clone)]
pub struct AttractorSystem {
    /// Its class.
    pub class: AttractorClass,
    /// Its model index within the class (model i of each class shares φ, κ and the mean
    /// trajectory).
    pub model: usize,
    /// The Jacobian J (row-major 2 × 2).
    pub jacobian: [[f64; 2]; 2],
    /// The trials, each `steps × 2` row-major; conditions alternate +1, −1, +1, …
    pub trials: Vec<Vec<f64>>,
    /// The condition (+1 or −1) of each trial.
    pub conditions: Vec<i8>,
}

impl AttractorSystem {
    /// The trials as a dataset named `class-model`.
    pub fn dataset(&self) -> Result<Dataset> {
        let slices: Vec<&[f64]> = self.trials.iter().map(Vec::as_slice).collect();
        Ok(Dataset::from_trials(&slices, 2)?.with_name(format!(
            "{}-{}",
            self.class.name(),
            self.model
        )))
    }

    /// The condition averages stacked in time: rows 0..T are condition +1, rows T..2T condition −1
    /// (a (2T) × 2 matrix), the representation geometric methods compare.
    pub fn condition_average(&self) -> Mat<f64> {
        let steps = self.trials.first().map_or(0, |t| t.len() / 2);
        let mut out = Mat::zeros(2 * steps, 2);
        for (c, sign) in [1i8, -1].into_iter().enumerate() {
            let members: Vec<&Vec<f64>> = self
                .trials
                .iter()
                .zip(&self.conditions)
                .filter(|(_, &s)| s == sign)
                .map(|(t, _)| t)
                .collect();
            let n = members.len().max(1) as f64;
            for t in 0..steps {
                for d in 0..2 {
                    out[(c * steps + t, d)] =
                        members.iter().map(|tr| tr[2 * t + d]).sum::<f64>() / n;
                }
            }
        }
        out
    }
}

fn jacobian(phi: f64, l1: f64, kappa: f64) -> [[f64; 2]; 2] {
    let (s, c) = phi.sin_cos();
    // R diag(l1, −κ) Rᵀ with R = [[c, −s], [s, c]].
    [
        [c * c * l1 - s * s * kappa, c * s * l1 + s * c * kappa],
        [s * c * l1 + c * s * kappa, s * s * l1 - c * c * kappa],
    ]
}

fn apply(j: &[[f64; 2]; 2], x: [f64; 2]) -> [f64; 2] {
    [
        j[0][0] * x[0] + j[0][1] * x[1],
        j[1][0] * x[0] + j[1][1] * x[1],
    ]
}

/// Generates the study: `models_per_class` models of each class, in the order saddle 0…, line 0…,
/// point 0… (spec/cases.md §1).
pub fn saddle_line_point(p: &AttractorParams) -> Result<Vec<AttractorSystem>> {
    let positive = |name: &'static str, v: f64| {
        if v.is_finite() && v > 0.0 {
            Ok(())
        } else {
            Err(Error::InvalidParameter {
                name,
                value: v.to_string(),
                reason: "must be a finite number > 0".into(),
            })
        }
    };
    positive("dt", p.dt)?;
    positive("input", p.input)?;
    if !(p.noise.is_finite() && p.noise >= 0.0) {
        return Err(Error::InvalidParameter {
            name: "noise",
            value: p.noise.to_string(),
            reason: "must be a finite number ≥ 0".into(),
        });
    }
    for (name, (lo, hi)) in [("lambda", p.lambda), ("kappa", p.kappa)] {
        if !(lo.is_finite() && hi.is_finite() && 0.0 < lo && lo <= hi) {
            return Err(Error::InvalidParameter {
                name,
                value: format!("({lo}, {hi})"),
                reason: "expected a range 0 < lo ≤ hi".into(),
            });
        }
    }
    if p.steps < 2 || p.trials_per_condition == 0 || p.models_per_class == 0 {
        return Err(Error::InvalidParameter {
            name: "steps",
            value: format!(
                "steps {}, trials {}, models {}",
                p.steps, p.trials_per_condition, p.models_per_class
            ),
            reason: "need ≥ 2 steps, ≥ 1 trial per condition and ≥ 1 model per class".into(),
        });
    }
    let mut out = Vec::with_capacity(3 * p.models_per_class);
    let mut by_class: [Vec<AttractorSystem>; 3] = Default::default();
    for model in 0..p.models_per_class {
        // Stream 4·model: the model's parameters; 4·model + 1 + class: its noise.
        let mut g = stream(p.seed, 4 * model as u64);
        let phi = uniform(&mut g, 0.0, std::f64::consts::PI);
        let kappa = uniform(&mut g, p.kappa.0, p.kappa.1);
        let lambda_saddle = uniform(&mut g, p.lambda.0, p.lambda.1);
        let lambda_point = uniform(&mut g, p.lambda.0, p.lambda.1);
        let axis = [phi.cos(), phi.sin()];
        let j_saddle = jacobian(phi, lambda_saddle, kappa);
        // The saddle model's mean trajectory per condition (noise-free recursion).
        let means: Vec<Vec<[f64; 2]>> = [1.0, -1.0]
            .iter()
            .map(|&c| {
                let u = [c * p.input * axis[0], c * p.input * axis[1]];
                let mut m = vec![[0.0; 2]; p.steps];
                for t in 1..p.steps {
                    let jm = apply(&j_saddle, m[t - 1]);
                    m[t] = [
                        m[t - 1][0] + p.dt * (jm[0] + u[0]),
                        m[t - 1][1] + p.dt * (jm[1] + u[1]),
                    ];
                }
                m
            })
            .collect();
        for class in AttractorClass::ALL {
            let j = match class {
                AttractorClass::Saddle => j_saddle,
                AttractorClass::Line => jacobian(phi, 0.0, kappa),
                AttractorClass::Point => jacobian(phi, -lambda_point, kappa),
            };
            let mut noise = stream(p.seed, 4 * model as u64 + 1 + class.label() as u64);
            let mut trials = Vec::with_capacity(2 * p.trials_per_condition);
            let mut conditions = Vec::with_capacity(2 * p.trials_per_condition);
            for k in 0..2 * p.trials_per_condition {
                let c = k % 2;
                let m = &means[c];
                let mut x = [0.0f64; 2];
                let mut trial = Vec::with_capacity(2 * p.steps);
                for t in 0..p.steps {
                    trial.extend_from_slice(&x);
                    if t + 1 == p.steps {
                        break;
                    }
                    // u_c(t) = (m_{t+1} − m_t)/dt − J m_t: exact for the saddle's own input too.
                    let jm = apply(&j, m[t]);
                    let u = [
                        (m[t + 1][0] - m[t][0]) / p.dt - jm[0],
                        (m[t + 1][1] - m[t][1]) / p.dt - jm[1],
                    ];
                    let jx = apply(&j, x);
                    x = [
                        x[0] + p.dt * (jx[0] + u[0]) + p.noise * gaussian(&mut noise),
                        x[1] + p.dt * (jx[1] + u[1]) + p.noise * gaussian(&mut noise),
                    ];
                }
                trials.push(trial);
                conditions.push(if c == 0 { 1 } else { -1 });
            }
            by_class[class.label()].push(AttractorSystem {
                class,
                model,
                jacobian: j,
                trials,
                conditions,
            });
        }
    }
    for class in by_class {
        out.extend(class);
    }
    Ok(out)
}
