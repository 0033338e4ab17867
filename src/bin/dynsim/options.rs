//! The common fit and score options (spec/cli.md §2) and their conversion to library parameters.
//! Every parameter is validated here, before any file is read, so that a bad parameter is a usage
//! error (exit code 2).

use clap::{Args, ValueEnum};
use dynsim::alignment::{PavfOptions, UnequalSizes};
use dynsim::dsa::{Score, ScoreOptions};
use dynsim::embedding::DelayParams;
use dynsim::operator::{FitParams, RankRule, Regression};

use crate::Failure;

/// Options of the operator fit (spec/operator.md).
#[derive(Args, Debug, Clone)]
pub struct FitArgs {
    /// Number of delays D.
    #[arg(long, value_name = "D", default_value_t = 1, help_heading = "Fit")]
    pub n_delays: usize,
    /// Delay interval τ (in time steps).
    #[arg(long, value_name = "TAU", default_value_t = 1, help_heading = "Fit")]
    pub delay_interval: usize,
    #[command(flatten)]
    pub rank: RankArgs,
    /// Ridge parameter λ ≥ 0.
    #[arg(
        long,
        value_name = "L",
        default_value_t = 1e-8,
        help_heading = "Fit",
        allow_negative_numbers = true
    )]
    pub lambda: f64,
    /// Fit v_{t+K} ≈ A v_t.
    #[arg(long, value_name = "K", default_value_t = 1, help_heading = "Fit")]
    pub steps_ahead: usize,
    /// Reduced-rank regression instead of principal-component regression.
    #[arg(long, help_heading = "Fit")]
    pub reduced_rank: bool,
    /// Refuse to fit when the estimated peak memory exceeds SIZE: bytes, or with a binary suffix
    /// K, M, G, T (e.g. 512M, 1.5G), or `none`. Default: half the physical memory.
    #[arg(long, value_name = "SIZE", value_parser = parse_memory, help_heading = "Resources")]
    pub max_memory: Option<MemoryBudget>,
}

/// A `--max-memory` value (spec/cli.md §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemoryBudget {
    /// At most this many bytes.
    Bytes(u64),
    /// No limit.
    Unlimited,
}

/// Parses `--max-memory`: a non-negative number of bytes (decimal, optionally fractional or in
/// exponent notation) with an optional binary suffix K/M/G/T (also KB/KiB, ... ; case-insensitive),
/// or `none` / `unlimited`.
pub fn parse_memory(text: &str) -> Result<MemoryBudget, String> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("none") || t.eq_ignore_ascii_case("unlimited") {
        return Ok(MemoryBudget::Unlimited);
    }
    let lower = t.to_ascii_lowercase();
    let stripped = lower
        .strip_suffix("ib")
        .or_else(|| lower.strip_suffix('b'))
        .unwrap_or(&lower);
    let (number, shift) = match stripped.char_indices().last() {
        Some((i, 'k')) => (&stripped[..i], 10),
        Some((i, 'm')) => (&stripped[..i], 20),
        Some((i, 'g')) => (&stripped[..i], 30),
        Some((i, 't')) => (&stripped[..i], 40),
        _ => (stripped, 0),
    };
    let bad = || {
        format!(
            "'{text}' is not a memory size: give bytes, or a number with K, M, G or T \
             (binary: 1G = 2^30 bytes), or 'none'"
        )
    };
    let value: f64 = number.trim().parse().map_err(|_| bad())?;
    let bytes = value * (1u64 << shift) as f64;
    if !(bytes.is_finite() && bytes >= 1.0) {
        return Err(format!("{} (it must be at least 1 byte)", bad()));
    }
    // f64 → u64 saturates at u64::MAX for values beyond it.
    Ok(MemoryBudget::Bytes(bytes as u64))
}

/// Half the physical memory (`MemTotal` of /proc/meminfo), or no limit where that is not known.
fn default_budget() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line
        .trim_start_matches("MemTotal:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib.saturating_mul(1024) / 2)
}

/// At most one rank rule (none: full rank N·D).
#[derive(Args, Debug, Clone)]
#[group(multiple = false)]
pub struct RankArgs {
    /// A fixed rank r (1 ≤ r ≤ N·D).
    #[arg(long, value_name = "R", help_heading = "Fit")]
    pub rank: Option<usize>,
    /// Rank = the number of singular values above S.
    #[arg(
        long,
        value_name = "S",
        help_heading = "Fit",
        allow_negative_numbers = true
    )]
    pub rank_thresh: Option<f64>,
    /// The smallest rank explaining a fraction P ∈ (0, 1] of the variance.
    #[arg(
        long,
        value_name = "P",
        help_heading = "Fit",
        allow_negative_numbers = true
    )]
    pub rank_explained_variance: Option<f64>,
    /// Gavish–Donoho optimal hard threshold (unknown noise level).
    #[arg(long, help_heading = "Fit")]
    pub rank_auto: bool,
}

