//! Datasets and delay (Hankel) embedding — `spec/embedding.md`.
//!
//! A [`Dataset`] holds the data of one system: K trials, each a T_i × N array of time points × features,
//! stored row-major and contiguously. Trials may have different lengths (ragged) but share N. No delay
//! vector and no transition pair ever crosses a trial boundary.
//!
//! [`Dataset::embed`] builds the stacked Hankel matrix H (Σᵢ T'ᵢ × N·D) with T'ᵢ = Tᵢ − (D−1)τ, whose
//! row t of trial i is [x_{s}, x_{s−τ}, …, x_{s−(D−1)τ}] with s = t + (D−1)τ: block 0 is the newest
//! sample, exactly upstream's layout (spec/embedding.md §2).

use faer::Mat;

use crate::error::{Error, Result};

/// The data of one system: K ≥ 1 trials of Tᵢ ≥ 1 time points and N ≥ 1 features each, all finite
/// (spec/embedding.md §1).
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    name: String,
    /// All trials concatenated; trial i occupies rows `offsets[i]..offsets[i+1]`, row-major (t, feature).
    data: Vec<f64>,
    /// Row offsets of the trials, length K + 1, `offsets[0] = 0`.
    offsets: Vec<usize>,
    n_features: usize,
}

/// Delay-embedding parameters (spec/embedding.md §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DelayParams {
    /// D ≥ 1, the number of delayed copies (1 = no embedding).
    pub n_delays: usize,
    /// τ ≥ 1, the number of time steps between consecutive copies.
    pub delay_interval: usize,
}

impl Default for DelayParams {
    fn default() -> Self {
        Self {
            n_delays: 1,
            delay_interval: 1,
        }
    }
}

impl DelayParams {
    /// Checks D ≥ 1, τ ≥ 1 and that (D−1)τ does not overflow; returns the span (D−1)τ.
    pub fn validate(&self) -> Result<usize> {
        if self.n_delays == 0 {
            return Err(Error::InvalidParameter {
                name: "n_delays",
                value: "0".into(),
                reason: "must be at least 1 (1 means no delay embedding)".into(),
            });
        }
        if self.delay_interval == 0 {
            return Err(Error::InvalidParameter {
                name: "delay_interval",
                value: "0".into(),
                reason: "must be at least 1".into(),
            });
        }
        (self.n_delays - 1)
            .checked_mul(self.delay_interval)
            .ok_or_else(|| Error::InvalidParameter {
                name: "n_delays",
                value: self.n_delays.to_string(),
                reason: format!(
                    "(n_delays − 1)·delay_interval overflows with delay_interval = {}",
                    self.delay_interval
                ),
            })
    }
}

/// The stacked delay-embedded data of one system (spec/embedding.md §2).
#[derive(Debug, Clone)]
pub struct Hankel {
    /// H, Σᵢ T'ᵢ rows × N·D columns (column-major, as faer stores it).
    pub matrix: Mat<f64>,
    /// Row offsets of the trials in `matrix`, length K + 1.
    pub offsets: Vec<usize>,
    /// N, the number of features of the underlying data.
    pub n_features: usize,
    /// The delay parameters used.
    pub params: DelayParams,
    /// The name of the dataset it came from (for error messages).
    pub name: String,
}

impl Hankel {
    /// Number of rows of trial `i` (T'ᵢ), or `None` if `i` is out of range.
    pub fn trial_rows(&self, i: usize) -> Option<usize> {
        Some(self.offsets.get(i + 1)? - self.offsets.get(i)?)
    }

    /// K, the number of trials.
    pub fn n_trials(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }
}

impl Dataset {
    /// A K × T × N array given as a row-major (C-order) buffer of length K·T·N.
    pub fn from_array(
        data: &[f64],
        n_trials: usize,
        n_time: usize,
        n_features: usize,
    ) -> Result<Self> {
        Self::from_array_impl(data, n_trials, n_time, n_features, |x| x)
    }

    /// As [`Dataset::from_array`], from `f32` values (converted exactly to `f64`).
    pub fn from_array_f32(
        data: &[f32],
        n_trials: usize,
        n_time: usize,
        n_features: usize,
    ) -> Result<Self> {
        Self::from_array_impl(data, n_trials, n_time, n_features, f64::from)
    }

