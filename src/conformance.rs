//! Conformance vectors for other DSA implementations — `spec/conformance.md`, "Conformance vectors".
//!
//! A **suite** is a directory with a `manifest.json` (format `dynsim-vectors`, version 1) and the input
//! files it names. Each vector has an id, a stage (embedding, operator, pavf, wasserstein, pipeline),
//! its inputs, one or more **checks** (an output name, a comparison, the expected value, a tolerance,
//! optionally a float32 tolerance) and the reason the expected value is right.
//!
//! A **candidate** is a JSON file (format `dynsim-candidate`, version 1) written by the implementation
//! under test: one entry per vector id holding that vector's outputs. [`verify`] compares a candidate
//! with a suite and returns a [`Report`]; [`run`] produces dynsim's own candidate.
//!
//! Nothing here panics on a malformed manifest or candidate: problems are [`Error::Format`] naming the
//! file and the entry (vector id, output) concerned. Enabled by the `io` feature.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use faer::Mat;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::alignment::{
    align, solve_assignment, spectral_distance, PavfOptions, SpectralScore, UnequalSizes,
};
use crate::dsa::{compare, Score, ScoreOptions};
use crate::embedding::{Dataset, DelayParams};
use crate::error::{Error, Result};
use crate::operator::{fit, FitParams, RankRule, Regression};

/// The manifest's `format` field.
pub const SUITE_FORMAT: &str = "dynsim-vectors";
/// The candidate file's `format` field.
pub const CANDIDATE_FORMAT: &str = "dynsim-candidate";
/// The only format version of both files so far.
pub const FORMAT_VERSION: u64 = 1;

/// The pipeline stage a vector tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Delay embedding (spec/embedding.md): output `hankel`.
    Embedding,
    /// Operator fitting (spec/operator.md): `rank`, `singular_values`, `eigenvalues`,
    /// `operator_singular_values`.
    Operator,
    /// PAVF on given matrices (spec/alignment.md): `angular`, `euclidean`.
    Pavf,
    /// Wasserstein scores on given spectra (spec/alignment.md): `value`.
    Wasserstein,
    /// Fit two systems and score them (spec/pipeline.md): `value`.
    Pipeline,
}

impl Stage {
    /// All stages, in pipeline order.
    pub const ALL: [Stage; 5] = [
        Stage::Embedding,
        Stage::Operator,
        Stage::Pavf,
        Stage::Wasserstein,
        Stage::Pipeline,
    ];

    /// The name used in files and tables.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Embedding => "embedding",
            Stage::Operator => "operator",
            Stage::Pavf => "pavf",
            Stage::Wasserstein => "wasserstein",
            Stage::Pipeline => "pipeline",
        }
    }

    /// The output names a candidate entry of this stage may hold.
    pub fn outputs(self) -> &'static [&'static str] {
        match self {
            Stage::Embedding => &["hankel"],
            Stage::Operator => &[
                "rank",
                "singular_values",
                "eigenvalues",
                "operator_singular_values",
            ],
            Stage::Pavf => &["angular", "euclidean"],
            Stage::Wasserstein | Stage::Pipeline => &["value"],
        }
    }
}

/// How a candidate's output is compared with the expected value (spec/conformance.md, "Checks").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Compare {
    /// Equal as numbers (an integer, or an array of any shape), no tolerance.
    Exact,
    /// Arrays of the same shape; error = max |c − e| over entries.
    Elementwise,
    /// Lists of reals, both sorted non-increasing, same length; error = max |c − e|.
    Sorted,
    /// Lists of complex numbers `[re, im]` compared as multisets: the matching minimising Σ|c − e|²
    /// (an assignment problem); error = max |c − e| over matched pairs.
    Multiset,
    /// One number; error = |c − e|.
    Scalar,
    /// One-sided: error = max(0, c − e) (the candidate may be lower).
    AtMost,
    /// One-sided: error = max(0, e − c) (the candidate may be higher).
    AtLeast,
}

/// A tolerance: a check passes when error ≤ `abs` + `rel` · scale, scale = max |expected entry|.
#[derive(Debug, Clone, Copy, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tolerance {
    /// Absolute part.
    #[serde(default)]
    pub abs: f64,
    /// Relative part (times the largest |expected| entry, or |expected| for a scalar).
    #[serde(default)]
    pub rel: f64,
}

/// One check of a vector.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Check {
    /// The output checked (one of [`Stage::outputs`]).
    pub output: String,
    /// How it is compared.
    pub compare: Compare,
    /// The expected value (a number, or nested lists of numbers).
    pub expected: Value,
    /// Tolerance for float64 implementations (absent: exact).
    #[serde(default)]
    pub tolerance: Option<Tolerance>,
    /// Tolerance for candidates declaring `precision: "float32"` (absent: `tolerance`).
    #[serde(default)]
    pub tolerance_float32: Option<Tolerance>,
}

