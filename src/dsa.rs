//! The DSA pipeline: fit each system once, score many pairs, in parallel and deterministically —
//! `spec/pipeline.md`.
//!
//! Systems are fitted in parallel (one rayon task per system), pairs are scored in parallel (one task per
//! pair); inside each task every faer kernel is sequential, and results are collected in index order,
//! so the output is bit-identical whatever the thread count. Self-pairwise PAVF matrices are then made
//! to satisfy the triangle inequality by re-optimising violated entries from composed alignments
//! (spec/pipeline.md §4).

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

    fn spectral(self) -> Option<SpectralScore> {
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

/// The K × M matrix of scores between two sets (spec/pipeline.md §3). One-to-many is `xs` of length 1.
/// PAVF operators are all zero-padded to the largest rank of both sets.
pub fn cross(xs: &[Operator], ys: &[Operator], options: &ScoreOptions) -> Result<DistanceMatrix> {
    let size = xs.iter().chain(ys).map(Operator::rank).max().unwrap_or(0);
    let pairs: Vec<(usize, usize)> = (0..xs.len())
        .flat_map(|i| (0..ys.len()).map(move |j| (i, j)))
        .collect();
    let scored = score_pairs(&pairs, xs, ys, size, options)?;
    let mut values = Vec::with_capacity(pairs.len());
    let mut certificates = Vec::with_capacity(pairs.len());
    for s in scored {
        values.push(s.value);
        certificates.push(s.alignment.map(|a| a.certificate));
    }
    Ok(DistanceMatrix {
        rows: xs.len(),
        cols: ys.len(),
        values,
        certificates,
        repaired: 0,
        repair_sweeps: 0,
    })
}

fn score_pairs(
    pairs: &[(usize, usize)],
    xs: &[Operator],
    ys: &[Operator],
    size: usize,
    options: &ScoreOptions,
) -> Result<Vec<PairScore>> {
    pairs
        .par_iter()
        .map(|&(i, j)| compare_at(&xs[i], &ys[j], size, options))
        .collect::<Vec<Result<PairScore>>>()
        .into_iter()
        .collect()
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
    let k = ops.len();
    let size = ops.iter().map(Operator::rank).max().unwrap_or(0);
    let pairs: Vec<(usize, usize)> = (0..k)
        .flat_map(|i| (i + 1..k).map(move |j| (i, j)))
        .collect();
    let scored = score_pairs(&pairs, ops, ops, size, options)?;
    let mut values = vec![0.0; k * k];
    let mut certificates: Vec<Option<PavfCertificate>> = vec![None; k * k];
    // C of pair (i, j), i < j, aligning A_j to A_i: A_i ≈ C A_j Cᵀ.
    let mut cs: Vec<Option<Mat<f64>>> = vec![None; k * k];
    for (&(i, j), s) in pairs.iter().zip(scored) {
        values[i * k + j] = s.value;
        values[j * k + i] = s.value;
        if let Some(al) = s.alignment {
            certificates[i * k + j] = Some(al.certificate.clone());
            certificates[j * k + i] = Some(al.certificate);
            cs[i * k + j] = Some(al.c);
        }
    }
    let mut out = DistanceMatrix {
        rows: k,
        cols: k,
        values,
        certificates,
        repaired: 0,
        repair_sweeps: 0,
    };
    if options.score.is_pavf() {
        repair_triangles(ops, options, &mut out, &mut cs)?;
    }
    Ok(out)
}

/// C_ij for any ordered pair (Cⱼᵢ = C_ijᵀ).
fn c_of(cs: &[Option<Mat<f64>>], k: usize, i: usize, j: usize) -> Option<Mat<f64>> {
    if i < j {
        cs[i * k + j].clone()
    } else {
        cs[j * k + i].as_ref().map(|c| c.transpose().to_owned())
    }
}

/// spec/pipeline.md §4: while some d(i,l) > d(i,j) + d(j,l) + [`TRIANGLE_TOLERANCE`], re-optimise
/// (i,l) from C_ij C_jl, which achieves at most d(i,j) + d(j,l); every entry stays an achieved value.
///
/// [`pairwise`] calls this after its first pass; it is public so that a first pass computed elsewhere
/// (e.g. merged shards) can be repaired too. `out` is a self-pairwise K × K matrix of the PAVF score
/// `options.score` and `alignments[i·K + j]` (i < j) holds the C_ij that achieves `out`'s (i, j) entry
/// (aligning A_j to A_i, at the common size max rank), or `None` when unknown (that pair is then never
/// used as a leg of a composition). Updates `out.values`, `out.certificates`, `out.repaired`,
/// `out.repair_sweeps` and `alignments`.
pub fn repair_triangles(
    ops: &[Operator],
    options: &ScoreOptions,
    out: &mut DistanceMatrix,
    cs: &mut [Option<Mat<f64>>],
) -> Result<()> {
    let k = ops.len();
    let size = ops.iter().map(Operator::rank).max().unwrap_or(0);
    if !options.score.is_pavf() || out.rows != k || out.cols != k || cs.len() != k * k {
        return Err(Error::InvalidParameter {
            name: "score",
            value: options.score.name().to_string(),
            reason: format!(
                "triangle repair needs a PAVF score, a {k}×{k} matrix and {} alignments",
                k * k
            ),
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
                    let (Some(c_ij), Some(c_jl)) = (c_of(cs, k, i, j), c_of(cs, k, j, l)) else {
                        continue;
                    };
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
                        cs[i * k + l] = Some(al.c);
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
    out.repaired = touched.iter().filter(|&&t| t).count();
    Ok(())
}
