//! The DSA pipeline: fit each system once, score many pairs, in parallel and deterministically —
//! `spec/pipeline.md`.
//!
//! Systems are fitted in parallel (one rayon task per system), pairs are scored in parallel (one task per
//! pair); inside each task every faer kernel is sequential, and results are collected in index order,
//! so the output is bit-identical whatever the thread count. Self-pairwise PAVF matrices are then made
//! to satisfy the triangle inequality by re-optimising violated entries from composed alignments
//! (spec/pipeline.md §4).

use std::collections::BTreeMap;

use faer::Mat;
use rayon::prelude::*;

use crate::alignment::{
    align, align_from, compose, spectral_distance, Alignment, PavfCertificate, PavfOptions,
    SpectralScore, UnequalSizes,
};
use crate::embedding::Dataset;
use crate::error::{Error, Result};
use crate::operator::{fit, FitParams, Operator};

/// The score a pipeline reports (spec/pipeline.md §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Score {
    /// PAVF angle θ = arccos⟨Â, C B̂ Cᵀ⟩ (the paper's metric).
    #[default]
    Angular,
    /// PAVF ‖Â − C B̂ Cᵀ‖_F.
    Euclidean,
    /// W₂² between spectra (upstream's `wasserstein`; not a metric).
    Wasserstein,
    /// W₂ between spectra.
    Wasserstein2,
    /// W₁ between spectra.
    Wasserstein1,
}

impl Score {
    /// All scores, in CLI order.
    pub const ALL: [Score; 5] = [
        Score::Angular,
        Score::Euclidean,
        Score::Wasserstein,
        Score::Wasserstein2,
        Score::Wasserstein1,
    ];

    /// The CLI / report name (`angular`, `euclidean`, `wasserstein`, `wasserstein2`, `wasserstein1`).
    pub fn name(self) -> &'static str {
        match self {
            Score::Angular => "angular",
            Score::Euclidean => "euclidean",
            Score::Wasserstein => "wasserstein",
            Score::Wasserstein2 => "wasserstein2",
            Score::Wasserstein1 => "wasserstein1",
        }
    }

    /// Parses a name as [`Score::name`] spells it.
    pub fn parse(name: &str) -> Result<Score> {
        Score::ALL
            .into_iter()
            .find(|s| s.name() == name)
            .ok_or_else(|| Error::InvalidParameter {
                name: "score",
                value: name.to_string(),
                reason:
                    "expected one of angular, euclidean, wasserstein, wasserstein2, wasserstein1"
                        .into(),
            })
    }

    /// True for the PAVF scores (which need an alignment C).
    pub fn is_pavf(self) -> bool {
        matches!(self, Score::Angular | Score::Euclidean)
    }

    /// The spectral score (`None` for the PAVF scores).
    pub fn spectral(self) -> Option<SpectralScore> {
        match self {
            Score::Wasserstein => Some(SpectralScore::Wasserstein),
            Score::Wasserstein2 => Some(SpectralScore::Wasserstein2),
            Score::Wasserstein1 => Some(SpectralScore::Wasserstein1),
            _ => None,
        }
    }
}

/// How pairs are scored.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScoreOptions {
    /// The score.
    pub score: Score,
    /// PAVF options (normalisation, seed, restarts, tolerances).
    pub pavf: PavfOptions,
    /// Spectra of different sizes: exact transport (default) or zero-padding.
    pub unequal: UnequalSizes,
}

/// The score of one pair, with the PAVF certificate when the score is a PAVF score.
#[derive(Debug, Clone, PartialEq)]
pub struct PairScore {
    /// The chosen score's value.
    pub value: f64,
    /// The full alignment (PAVF scores only).
    pub alignment: Option<Alignment>,
}

/// A matrix of scores (spec/pipeline.md §3).
#[derive(Debug, Clone, PartialEq)]
pub struct DistanceMatrix {
    /// Number of rows (systems on the left).
    pub rows: usize,
    /// Number of columns (systems on the right).
    pub cols: usize,
    /// Row-major values, `rows × cols`.
    pub values: Vec<f64>,
    /// Row-major PAVF certificates of the computed entries (`None` on the diagonal of a self-pairwise
    /// matrix and for spectral scores).
    pub certificates: Vec<Option<PavfCertificate>>,
    /// Entries (unordered pairs) lowered by the triangle repair.
    pub repaired: usize,
    /// Those entries, as (i, j) with i < j, ascending.
    pub repaired_pairs: Vec<(usize, usize)>,
    /// Repair sweeps run (0 when none was needed or the score is not PAVF).
    pub repair_sweeps: usize,
}

