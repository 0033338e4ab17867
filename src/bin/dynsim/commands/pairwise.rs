//! `dynsim pairwise` and `dynsim merge` (spec/cli.md §3.4–3.5, spec/pipeline.md §3–5).
//!
//! A run fits every system once, scores the pair list of spec/pipeline.md §3 (or one shard of it) in
//! parallel, repairs triangle violations (PAVF, self-pairwise) and writes the matrix as a float64
//! `.npy` plus an optional JSON report. A sharded run writes a partial file instead (JSON: the fitted
//! operators, the options and the shard's pair scores); `merge` checks that the parts belong to one
//! run and cover every pair exactly once, assembles them and runs the same repair, so the merged
//! matrix is bit-identical to the unsharded one.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use dynsim::alignment::{PavfOptions, UnequalSizes};
use dynsim::dsa::{
    assemble, common_size, pair_list, repair_triangles, score_pairs, split_scores, with_threads,
    DistanceMatrix, Score, ScoreOptions, Shard,
};
use dynsim::io::model::{NamedOperator, OperatorRecord};
use dynsim::operator::FitParams;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::options::{FitArgs, ScoreArgs};
use crate::{json, systems, Failure};

/// `dynsim pairwise`.
#[derive(Args, Debug)]
pub struct PairwiseArgs {
    /// The systems: data files (.npy / .npz, fitted with the fit options) or model files (.json).
    #[arg(required = true, value_name = "DATA")]
    pub data: Vec<PathBuf>,
    /// Compare DATA against these systems instead (a K × M matrix).
    #[arg(long, num_args = 1.., value_name = "DATA")]
    pub against: Vec<PathBuf>,
    #[command(flatten)]
    pub fit: FitArgs,
    #[command(flatten)]
    pub score: ScoreArgs,
    /// The matrix (.npy, float64), or with --shard the partial file (JSON) for `dynsim merge`.
    #[arg(long, value_name = "PATH")]
    pub output: PathBuf,
    /// A JSON report: files, parameters, ranks, per-pair certificates, repairs, timings.
    #[arg(long, value_name = "R.json")]
    pub report: Option<PathBuf>,
    /// Compute only shard I of K (0 ≤ I < K) of the pairs, into a partial file.
    #[arg(long, value_name = "I/K")]
    pub shard: Option<String>,
    /// Save every fitted operator to a model file, to re-score later without the data.
    #[arg(long, value_name = "MODEL")]
    pub save_models: Option<PathBuf>,
    /// Leave the execution block (command line, threads, timings) out of the report, and the timing
    /// out of a --shard partial file, so that the same inputs give byte-identical files on every run
    /// and thread count.
    #[arg(long)]
    pub reproducible_report: bool,
}

/// `dynsim merge`.
#[derive(Args, Debug)]
pub struct MergeArgs {
    /// The partial files of one sharded run, in any order.
    #[arg(required = true, value_name = "PART")]
    pub parts: Vec<PathBuf>,
    /// The matrix (.npy, float64).
    #[arg(long, value_name = "D.npy")]
    pub output: PathBuf,
    /// A JSON report (as `pairwise --report`).
    #[arg(long, value_name = "R.json")]
    pub report: Option<PathBuf>,
    /// Worker threads for the triangle repair (default: all cores). Results do not depend on it.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Leave the execution block (command line, threads, timings) out of the report.
    #[arg(long)]
    pub reproducible_report: bool,
}

/// The score options as a partial file stores them (everything that changes a value).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ScoreSetup {
    score: String,
    normalize: bool,
    seed: u64,
    restarts: Option<usize>,
    agreement: usize,
    gradient_tolerance: f64,
    max_iterations: usize,
    unequal: String,
}

