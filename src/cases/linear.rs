//! Linear systems with planted spectra and their conjugates (spec/cases.md §4).
//!
//! A system with planted eigenvalues is A = Q B Qᵀ, where B is block diagonal (real eigenvalues on
//! the diagonal, a pair a ± ib as the 2 × 2 block [[a, −b], [b, a]]) and Q is a Haar-random
//! orthogonal matrix; its data are noisy trajectories x_{t+1} = A x_t + σ ξ_t. Seen through a readout
//! y = M x, the same dynamics are y_{t+1} = (M A M⁻¹) y_t + σ M ξ_t: a conjugate of A. DSA at full
//! rank must put a system and any invertible readout of it at distance ≈ 0 (spec/operator.md §8:
//! the delay coordinates of y span the same space as those of x).

use faer::Mat;

use super::{gaussian, stream, uniform};
use crate::embedding::Dataset;
use crate::error::{Error, Result};

/// A planted spectrum: real eigenvalues and complex pairs a ± ib (b > 0).
#[derive(Debug, Clone, PartialEq)]
pub struct Spectrum {
    /// Real eigenvalues.
    pub real: Vec<f64>,
    /// Complex pairs (a, b), each giving a ± ib.
    pub complex: Vec<(f64, f64)>,
}

impl Spectrum {
    /// The dimension: #real + 2·#complex.
    pub fn dim(&self) -> usize {
        self.real.len() + 2 * self.complex.len()
    }

    /// The block-diagonal matrix with this spectrum.
    pub fn block_diagonal(&self) -> Mat<f64> {
        let n = self.dim();
        let mut b = Mat::zeros(n, n);
        for (i, &l) in self.real.iter().enumerate() {
            b[(i, i)] = l;
        }
        for (k, &(a, im)) in self.complex.iter().enumerate() {
            let i = self.real.len() + 2 * k;
            b[(i, i)] = a;
            b[(i + 1, i + 1)] = a;
            b[(i, i + 1)] = -im;
            b[(i + 1, i)] = im;
        }
        b
    }

    /// The eigenvalues as (re, im), conjugate pairs listed +im first.
    pub fn eigenvalues(&self) -> Vec<(f64, f64)> {
        let mut e: Vec<(f64, f64)> = self.real.iter().map(|&l| (l, 0.0)).collect();
        for &(a, b) in &self.complex {
            e.push((a, b));
            e.push((a, -b));
        }
        e
    }
}

/// A Haar-random orthogonal n × n matrix (Gram–Schmidt of a Gaussian matrix, twice).
pub fn random_orthogonal(n: usize, seed: u64, stream_id: u64) -> Mat<f64> {
    let mut g = stream(seed, stream_id);
    let mut q = Mat::from_fn(n, n, |_, _| gaussian(&mut g));
    for _ in 0..2 {
        for j in 0..n {
            for k in 0..j {
                let dot: f64 = (0..n).map(|i| q[(i, j)] * q[(i, k)]).sum();
                for i in 0..n {
                    q[(i, j)] -= dot * q[(i, k)];
                }
            }
            let norm = (0..n).map(|i| q[(i, j)].powi(2)).sum::<f64>().sqrt();
            for i in 0..n {
                q[(i, j)] /= norm;
            }
        }
    }
    q
}

/// A random well-conditioned invertible matrix M = Q₁ diag(s) Q₂ with s uniform in
/// [1/√κ, √κ], so cond₂(M) ≤ κ.
pub fn random_invertible(n: usize, kappa: f64, seed: u64, stream_id: u64) -> Mat<f64> {
    let q1 = random_orthogonal(n, seed, stream_id);
    let q2 = random_orthogonal(n, seed, stream_id + 1);
    let mut g = stream(seed, stream_id + 2);
    let r = kappa.max(1.0).sqrt();
    let s: Vec<f64> = (0..n).map(|_| uniform(&mut g, 1.0 / r, r)).collect();
    Mat::from_fn(n, n, |i, j| {
        (0..n).map(|k| q1[(i, k)] * s[k] * q2[(k, j)]).sum()
    })
}

/// The system matrix A = Q B Qᵀ with the planted spectrum (Q from `seed`).
pub fn planted(spectrum: &Spectrum, seed: u64) -> Mat<f64> {
    let n = spectrum.dim();
    let q = random_orthogonal(n, seed, 0);
    let b = spectrum.block_diagonal();
    Mat::from_fn(n, n, |i, j| {
        (0..n)
            .map(|k| q[(i, k)] * (0..n).map(|l| b[(k, l)] * q[(j, l)]).sum::<f64>())
            .sum()
    })
}

/// Noisy trajectories of x_{t+1} = A x_t + σ ξ_t (x_0 ~ N(0, I)), `trials` × `steps`, seen through
/// the readout `readout` (None: identity), as a dataset. The noise is drawn from `seed` alone, so
/// two readouts of one seed see the same latent trajectories.
pub fn simulate(
    a: &Mat<f64>,
    trials: usize,
    steps: usize,
    noise: f64,
    readout: Option<&Mat<f64>>,
    seed: u64,
) -> Result<Dataset> {
    let n = a.nrows();
    if a.ncols() != n || n == 0 {
        return Err(Error::Shape {
            array: "A".into(),
            reason: format!(
                "must be square and non-empty, got {}×{}",
                a.nrows(),
                a.ncols()
            ),
        });
    }
    if let Some(m) = readout {
        if m.ncols() != n || m.nrows() == 0 {
            return Err(Error::Shape {
                array: "readout".into(),
                reason: format!("must have {n} columns, got {}×{}", m.nrows(), m.ncols()),
            });
        }
    }
    let out_dim = readout.map_or(n, |m| m.nrows());
    let mut g = stream(seed, 1 << 32);
    let mut data = Vec::with_capacity(trials * steps * out_dim);
    for _ in 0..trials {
        let mut x: Vec<f64> = (0..n).map(|_| gaussian(&mut g)).collect();
        for _ in 0..steps {
            match readout {
                Some(m) => {
                    data.extend((0..out_dim).map(|i| (0..n).map(|j| m[(i, j)] * x[j]).sum::<f64>()))
                }
                None => data.extend_from_slice(&x),
            }
            x = (0..n)
                .map(|i| (0..n).map(|j| a[(i, j)] * x[j]).sum::<f64>() + noise * gaussian(&mut g))
                .collect();
        }
    }
    Dataset::from_array(&data, trials, steps, out_dim)
}
