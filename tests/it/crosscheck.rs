//! Cross-check against recorded values of upstream DSA (`dsa-metric` 2.0.2) — spec/conformance.md,
//! "Cross-check against dsa-metric 2.0.2".
//!
//! The fixtures in `tests/data/crosscheck/` (small `.npy` systems, one ragged `.npz`, `expected.json`)
//! were written by `tools/crosscheck/crosscheck.py`, which ran upstream as a library; this test needs
//! no Python. It refits every system with dynsim's library and checks it against upstream's recorded values at the
//! tolerances recorded with them:
//! 1. operator: Hankel singular values (per value, relative), eigenvalues and singular values of A_v
//!    (relative to the largest modulus of the set);
//! 2. wasserstein: the W₂² self-pairwise matrices, absolute;
//! 3. pavf: dynsim's PAVF score (angular, euclidean) ≤ upstream's + tolerance (upstream's value is
//!    only an upper bound); 0 where the true value is 0 — at size 4 (`pavf`) and 8–12 (`pavf_large`);
//!
//! and the stages added for issue #6:
//! 0. embedding: upstream's float32 Hankel matrices equal dynsim's embedding rounded to float32;
//! 1b. reduced_rank: rank, the r non-zero eigenvalues, and the singular values of the compression of
//!    upstream's p × p operator to span(W_r) (dynsim's operator is r × r, spec/operator.md §5);
//! 2b. wasserstein_zero_pad: upstream's matrix path (zero-padded spectra) vs `UnequalSizes::ZeroPad`;
//! 4. dsa_matrix: a full angular self-pairwise `DSA(...)` matrix, one-sided per entry.

use std::path::{Path, PathBuf};

use dynsim::alignment::UnequalSizes;
use dynsim::dsa::{compare, pairwise, Score, ScoreOptions};
use dynsim::embedding::DelayParams;
use dynsim::io::read_dataset;
use dynsim::operator::{fit, FitParams, Operator, RankRule, Regression};
use serde_json::Value;

use crate::common::singular_values;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/crosscheck")
}

fn expected() -> Value {
    let path = fixtures().join("expected.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("expected.json parses")
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

fn complex(v: &Value) -> Vec<(f64, f64)> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|z| {
            let z = f64s(z);
            (z[0], z[1])
        })
        .collect()
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("missing string {key}"))
}

/// The case's tolerance value, after checking its kind.
fn tolerance(case: &Value, kind: &str) -> f64 {
    assert_eq!(
        str_of(&case["tolerance"], "kind"),
        kind,
        "{}",
        str_of(case, "case")
    );
    case["tolerance"]["value"].as_f64().expect("tolerance")
}

/// The recorded fit parameters: `n_delays`, `lambda` and optionally `delay_interval`, `steps_ahead`,
/// `regression` (`"reduced_rank"`; absent: principal-component regression) and at most one of `rank`,
/// `rank_thresh`, `rank_explained_variance` (absent or null: the default).
fn fit_params(p: &Value) -> FitParams {
    let opt_usize = |key: &str| p.get(key).and_then(Value::as_u64).map(|v| v as usize);
    let opt_f64 = |key: &str| p.get(key).and_then(Value::as_f64);
    FitParams {
        delay: DelayParams {
            n_delays: opt_usize("n_delays").expect("n_delays"),
            delay_interval: opt_usize("delay_interval").unwrap_or(1),
        },
        rank: RankRule::from_options(
            opt_usize("rank"),
            opt_f64("rank_thresh"),
            opt_f64("rank_explained_variance"),
            false,
        )
        .expect("one rank rule"),
        lambda: opt_f64("lambda").expect("lambda"),
        steps_ahead: opt_usize("steps_ahead").unwrap_or(1),
        regression: match p.get("regression").and_then(Value::as_str) {
            None => Regression::PrincipalComponent,
            Some("reduced_rank") => Regression::ReducedRank,
            Some(other) => panic!("unknown regression {other}"),
        },
    }
}