impl ScoreSetup {
    fn new(o: &ScoreOptions) -> Self {
        ScoreSetup {
            score: o.score.name().into(),
            normalize: o.pavf.normalize,
            seed: o.pavf.seed,
            restarts: o.pavf.restarts,
            agreement: o.pavf.agreement,
            gradient_tolerance: o.pavf.gradient_tolerance,
            max_iterations: o.pavf.max_iterations,
            unequal: json::snake(&format!("{:?}", o.unequal)),
        }
    }

    fn options(&self, path: &str) -> Result<ScoreOptions, Failure> {
        let unequal = match self.unequal.as_str() {
            "transport" => UnequalSizes::Transport,
            "zero_pad" => UnequalSizes::ZeroPad,
            other => {
                return Err(Failure {
                    code: 1,
                    message: format!("{path}: setup.score.unequal: unknown value {other:?}"),
                })
            }
        };
        Ok(ScoreOptions {
            score: Score::parse(&self.score).map_err(|e| Failure {
                code: 1,
                message: format!("{path}: setup.score: {e}"),
            })?,
            pavf: PavfOptions {
                normalize: self.normalize,
                seed: self.seed,
                restarts: self.restarts,
                agreement: self.agreement,
                gradient_tolerance: self.gradient_tolerance,
                max_iterations: self.max_iterations,
            },
            unequal,
        })
    }
}

/// What every shard of one run shares (merge checks it is identical across parts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Setup {
    /// Self-pairwise (false) or cross (true).
    cross: bool,
    rows: Vec<OperatorRecord>,
    cols: Vec<OperatorRecord>,
    score: ScoreSetup,
    shards: usize,
}

/// A partial file.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Partial {
    format: String,
    version: u32,
    dynsim_version: String,
    shard: usize,
    setup: Setup,
    /// This shard's slice [start, end) of the pair list.
    pair_range: [usize; 2],
    values: Vec<f64>,
    certificates: Vec<Value>,
    /// The shard's wall-clock time; left out under `--reproducible-report` (byte-identical parts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    seconds: Option<f64>,
}

const PARTIAL_FORMAT: &str = "dynsim-partial";
const PARTIAL_VERSION: u32 = 1;

fn data_error(message: String) -> Failure {
    Failure { code: 1, message }
}

fn progress_bar(len: usize, what: &str) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() || len == 0 {
        return None;
    }
    let bar = ProgressBar::new(len as u64);
    if let Ok(style) =
        ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} pairs [{elapsed} < {eta}]")
    {
        bar.set_style(style);
    }
    bar.set_message(what.to_string());
    Some(bar)
}

/// Per-pair certificate records, in pair order, for the report.
fn pair_records(pairs: &[(usize, usize)], values: &[f64], certs: &[Value]) -> Value {
    Value::Array(
        pairs
            .iter()
            .zip(values)
            .zip(certs)
            .map(|((&(i, j), &v), c)| json!({ "i": i, "j": j, "value": json::num(v), "certificate": c }))
            .collect(),
    )
}

fn system_records(ops: &[OperatorRecord]) -> Value {
    Value::Array(
        ops.iter()
            .map(|o| {
                json!({
                    "name": o.name,
                    "rank": o.rank,
                    "r2": o.r2,
                    "n_features": o.n_features,
                    "n_samples": o.n_samples,
                    "params": o.params,
                })
            })
            .collect(),
    )
}

/// Everything after the first pass, shared by `pairwise` and `merge`: assemble, repair, write.
struct Finish<'a> {
    setup: &'a Setup,
    options: &'a ScoreOptions,
    rows: &'a [NamedOperator],
    cols: &'a [NamedOperator],
    values: Vec<f64>,
    certs: Vec<Value>,
    output: &'a Path,
    report: Option<&'a Path>,
    timings: Value,
    started: Instant,
    extra: Value,
    /// Execution facts (threads) that go into the execution block.
    execution: Value,
    /// Omit the execution block (command, threads, timings): a byte-reproducible report.
    reproducible: bool,
}