/// The inputs of a vector, read and validated.
#[derive(Debug, Clone)]
pub enum Inputs {
    /// Embed `data` with `delay`.
    Embedding {
        /// The data.
        data: Dataset,
        /// D and τ.
        delay: DelayParams,
    },
    /// Fit `data` with `params`.
    Operator {
        /// The data.
        data: Dataset,
        /// The fit parameters.
        params: FitParams,
    },
    /// Align two matrices (default PAVF options: normalised).
    Pavf {
        /// Operator A.
        a: Mat<f64>,
        /// Operator B.
        b: Mat<f64>,
    },
    /// Compare two spectra.
    Wasserstein {
        /// Spectrum A, (re, im).
        a: Vec<(f64, f64)>,
        /// Spectrum B.
        b: Vec<(f64, f64)>,
        /// The score.
        score: SpectralScore,
        /// Convention for different sizes.
        unequal: UnequalSizes,
    },
    /// Fit both systems with `params` and score them.
    Pipeline {
        /// System x.
        x: Dataset,
        /// System y.
        y: Dataset,
        /// The fit parameters (both systems).
        params: FitParams,
        /// The score.
        score: Score,
    },
}

/// One conformance vector.
#[derive(Debug, Clone)]
pub struct Vector {
    /// Unique id, `stage/name`.
    pub id: String,
    /// The stage.
    pub stage: Stage,
    /// The inputs as written in the manifest (file names relative to the suite, parameters).
    pub raw_inputs: Map<String, Value>,
    /// The inputs, read.
    pub inputs: Inputs,
    /// The checks.
    pub checks: Vec<Check>,
    /// Why the expected values are right.
    pub why: String,
    /// An optional vector (a dynsim extension): a candidate may leave it out.
    pub optional: bool,
}

/// A loaded, validated suite.
#[derive(Debug, Clone)]
pub struct Suite {
    /// The suite directory.
    pub dir: PathBuf,
    /// The manifest's `generator` record (provenance).
    pub generator: Value,
    /// The vectors, in manifest order.
    pub vectors: Vec<Vector>,
}

#[derive(Deserialize)]
struct RawManifest {
    format: String,
    version: u64,
    #[serde(default)]
    generator: Value,
    vectors: Vec<RawVector>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVector {
    id: String,
    stage: Stage,
    inputs: Map<String, Value>,
    checks: Vec<Check>,
    why: String,
    #[serde(default)]
    optional: bool,
}

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum RankSpec {
    Full,
    Fixed { rank: usize },
    Threshold { threshold: f64 },
    ExplainedVariance { fraction: f64 },
    Auto,
}

fn format_err(path: &Path, array: impl Into<String>, reason: impl Into<String>) -> Error {
    Error::Format {
        path: path.display().to_string(),
        array: array.into(),
        reason: reason.into(),
    }
}

/// Loads `dir/manifest.json` and every file it names, and validates the suite: format and version,
/// unique ids, inputs present and readable with the right shapes and valid parameters, outputs known
/// for the stage, expected values of the shape their comparison needs.
pub fn load_suite(dir: &Path) -> Result<Suite> {
    let path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&path).map_err(|e| Error::Io {
        path: path.display().to_string(),
        reason: format!("cannot read the manifest: {e}"),
    })?;
    let raw: RawManifest = serde_json::from_str(&text)
        .map_err(|e| format_err(&path, "manifest", format!("invalid manifest: {e}")))?;
    if raw.format != SUITE_FORMAT || raw.version != FORMAT_VERSION {
        return Err(format_err(
            &path,
            "manifest",
            format!(
                "expected format {SUITE_FORMAT:?} version {FORMAT_VERSION}, got {:?} version {}",
                raw.format, raw.version
            ),
        ));
    }
    let mut seen = BTreeSet::new();
    let mut vectors = Vec::with_capacity(raw.vectors.len());
    for rv in raw.vectors {
        let err = |reason: String| format_err(&path, rv.id.clone(), reason);
        if !seen.insert(rv.id.clone()) {
            return Err(err("duplicate vector id".into()));
        }
        if rv.checks.is_empty() {
            return Err(err("a vector needs at least one check".into()));
        }
        for c in &rv.checks {
            if !rv.stage.outputs().contains(&c.output.as_str()) {
                return Err(err(format!(
                    "output {:?} is not an output of stage {} (expected one of {:?})",
                    c.output,
                    rv.stage.name(),
                    rv.stage.outputs()
                )));
            }
            check_expected_shape(c).map_err(|r| err(format!("check of {}: {r}", c.output)))?;
            for t in [c.tolerance, c.tolerance_float32].into_iter().flatten() {
                if !(t.abs >= 0.0 && t.rel >= 0.0 && t.abs.is_finite() && t.rel.is_finite()) {
                    return Err(err(format!(
                        "check of {}: tolerance must be finite and ≥ 0",
                        c.output
                    )));
                }
            }
        }
        let inputs = read_inputs(dir, &rv.id, rv.stage, &rv.inputs).map_err(|e| match e {
            Error::Format { .. } | Error::Io { .. } | Error::NonFinite { .. } => e,
            other => err(format!("invalid inputs: {other}")),
        })?;
        vectors.push(Vector {
            id: rv.id,
            stage: rv.stage,
            raw_inputs: rv.inputs,
            inputs,
            checks: rv.checks,
            why: rv.why,
            optional: rv.optional,
        });
    }
    Ok(Suite {
        dir: dir.to_path_buf(),
        generator: raw.generator,
        vectors,
    })
}