    /// A list of trials of possibly different lengths; trial i is a row-major Tᵢ × N buffer, so its
    /// length must be a positive multiple of `n_features`.
    pub fn from_trials(trials: &[&[f64]], n_features: usize) -> Result<Self> {
        Self::from_trials_impl(trials, n_features, |x| x)
    }

    /// As [`Dataset::from_trials`], from `f32` values (converted exactly to `f64`).
    pub fn from_trials_f32(trials: &[&[f32]], n_features: usize) -> Result<Self> {
        Self::from_trials_impl(trials, n_features, f64::from)
    }

    /// Sets the name used in error messages (e.g. the file the data came from). Default: `"data"`.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The name used in error messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// K, the number of trials.
    pub fn n_trials(&self) -> usize {
        self.offsets.len() - 1
    }

    /// N, the number of features.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Tᵢ, the number of time points of trial `i`, or `None` if out of range.
    pub fn trial_len(&self, i: usize) -> Option<usize> {
        Some(self.offsets.get(i + 1)? - self.offsets.get(i)?)
    }

    /// Trial `i` as a row-major Tᵢ × N slice, or `None` if out of range.
    pub fn trial(&self, i: usize) -> Option<&[f64]> {
        let (a, b) = (*self.offsets.get(i)?, *self.offsets.get(i + 1)?);
        self.data.get(a * self.n_features..b * self.n_features)
    }

    /// Σᵢ Tᵢ, the total number of time points.
    pub fn total_time(&self) -> usize {
        self.offsets.last().copied().unwrap_or(0)
    }

    /// True when the trials do not all have the same length.
    pub fn is_ragged(&self) -> bool {
        let first = self.trial_len(0);
        (1..self.n_trials()).any(|i| self.trial_len(i) != first)
    }

    /// The shortest trial length, min Tᵢ.
    pub fn min_trial_len(&self) -> usize {
        (0..self.n_trials())
            .filter_map(|i| self.trial_len(i))
            .min()
            .unwrap_or(0)
    }

    /// Checks that every trial has at least `(D−1)τ + 1 + steps_ahead` time points (spec/embedding.md §3),
    /// i.e. at least one delay vector and, when `steps_ahead` > 0, at least one transition pair.
    pub fn check_lengths(&self, params: &DelayParams, steps_ahead: usize) -> Result<()> {
        let span = params.validate()?;
        let needed = span
            .checked_add(1)
            .and_then(|x| x.checked_add(steps_ahead))
            .ok_or_else(|| Error::InvalidParameter {
                name: "steps_ahead",
                value: steps_ahead.to_string(),
                reason: "too large".into(),
            })?;
        for i in 0..self.n_trials() {
            let len = self.trial_len(i).unwrap_or(0);
            if len < needed {
                return Err(Error::TooFewTimePoints {
                    array: self.name.clone(),
                    trial: i,
                    len,
                    needed,
                    n_delays: params.n_delays,
                    delay_interval: params.delay_interval,
                    steps_ahead,
                });
            }
        }
        Ok(())
    }

    /// The delay embedding H of all trials, stacked (spec/embedding.md §2).
    ///
    /// Row `offsets[i] + t` of H, block d (columns d·N..(d+1)·N) equals x_i[t + (D−1−d)τ] for
    /// t = 0..T'ᵢ, T'ᵢ = Tᵢ − (D−1)τ. Errors: invalid parameters, a trial with T'ᵢ < 1, or an embedding
    /// dimension N·D that overflows.
    pub fn embed(&self, params: &DelayParams) -> Result<Hankel> {
        self.check_lengths(params, 0)?;
        let span = params.validate()?;
        let n = self.n_features;
        let d = params.n_delays;
        let cols = n.checked_mul(d).ok_or_else(|| Error::InvalidParameter {
            name: "n_delays",
            value: d.to_string(),
            reason: format!("N·D overflows with N = {n}"),
        })?;
        let mut offsets = Vec::with_capacity(self.offsets.len());
        offsets.push(0usize);
        for i in 0..self.n_trials() {
            let rows = self.trial_len(i).unwrap_or(0) - span;
            let last = offsets.last().copied().unwrap_or(0);
            offsets.push(last + rows);
        }
        let total = offsets.last().copied().unwrap_or(0);
        let mut h = Mat::<f64>::zeros(total, cols);
        for i in 0..self.n_trials() {
            let (r0, r1) = (offsets[i], offsets[i + 1]);
            let base = self.offsets[i];
            // Column-major fill: for each column (block b, feature f), walk the rows of this trial.
            for b in 0..d {
                let lag = (d - 1 - b) * params.delay_interval;
                for f in 0..n {
                    let mut col = h.as_mut().col_mut(b * n + f);
                    for t in 0..(r1 - r0) {
                        col[r0 + t] = self.data[(base + t + lag) * n + f];
                    }
                }
            }
        }
        Ok(Hankel {
            matrix: h,
            offsets,
            n_features: n,
            params: *params,
            name: self.name.clone(),
        })
    }