impl Finish<'_> {
    fn run(mut self) -> Result<(), Failure> {
        let (k, m) = (self.rows.len(), self.cols.len());
        let pairs = pair_list(k, self.setup.cross.then_some(m));
        let mut matrix: DistanceMatrix = assemble(
            k,
            if self.setup.cross { m } else { k },
            !self.setup.cross,
            &pairs,
            &self.values,
            vec![None; pairs.len()],
        )?;
        let t = Instant::now();
        if !self.setup.cross && self.options.score.is_pavf() {
            let ops: Vec<_> = self.rows.iter().map(|n| n.operator.clone()).collect();
            repair_triangles(
                &ops,
                self.options,
                &mut matrix,
                &mut std::collections::BTreeMap::new(),
            )?;
            // The repaired entries carry new certificates.
            for &(i, j) in &matrix.repaired_pairs {
                let p = pair_index(k, i, j);
                if let Some(c) = &matrix.certificates[i * k + j] {
                    self.certs[p] = json::certificate(c);
                }
                self.values[p] = matrix.values[i * k + j];
            }
        }
        let repair_seconds = t.elapsed().as_secs_f64();
        dynsim::io::npy::write(self.output, &[matrix.rows, matrix.cols], &matrix.values)?;
        if let Some(path) = self.report {
            let mut timings = self.timings;
            crate::commands::align::merge_into(
                &mut timings,
                json!({ "repair_seconds": repair_seconds, "total_seconds": self.started.elapsed().as_secs_f64() }),
            );
            let mut report = json!({
                "dynsim_version": env!("CARGO_PKG_VERSION"),
                "output": self.output.display().to_string(),
                "shape": [matrix.rows, matrix.cols],
                "mode": if self.setup.cross { "cross" } else { "pairwise" },
                "systems": system_records(&self.setup.rows),
                "against": if self.setup.cross { system_records(&self.setup.cols) } else { Value::Null },
                "score": self.options.score.name(),
                "options": json::score_options(self.options),
                "padding_size": common_size(self.rows.iter().chain(self.cols).map(|n| &n.operator)),
                "pairs": pair_records(&pairs, &self.values, &self.certs),
                "repaired": matrix.repaired,
                "repaired_pairs": matrix.repaired_pairs,
                "repair_sweeps": matrix.repair_sweeps,
            });
            crate::commands::align::merge_into(&mut report, self.extra);
            if !self.reproducible {
                let mut execution = json!({
                    "command": std::env::args().collect::<Vec<_>>(),
                    "timings": timings,
                });
                crate::commands::align::merge_into(&mut execution, self.execution);
                crate::commands::align::merge_into(&mut report, json!({ "execution": execution }));
            }
            write_json(path, &report)?;
        }
        Ok(())
    }
}

/// True if every entry is zero.
fn is_zero(m: dynsim::faer::MatRef<'_, f64>) -> bool {
    (0..m.ncols()).all(|j| (0..m.nrows()).all(|i| m[(i, j)] == 0.0))
}

/// Index of (i, j), i < j, in the self-pairwise pair list of K systems.
fn pair_index(k: usize, i: usize, j: usize) -> usize {
    // Rows 0..i contribute (k−1) + (k−2) + … + (k−i) pairs.
    i * (2 * k - i - 1) / 2 + (j - i - 1)
}

fn write_json(path: &Path, v: &Value) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(v)
        .map_err(|e| data_error(format!("{}: cannot serialise: {e}", path.display())))?;
    dynsim::io::write_atomic(path, text.as_bytes())?;
    Ok(())
}

/// The parameters of `dynsim pairwise`, validated (usage errors, before any file is read).
pub fn validate(args: &PairwiseArgs) -> Result<(FitParams, ScoreOptions, Option<Shard>), Failure> {
    let params = args.fit.params()?;
    let options = args.score.options()?;
    let shard = match &args.shard {
        Some(s) => Some(Shard::parse(s).map_err(|e| Failure::usage(e.to_string()))?),
        None => None,
    };
    if shard.is_some() && args.report.is_some() {
        return Err(Failure::usage(
            "--report is written by `dynsim merge` for a sharded run, not by each shard",
        ));
    }
    Ok((params, options, shard))
}