/// The expected value has the shape its comparison needs and only finite numbers.
fn check_expected_shape(c: &Check) -> std::result::Result<(), String> {
    let e = &c.expected;
    match c.compare {
        Compare::Scalar | Compare::AtMost | Compare::AtLeast => {
            e.as_f64().map(|_| ()).ok_or("expected a number")?
        }
        Compare::Exact | Compare::Elementwise => flatten(e).map(|_| ())?,
        Compare::Sorted => reals(e).map(|_| ())?,
        Compare::Multiset => complexes(e).map(|_| ())?,
    }
    match flatten(e)?.1.iter().all(|x| x.is_finite()) {
        true => Ok(()),
        false => Err("the expected value must be finite".into()),
    }
}

/// A value as (shape, row-major numbers): a number (shape []), or rectangular nested lists.
fn flatten(v: &Value) -> std::result::Result<(Vec<usize>, Vec<f64>), String> {
    match v {
        Value::Number(n) => Ok((vec![], vec![n.as_f64().unwrap_or(f64::NAN)])),
        Value::Null => Ok((vec![], vec![f64::NAN])),
        Value::Array(items) => {
            let mut shape = None;
            let mut data = Vec::new();
            for it in items {
                let (s, d) = flatten(it)?;
                match &shape {
                    None => shape = Some(s),
                    Some(s0) if *s0 != s => return Err("ragged nested lists".into()),
                    _ => {}
                }
                data.extend(d);
            }
            let mut out = vec![items.len()];
            out.extend(shape.unwrap_or_default());
            Ok((out, data))
        }
        _ => Err(format!("expected numbers, got {v}")),
    }
}

fn reals(v: &Value) -> std::result::Result<Vec<f64>, String> {
    match flatten(v)? {
        (s, d) if s.len() == 1 => Ok(d),
        (s, _) => Err(format!("expected a list of numbers, got shape {s:?}")),
    }
}

fn complexes(v: &Value) -> std::result::Result<Vec<(f64, f64)>, String> {
    match flatten(v)? {
        (s, d) if s.len() == 2 && s[1] == 2 => {
            Ok(d.chunks_exact(2).map(|c| (c[0], c[1])).collect())
        }
        (s, _) if s == [0] => Ok(vec![]),
        (s, _) => Err(format!(
            "expected a list of [re, im] pairs, got shape {s:?}"
        )),
    }
}

fn get<'a>(inputs: &'a Map<String, Value>, key: &str) -> std::result::Result<&'a Value, String> {
    inputs
        .get(key)
        .ok_or_else(|| format!("missing input {key:?}"))
}

fn get_usize(inputs: &Map<String, Value>, key: &str) -> std::result::Result<usize, String> {
    get(inputs, key)?
        .as_u64()
        .and_then(|x| usize::try_from(x).ok())
        .ok_or_else(|| format!("input {key:?} must be a non-negative integer"))
}

fn get_f64(inputs: &Map<String, Value>, key: &str) -> std::result::Result<f64, String> {
    get(inputs, key)?
        .as_f64()
        .ok_or_else(|| format!("input {key:?} must be a number"))
}

fn get_str<'a>(inputs: &'a Map<String, Value>, key: &str) -> std::result::Result<&'a str, String> {
    get(inputs, key)?
        .as_str()
        .ok_or_else(|| format!("input {key:?} must be a string"))
}

fn fit_params(inputs: &Map<String, Value>) -> std::result::Result<FitParams, String> {
    let rank: RankSpec = serde_json::from_value(get(inputs, "rank")?.clone())
        .map_err(|e| format!("input \"rank\": {e}"))?;
    let rank = match rank {
        RankSpec::Full => RankRule::Full,
        RankSpec::Fixed { rank } => RankRule::Fixed(rank),
        RankSpec::Threshold { threshold } => RankRule::Threshold(threshold),
        RankSpec::ExplainedVariance { fraction } => RankRule::ExplainedVariance(fraction),
        RankSpec::Auto => RankRule::Auto,
    };
    let params = FitParams {
        delay: DelayParams {
            n_delays: get_usize(inputs, "n_delays")?,
            delay_interval: get_usize(inputs, "delay_interval")?,
        },
        rank,
        lambda: get_f64(inputs, "lambda")?,
        steps_ahead: get_usize(inputs, "steps_ahead")?,
        regression: match inputs.get("regression").map(|v| v.as_str()) {
            None | Some(Some("principal_component")) => Regression::PrincipalComponent,
            Some(Some("reduced_rank")) => Regression::ReducedRank,
            Some(other) => {
                return Err(format!(
                    "input \"regression\" must be \"principal_component\" or \"reduced_rank\", got {other:?}"
                ))
            }
        },
    };
    params.validate().map_err(|e| e.to_string())?;
    Ok(params)
}

