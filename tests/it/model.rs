//! Model files (spec/io.md §4): saved operators reload bit for bit; bad files are typed errors.

use dynsim::dsa::{compare, fit_all, Score, ScoreOptions};
use dynsim::embedding::{Dataset, DelayParams};
use dynsim::io::model::{self, NamedOperator};
use dynsim::operator::{FitParams, Operator, RankRule, Regression};
use dynsim::Error;
use faer::Mat;

use crate::common::*;

fn system(seed: u64) -> Dataset {
    let mut r = rng(seed);
    let a = Mat::from_fn(3, 3, |i, j| if i == j { 0.9 } else { 0.0 })
        + gaussian_matrix(3, 3, &mut r) * faer::Scale(0.05);
    let trials: Vec<Vec<f64>> = (0..3)
        .map(|_| {
            let x0: Vec<f64> = (0..3).map(|_| gaussian(&mut r)).collect();
            let mut x = simulate(&a, &x0, 50);
            x.iter_mut().for_each(|v| *v += 0.05 * gaussian(&mut r));
            x
        })
        .collect();
    let slices: Vec<&[f64]> = trials.iter().map(Vec::as_slice).collect();
    Dataset::from_trials(&slices, 3).unwrap()
}

fn bits(a: faer::MatRef<'_, f64>) -> Vec<u64> {
    (0..a.nrows())
        .flat_map(|i| (0..a.ncols()).map(move |j| a[(i, j)].to_bits()))
        .collect()
}

#[test]
fn saved_operators_reload_bit_for_bit_under_every_rank_rule() {
    let data = [system(1), system(2)];
    let rules = [
        RankRule::Full,
        RankRule::Fixed(4),
        RankRule::Threshold(0.5),
        RankRule::ExplainedVariance(0.9),
        RankRule::Auto,
    ];
    let mut saved = Vec::new();
    for (k, rule) in rules.into_iter().enumerate() {
        let params = FitParams {
            delay: DelayParams {
                n_delays: 2,
                delay_interval: 1 + k % 2,
            },
            rank: rule,
            lambda: 1e-6 * k as f64,
            steps_ahead: 1 + k % 3,
            regression: if k == 2 {
                Regression::ReducedRank
            } else {
                Regression::PrincipalComponent
            },
        };
        for op in fit_all(&data, &[params]).unwrap() {
            saved.push(NamedOperator {
                name: format!("system {k} ‘ünïcode’ \"quoted\""),
                operator: op,
            });
        }
    }
    let text = model::to_string(&saved).unwrap();
    let loaded = model::from_str(&text, "mem.json").unwrap();
    assert_eq!(loaded.len(), saved.len());
    for (a, b) in saved.iter().zip(&loaded) {
        let (x, y): (&Operator, &Operator) = (&a.operator, &b.operator);
        assert_eq!(a.name, b.name);
        assert_eq!(bits(x.matrix()), bits(y.matrix()));
        assert_eq!(x.singular_values(), y.singular_values());
        assert_eq!(x.eigenvalues(), y.eigenvalues());
        assert_eq!(x.r2().to_bits(), y.r2().to_bits());
        assert_eq!(x.params(), y.params());
        assert_eq!(
            (x.n_features(), x.n_samples(), x.n_transitions()),
            (y.n_features(), y.n_samples(), y.n_transitions())
        );
    }
    // Distances from reloaded operators are bit-identical.
    for score in Score::ALL {
        let opts = ScoreOptions {
            score,
            ..ScoreOptions::default()
        };
        let d0 = compare(&saved[0].operator, &saved[3].operator, &opts).unwrap();
        let d1 = compare(&loaded[0].operator, &loaded[3].operator, &opts).unwrap();
        assert_eq!(d0.value.to_bits(), d1.value.to_bits(), "{score:?}");
    }
    // Through a file (atomic write, then read).
    let dir = std::env::temp_dir().join(format!("dynsim-model-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("m.json");
    model::write(&path, &saved[..2]).unwrap();
    let back = model::read(&path).unwrap();
    assert_eq!(
        bits(back[1].operator.matrix()),
        bits(saved[1].operator.matrix())
    );
    // Writing into a missing directory is an Io error naming the file, and leaves nothing.
    let missing = dir.join("no/such/m.json");
    match model::write(&missing, &saved) {
        Err(Error::Io { path, .. }) => assert!(path.contains("m.json")),
        other => panic!("{other:?}"),
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_model_files_are_format_errors() {
    let op = fit_all(&[system(3)], &[FitParams::default()])
        .unwrap()
        .remove(0);
    let good = model::to_string(&[NamedOperator {
        name: "x".into(),
        operator: op,
    }])
    .unwrap();
    let format_error = |text: &str, needle: &str| match model::from_str(text, "bad.json") {
        Err(Error::Format { path, reason, .. }) => {
            assert_eq!(path, "bad.json");
            assert!(reason.contains(needle), "{reason}");
        }
        other => panic!("expected a format error for {needle}, got {other:?}"),
    };
    format_error("", "not a dynsim model file");
    format_error("{\"format\": 1}", "not a dynsim model file");
    format_error(
        &good.replace("\"version\": 1", "\"version\": 2"),
        "version 2",
    );
    format_error(&good.replace("dynsim-model", "other"), "\"other\"");
    let v: serde_json::Value = serde_json::from_str(&good).unwrap();
    let mut no_ops = v.clone();
    no_ops["operators"] = serde_json::json!([]);
    format_error(&no_ops.to_string(), "no operator");
    let mut ragged = v.clone();
    ragged["operators"][0]["operator"][1] = serde_json::json!([1.0]);
    format_error(&ragged.to_string(), "row 1");
    let mut wrong_rank = v.clone();
    wrong_rank["operators"][0]["rank"] = serde_json::json!(7);
    format_error(&wrong_rank.to_string(), "rank is 7");
    let mut negative_sv = v.clone();
    negative_sv["operators"][0]["singular_values"][0] = serde_json::json!(-1.0);
    format_error(&negative_sv.to_string(), "singular_values");
    let mut bad_params = v;
    bad_params["operators"][0]["params"]["n_delays"] = serde_json::json!(0);
    format_error(&bad_params.to_string(), "n_delays");
    match model::read(std::path::Path::new("/nonexistent/dir/m.json")) {
        Err(Error::Io { path, .. }) => assert!(path.contains("m.json")),
        other => panic!("{other:?}"),
    }
}