/// `dynsim pairwise`.
pub fn run(args: &PairwiseArgs) -> Result<(), Failure> {
    let started = Instant::now();
    let (params, options, shard) = validate(args)?;
    with_threads(args.score.threads, || -> Result<(), Failure> {
        let rows = systems::load(&args.data, &params, args.fit.budget())?;
        let cols = if args.against.is_empty() {
            Vec::new()
        } else {
            systems::load(&args.against, &params, args.fit.budget())?
        };
        // A zero operator makes every PAVF score of its row undefined (spec/alignment.md §1.1): refuse
        // it here, where its file is known, rather than from the first pair that meets it.
        if options.score.is_pavf() {
            if let Some(z) = rows
                .iter()
                .chain(&cols)
                .find(|o| is_zero(o.operator.matrix()))
            {
                return Err(Failure::from(dynsim::Error::ZeroOperator {
                    what: z.name.clone(),
                    norm: 0.0,
                }));
            }
        }
        let fit_seconds = started.elapsed().as_secs_f64();
        if let Some(path) = &args.save_models {
            let all: Vec<NamedOperator> = rows.iter().chain(&cols).cloned().collect();
            dynsim::io::model::write(path, &all)?;
        }
        let cross = !args.against.is_empty();
        let setup = Setup {
            cross,
            rows: rows
                .iter()
                .map(|n| OperatorRecord::new(&n.name, &n.operator))
                .collect(),
            cols: cols
                .iter()
                .map(|n| OperatorRecord::new(&n.name, &n.operator))
                .collect(),
            score: ScoreSetup::new(&options),
            shards: shard.map_or(1, |s| s.count),
        };
        let ops_r: Vec<_> = rows.iter().map(|n| n.operator.clone()).collect();
        let ops_c: Vec<_> = if cross {
            cols.iter().map(|n| n.operator.clone()).collect()
        } else {
            ops_r.clone()
        };
        let pairs = pair_list(rows.len(), cross.then_some(cols.len()));
        let range = shard.map_or(0..pairs.len(), |s| s.range(pairs.len()));
        let size = common_size(ops_r.iter().chain(&ops_c));
        let t = Instant::now();
        let bar = progress_bar(range.len(), options.score.name());
        let tick = || {
            if let Some(b) = &bar {
                b.inc(1);
            }
        };
        let scored = score_pairs(
            &ops_r,
            &ops_c,
            &pairs[range.clone()],
            size,
            &options,
            Some(&tick),
        )?;
        if let Some(b) = &bar {
            b.finish_and_clear();
        }
        let score_seconds = t.elapsed().as_secs_f64();
        let (values, certs) = split_scores(scored);
        let certs: Vec<Value> = certs
            .iter()
            .map(|c| c.as_ref().map_or(Value::Null, json::certificate))
            .collect();
        if let Some(shard) = shard {
            let partial = Partial {
                format: PARTIAL_FORMAT.into(),
                version: PARTIAL_VERSION,
                dynsim_version: env!("CARGO_PKG_VERSION").into(),
                shard: shard.index,
                setup,
                pair_range: [range.start, range.end],
                values,
                certificates: certs,
                seconds: (!args.reproducible_report).then(|| started.elapsed().as_secs_f64()),
            };
            let v = serde_json::to_value(&partial)
                .map_err(|e| data_error(format!("cannot serialise the partial file: {e}")))?;
            return write_json(&args.output, &v);
        }
        Finish {
            setup: &setup,
            options: &options,
            rows: &rows,
            cols: &cols,
            values,
            certs,
            output: &args.output,
            report: args.report.as_deref(),
            timings: json!({ "fit_seconds": fit_seconds, "score_seconds": score_seconds }),
            started,
            extra: json!({ "shards": Value::Null }),
            execution: json!({ "threads": args.score.threads }),
            reproducible: args.reproducible_report,
        }
        .run()
    })?
}