/// Fits the fixture `file` with `params`.
fn fit_file(file: &str, params: &FitParams) -> Operator {
    let data = read_dataset(&fixtures().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    fit(&data, params).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// As [`fit_params`] with the rank replaced by a fixed `rank`.
fn with_rank(p: &Value, rank: usize) -> FitParams {
    FitParams {
        rank: RankRule::Fixed(rank),
        ..fit_params(p)
    }
}

fn usize_of(v: &Value) -> usize {
    v.as_u64().expect("integer") as usize
}

/// Pairs each upstream eigenvalue (largest modulus first) with the nearest unused dynsim eigenvalue
/// and returns max |λ_dynsim − λ_upstream| / max |λ_upstream| (the script's rule).
fn eigenvalue_error(upstream: &[(f64, f64)], ours: &[(f64, f64)]) -> f64 {
    assert_eq!(upstream.len(), ours.len());
    let modulus = |z: &(f64, f64)| z.0.hypot(z.1);
    let mut order: Vec<usize> = (0..upstream.len()).collect();
    order.sort_by(|&i, &j| modulus(&upstream[j]).total_cmp(&modulus(&upstream[i])));
    let mut used = vec![false; ours.len()];
    let mut worst = 0.0f64;
    for i in order {
        let (u_re, u_im) = upstream[i];
        let (j, d) = ours
            .iter()
            .enumerate()
            .filter(|(j, _)| !used[*j])
            .map(|(j, &(re, im))| (j, (re - u_re).hypot(im - u_im)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .expect("an unused eigenvalue");
        used[j] = true;
        worst = worst.max(d);
    }
    let scale = upstream.iter().map(modulus).fold(0.0, f64::max);
    worst / scale
}

#[test]
fn fixtures_are_complete_and_small() {
    let doc = expected();
    let header = &doc["header"];
    assert_eq!(str_of(header, "upstream_version"), "2.0.2");
    assert!(str_of(header, "command").contains("crosscheck.py"));
    assert!(!str_of(header, "date").is_empty());
    assert!(doc["operator"].as_array().expect("operator stage").len() >= 6);
    assert!(
        doc["wasserstein"]
            .as_array()
            .expect("wasserstein stage")
            .len()
            >= 2
    );
    assert!(doc["pavf"].as_array().expect("pavf stage").len() >= 6);
    for (stage, min) in [
        ("embedding", 3),
        ("reduced_rank", 6),
        ("wasserstein_zero_pad", 2),
        ("pavf_large", 4),
        ("dsa_matrix", 1),
    ] {
        let n = doc[stage].as_array().map_or(0, Vec::len);
        assert!(
            n >= min,
            "stage {stage}: {n} cases, expected at least {min}"
        );
    }
    let total: u64 = std::fs::read_dir(fixtures())
        .expect("fixtures directory")
        .map(|e| e.expect("entry").metadata().expect("metadata").len())
        .sum();
    assert!(total < 250_000, "fixtures take {total} bytes");
}

#[test]
fn operator_spectra_match_upstream() {
    let doc = expected();
    for case in doc["operator"].as_array().expect("operator stage") {
        let name = str_of(case, "case");
        let tol = tolerance(case, "relative");
        let op = fit_file(str_of(case, "data"), &fit_params(&case["params"]));
        let up = &case["upstream"];
        assert_eq!(op.rank(), usize_of(&up["rank"]), "{name}: rank");

        let up_s = f64s(&up["hankel_singular_values"]);
        assert_eq!(op.singular_values().len(), up_s.len(), "{name}: σ(H) count");
        for (k, (ours, theirs)) in op.singular_values().iter().zip(&up_s).enumerate() {
            let rel = (ours - theirs).abs() / theirs.abs();
            assert!(
                rel <= tol,
                "{name}: σ_{k}(H) = {ours} vs upstream {theirs} (relative error {rel:.2e} > {tol:e})"
            );
        }

        let err = eigenvalue_error(&complex(&up["eigenvalues"]), op.eigenvalues());
        assert!(
            err <= tol,
            "{name}: eigenvalues of A_v differ from upstream's by {err:.2e} of the spectral radius (> {tol:e})"
        );

        assert_operator_singular_values(
            name,
            &op,
            &f64s(&up["operator_singular_values"]),
            tol,
            "upstream",
        );
    }
}

#[test]
fn wasserstein_matrices_match_upstream() {
    let doc = expected();
    for case in doc["wasserstein"].as_array().expect("wasserstein stage") {
        let name = str_of(case, "case");
        let tol = tolerance(case, "absolute");
        let p = &case["params"];
        assert_eq!(str_of(p, "score"), "wasserstein", "{name}");
        assert_eq!(str_of(p, "unequal"), "transport", "{name}");
        let files = case["data"].as_array().expect("data files");
        let ranks = p["ranks"].as_array().expect("ranks");
        let ops: Vec<Operator> = files
            .iter()
            .zip(ranks)
            .map(|(f, r)| fit_file(f.as_str().expect("file"), &with_rank(p, usize_of(r))))
            .collect();
        let options = ScoreOptions {
            score: Score::Wasserstein,
            ..ScoreOptions::default()
        };
        let d = pairwise(&ops, &options).unwrap_or_else(|e| panic!("{name}: {e}"));
        let up = case["upstream"].as_array().expect("matrix");
        assert_eq!(up.len(), ops.len(), "{name}: rows");
        for (i, row) in up.iter().enumerate() {
            let row = f64s(row);
            assert_eq!(row.len(), ops.len(), "{name}: row {i}");
            for (j, theirs) in row.into_iter().enumerate() {
                let ours = d.get(i, j).expect("entry");
                assert!(
                    (ours - theirs).abs() <= tol,
                    "{name}: W₂²[{i},{j}] = {ours} vs upstream {theirs} (|Δ| > {tol:e})"
                );
            }
        }
    }
}

/// One-sided PAVF check of every case of `stage` (stage 3 and 3b): dynsim ≤ upstream + tolerance, and
/// ≤ 1e-6 where the true value is 0.
fn check_pavf_stage(doc: &Value, stage: &str) {
    for case in doc[stage].as_array().expect("pavf stage") {
        let name = str_of(case, "case");
        let tol = tolerance(case, "upper_bound");
        let p = &case["params"];
        let score = Score::parse(str_of(p, "score")).expect("score");
        assert!(score.is_pavf(), "{name}: a PAVF score");
        let params = fit_params(p);
        assert!(
            matches!(params.rank, RankRule::Fixed(_)),
            "{name}: fixed rank"
        );
        let a = fit_file(str_of(case, "x"), &params);
        let b = fit_file(str_of(case, "y"), &params);
        let options = ScoreOptions {
            score,
            ..ScoreOptions::default()
        };
        let ours = compare(&a, &b, &options)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .value;
        let theirs = case["upstream"].as_f64().expect("upstream value");
        assert!(
            ours <= theirs + tol,
            "{name}: dynsim's value {ours} exceeds upstream's {theirs} by more than {tol:e}"
        );
        // A rotated readout is the same system (upstream.md §8.7): the true value is 0.
        if case["true_value"].as_f64() == Some(0.0) {
            assert!(
                ours <= 1e-6,
                "{name}: the true value is 0, dynsim gives {ours}"
            );
        }
    }
}

#[test]
fn pavf_is_never_worse_than_upstream() {
    check_pavf_stage(&expected(), "pavf");
}

#[test]
fn pavf_at_sizes_8_to_12_is_never_worse_than_upstream() {
    let doc = expected();
    let sizes: Vec<usize> = doc["pavf_large"]
        .as_array()
        .expect("pavf_large stage")
        .iter()
        .map(|c| usize_of(&c["params"]["rank"]))
        .collect();
    assert!(sizes.iter().all(|r| (8..=12).contains(r)), "{sizes:?}");
    check_pavf_stage(&doc, "pavf_large");
}

#[test]
fn embedding_matches_upstream_to_float32_rounding() {
    let doc = expected();
    for case in doc["embedding"].as_array().expect("embedding stage") {
        let name = str_of(case, "case");
        let tol = tolerance(case, "float32_rounding");
        assert_eq!(tol, 2f64.powi(-24), "{name}: half an f32 ulp, relative");
        let p = &case["params"];
        let params = DelayParams {
            n_delays: usize_of(&p["n_delays"]),
            delay_interval: usize_of(&p["delay_interval"]),
        };
        let file = str_of(case, "data");
        let data = read_dataset(&fixtures().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let h = data
            .embed(&params)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        // Upstream's Hankel matrix, float32 (converted to f64 exactly by the reader), one trial per
        // trial of the data.
        let up_file = str_of(case, "upstream_file");
        let up =
            read_dataset(&fixtures().join(up_file)).unwrap_or_else(|e| panic!("{up_file}: {e}"));
        assert_eq!(up.n_trials(), h.n_trials(), "{name}: trials");
        let cols = h.matrix.ncols();
        assert_eq!(up.n_features(), cols, "{name}: columns N·D");
        for i in 0..h.n_trials() {
            let rows = h.trial_rows(i).expect("trial");
            assert_eq!(up.trial_len(i), Some(rows), "{name}: rows of trial {i}");
            let theirs = up.trial(i).expect("trial");
            for t in 0..rows {
                for c in 0..cols {
                    let ours = h.matrix[(h.offsets[i] + t, c)];
                    let up_value = theirs[t * cols + c];
                    // Round to nearest even, as torch's float64 → float32 copy.
                    assert_eq!(
                        f64::from(ours as f32),
                        up_value,
                        "{name}: trial {i}, row {t}, column {c}: dynsim {ours} vs upstream {up_value}"
                    );
                    assert!((ours - up_value).abs() <= tol * ours.abs(), "{name}");
                }
            }
        }
    }
}

#[test]
fn reduced_rank_matches_upstream_spectrum() {
    let doc = expected();
    let mut compared = 0;
    for case in doc["reduced_rank"].as_array().expect("reduced_rank stage") {
        let name = str_of(case, "case");
        let kind = str_of(&case["tolerance"], "kind");
        let tol = case["tolerance"]["value"].as_f64().expect("tolerance");
        let params = fit_params(&case["params"]);
        assert_eq!(params.regression, Regression::ReducedRank, "{name}");
        let op = fit_file(str_of(case, "data"), &params);
        let up = &case["upstream"];
        let r = usize_of(&up["rank"]);
        // The rank rule is applied to the projector's eigenvalues in both programs.
        assert_eq!(op.rank(), r, "{name}: rank");
        match kind {
            // The rank cut falls in a cluster of tied projector eigenvalues: span(W_r) is not
            // determined by the data, only the rank is compared (spec/conformance.md).
            "rank_only" => continue,
            "relative" => compared += 1,
            other => panic!("{name}: unknown tolerance kind {other}"),
        }
        // Upstream's p × p operator has rank r: its r largest eigenvalues are dynsim's.
        let p = usize_of(&up["operator_shape"][0]);
        assert!(r <= p, "{name}");
        let up_eig = complex(&up["eigenvalues_nonzero"]);
        assert_eq!(up_eig.len(), r, "{name}");
        let err = eigenvalue_error(&up_eig, op.eigenvalues());
        assert!(
            err <= tol,
            "{name}: eigenvalues differ from upstream's non-zero ones by {err:.2e} of the spectral radius"
        );
        // dynsim's A_v is orthogonally similar to W_rᵀ A_upᵀ W_r: same singular values.
        assert_operator_singular_values(
            name,
            &op,
            &f64s(&up["compression_singular_values"]),
            tol,
            "upstream's compression",
        );
    }
    assert!(compared >= 6, "only {compared} compared cases");
}

/// Fits every file of `case["data"]` with the case's parameters and its per-system `ranks`.
fn fit_with_ranks(case: &Value) -> Vec<Operator> {
    let p = &case["params"];
    let files = case["data"].as_array().expect("data files");
    let ranks = p["ranks"].as_array().expect("ranks");
    assert_eq!(files.len(), ranks.len());
    files
        .iter()
        .zip(ranks)
        .map(|(f, r)| fit_file(f.as_str().expect("file"), &with_rank(p, usize_of(r))))
        .collect()
}

#[test]
fn wasserstein_zero_pad_matches_upstream_matrix_path() {
    let doc = expected();
    let options = ScoreOptions {
        score: Score::Wasserstein,
        unequal: UnequalSizes::ZeroPad,
        ..ScoreOptions::default()
    };
    for case in doc["wasserstein_zero_pad"]
        .as_array()
        .expect("wasserstein_zero_pad stage")
    {
        let name = str_of(case, "case");
        let tol = tolerance(case, "absolute");
        assert_eq!(str_of(&case["params"], "unequal"), "zero_pad", "{name}");
        let ops = fit_with_ranks(case);
        match &case["upstream"] {
            // All ordered pairs, upstream's `SimilarityTransformDist(score_method='wasserstein')`.
            Value::Array(rows) => {
                let d = pairwise(&ops, &options).unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(rows.len(), ops.len(), "{name}: rows");
                for (i, row) in rows.iter().enumerate() {
                    for (j, theirs) in f64s(row).into_iter().enumerate() {
                        let ours = d.get(i, j).expect("entry");
                        assert!(
                            (ours - theirs).abs() <= tol,
                            "{name}: W₂²[{i},{j}] = {ours} vs upstream {theirs} (|Δ| > {tol:e})"
                        );
                    }
                }
            }
            // Upstream's `DSA(..., score_method='angular')` on operators of different sizes: its value
            // is the zero-padded W₂², not an angle.
            Value::Number(theirs) => {
                let theirs = theirs.as_f64().expect("number");
                assert_eq!(ops.len(), 2, "{name}");
                assert_ne!(ops[0].rank(), ops[1].rank(), "{name}: different sizes");
                let ours = compare(&ops[0], &ops[1], &options)
                    .unwrap_or_else(|e| panic!("{name}: {e}"))
                    .value;
                assert!(
                    (ours - theirs).abs() <= tol,
                    "{name}: zero-padded W₂² {ours} vs upstream's 'angular' {theirs}"
                );
            }
            other => panic!("{name}: unexpected upstream value {other}"),
        }
    }
}

#[test]
fn dsa_matrix_is_never_worse_than_upstream() {
    let doc = expected();
    for case in doc["dsa_matrix"].as_array().expect("dsa_matrix stage") {
        let name = str_of(case, "case");
        let tol = tolerance(case, "upper_bound");
        let p = &case["params"];
        let score = Score::parse(str_of(p, "score")).expect("score");
        assert!(score.is_pavf(), "{name}");
        let params = fit_params(p);
        let ops: Vec<Operator> = case["data"]
            .as_array()
            .expect("data files")
            .iter()
            .map(|f| fit_file(f.as_str().expect("file"), &params))
            .collect();
        let options = ScoreOptions {
            score,
            ..ScoreOptions::default()
        };
        let d = pairwise(&ops, &options).unwrap_or_else(|e| panic!("{name}: {e}"));
        let up = case["upstream"].as_array().expect("matrix");
        let truth = case["true_value"].as_array().expect("true values");
        assert_eq!(up.len(), ops.len(), "{name}: rows");
        for (i, row) in up.iter().enumerate() {
            let row = f64s(row);
            assert_eq!(row.len(), ops.len(), "{name}: row {i}");
            for (j, theirs) in row.into_iter().enumerate() {
                let ours = d.get(i, j).expect("entry");
                assert!(
                    ours <= theirs + tol,
                    "{name}[{i},{j}]: dynsim {ours} exceeds upstream's {theirs} by more than {tol:e}"
                );
                if i == j {
                    assert_eq!(ours, 0.0, "{name}: diagonal");
                }
                // Rotated readouts of one system (upstream.md §8.7): true value 0.
                if truth[i][j].as_f64() == Some(0.0) {
                    assert!(ours <= 1e-6, "{name}[{i},{j}]: true value 0, dynsim {ours}");
                }
            }
        }
    }
}

/// The singular values of dynsim's A_v, sorted, within `tol` of `theirs` relative to the largest.
fn assert_operator_singular_values(
    name: &str,
    op: &dynsim::operator::Operator,
    theirs: &[f64],
    tol: f64,
    what: &str,
) {
    let mut ours = singular_values(&op.matrix().to_owned());
    ours.sort_by(|a, b| b.total_cmp(a));
    assert_eq!(ours.len(), theirs.len(), "{name}: σ(A_v) count");
    let scale = theirs.iter().copied().fold(0.0, f64::max);
    for (k, (x, y)) in ours.iter().zip(theirs).enumerate() {
        let rel = (x - y).abs() / scale;
        assert!(
            rel <= tol,
            "{name}: σ_{k}(A_v) = {x} vs {what} {y} ({rel:.2e} of σ_max > {tol:e})"
        );
    }
}