impl DistanceMatrix {
    /// The entry (i, j), or `None` out of range.
    pub fn get(&self, i: usize, j: usize) -> Option<f64> {
        (i < self.rows && j < self.cols).then(|| self.values[i * self.cols + j])
    }
}

/// Runs `f` in a rayon pool of `threads` threads (`None`: rayon's global pool).
pub fn with_threads<T: Send>(threads: Option<usize>, f: impl FnOnce() -> T + Send) -> Result<T> {
    match threads {
        None => Ok(f()),
        Some(0) => Err(Error::InvalidParameter {
            name: "threads",
            value: "0".into(),
            reason: "at least one thread is needed".into(),
        }),
        Some(n) => {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .map_err(|e| Error::InvalidParameter {
                    name: "threads",
                    value: n.to_string(),
                    reason: e.to_string(),
                })?;
            Ok(pool.install(f))
        }
    }
}

/// Fits every dataset once, in parallel (spec/pipeline.md §1). `params` holds one entry for all
/// systems or one per system. The first error in dataset order is returned.
pub fn fit_all(datasets: &[Dataset], params: &[FitParams]) -> Result<Vec<Operator>> {
    if params.len() != 1 && params.len() != datasets.len() {
        return Err(Error::InvalidParameter {
            name: "params",
            value: params.len().to_string(),
            reason: format!(
                "give one parameter set or one per system ({})",
                datasets.len()
            ),
        });
    }
    datasets
        .par_iter()
        .enumerate()
        .map(|(i, ds)| fit(ds, &params[if params.len() == 1 { 0 } else { i }]))
        .collect::<Vec<Result<Operator>>>()
        .into_iter()
        .collect()
}

/// Pads a square matrix with zeros to `size` × `size`.
fn padded(a: faer::MatRef<'_, f64>, size: usize) -> Mat<f64> {
    let n = a.nrows();
    Mat::from_fn(
        size,
        size,
        |i, j| if i < n && j < n { a[(i, j)] } else { 0.0 },
    )
}

/// Scores one pair (spec/pipeline.md §2). PAVF compares at size max(r_a, r_b) (the smaller operator
/// zero-padded); spectral scores compare the eigenvalues.
pub fn compare(a: &Operator, b: &Operator, options: &ScoreOptions) -> Result<PairScore> {
    compare_at(a, b, a.rank().max(b.rank()), options)
}

fn compare_at(
    a: &Operator,
    b: &Operator,
    size: usize,
    options: &ScoreOptions,
) -> Result<PairScore> {
    match options.score.spectral() {
        Some(s) => Ok(PairScore {
            value: spectral_distance(a.eigenvalues(), b.eigenvalues(), s, options.unequal)?,
            alignment: None,
        }),
        None => {
            let al = align(
                padded(a.matrix(), size).as_ref(),
                padded(b.matrix(), size).as_ref(),
                &options.pavf,
            )?;
            Ok(PairScore {
                value: pavf_value(&al, options.score),
                alignment: Some(al),
            })
        }
    }
}

fn pavf_value(al: &Alignment, score: Score) -> f64 {
    if score == Score::Euclidean {
        al.euclidean
    } else {
        al.angular
    }
}

/// The pairs a matrix needs, in the fixed order of spec/pipeline.md §3: (i, j) with i < j, row by
/// row, for a self-pairwise K × K matrix (`m = None`); every (i, j), row by row, for a K × M cross
/// matrix.
pub fn pair_list(k: usize, m: Option<usize>) -> Vec<(usize, usize)> {
    match m {
        None => (0..k)
            .flat_map(|i| (i + 1..k).map(move |j| (i, j)))
            .collect(),
        Some(m) => (0..k).flat_map(|i| (0..m).map(move |j| (i, j))).collect(),
    }
}