/// The parameters of `dynsim merge`, validated.
pub fn validate_merge(args: &MergeArgs) -> Result<(), Failure> {
    if args.threads == Some(0) {
        return Err(Failure::usage(
            "invalid parameter threads = 0: at least one thread is needed",
        ));
    }
    Ok(())
}

/// `dynsim merge`.
pub fn merge(args: &MergeArgs) -> Result<(), Failure> {
    let started = Instant::now();
    validate_merge(args)?;
    let mut parts: Vec<(String, Partial)> = Vec::new();
    for path in &args.parts {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| data_error(format!("{name}: cannot read: {e}")))?;
        let p: Partial = serde_json::from_str(&text)
            .map_err(|e| data_error(format!("{name}: not a dynsim partial file: {e}")))?;
        if p.format != PARTIAL_FORMAT || p.version != PARTIAL_VERSION {
            return Err(data_error(format!(
                "{name}: format {:?} version {} is not {PARTIAL_FORMAT:?} version {PARTIAL_VERSION}",
                p.format, p.version
            )));
        }
        parts.push((name, p));
    }
    let (first_name, first) = &parts[0];
    let setup = first.setup.clone();
    let count = setup.shards;
    let mut seen: Vec<Option<&str>> = vec![None; count];
    for (name, p) in &parts {
        if p.setup != setup {
            return Err(data_error(format!(
                "{name}: belongs to another run than {first_name} (different systems, operators, \
                 options or shard count)"
            )));
        }
        match seen.get_mut(p.shard) {
            None => {
                return Err(data_error(format!(
                    "{name}: shard {} is out of range 0..{count}",
                    p.shard
                )))
            }
            Some(Some(other)) => {
                return Err(data_error(format!(
                    "{name}: shard {} was already given by {other}",
                    p.shard
                )))
            }
            Some(slot) => *slot = Some(name),
        }
    }
    if let Some(missing) = seen.iter().position(Option::is_none) {
        return Err(data_error(format!(
            "shard {missing}/{count} is missing (give all {count} partial files)"
        )));
    }
    let options = setup.score.options(first_name)?;
    let to_ops = |recs: &[OperatorRecord]| -> Result<Vec<NamedOperator>, Failure> {
        recs.iter()
            .map(|r| {
                Ok(NamedOperator {
                    name: r.name.clone(),
                    operator: r.to_operator(first_name)?,
                })
            })
            .collect()
    };
    let rows = to_ops(&setup.rows)?;
    let cols = to_ops(&setup.cols)?;
    let total = pair_list(rows.len(), setup.cross.then_some(cols.len())).len();
    parts.sort_by_key(|(_, p)| p.shard);
    let mut values = Vec::with_capacity(total);
    let mut certs = Vec::with_capacity(total);
    let mut shard_seconds = Vec::new();
    for (name, p) in parts {
        let expected = Shard::new(p.shard, count)?.range(total);
        if p.pair_range != [expected.start, expected.end]
            || p.values.len() != expected.len()
            || p.certificates.len() != expected.len()
        {
            return Err(data_error(format!(
                "{name}: shard {}/{count} should hold pairs {}..{} ({} values), found range {:?} \
                 with {} values",
                p.shard,
                expected.start,
                expected.end,
                expected.len(),
                p.pair_range,
                p.values.len()
            )));
        }
        values.extend(p.values);
        certs.extend(p.certificates);
        shard_seconds.push(p.seconds);
    }
    with_threads(args.threads, || {
        Finish {
            setup: &setup,
            options: &options,
            rows: &rows,
            cols: &cols,
            values,
            certs,
            output: &args.output,
            report: args.report.as_deref(),
            timings: json!({ "shard_seconds": shard_seconds }),
            started,
            extra: json!({ "shards": count }),
            execution: json!({ "threads": args.threads }),
            reproducible: args.reproducible_report,
        }
        .run()
    })?
}
