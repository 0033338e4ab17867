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
//!    only an upper bound); 0 where the true value is 0.

use std::path::{Path, PathBuf};

use dynsim::dsa::{compare, pairwise, Score, ScoreOptions};
use dynsim::embedding::DelayParams;
use dynsim::io::read_dataset;
use dynsim::operator::{fit, FitParams, Operator, RankRule};
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

/// The recorded fit parameters: `n_delays`, `lambda` and optionally `delay_interval`, `steps_ahead`
/// and at most one of `rank`, `rank_thresh`, `rank_explained_variance` (absent or null: the default).
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
        ..FitParams::default()
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
    let total: u64 = std::fs::read_dir(fixtures())
        .expect("fixtures directory")
        .map(|e| e.expect("entry").metadata().expect("metadata").len())
        .sum();
    assert!(total < 200_000, "fixtures take {total} bytes");
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

        let mut ours = singular_values(&op.matrix().to_owned());
        ours.sort_by(|a, b| b.total_cmp(a));
        let theirs = f64s(&up["operator_singular_values"]);
        assert_eq!(ours.len(), theirs.len(), "{name}: σ(A_v) count");
        let scale = theirs.iter().copied().fold(0.0, f64::max);
        for (k, (x, y)) in ours.iter().zip(&theirs).enumerate() {
            let rel = (x - y).abs() / scale;
            assert!(
                rel <= tol,
                "{name}: σ_{k}(A_v) = {x} vs upstream {y} ({rel:.2e} of σ_max > {tol:e})"
            );
        }
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

#[test]
fn pavf_is_never_worse_than_upstream() {
    let doc = expected();
    for case in doc["pavf"].as_array().expect("pavf stage") {
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