/// Shard `index` of `count` (spec/pipeline.md §5): the contiguous slice
/// [⌊index·P/count⌋, ⌊(index+1)·P/count⌋) of a list of P pairs. The slices of all shards partition the
/// list, and their sizes differ by at most one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 0 ≤ index < count.
    pub index: usize,
    /// The number of shards, ≥ 1.
    pub count: usize,
}

impl Shard {
    /// Checks 0 ≤ index < count.
    pub fn new(index: usize, count: usize) -> Result<Shard> {
        if count == 0 || index >= count {
            return Err(Error::InvalidParameter {
                name: "shard",
                value: format!("{index}/{count}"),
                reason: "expected I/K with 0 ≤ I < K".into(),
            });
        }
        Ok(Shard { index, count })
    }

    /// Parses `I/K`.
    pub fn parse(text: &str) -> Result<Shard> {
        let bad = || Error::InvalidParameter {
            name: "shard",
            value: text.to_string(),
            reason: "expected I/K with 0 ≤ I < K, e.g. 0/4".into(),
        };
        let (i, k) = text.split_once('/').ok_or_else(bad)?;
        let i = i.trim().parse().map_err(|_| bad())?;
        let k = k.trim().parse().map_err(|_| bad())?;
        Shard::new(i, k).map_err(|_| bad())
    }

    /// The indices of this shard's pairs in a list of `total` pairs.
    pub fn range(&self, total: usize) -> std::ops::Range<usize> {
        let at = |s: usize| ((s as u128 * total as u128) / self.count as u128) as usize;
        at(self.index)..at(self.index + 1)
    }
}

/// A progress callback: called once per scored pair, from any worker thread.
pub type Progress<'a> = &'a (dyn Fn() + Sync);

/// Scores the given pairs (i into `xs`, j into `ys`) in parallel, one rayon task per pair, and returns
/// the scores in the order of `pairs` (spec/pipeline.md §3). PAVF operators are zero-padded to
/// `size`, which must be at least every rank involved (matrices use the largest rank of the set).
/// The first error in pair order is returned.
pub fn score_pairs(
    xs: &[Operator],
    ys: &[Operator],
    pairs: &[(usize, usize)],
    size: usize,
    options: &ScoreOptions,
    progress: Option<Progress<'_>>,
) -> Result<Vec<PairScore>> {
    if let Some(&(i, j)) = pairs.iter().find(|&&(i, j)| i >= xs.len() || j >= ys.len()) {
        return Err(Error::InvalidParameter {
            name: "pairs",
            value: format!("({i}, {j})"),
            reason: format!("out of range for {} × {} systems", xs.len(), ys.len()),
        });
    }
    let needed = pairs
        .iter()
        .map(|&(i, j)| xs[i].rank().max(ys[j].rank()))
        .max()
        .unwrap_or(0);
    if size < needed {
        return Err(Error::InvalidParameter {
            name: "size",
            value: size.to_string(),
            reason: format!("the padding size must be at least the largest rank ({needed})"),
        });
    }
    pairs
        .par_iter()
        .map(|&(i, j)| {
            let s = compare_at(&xs[i], &ys[j], size, options);
            if let Some(p) = progress {
                p();
            }
            s
        })
        .collect::<Vec<Result<PairScore>>>()
        .into_iter()
        .collect()
}

/// The common PAVF size of a set of operators: their largest rank (spec/pipeline.md §2).
pub fn common_size<'a>(ops: impl IntoIterator<Item = &'a Operator>) -> usize {
    ops.into_iter().map(Operator::rank).max().unwrap_or(0)
}