fn read_inputs(dir: &Path, id: &str, stage: Stage, inputs: &Map<String, Value>) -> Result<Inputs> {
    let manifest = dir.join("manifest.json");
    let bad = |r: String| format_err(&manifest, format!("{id}: inputs"), r);
    let file = |key: &str| -> Result<PathBuf> {
        let name = get_str(inputs, key).map_err(bad)?;
        Ok(dir.join(name))
    };
    let dataset = |key: &str| -> Result<Dataset> { crate::io::read_dataset(&file(key)?) };
    let matrix = |key: &str| -> Result<Mat<f64>> { crate::io::npy::read_matrix(&file(key)?) };
    let spectrum = |key: &str| -> Result<Vec<(f64, f64)>> {
        let p = file(key)?;
        let arr = crate::io::npy::read(&p)?;
        if arr.shape.len() != 2 || arr.shape[1] != 2 || arr.shape[0] == 0 {
            return Err(format_err(
                &p,
                "data",
                format!(
                    "expected a spectrum of shape (n, 2) (re, im), got {:?}",
                    arr.shape
                ),
            ));
        }
        Ok(arr.data.chunks_exact(2).map(|c| (c[0], c[1])).collect())
    };
    Ok(match stage {
        Stage::Embedding => {
            let delay = DelayParams {
                n_delays: get_usize(inputs, "n_delays").map_err(bad)?,
                delay_interval: get_usize(inputs, "delay_interval").map_err(bad)?,
            };
            delay.validate()?;
            Inputs::Embedding {
                data: dataset("data")?,
                delay,
            }
        }
        Stage::Operator => Inputs::Operator {
            params: fit_params(inputs).map_err(bad)?,
            data: dataset("data")?,
        },
        Stage::Pavf => {
            if inputs.contains_key("reference_c") {
                matrix("reference_c")?;
            }
            Inputs::Pavf {
                a: matrix("a")?,
                b: matrix("b")?,
            }
        }
        Stage::Wasserstein => {
            let score = match Score::parse(get_str(inputs, "score").map_err(bad)?)?.spectral() {
                Some(s) => s,
                None => {
                    return Err(bad(
                        "score must be wasserstein, wasserstein2 or wasserstein1".into(),
                    ))
                }
            };
            let unequal = match get_str(inputs, "unequal").map_err(bad)? {
                "transport" => UnequalSizes::Transport,
                "zero_pad" => UnequalSizes::ZeroPad,
                other => {
                    return Err(bad(format!(
                        "unequal must be transport or zero_pad, got {other:?}"
                    )))
                }
            };
            Inputs::Wasserstein {
                a: spectrum("a")?,
                b: spectrum("b")?,
                score,
                unequal,
            }
        }
        Stage::Pipeline => {
            for key in ["reference_operators", "reference_c"] {
                let names: Vec<&Value> = match inputs.get(key) {
                    None => vec![],
                    Some(Value::Array(items)) => items.iter().collect(),
                    Some(v) => vec![v],
                };
                for name in names {
                    let name = name
                        .as_str()
                        .ok_or_else(|| bad(format!("input {key:?} must name files")))?;
                    crate::io::npy::read_matrix(&dir.join(name))?;
                }
            }
            Inputs::Pipeline {
                params: fit_params(inputs).map_err(bad)?,
                score: Score::parse(get_str(inputs, "score").map_err(bad)?)?,
                x: dataset("x")?,
                y: dataset("y")?,
            }
        }
    })
}

/// The arithmetic a candidate declares (selects `tolerance_float32` where a check has one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// float64 (dynsim's).
    #[default]
    Float64,
    /// float32 (e.g. upstream `dsa-metric`).
    Float32,
}

impl Precision {
    /// `float64` or `float32`.
    pub fn name(self) -> &'static str {
        match self {
            Precision::Float64 => "float64",
            Precision::Float32 => "float32",
        }
    }
}

/// An implementation's outputs for a suite (the candidate file, spec/conformance.md).
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// Free-form name of the implementation.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Its arithmetic.
    pub precision: Precision,
    /// Per vector id: output name → value.
    pub results: BTreeMap<String, Map<String, Value>>,
}

