//! The one error type of dynsim.
//!
//! Every fallible entry point returns [`Result<T>`](crate::Result). Variants carry the name of the array
//! they concern (a dataset's `name`, e.g. the file it came from) so that a message can be shown to a user
//! as it is. The enum is `#[non_exhaustive]`: match on the variants you handle and keep a fallback arm.

/// Errors returned by dynsim. Library code never panics on caller data; it returns one of these.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An array has an unusable shape (empty, zero features, buffer length not matching the shape,
    /// trials with different feature counts, a non-square operator, ...).
    #[error("{array}: invalid shape: {reason}")]
    Shape {
        /// Name of the array.
        array: String,
        /// What is wrong with the shape.
        reason: String,
    },

    /// A value is NaN or ±Inf. `index` is the position of the first such value (e.g. `[trial, t, feature]`).
    #[error("{array}: non-finite value {value} at index {index:?}")]
    NonFinite {
        /// Name of the array.
        array: String,
        /// Index of the first non-finite value.
        index: Vec<usize>,
        /// The offending value.
        value: f64,
    },

    /// A trial is too short for the requested delays (and steps ahead).
    #[error(
        "{array}: trial {trial} has {len} time points, but n_delays = {n_delays}, delay_interval = \
         {delay_interval} and steps_ahead = {steps_ahead} need at least {needed}"
    )]
    TooFewTimePoints {
        /// Name of the array.
        array: String,
        /// Index of the short trial.
        trial: usize,
        /// Its number of time points.
        len: usize,
        /// The minimum number of time points, (D−1)τ + k + 1.
        needed: usize,
        /// D.
        n_delays: usize,
        /// τ.
        delay_interval: usize,
        /// k.
        steps_ahead: usize,
    },

    /// Fewer delay vectors than embedding dimensions (K·T' < N·D): the delay coordinates cannot be
    /// whitened (upstream refuses this case too).
    #[error(
        "{array}: {rows} delay vectors (K·T') are fewer than the {cols} delay-embedding dimensions \
         (N·D); use fewer delays or more data"
    )]
    TooFewSamples {
        /// Name of the array.
        array: String,
        /// K·T', the number of delay vectors.
        rows: usize,
        /// N·D, the embedding dimension.
        cols: usize,
    },

    /// A parameter is out of its domain (λ < 0 or NaN, n_delays = 0, a threshold that is NaN, ...).
    #[error("invalid parameter {name} = {value}: {reason}")]
    InvalidParameter {
        /// The parameter's name as the spec and the CLI spell it.
        name: &'static str,
        /// The value given, formatted.
        value: String,
        /// Why it is refused.
        reason: String,
    },

    /// A fixed rank is 0 or larger than the largest rank available.
    #[error("rank {rank} is out of range: {}", rank_range(.max))]
    RankOutOfRange {
        /// The requested rank.
        rank: usize,
        /// The largest admissible rank (`usize::MAX` when the data are not known yet).
        max: usize,
    },

    /// More than one rank rule was given.
    #[error("more than one rank rule given ({rules}); give at most one")]
    ConflictingRankRules {
        /// The rules that were given, comma separated.
        rules: String,
    },

    /// The data carry no signal (all singular values are zero, e.g. all-zero or constant-zero data).
    #[error("{array}: the delay-embedded data are identically zero; no operator can be fitted")]
    DegenerateData {
        /// Name of the array.
        array: String,
    },

    /// An operator is zero, so its normalisation (and the angle) is undefined.
    #[error("{what}: the operator is zero (Frobenius norm {norm:e}); the normalised comparison is undefined")]
    ZeroOperator {
        /// Which operator.
        what: String,
        /// Its Frobenius norm.
        norm: f64,
    },

    /// The ridge system (V₋ᵀV₋ + λI) is not positive definite in floating point (only possible with λ = 0).
    #[error(
        "{array}: the regression V₋ᵀV₋ + λI (λ = {lambda:e}) is singular; use lambda > 0 or a lower rank"
    )]
    SingularRegression {
        /// Name of the array.
        array: String,
        /// The ridge parameter used.
        lambda: f64,
    },

    /// A file cannot be opened, read or written (missing, a directory, no permission, disk full, ...).
    #[error("{path}: {reason}")]
    Io {
        /// The file.
        path: String,
        /// What went wrong (the operating system's message, or what was attempted).
        reason: String,
    },

    /// A file's content is invalid: wrong magic, truncated, an unsupported dtype or shape, a member that
    /// is not an array, a model file of another format version, ...
    #[error("{path}: {array}: {reason}")]
    Format {
        /// The file.
        path: String,
        /// The array (or archive member, or model field) concerned; `"header"` for the file header.
        array: String,
        /// What is wrong.
        reason: String,
    },

    /// A matrix decomposition failed to converge (faer's `SvdError` / `EvdError`).
    #[error("{what} did not converge")]
    Decomposition {
        /// Which decomposition, e.g. "SVD of the Hankel matrix".
        what: &'static str,
    },
}

/// The admissible range of a rank, for [`Error::RankOutOfRange`]'s message (`usize::MAX`: not known yet).
fn rank_range(max: &usize) -> String {
    if *max == usize::MAX {
        "it must be at least 1".to_string()
    } else {
        format!("it must be between 1 and {max} (the embedding dimension N·D)")
    }
}

impl Error {
    /// Replaces the array name carried by the error (for variants that carry one), e.g. to name the
    /// file a dataset was read from after constructing it.
    pub fn in_array(mut self, name: &str) -> Self {
        match &mut self {
            Error::Shape { array, .. }
            | Error::NonFinite { array, .. }
            | Error::TooFewTimePoints { array, .. }
            | Error::TooFewSamples { array, .. }
            | Error::DegenerateData { array }
            | Error::SingularRegression { array, .. } => *array = name.to_string(),
            Error::ZeroOperator { what, .. } => *what = name.to_string(),
            _ => {}
        }
        self
    }
}

/// Shorthand for `std::result::Result<T, dynsim::Error>`.
pub type Result<T> = std::result::Result<T, Error>;