/// Builds a matrix from the scores of a pair list (spec/pipeline.md §3). `symmetric`: a self-pairwise
/// K × K matrix from pairs i < j, mirrored, with a zero diagonal; otherwise a `rows × cols` matrix
/// from its pairs. Entries not covered by `pairs` are NaN (none, when `pairs` is the full list).
pub fn assemble(
    rows: usize,
    cols: usize,
    symmetric: bool,
    pairs: &[(usize, usize)],
    values: &[f64],
    certificates: Vec<Option<PavfCertificate>>,
) -> Result<DistanceMatrix> {
    if pairs.len() != values.len()
        || pairs.len() != certificates.len()
        || (symmetric && rows != cols)
        || pairs
            .iter()
            .any(|&(i, j)| i >= rows || j >= cols || (symmetric && i >= j))
    {
        return Err(Error::Shape {
            array: "pair scores".into(),
            reason: format!(
                "{} pairs, {} values and {} certificates do not describe a {rows} × {cols}{} matrix",
                pairs.len(),
                values.len(),
                certificates.len(),
                if symmetric { " symmetric" } else { "" }
            ),
        });
    }
    let mut out = DistanceMatrix {
        rows,
        cols,
        values: vec![f64::NAN; rows * cols],
        certificates: vec![None; rows * cols],
        repaired: 0,
        repaired_pairs: Vec::new(),
        repair_sweeps: 0,
    };
    if symmetric {
        for i in 0..rows {
            out.values[i * cols + i] = 0.0;
        }
    }
    for ((&(i, j), &v), cert) in pairs.iter().zip(values).zip(certificates) {
        out.values[i * cols + j] = v;
        if symmetric {
            out.values[j * cols + i] = v;
            out.certificates[j * cols + i] = cert.clone();
        }
        out.certificates[i * cols + j] = cert;
    }
    Ok(out)
}

/// The K × M matrix of scores between two sets (spec/pipeline.md §3). One-to-many is `xs` of length 1.
/// PAVF operators are all zero-padded to the largest rank of both sets.
pub fn cross(xs: &[Operator], ys: &[Operator], options: &ScoreOptions) -> Result<DistanceMatrix> {
    cross_with_progress(xs, ys, options, None)
}

/// [`cross`] with a progress callback.
pub fn cross_with_progress(
    xs: &[Operator],
    ys: &[Operator],
    options: &ScoreOptions,
    progress: Option<Progress<'_>>,
) -> Result<DistanceMatrix> {
    let pairs = pair_list(xs.len(), Some(ys.len()));
    let size = common_size(xs.iter().chain(ys));
    let scored = score_pairs(xs, ys, &pairs, size, options, progress)?;
    let (values, certs) = split_scores(scored);
    assemble(xs.len(), ys.len(), false, &pairs, &values, certs)
}

/// Splits pair scores into values and certificates.
pub fn split_scores(scored: Vec<PairScore>) -> (Vec<f64>, Vec<Option<PavfCertificate>>) {
    scored
        .into_iter()
        .map(|s| (s.value, s.alignment.map(|a| a.certificate)))
        .unzip()
}

/// Violations smaller than this are left alone (spec/pipeline.md §4).
pub const TRIANGLE_TOLERANCE: f64 = 1e-12;

/// Repair sweeps are capped at this many; a matrix that still violates the triangle inequality after
/// them is reported by [`DistanceMatrix::repair_sweeps`] = the cap (never observed in tests).
pub const MAX_REPAIR_SWEEPS: usize = 50;

/// The symmetric K × K matrix of scores within one set (spec/pipeline.md §3–4): only i < j is
/// computed, the lower triangle mirrors it and the diagonal is 0 by construction. For PAVF scores the
/// triangle inequality is then enforced by repair (§4).
pub fn pairwise(ops: &[Operator], options: &ScoreOptions) -> Result<DistanceMatrix> {
    pairwise_with_progress(ops, options, None)
}

/// [`pairwise`] with a progress callback (called once per first-pass pair).
pub fn pairwise_with_progress(
    ops: &[Operator],
    options: &ScoreOptions,
    progress: Option<Progress<'_>>,
) -> Result<DistanceMatrix> {
    let k = ops.len();
    let pairs = pair_list(k, None);
    let scored = score_pairs(ops, ops, &pairs, common_size(ops), options, progress)?;
    // The first pass's alignments are dropped (K² r² numbers would not fit in memory for large K);
    // the repair recomputes the few it needs, bit-identically (spec/pipeline.md §4).
    let (values, certs) = split_scores(scored);
    let mut out = assemble(k, k, true, &pairs, &values, certs)?;
    if options.score.is_pavf() {
        repair_triangles(ops, options, &mut out, &mut BTreeMap::new())?;
    }
    Ok(out)
}