impl Candidate {
    /// The candidate as the JSON document of spec/conformance.md.
    pub fn to_json(&self) -> Value {
        json!({
            "format": CANDIDATE_FORMAT,
            "version": FORMAT_VERSION,
            "implementation": {
                "name": self.name,
                "version": self.version,
                "precision": self.precision.name(),
            },
            "results": self.results,
        })
    }

    /// Parses a candidate document; `path` names the file in errors.
    pub fn from_json_str(text: &str, path: &Path) -> Result<Candidate> {
        let v: Value = serde_json::from_str(text)
            .map_err(|e| format_err(path, "file", format!("not valid JSON: {e}")))?;
        let obj = v
            .as_object()
            .ok_or_else(|| format_err(path, "file", "expected a JSON object"))?;
        let field = |k: &str| obj.get(k).ok_or_else(|| format_err(path, k, "missing"));
        if field("format")?.as_str() != Some(CANDIDATE_FORMAT) {
            return Err(format_err(
                path,
                "format",
                format!("expected {CANDIDATE_FORMAT:?}"),
            ));
        }
        if field("version")?.as_u64() != Some(FORMAT_VERSION) {
            return Err(format_err(
                path,
                "version",
                format!("expected {FORMAT_VERSION}"),
            ));
        }
        let imp = field("implementation")?
            .as_object()
            .ok_or_else(|| format_err(path, "implementation", "expected an object"))?;
        let text_of = |k: &str| imp.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let precision = match imp.get("precision").and_then(Value::as_str) {
            Some("float64") | None => Precision::Float64,
            Some("float32") => Precision::Float32,
            Some(other) => {
                return Err(format_err(
                    path,
                    "implementation.precision",
                    format!("expected \"float64\" or \"float32\", got {other:?}"),
                ))
            }
        };
        let results_v = field("results")?.as_object().ok_or_else(|| {
            format_err(path, "results", "expected an object: vector id → outputs")
        })?;
        let mut results = BTreeMap::new();
        for (id, entry) in results_v {
            let outputs = entry.as_object().ok_or_else(|| {
                format_err(
                    path,
                    format!("results[{id:?}]"),
                    "expected an object: output → value",
                )
            })?;
            for (name, value) in outputs {
                flatten(value)
                    .map_err(|r| format_err(path, format!("results[{id:?}].{name}"), r))?;
            }
            results.insert(id.clone(), outputs.clone());
        }
        Ok(Candidate {
            name: text_of("name"),
            version: text_of("version"),
            precision,
            results,
        })
    }

    /// Reads a candidate file.
    pub fn read(path: &Path) -> Result<Candidate> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
            path: path.display().to_string(),
            reason: format!("cannot read the file: {e}"),
        })?;
        Candidate::from_json_str(&text, path)
    }
}

fn num(x: f64) -> Value {
    if x.is_finite() {
        json!(x)
    } else {
        Value::Null
    }
}

fn list(xs: &[f64]) -> Value {
    Value::Array(xs.iter().map(|&x| num(x)).collect())
}

fn pairs(xs: &[(f64, f64)]) -> Value {
    Value::Array(
        xs.iter()
            .map(|&(re, im)| json!([num(re), num(im)]))
            .collect(),
    )
}

/// dynsim's outputs for one vector.
pub fn run_vector(v: &Vector) -> Result<Map<String, Value>> {
    let mut out = Map::new();
    match &v.inputs {
        Inputs::Embedding { data, delay } => {
            let h = data.embed(delay)?;
            let m = &h.matrix;
            let rows = (0..m.nrows())
                .map(|i| Value::Array((0..m.ncols()).map(|j| num(m[(i, j)])).collect()))
                .collect();
            out.insert("hankel".into(), Value::Array(rows));
        }
        Inputs::Operator { data, params } => {
            let op = fit(data, params)?;
            let sv = crate::linalg::singular_values(op.matrix(), "SVD of A_v")?;
            out.insert("rank".into(), json!(op.rank()));
            out.insert("singular_values".into(), list(op.singular_values()));
            out.insert("eigenvalues".into(), pairs(op.eigenvalues()));
            out.insert("operator_singular_values".into(), list(&sv));
        }
        Inputs::Pavf { a, b } => {
            let al = align(a.as_ref(), b.as_ref(), &PavfOptions::default())?;
            out.insert("angular".into(), num(al.angular));
            out.insert("euclidean".into(), num(al.euclidean));
        }
        Inputs::Wasserstein {
            a,
            b,
            score,
            unequal,
        } => {
            out.insert(
                "value".into(),
                num(spectral_distance(a, b, *score, *unequal)?),
            );
        }
        Inputs::Pipeline {
            x,
            y,
            params,
            score,
        } => {
            let (ox, oy) = (fit(x, params)?, fit(y, params)?);
            let options = ScoreOptions {
                score: *score,
                ..ScoreOptions::default()
            };
            out.insert("value".into(), num(compare(&ox, &oy, &options)?.value));
        }
    }
    Ok(out)
}