    fn from_array_impl<T: Copy>(
        data: &[T],
        n_trials: usize,
        n_time: usize,
        n_features: usize,
        conv: impl Fn(T) -> f64,
    ) -> Result<Self> {
        let name = "data".to_string();
        check_nonzero(&name, n_trials, n_time, n_features)?;
        let expected = n_trials
            .checked_mul(n_time)
            .and_then(|x| x.checked_mul(n_features))
            .ok_or_else(|| Error::Shape {
                array: name.clone(),
                reason: format!("shape ({n_trials}, {n_time}, {n_features}) overflows"),
            })?;
        if data.len() != expected {
            return Err(Error::Shape {
                array: name,
                reason: format!(
                    "buffer has {} values but shape ({n_trials}, {n_time}, {n_features}) needs {expected}",
                    data.len()
                ),
            });
        }
        let data: Vec<f64> = data.iter().map(|&x| conv(x)).collect();
        let offsets = (0..=n_trials).map(|k| k * n_time).collect();
        let ds = Self {
            name,
            data,
            offsets,
            n_features,
        };
        ds.check_finite()?;
        Ok(ds)
    }

    fn from_trials_impl<T: Copy>(
        trials: &[&[T]],
        n_features: usize,
        conv: impl Fn(T) -> f64,
    ) -> Result<Self> {
        let name = "data".to_string();
        if trials.is_empty() {
            return Err(Error::Shape {
                array: name,
                reason: "no trials".into(),
            });
        }
        if n_features == 0 {
            return Err(Error::Shape {
                array: name,
                reason: "0 features (N must be at least 1)".into(),
            });
        }
        let mut offsets = Vec::with_capacity(trials.len() + 1);
        offsets.push(0usize);
        let mut data = Vec::with_capacity(trials.iter().map(|t| t.len()).sum());
        for (i, trial) in trials.iter().enumerate() {
            if trial.is_empty() || trial.len() % n_features != 0 {
                return Err(Error::Shape {
                    array: name,
                    reason: format!(
                        "trial {i} has {} values, not a positive multiple of N = {n_features}",
                        trial.len()
                    ),
                });
            }
            data.extend(trial.iter().map(|&x| conv(x)));
            let last = offsets.last().copied().unwrap_or(0);
            offsets.push(last + trial.len() / n_features);
        }
        let ds = Self {
            name,
            data,
            offsets,
            n_features,
        };
        ds.check_finite()?;
        Ok(ds)
    }

    /// The first non-finite value, as `[trial, t, feature]`.
    fn check_finite(&self) -> Result<()> {
        if let Some(pos) = self.data.iter().position(|x| !x.is_finite()) {
            let row = pos / self.n_features;
            let trial = self.offsets.partition_point(|&o| o <= row) - 1;
            return Err(Error::NonFinite {
                array: self.name.clone(),
                index: vec![trial, row - self.offsets[trial], pos % self.n_features],
                value: self.data[pos],
            });
        }
        Ok(())
    }
}

fn check_nonzero(name: &str, k: usize, t: usize, n: usize) -> Result<()> {
    let reason = if k == 0 {
        "0 trials"
    } else if t == 0 {
        "0 time points"
    } else if n == 0 {
        "0 features (N must be at least 1)"
    } else {
        return Ok(());
    };
    Err(Error::Shape {
        array: name.to_string(),
        reason: format!("shape ({k}, {t}, {n}): {reason}"),
    })
}
