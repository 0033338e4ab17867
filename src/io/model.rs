//! Model files: fitted operators saved as JSON and reloaded bit for bit (spec/io.md §4).
//!
//! A model file holds one or more named operators with everything [`Operator::from_parts`] needs:
//! A_v, the singular values, R², the fit parameters and the data sizes. Floats are written in the
//! shortest decimal form that reads back to the same f64 and parsed with correct rounding, so a
//! reloaded operator is bit-identical to the saved one (tested); the eigenvalues are recomputed on
//! load. The same per-operator record is what `dynsim fit` prints.

use std::path::Path;

use faer::Mat;
use serde::{Deserialize, Serialize};

use crate::embedding::DelayParams;
use crate::error::{Error, Result};
use crate::operator::{FitParams, Operator, RankRule, Regression};

/// The `format` field of a model file.
pub const FORMAT: &str = "dynsim-model";
/// The current model-file version; files of another version are refused with a clear error.
pub const VERSION: u32 = 1;

/// An operator with the name of the system it was fitted to (usually its data file).
#[derive(Debug, Clone)]
pub struct NamedOperator {
    /// The system's name.
    pub name: String,
    /// The fitted operator.
    pub operator: Operator,
}

/// The rank rule as stored: `{"kind": "fixed", "value": 20}`, `{"kind": "full"}`, ...
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum RankRuleRecord {
    /// [`RankRule::Full`].
    Full,
    /// [`RankRule::Fixed`].
    Fixed(usize),
    /// [`RankRule::Threshold`].
    Threshold(f64),
    /// [`RankRule::ExplainedVariance`].
    ExplainedVariance(f64),
    /// [`RankRule::Auto`].
    Auto,
}

impl From<RankRule> for RankRuleRecord {
    fn from(r: RankRule) -> Self {
        match r {
            RankRule::Full => Self::Full,
            RankRule::Fixed(k) => Self::Fixed(k),
            RankRule::Threshold(t) => Self::Threshold(t),
            RankRule::ExplainedVariance(q) => Self::ExplainedVariance(q),
            RankRule::Auto => Self::Auto,
        }
    }
}

impl From<RankRuleRecord> for RankRule {
    fn from(r: RankRuleRecord) -> Self {
        match r {
            RankRuleRecord::Full => Self::Full,
            RankRuleRecord::Fixed(k) => Self::Fixed(k),
            RankRuleRecord::Threshold(t) => Self::Threshold(t),
            RankRuleRecord::ExplainedVariance(q) => Self::ExplainedVariance(q),
            RankRuleRecord::Auto => Self::Auto,
        }
    }
}

/// The fit parameters as stored (names as the CLI spells them).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FitParamsRecord {
    /// D.
    pub n_delays: usize,
    /// τ.
    pub delay_interval: usize,
    /// The rank rule.
    pub rank_rule: RankRuleRecord,
    /// λ.
    pub lambda: f64,
    /// k.
    pub steps_ahead: usize,
    /// `"principal_component"` or `"reduced_rank"`.
    pub regression: RegressionRecord,
}

/// The regression as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegressionRecord {
    /// [`Regression::PrincipalComponent`].
    PrincipalComponent,
    /// [`Regression::ReducedRank`].
    ReducedRank,
}

impl From<&FitParams> for FitParamsRecord {
    fn from(p: &FitParams) -> Self {
        Self {
            n_delays: p.delay.n_delays,
            delay_interval: p.delay.delay_interval,
            rank_rule: p.rank.into(),
            lambda: p.lambda,
            steps_ahead: p.steps_ahead,
            regression: match p.regression {
                Regression::PrincipalComponent => RegressionRecord::PrincipalComponent,
                Regression::ReducedRank => RegressionRecord::ReducedRank,
            },
        }
    }
}

impl From<&FitParamsRecord> for FitParams {
    fn from(p: &FitParamsRecord) -> Self {
        Self {
            delay: DelayParams {
                n_delays: p.n_delays,
                delay_interval: p.delay_interval,
            },
            rank: p.rank_rule.into(),
            lambda: p.lambda,
            steps_ahead: p.steps_ahead,
            regression: match p.regression {
                RegressionRecord::PrincipalComponent => Regression::PrincipalComponent,
                RegressionRecord::ReducedRank => Regression::ReducedRank,
            },
        }
    }
}