/// dynsim's candidate for a suite: every vector run with dynsim (float64).
pub fn run(suite: &Suite) -> Result<Candidate> {
    let mut results = BTreeMap::new();
    for v in &suite.vectors {
        let out = run_vector(v).map_err(|e| {
            format_err(
                &suite.dir.join("manifest.json"),
                v.id.clone(),
                format!("dynsim failed: {e}"),
            )
        })?;
        results.insert(v.id.clone(), out);
    }
    Ok(Candidate {
        name: "dynsim".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        precision: Precision::Float64,
        results,
    })
}

/// A vector's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Every check passed.
    Pass,
    /// A check failed, or an output is missing.
    Fail,
    /// The candidate has no entry for a required vector.
    Missing,
    /// The candidate has no entry for an optional vector (not a failure).
    Skipped,
}

impl Status {
    /// `pass`, `FAIL`, `MISSING`, `skipped`.
    pub fn name(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "FAIL",
            Status::Missing => "MISSING",
            Status::Skipped => "skipped",
        }
    }
}

/// The result of one vector.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorResult {
    /// The vector id.
    pub id: String,
    /// Its stage.
    pub stage: Stage,
    /// The verdict.
    pub status: Status,
    /// Largest error / tolerance over its checks (≤ 1 passes; ∞ for a mismatch with zero tolerance,
    /// a shape mismatch, a non-finite or missing output; NaN when not checked).
    pub worst_ratio: f64,
    /// The error of that check (in the output's units).
    pub worst_error: f64,
    /// The output of that check.
    pub worst_output: String,
    /// What failed (empty on a pass).
    pub message: String,
}

/// The worst result of one stage.
#[derive(Debug, Clone, PartialEq)]
pub struct StageSummary {
    /// The stage.
    pub stage: Stage,
    /// Vectors of this stage.
    pub total: usize,
    /// Passed.
    pub passed: usize,
    /// Failed or missing.
    pub failed: usize,
    /// Optional vectors left out.
    pub skipped: usize,
    /// Largest error / tolerance over the checked vectors (NaN if none).
    pub worst_ratio: f64,
    /// The vector where it occurred.
    pub worst_vector: String,
}

/// The outcome of [`verify`].
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The candidate's implementation name, version and precision.
    pub implementation: (String, String, Precision),
    /// One result per vector, in manifest order.
    pub vectors: Vec<VectorResult>,
    /// One summary per stage present in the suite, in pipeline order.
    pub stages: Vec<StageSummary>,
    /// Candidate entries whose id is not in the suite (reported, not a failure).
    pub unknown: Vec<String>,
}

impl Report {
    /// True when no vector failed or is missing.
    pub fn passed(&self) -> bool {
        self.vectors
            .iter()
            .all(|v| matches!(v.status, Status::Pass | Status::Skipped))
    }

    /// Ids of the vectors that failed or are missing.
    pub fn failed(&self) -> Vec<&str> {
        self.vectors
            .iter()
            .filter(|v| matches!(v.status, Status::Fail | Status::Missing))
            .map(|v| v.id.as_str())
            .collect()
    }

    /// The report as JSON (non-finite ratios written as `null`).
    pub fn to_json(&self) -> Value {
        json!({
            "passed": self.passed(),
            "implementation": {
                "name": self.implementation.0,
                "version": self.implementation.1,
                "precision": self.implementation.2.name(),
            },
            "vectors": self.vectors.iter().map(|v| json!({
                "id": v.id,
                "stage": v.stage.name(),
                "status": v.status.name().to_ascii_lowercase(),
                "worst_ratio": ratio_json(v.worst_ratio),
                "worst_error": ratio_json(v.worst_error),
                "worst_output": v.worst_output,
                "message": v.message,
            })).collect::<Vec<_>>(),
            "stages": self.stages.iter().map(|s| json!({
                "stage": s.stage.name(),
                "total": s.total,
                "passed": s.passed,
                "failed": s.failed,
                "skipped": s.skipped,
                "worst_ratio": ratio_json(s.worst_ratio),
                "worst_vector": s.worst_vector,
            })).collect::<Vec<_>>(),
            "unknown": self.unknown,
        })
    }