/// C_ij for i < j: the known one, or recomputed by `align` exactly as the first pass computed it.
fn known_c(
    ops: &[Operator],
    size: usize,
    options: &ScoreOptions,
    cs: &mut BTreeMap<(usize, usize), Mat<f64>>,
    i: usize,
    j: usize,
) -> Result<Mat<f64>> {
    if let Some(c) = cs.get(&(i, j)) {
        return Ok(c.clone());
    }
    let al = align(
        padded(ops[i].matrix(), size).as_ref(),
        padded(ops[j].matrix(), size).as_ref(),
        &options.pavf,
    )?;
    cs.insert((i, j), al.c.clone());
    Ok(al.c)
}

/// C_ij for any ordered pair (C_ji = C_ijᵀ).
fn c_of(
    ops: &[Operator],
    size: usize,
    options: &ScoreOptions,
    cs: &mut BTreeMap<(usize, usize), Mat<f64>>,
    i: usize,
    j: usize,
) -> Result<Mat<f64>> {
    if i < j {
        known_c(ops, size, options, cs, i, j)
    } else {
        Ok(known_c(ops, size, options, cs, j, i)?
            .transpose()
            .to_owned())
    }
}

/// spec/pipeline.md §4: while some d(i,l) > d(i,j) + d(j,l) + [`TRIANGLE_TOLERANCE`], re-optimise
/// (i,l) from C_ij C_jl, which achieves at most d(i,j) + d(j,l); every entry stays an achieved value.
///
/// [`pairwise`] calls this after its first pass; it is public so that a first pass computed elsewhere
/// (e.g. merged shards) is repaired identically. `out` is a self-pairwise K × K matrix of the PAVF
/// score `options.score`. `alignments` maps (i, j), i < j, to the C_ij that achieves `out`'s (i, j)
/// entry (aligning A_j to A_i, at the common size max rank); a pair that is missing is taken to be a
/// first-pass entry and its C is recomputed by [`align`] (deterministic, so it is the C the first
/// pass found) when a composition needs it. Updates `out.values`, `out.certificates`, `out.repaired`,
/// `out.repair_sweeps` and `alignments`.
pub fn repair_triangles(
    ops: &[Operator],
    options: &ScoreOptions,
    out: &mut DistanceMatrix,
    alignments: &mut BTreeMap<(usize, usize), Mat<f64>>,
) -> Result<()> {
    let k = ops.len();
    let size = common_size(ops);
    if !options.score.is_pavf()
        || out.rows != k
        || out.cols != k
        || out.values.len() != k * k
        || out.certificates.len() != k * k
    {
        return Err(Error::InvalidParameter {
            name: "score",
            value: options.score.name().to_string(),
            reason: format!("triangle repair needs a PAVF score and a {k}×{k} matrix"),
        });
    }
    let mut touched = vec![false; k * k];
    for sweep in 1..=MAX_REPAIR_SWEEPS {
        let mut changed = false;
        for i in 0..k {
            for l in i + 1..k {
                for j in 0..k {
                    if j == i || j == l {
                        continue;
                    }
                    let (d_il, d_ij, d_jl) = (
                        out.values[i * k + l],
                        out.values[i * k + j],
                        out.values[j * k + l],
                    );
                    if d_il <= d_ij + d_jl + TRIANGLE_TOLERANCE {
                        continue;
                    }
                    let c_ij = c_of(ops, size, options, alignments, i, j)?;
                    let c_jl = c_of(ops, size, options, alignments, j, l)?;
                    let start = compose(c_ij.as_ref(), c_jl.as_ref())?;
                    let al = align_from(
                        padded(ops[i].matrix(), size).as_ref(),
                        padded(ops[l].matrix(), size).as_ref(),
                        start.as_ref(),
                        &options.pavf,
                    )?;
                    let v = pavf_value(&al, options.score);
                    if v < d_il {
                        out.values[i * k + l] = v;
                        out.values[l * k + i] = v;
                        out.certificates[i * k + l] = Some(al.certificate.clone());
                        out.certificates[l * k + i] = Some(al.certificate);
                        alignments.insert((i, l), al.c);
                        touched[i * k + l] = true;
                        changed = true;
                    }
                }
            }
        }
        if !changed {
            break;
        }
        out.repair_sweeps = sweep;
    }
    out.repaired_pairs = (0..k * k)
        .filter(|&p| touched[p])
        .map(|p| (p / k, p % k))
        .collect();
    out.repaired = out.repaired_pairs.len();
    Ok(())
}