impl FitArgs {
    /// The library parameters, validated (a bad value is a usage error).
    pub fn params(&self) -> Result<FitParams, Failure> {
        let rank = RankRule::from_options(
            self.rank.rank,
            self.rank.rank_thresh,
            self.rank.rank_explained_variance,
            self.rank.rank_auto,
        )
        .map_err(usage)?;
        let params = FitParams {
            delay: DelayParams {
                n_delays: self.n_delays,
                delay_interval: self.delay_interval,
            },
            rank,
            lambda: self.lambda,
            steps_ahead: self.steps_ahead,
            regression: if self.reduced_rank {
                Regression::ReducedRank
            } else {
                Regression::PrincipalComponent
            },
        };
        params.validate().map_err(usage)?;
        Ok(params)
    }

    /// The memory budget in bytes (`None`: no limit).
    pub fn budget(&self) -> Option<u64> {
        match self.max_memory {
            Some(MemoryBudget::Bytes(b)) => Some(b),
            Some(MemoryBudget::Unlimited) => None,
            None => default_budget(),
        }
    }
}

/// The score names of the CLI.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScoreName {
    /// PAVF angle (the paper's metric).
    Angular,
    /// PAVF Frobenius distance.
    Euclidean,
    /// W₂² between eigenvalue spectra (upstream's `wasserstein`; not a metric).
    Wasserstein,
    /// W₂ between spectra (a metric).
    Wasserstein2,
    /// W₁ between spectra (a metric).
    Wasserstein1,
}

impl From<ScoreName> for Score {
    fn from(s: ScoreName) -> Score {
        match s {
            ScoreName::Angular => Score::Angular,
            ScoreName::Euclidean => Score::Euclidean,
            ScoreName::Wasserstein => Score::Wasserstein,
            ScoreName::Wasserstein2 => Score::Wasserstein2,
            ScoreName::Wasserstein1 => Score::Wasserstein1,
        }
    }
}

/// Spectra of different sizes.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnequalName {
    /// Exact transport between uniform measures (upstream's `DSA` class).
    Transport,
    /// Pad the shorter spectrum with zeros (upstream's matrix path).
    ZeroPad,
}

/// Options of the comparison (spec/alignment.md, spec/pipeline.md §2).
#[derive(Args, Debug, Clone)]
pub struct ScoreArgs {
    /// The score.
    #[arg(long, value_enum, default_value_t = ScoreName::Angular, help_heading = "Score")]
    pub score: ScoreName,
    /// Seed of the PAVF random starts.
    #[arg(long, value_name = "S", default_value_t = 0, help_heading = "Score")]
    pub seed: u64,
    /// Number of extra Haar-random PAVF starts (default: by size, spec/alignment.md §5).
    #[arg(long, value_name = "N", help_heading = "Score")]
    pub restarts: Option<usize>,
    /// Compare the operators as they are, without scaling them to unit Frobenius norm.
    #[arg(long, help_heading = "Score")]
    pub no_normalize: bool,
    /// Spectra of different sizes (Wasserstein scores).
    #[arg(long, value_enum, default_value_t = UnequalName::Transport, help_heading = "Score")]
    pub unequal: UnequalName,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long, value_name = "N", help_heading = "Score")]
    pub threads: Option<usize>,
}

impl ScoreArgs {
    /// The library options, validated.
    pub fn options(&self) -> Result<ScoreOptions, Failure> {
        if self.threads == Some(0) {
            return Err(Failure::usage(
                "invalid parameter threads = 0: at least one thread is needed",
            ));
        }
        Ok(ScoreOptions {
            score: self.score.into(),
            pavf: PavfOptions {
                normalize: !self.no_normalize,
                seed: self.seed,
                restarts: self.restarts,
                ..PavfOptions::default()
            },
            unequal: match self.unequal {
                UnequalName::Transport => UnequalSizes::Transport,
                UnequalName::ZeroPad => UnequalSizes::ZeroPad,
            },
        })
    }
}

fn usage(e: dynsim::Error) -> Failure {
    Failure::usage(e.to_string())
}