    /// The report as a plain-text table (what `dynsim verify` prints).
    pub fn table(&self) -> String {
        let mut s = String::new();
        let (name, version, precision) = &self.implementation;
        s += &format!(
            "candidate: {name} {version} ({}; {} tolerances)\n\n",
            precision.name(),
            precision.name()
        );
        let w = self
            .vectors
            .iter()
            .map(|v| v.id.len())
            .max()
            .unwrap_or(6)
            .max(6);
        s += &format!(
            "{:<w$}  {:<11}  {:<7}  {:>10}  {}\n",
            "vector", "stage", "result", "err/tol", "note"
        );
        for v in &self.vectors {
            s += &format!(
                "{:<w$}  {:<11}  {:<7}  {:>10}  {}\n",
                v.id,
                v.stage.name(),
                v.status.name(),
                fmt_ratio(v.worst_ratio),
                if v.message.is_empty() {
                    format!(
                        "worst: {} (error {})",
                        v.worst_output,
                        fmt_ratio(v.worst_error)
                    )
                } else {
                    v.message.clone()
                }
            );
        }
        s += &format!(
            "\n{:<11}  {:>7}  {:>6}  {:>6}  {:>7}  {:>10}  {}\n",
            "stage", "vectors", "passed", "failed", "skipped", "worst", "at"
        );
        for st in &self.stages {
            s += &format!(
                "{:<11}  {:>7}  {:>6}  {:>6}  {:>7}  {:>10}  {}\n",
                st.stage.name(),
                st.total,
                st.passed,
                st.failed,
                st.skipped,
                fmt_ratio(st.worst_ratio),
                st.worst_vector
            );
        }
        if !self.unknown.is_empty() {
            s += &format!(
                "\nunknown ids in the candidate (ignored): {}\n",
                self.unknown.join(", ")
            );
        }
        let failed = self.failed();
        let total = self.vectors.len();
        let skipped = self
            .vectors
            .iter()
            .filter(|v| v.status == Status::Skipped)
            .count();
        if failed.is_empty() {
            s += &format!("\nPASS: {} of {total} vectors passed, {skipped} optional skipped (worst = largest error/tolerance; ≤ 1 passes)\n", total - skipped);
        } else {
            s += &format!(
                "\nFAIL: {} of {total} vectors failed: {}\n",
                failed.len(),
                failed.join(", ")
            );
        }
        s
    }
}

fn ratio_json(x: f64) -> Value {
    if x.is_finite() {
        json!(x)
    } else if x.is_nan() {
        Value::Null
    } else {
        json!("inf")
    }
}

fn fmt_ratio(x: f64) -> String {
    if x.is_nan() {
        "-".into()
    } else if x.is_infinite() {
        "inf".into()
    } else {
        format!("{x:.2e}")
    }
}

/// The outcome of one check: (error, error / tolerance) or a failure message.
fn evaluate(
    c: &Check,
    got: &Value,
    precision: Precision,
) -> std::result::Result<(f64, f64), String> {
    let tol = match precision {
        Precision::Float32 => c.tolerance_float32.or(c.tolerance),
        Precision::Float64 => c.tolerance,
    }
    .unwrap_or_default();
    let ratio = |err: f64, scale: f64| -> f64 {
        let t = tol.abs + tol.rel * scale;
        if err.is_nan() {
            f64::INFINITY
        } else if err == 0.0 {
            0.0
        } else if t == 0.0 {
            f64::INFINITY
        } else {
            err / t
        }
    };
    let max_abs = |xs: &[f64]| xs.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    let max_err = |e: &[f64], g: &[f64]| {
        e.iter()
            .zip(g)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f64, |m, d| {
                if d.is_nan() || m.is_nan() {
                    f64::NAN
                } else {
                    m.max(d)
                }
            })
    };
    match c.compare {
        Compare::Scalar | Compare::AtMost | Compare::AtLeast => {
            let e = c.expected.as_f64().unwrap_or(f64::NAN);
            let g = match got {
                Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
                Value::Null => f64::NAN,
                _ => return Err(format!("{}: expected a number", c.output)),
            };
            if !g.is_finite() {
                return Err(format!("{}: not a finite number", c.output));
            }
            let err = match c.compare {
                Compare::Scalar => (g - e).abs(),
                Compare::AtMost => (g - e).max(0.0),
                _ => (e - g).max(0.0),
            };
            Ok((err, ratio(err, e.abs())))
        }
        Compare::Exact | Compare::Elementwise => {
            let (se, e) = flatten(&c.expected)?;
            let (sg, g) = flatten(got).map_err(|r| format!("{}: {r}", c.output))?;
            if se != sg {
                return Err(format!("{}: shape {sg:?}, expected {se:?}", c.output));
            }
            let err = max_err(&e, &g);
            let r = if c.compare == Compare::Exact {
                if err == 0.0 {
                    0.0
                } else {
                    f64::INFINITY
                }
            } else {
                ratio(err, max_abs(&e))
            };
            Ok((err, r))
        }
        Compare::Sorted => {
            let mut e = reals(&c.expected)?;
            let mut g = reals(got).map_err(|r| format!("{}: {r}", c.output))?;
            if e.len() != g.len() {
                return Err(format!(
                    "{}: {} values, expected {}",
                    c.output,
                    g.len(),
                    e.len()
                ));
            }
            e.sort_by(|a, b| b.total_cmp(a));
            g.sort_by(|a, b| b.total_cmp(a));
            let err = max_err(&e, &g);
            Ok((err, ratio(err, max_abs(&e))))
        }
        Compare::Multiset => {
            let e = complexes(&c.expected)?;
            let g = complexes(got).map_err(|r| format!("{}: {r}", c.output))?;
            if e.len() != g.len() {
                return Err(format!(
                    "{}: {} values, expected {}",
                    c.output,
                    g.len(),
                    e.len()
                ));
            }
            if g.iter()
                .any(|&(re, im)| !(re.is_finite() && im.is_finite()))
            {
                return Err(format!("{}: a value is not finite", c.output));
            }
            let n = e.len();
            let dist = |i: usize, j: usize| (e[i].0 - g[j].0).hypot(e[i].1 - g[j].1);
            let cost = Mat::from_fn(n, n, |i, j| dist(i, j).powi(2));
            let err = if n == 0 {
                0.0
            } else {
                let a =
                    solve_assignment(cost.as_ref()).map_err(|x| format!("{}: {x}", c.output))?;
                (0..n).map(|i| dist(i, a.columns[i])).fold(0.0, f64::max)
            };
            let scale = e.iter().map(|&(re, im)| re.hypot(im)).fold(0.0, f64::max);
            Ok((err, ratio(err, scale)))
        }
    }
}