/// One operator as stored in a model file and as printed by `dynsim fit` (spec/io.md §4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperatorRecord {
    /// The system's name.
    pub name: String,
    /// r.
    pub rank: usize,
    /// All N·D singular values of the Hankel matrix, non-increasing.
    pub singular_values: Vec<f64>,
    /// A_v as a list of rows.
    pub operator: Vec<Vec<f64>>,
    /// Eigenvalues of A_v as [re, im], in dynsim's order (informational: recomputed on load).
    pub eigenvalues: Vec<[f64; 2]>,
    /// One-step training R² in V coordinates (`null` if not finite).
    pub r2: Option<f64>,
    /// N.
    pub n_features: usize,
    /// M, the number of delay vectors.
    pub n_samples: usize,
    /// The number of transition pairs.
    pub n_transitions: usize,
    /// The fit parameters.
    pub params: FitParamsRecord,
}

impl OperatorRecord {
    /// The record of a named operator.
    pub fn new(name: &str, op: &Operator) -> Self {
        let a = op.matrix();
        Self {
            name: name.to_string(),
            rank: op.rank(),
            singular_values: op.singular_values().to_vec(),
            operator: (0..a.nrows())
                .map(|i| (0..a.ncols()).map(|j| a[(i, j)]).collect())
                .collect(),
            eigenvalues: op.eigenvalues().iter().map(|&(re, im)| [re, im]).collect(),
            r2: op.r2().is_finite().then_some(op.r2()),
            n_features: op.n_features(),
            n_samples: op.n_samples(),
            n_transitions: op.n_transitions(),
            params: FitParamsRecord::from(op.params()),
        }
    }

    /// Rebuilds the operator ([`Operator::from_parts`]: shapes and values are validated and the
    /// eigenvalues recomputed). Errors name `path` and the operator.
    pub fn to_operator(&self, path: &str) -> Result<Operator> {
        let r = self.operator.len();
        let bad = |reason: String| Error::Format {
            path: path.to_string(),
            array: format!("operator {:?}", self.name),
            reason,
        };
        if r != self.rank {
            return Err(bad(format!(
                "rank is {} but the operator has {r} rows",
                self.rank
            )));
        }
        if let Some((i, row)) = self.operator.iter().enumerate().find(|(_, x)| x.len() != r) {
            return Err(bad(format!(
                "row {i} has {} entries, expected {r} (A_v must be square)",
                row.len()
            )));
        }
        let matrix = Mat::from_fn(r, r, |i, j| self.operator[i][j]);
        Operator::from_parts(
            matrix,
            self.singular_values.clone(),
            self.r2.unwrap_or(f64::NAN),
            FitParams::from(&self.params),
            self.n_features,
            self.n_samples,
            self.n_transitions,
        )
        .map_err(|e| bad(e.to_string()))
    }
}

/// A model file.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ModelFile {
    format: String,
    version: u32,
    dynsim_version: String,
    operators: Vec<OperatorRecord>,
}

/// The JSON text of a model file holding `ops`.
pub fn to_string(ops: &[NamedOperator]) -> Result<String> {
    let file = ModelFile {
        format: FORMAT.into(),
        version: VERSION,
        dynsim_version: env!("CARGO_PKG_VERSION").into(),
        operators: ops
            .iter()
            .map(|n| OperatorRecord::new(&n.name, &n.operator))
            .collect(),
    };
    serde_json::to_string_pretty(&file).map_err(|e| Error::Format {
        path: "model".into(),
        array: "operators".into(),
        reason: format!("cannot serialise: {e}"),
    })
}

/// Parses the JSON text of a model file; `path` names it in errors.
pub fn from_str(text: &str, path: &str) -> Result<Vec<NamedOperator>> {
    let file: ModelFile = serde_json::from_str(text).map_err(|e| Error::Format {
        path: path.to_string(),
        array: "model".into(),
        reason: format!("not a dynsim model file: {e}"),
    })?;
    if file.format != FORMAT || file.version != VERSION {
        return Err(Error::Format {
            path: path.to_string(),
            array: "model".into(),
            reason: format!(
                "format {:?} version {} is not {FORMAT:?} version {VERSION} (written by dynsim {})",
                file.format, file.version, file.dynsim_version
            ),
        });
    }
    if file.operators.is_empty() {
        return Err(Error::Format {
            path: path.to_string(),
            array: "operators".into(),
            reason: "the model file holds no operator".into(),
        });
    }
    file.operators
        .iter()
        .map(|rec| {
            Ok(NamedOperator {
                name: rec.name.clone(),
                operator: rec.to_operator(path)?,
            })
        })
        .collect()
}

/// Writes a model file atomically (see [`super::write_atomic`]).
pub fn write(path: &Path, ops: &[NamedOperator]) -> Result<()> {
    super::write_atomic(path, to_string(ops)?.as_bytes())
}

/// Reads a model file.
pub fn read(path: &Path) -> Result<Vec<NamedOperator>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
        path: path.display().to_string(),
        reason: format!("cannot read: {e}"),
    })?;
    from_str(&text, &path.display().to_string())
}