/// Compares a candidate with a suite (spec/conformance.md, "Verdict"): every check of every vector;
/// a required vector without an entry is `Missing`, an optional one `Skipped`; an entry lacking a
/// checked output fails naming it.
pub fn verify(suite: &Suite, candidate: &Candidate) -> Report {
    let mut results = Vec::with_capacity(suite.vectors.len());
    for v in &suite.vectors {
        let mut r = VectorResult {
            id: v.id.clone(),
            stage: v.stage,
            status: Status::Pass,
            worst_ratio: f64::NAN,
            worst_error: f64::NAN,
            worst_output: String::new(),
            message: String::new(),
        };
        let Some(entry) = candidate.results.get(&v.id) else {
            r.status = if v.optional {
                r.message = "optional vector, no entry in the candidate".into();
                Status::Skipped
            } else {
                r.message = "no entry in the candidate".into();
                Status::Missing
            };
            results.push(r);
            continue;
        };
        r.worst_ratio = 0.0;
        r.worst_error = 0.0;
        r.worst_output = v.checks[0].output.clone();
        let mut problems = Vec::new();
        for c in &v.checks {
            let outcome = match entry.get(&c.output) {
                None => Err(format!("{}: missing output", c.output)),
                Some(got) => evaluate(c, got, candidate.precision),
            };
            match outcome {
                Ok((err, ratio)) => {
                    if ratio > r.worst_ratio {
                        r.worst_ratio = ratio;
                        r.worst_error = err;
                        r.worst_output = c.output.clone();
                    }
                    if ratio > 1.0 {
                        let what = match c.compare {
                            Compare::AtMost => "above the reference by",
                            Compare::AtLeast => "below the lower bound by",
                            _ => "error",
                        };
                        problems.push(format!(
                            "{} ({:?}): {what} {err:.3e}, {} × the tolerance",
                            c.output,
                            c.compare,
                            fmt_ratio(ratio)
                        ));
                    }
                }
                Err(msg) => {
                    r.worst_ratio = f64::INFINITY;
                    r.worst_error = f64::INFINITY;
                    r.worst_output = c.output.clone();
                    problems.push(msg);
                }
            }
        }
        if !problems.is_empty() {
            r.status = Status::Fail;
            r.message = problems.join("; ");
        }
        results.push(r);
    }
    let mut stages = Vec::new();
    for stage in Stage::ALL {
        let of: Vec<&VectorResult> = results.iter().filter(|r| r.stage == stage).collect();
        if of.is_empty() {
            continue;
        }
        let mut s = StageSummary {
            stage,
            total: of.len(),
            passed: of.iter().filter(|r| r.status == Status::Pass).count(),
            failed: of
                .iter()
                .filter(|r| matches!(r.status, Status::Fail | Status::Missing))
                .count(),
            skipped: of.iter().filter(|r| r.status == Status::Skipped).count(),
            worst_ratio: f64::NAN,
            worst_vector: String::new(),
        };
        for r in of {
            let x = if r.status == Status::Missing {
                f64::INFINITY
            } else {
                r.worst_ratio
            };
            if !x.is_nan() && (s.worst_ratio.is_nan() || x > s.worst_ratio) {
                s.worst_ratio = x;
                s.worst_vector = r.id.clone();
            }
        }
        stages.push(s);
    }
    let known: BTreeSet<&str> = suite.vectors.iter().map(|v| v.id.as_str()).collect();
    let unknown = candidate
        .results
        .keys()
        .filter(|k| !known.contains(k.as_str()))
        .cloned()
        .collect();
    Report {
        implementation: (
            candidate.name.clone(),
            candidate.version.clone(),
            candidate.precision,
        ),
        vectors: results,
        stages,
        unknown,
    }
}
