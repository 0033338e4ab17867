//! The learning-rules case study (spec/cases.md §6).

use dynsim::analysis::{nearest_neighbor_accuracy, silhouette};
use dynsim::baselines::{pairwise_distances, Baseline};
use dynsim::cases::learning::{
    dataset, standardise, study, task, train, LearningParams, Mlp, Rule, Standardisation, FEATURES,
    STATISTICS,
};
use dynsim::dsa::{fit_all, pairwise, Score, ScoreOptions};
use dynsim::embedding::DelayParams;
use dynsim::operator::{FitParams, RankRule};
use dynsim::Error;
use faer::{Mat, MatRef};

use crate::cases::rounded_json;

/// 1-NN accuracy and silhouette of a K × K matrix restricted to `keep`, under `labels`.
fn scores(values: &[f64], k: usize, labels: &[usize], keep: &[usize]) -> (f64, f64) {
    let sub: Vec<f64> = keep
        .iter()
        .flat_map(|&i| keep.iter().map(move |&j| values[i * k + j]))
        .collect();
    let lab: Vec<usize> = keep.iter().map(|&i| labels[i]).collect();
    let v = MatRef::from_row_major_slice(&sub, keep.len(), keep.len());
    (
        nearest_neighbor_accuracy(v, &lab).unwrap(),
        silhouette(v, &lab).unwrap(),
    )
}

/// What the study measures on one matrix.
#[derive(Debug, Clone, Copy)]
struct Outcome {
    /// 1-NN accuracy and silhouette over the four rules.
    four: (f64, f64),
    /// The same with SGD and FA merged (three optimiser families).
    merged: (f64, f64),
    /// Restricted to the SGD and FA runs.
    sgd_fa: (f64, f64),
}

fn outcome(values: &[f64], labels: &[usize]) -> Outcome {
    let k = labels.len();
    let all: Vec<usize> = (0..k).collect();
    let merged: Vec<usize> = labels.iter().map(|&l| if l == 3 { 0 } else { l }).collect();
    let sgd_fa: Vec<usize> = (0..k)
        .filter(|&i| labels[i] == 0 || labels[i] == 3)
        .collect();
    Outcome {
        four: scores(values, k, labels, &all),
        merged: scores(values, k, &merged, &all),
        sgd_fa: scores(values, k, labels, &sgd_fa),
    }
}

fn study_matrices(
    p: &LearningParams,
    mode: Standardisation,
    d: usize,
    r: usize,
    scores_: &[Score],
) -> (Vec<usize>, Vec<(String, Vec<f64>)>) {
    let runs = study(p).unwrap();
    let labels: Vec<usize> = runs.iter().map(|r| r.rule.label()).collect();
    for rule in Rule::ALL {
        let (mut lo, mut hi, mut mean) = (f64::INFINITY, 0.0f64, 0.0);
        for r in runs.iter().filter(|r| r.rule == rule) {
            lo = lo.min(r.final_loss);
            hi = hi.max(r.final_loss);
            mean += r.final_loss / p.runs_per_rule as f64;
        }
        let init: f64 = runs
            .iter()
            .filter(|r| r.rule == rule)
            .map(|r| r.initial_loss)
            .sum::<f64>()
            / p.runs_per_rule as f64;
        eprintln!(
            "learning rules (seed {}), {}: test loss {init:.3} → {mean:.3} (runs {lo:.3}–{hi:.3})",
            p.seed,
            rule.name()
        );
    }
    let trajs: Vec<Vec<f64>> = runs.iter().map(|r| r.trajectory.clone()).collect();
    let z = standardise(&trajs, FEATURES, mode).unwrap();
    let rows = z[0].len() / FEATURES;
    let views: Vec<_> = z
        .iter()
        .map(|t| MatRef::from_row_major_slice(t, rows, FEATURES))
        .collect();
    let mut out = vec![(
        "procrustes".to_string(),
        pairwise_distances(&views, Baseline::ProcrustesAngular).unwrap(),
    )];
    let data: Vec<_> = z
        .iter()
        .enumerate()
        .map(|(i, t)| dataset(t, FEATURES, &format!("run {i}")).unwrap())
        .collect();
    let params = FitParams {
        delay: DelayParams {
            n_delays: d,
            delay_interval: 1,
        },
        rank: RankRule::Fixed(r),
        ..FitParams::default()
    };
    let ops = fit_all(&data, &[params]).unwrap();
    for &score in scores_ {
        let m = pairwise(
            &ops,
            &ScoreOptions {
                score,
                ..ScoreOptions::default()
            },
        )
        .unwrap();
        out.push((score.name().to_string(), m.values));
    }
    (labels, out)
}

/// A batch of `b` Gaussian inputs (deterministic: a golden-ratio sequence mapped to [−2, 2)) and
/// its teacher outputs.
fn batch(t: &dynsim::cases::learning::Task, b: usize) -> (Mat<f64>, Mat<f64>) {
    let n_in = t.teacher.w1.ncols();
    let x = Mat::from_fn(b, n_in, |i, j| {
        -2.0 + 4.0 * ((i * n_in + j) as f64 * 0.618_033_988_749_895).fract()
    });
    let (_, y) = t.teacher.forward(x.as_ref());
    (x, y)
}

fn max_abs(m: &Mat<f64>) -> f64 {
    let mut s = 0.0f64;
    for j in 0..m.ncols() {
        for i in 0..m.nrows() {
            s = s.max(m[(i, j)].abs());
        }
    }
    s
}

#[test]
fn backward_pass_matches_finite_differences() {
    let p = LearningParams::default();
    let t = task(&p, 1).unwrap();
    let (x, y) = batch(&t, 7);
    let w = t.initial.clone();
    let g = w.gradients(x.as_ref(), y.as_ref(), None).unwrap();
    assert_eq!(g.loss, w.loss(x.as_ref(), y.as_ref()).unwrap());
    // Central differences: truncation O(h²) ~ 1e-12 and rounding ε L / h ~ 1e-10 at h = 1e-6.
    let h = 1e-6;
    let mut worst = 0.0f64;
    for layer in 0..2 {
        let (rows, cols) = if layer == 0 {
            (w.w1.nrows(), w.w1.ncols())
        } else {
            (w.w2.nrows(), w.w2.ncols())
        };
        for i in 0..rows {
            for j in 0..cols {
                let shifted = |delta: f64| -> f64 {
                    let mut v: Mlp = w.clone();
                    if layer == 0 {
                        v.w1[(i, j)] += delta;
                    } else {
                        v.w2[(i, j)] += delta;
                    }
                    v.loss(x.as_ref(), y.as_ref()).unwrap()
                };
                let fd = (shifted(h) - shifted(-h)) / (2.0 * h);
                let an = if layer == 0 {
                    g.g1[(i, j)]
                } else {
                    g.g2[(i, j)]
                };
                worst = worst.max((fd - an).abs());
            }
        }
    }
    let scale = max_abs(&g.g1).max(max_abs(&g.g2));
    assert!(scale > 1e-2, "a non-trivial gradient ({scale})");
    assert!(worst <= 1e-7 * scale, "finite differences off by {worst}");
}

#[test]
fn feedback_alignment_is_backprop_with_w2_replaced_by_the_feedback_matrix() {
    let p = LearningParams::default();
    let t = task(&p, 2).unwrap();
    let (x, y) = batch(&t, 5);
    let w = &t.initial;
    let bp = w.gradients(x.as_ref(), y.as_ref(), None).unwrap();
    // With F = W₂ the FA update is backprop's (bit for bit: the same operations).
    let same = w
        .gradients(x.as_ref(), y.as_ref(), Some(w.w2.as_ref()))
        .unwrap();
    assert_eq!(same, bp);
    // With the random F, G₂ is still ∂L/∂W₂ and G₁ is not ∂L/∂W₁ …
    let fa = w
        .gradients(x.as_ref(), y.as_ref(), Some(t.feedback.as_ref()))
        .unwrap();
    assert_eq!(fa.g2, bp.g2);
    assert_eq!(fa.loss, bp.loss);
    let diff = &fa.g1 - &bp.g1;
    assert!(max_abs(&diff) > 0.1 * max_abs(&bp.g1));
    // … but it is linear in F (Δ = (E F) ⊙ (1 − H ⊙ H)): 2F gives exactly 2 G₁ (scaling by 2 is
    // exact), F = 0 gives 0, and G₁(F) = G₁(W₂) + G₁(F − W₂), i.e. backprop's G₁ plus the part
    // due to the feedback's difference from W₂.
    let doubled = &t.feedback * 2.0;
    let fa2 = w
        .gradients(x.as_ref(), y.as_ref(), Some(doubled.as_ref()))
        .unwrap();
    assert_eq!(fa2.g1, &fa.g1 * 2.0);
    let zero = Mat::<f64>::zeros(t.feedback.nrows(), t.feedback.ncols());
    let g0 = w
        .gradients(x.as_ref(), y.as_ref(), Some(zero.as_ref()))
        .unwrap();
    assert_eq!(max_abs(&g0.g1), 0.0);
    let rest = &t.feedback - &w.w2;
    let gr = w
        .gradients(x.as_ref(), y.as_ref(), Some(rest.as_ref()))
        .unwrap();
    let sum = &bp.g1 + &gr.g1;
    assert!(max_abs(&(&sum - &fa.g1)) <= 1e-14 * max_abs(&fa.g1).max(1.0));
}

#[test]
fn first_updates_have_their_closed_forms() {
    // Step 1 from the same weights and batch: SGD, momentum and FA update by −η G (momentum's
    // buffer starts at 0, so V₁ = G₁), Adam by −η g/(|g| + ε) per entry (bias correction makes
    // m̂ = g and ŝ = g²), so its update norm is η √P (P entries, none zero) to ~ε/|g|.
    let p = LearningParams {
        steps: 1,
        ..LearningParams::default()
    };
    let runs: Vec<_> = Rule::ALL
        .iter()
        .map(|&r| train(&p, r, 0).unwrap())
        .collect();
    let t = task(&p, 0).unwrap();
    let col = |name: &str, layer: usize| {
        layer * STATISTICS.len() + STATISTICS.iter().position(|s| *s == name).unwrap()
    };
    let u = |r: usize, layer: usize| runs[r].trajectory[col("update_norm", layer)];
    // The updates change the weights by exactly the reported update: ‖W₁ − W₁⁰‖ = update norm.
    for (r, run) in runs.iter().enumerate() {
        let d1 = &run.weights.w1 - &t.initial.w1;
        let d2 = &run.weights.w2 - &t.initial.w2;
        assert!((d1.norm_l2() - u(r, 0)).abs() <= 1e-12 * u(r, 0));
        assert!((d2.norm_l2() - u(r, 1)).abs() <= 1e-12 * u(r, 1));
    }
    for layer in 0..2 {
        let sgd = u(0, layer) / p.sgd_rate;
        assert!((u(1, layer) / p.momentum_rate - sgd).abs() <= 1e-12 * sgd);
        let entries = if layer == 0 {
            p.hidden * p.inputs
        } else {
            p.outputs * p.hidden
        } as f64;
        let adam = p.adam_rate * entries.sqrt();
        assert!((u(2, layer) - adam).abs() <= 1e-6 * adam, "{}", u(2, layer));
    }
    // FA's layer 2 is SGD's; its layer 1 is not.
    let sgd2 = u(0, 1) / p.sgd_rate;
    assert!((u(3, 1) / p.fa_rate - sgd2).abs() <= 1e-12 * sgd2);
    assert!((u(3, 0) / p.fa_rate - u(0, 0) / p.sgd_rate).abs() > 1e-3 * u(0, 0) / p.sgd_rate);
    // The other statistics are those of the weights (independent two-pass formulas).
    for run in &runs {
        for (layer, w) in [&run.weights.w1, &run.weights.w2].into_iter().enumerate() {
            let vals: Vec<f64> = (0..w.ncols())
                .flat_map(|j| (0..w.nrows()).map(move |i| w[(i, j)]))
                .collect();
            let n = vals.len() as f64;
            let mean = vals.iter().sum::<f64>() / n;
            let sd = (vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
            let norm = vals.iter().map(|v| v * v).sum::<f64>().sqrt();
            let row = &run.trajectory[layer * STATISTICS.len()..];
            assert!((row[col("norm", 0)] - norm).abs() <= 1e-12 * norm);
            assert!((row[col("mean", 0)] - mean).abs() <= 1e-12 * norm);
            assert!((row[col("std", 0)] - sd).abs() <= 1e-12 * norm);
        }
    }
}

#[test]
fn every_rule_learns_and_runs_are_reproducible() {
    let p = LearningParams {
        runs_per_rule: 2,
        ..LearningParams::default()
    };
    let runs = study(&p).unwrap();
    assert_eq!(runs.len(), 8);
    for r in &runs {
        assert_eq!(r.trajectory.len(), p.steps * FEATURES);
        assert_eq!(r.batch_losses.len(), p.steps);
        // The test loss falls to below a fifth of its initial value (measured per-rule means:
        // 0.07–0.10 of it over seeds 0–3; spec/cases.md §6.3).
        assert!(
            r.final_loss < 0.2 * r.initial_loss,
            "{} {}: {} → {}",
            r.rule.name(),
            r.run,
            r.initial_loss,
            r.final_loss
        );
        let first: f64 = r.batch_losses[..20].iter().sum::<f64>() / 20.0;
        let last: f64 = r.batch_losses[p.steps - 50..].iter().sum::<f64>() / 50.0;
        assert!(last < 0.3 * first, "{} {}", r.rule.name(), r.run);
    }
    // Run s of every rule starts from the same weights (a paired design).
    let t = task(&p, 1).unwrap();
    let again = task(&p, 1).unwrap();
    assert_eq!(t.initial, again.initial);
    assert_eq!(
        train(&p, Rule::Adam, 1).unwrap().trajectory,
        runs[5].trajectory
    );
    // More runs per rule leave the earlier runs unchanged; another seed changes them.
    let more = study(&LearningParams {
        runs_per_rule: 3,
        ..p.clone()
    })
    .unwrap();
    assert_eq!(more[4].trajectory, runs[3].trajectory);
    let other = train(
        &LearningParams {
            seed: 1,
            ..p.clone()
        },
        Rule::Sgd,
        0,
    )
    .unwrap();
    assert_ne!(other.trajectory, runs[0].trajectory);
    // Label noise enters the batches only.
    let noisy = train(
        &LearningParams {
            label_noise: 0.1,
            ..p.clone()
        },
        Rule::Sgd,
        0,
    )
    .unwrap();
    assert_eq!(noisy.initial_loss, runs[0].initial_loss);
    assert_ne!(noisy.trajectory, runs[0].trajectory);
}

#[test]
fn standardisation_z_scores_per_run_or_globally() {
    let a: Vec<f64> = vec![1.0, 5.0, 2.0, 5.0, 3.0, 5.0, 6.0, 5.0];
    let b: Vec<f64> = vec![10.0, 0.0, 20.0, 1.0, 30.0, 2.0, 40.0, 3.0];
    let trs = vec![a.clone(), b.clone()];
    let none = standardise(&trs, 2, Standardisation::None).unwrap();
    assert_eq!(none, trs);
    let per = standardise(&trs, 2, Standardisation::PerRun).unwrap();
    // a's first column 1, 2, 3, 6: mean 3, population sd √3.5; its constant column becomes 0.
    let sd = 3.5f64.sqrt();
    let expect = [-2.0 / sd, 0.0, -1.0 / sd, 0.0, 0.0, 0.0, 3.0 / sd, 0.0];
    for (u, v) in per[0].iter().zip(expect) {
        assert!((u - v).abs() <= 1e-15);
    }
    // b's first column is 10 × (1, 2, 3, 4): the same z-scores as (1, 2, 3, 4).
    let sd = 1.25f64.sqrt();
    for (t, u) in per[1].iter().step_by(2).enumerate() {
        assert!((u - (t as f64 - 1.5) / sd).abs() <= 1e-15);
    }
    let global = standardise(&trs, 2, Standardisation::Global).unwrap();
    for f in 0..2 {
        let vals: Vec<f64> = global
            .iter()
            .flat_map(|t| t.iter().skip(f).step_by(2).copied())
            .collect();
        let n = vals.len() as f64;
        let mean = vals.iter().sum::<f64>() / n;
        let var = vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
        assert!(
            mean.abs() <= 1e-15 && (var - 1.0).abs() <= 1e-14,
            "{mean} {var}"
        );
    }
    // Errors: ragged, not a multiple of the features, NaN.
    assert!(matches!(
        standardise(&[a.clone(), vec![1.0; 6]], 2, Standardisation::PerRun),
        Err(Error::Shape { .. })
    ));
    assert!(matches!(
        standardise(&[vec![1.0; 3]], 2, Standardisation::PerRun),
        Err(Error::Shape { .. })
    ));
    assert!(matches!(
        standardise(&[], 2, Standardisation::PerRun),
        Err(Error::Shape { .. })
    ));
    let mut bad = b.clone();
    bad[5] = f64::NAN;
    match standardise(&[a, bad], 2, Standardisation::Global) {
        Err(Error::NonFinite { index, .. }) => assert_eq!(index, vec![2, 1]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn bad_parameters_are_refused() {
    let d = LearningParams::default();
    let cases = [
        LearningParams {
            hidden: 0,
            ..d.clone()
        },
        LearningParams {
            steps: 0,
            ..d.clone()
        },
        LearningParams {
            runs_per_rule: 0,
            ..d.clone()
        },
        LearningParams {
            sgd_rate: 0.0,
            ..d.clone()
        },
        LearningParams {
            adam_rate: f64::NAN,
            ..d.clone()
        },
        LearningParams {
            momentum: 1.0,
            ..d.clone()
        },
        LearningParams {
            adam_beta2: -0.1,
            ..d.clone()
        },
        LearningParams {
            label_noise: -1.0,
            ..d.clone()
        },
        LearningParams {
            teacher_gain: f64::INFINITY,
            ..d.clone()
        },
        LearningParams {
            steps: usize::MAX / 2,
            ..d.clone()
        },
    ];
    for p in &cases {
        assert!(
            matches!(study(p), Err(Error::InvalidParameter { .. })),
            "{p:?}"
        );
        assert!(matches!(
            train(p, Rule::Sgd, 0),
            Err(Error::InvalidParameter { .. })
        ));
    }
    // Shapes and values of a batch.
    let t = task(&d, 0).unwrap();
    let (x, y) = batch(&t, 3);
    let short = Mat::<f64>::zeros(3, d.outputs - 1);
    assert!(matches!(
        t.initial.gradients(x.as_ref(), short.as_ref(), None),
        Err(Error::Shape { .. })
    ));
    let wrong_f = Mat::<f64>::zeros(d.hidden, d.outputs);
    assert!(matches!(
        t.initial
            .gradients(x.as_ref(), y.as_ref(), Some(wrong_f.as_ref())),
        Err(Error::Shape { .. })
    ));
    let mut nan = x.clone();
    nan[(1, 2)] = f64::NAN;
    match t.initial.loss(nan.as_ref(), y.as_ref()) {
        Err(Error::NonFinite { index, .. }) => assert_eq!(index, vec![1, 2]),
        other => panic!("{other:?}"),
    }
    // A learning rate that makes SGD diverge is reported, not returned as NaN statistics.
    let wild = LearningParams {
        sgd_rate: 1e6,
        ..d.clone()
    };
    assert!(matches!(
        train(&wild, Rule::Sgd, 0),
        Err(Error::NonFinite { .. })
    ));
}

/// The study's DSA settings (spec/cases.md §6.6).
const N_DELAYS: usize = 2;
const RANK: usize = 8;

/// The study at `p`, asserted (spec/cases.md §6.7). Returns the DSA (W₂²) matrix.
fn rule_study(p: &LearningParams) -> Vec<f64> {
    let (labels, ms) = study_matrices(
        p,
        Standardisation::PerRun,
        N_DELAYS,
        RANK,
        &[Score::Wasserstein],
    );
    let (procrustes, dsa) = (outcome(&ms[0].1, &labels), outcome(&ms[1].1, &labels));
    eprintln!("learning rules (seed {}), DSA W₂²: {dsa:?}", p.seed);
    eprintln!(
        "learning rules (seed {}), Procrustes: {procrustes:?}",
        p.seed
    );
    // The thresholds are at or below the minima over seeds 0–15 (spec/cases.md §6.7); the settings
    // were chosen on seeds 0–3, seeds 4–15 are held out.
    // (a) DSA groups the runs by optimiser dynamics: with SGD and FA merged (they share the update
    // dynamics, an unfiltered gradient step), most nearest neighbours are in their own family and
    // the clusters are tight (measured minima 0.79 and 0.57).
    assert!(dsa.merged.0 >= 0.75, "DSA merged 1-NN {:?}", dsa.merged);
    assert!(
        dsa.merged.1 >= 0.5,
        "DSA merged silhouette {:?}",
        dsa.merged
    );
    // (b) Procrustes on the same trajectories does not make these clusters (measured maximum 0.23,
    // smallest margin 0.40).
    assert!(
        procrustes.merged.1 <= 0.3,
        "Procrustes merged silhouette {:?}",
        procrustes.merged
    );
    assert!(dsa.merged.1 >= procrustes.merged.1 + 0.3);
    // (c) Over the four rules DSA's 1-NN accuracy is above chance (0.25) but not at the 0.8
    // (0.50–0.88 measured; ≥ 0.8 at 2 of 16 seeds): SGD and FA are not told apart.
    assert!(dsa.four.0 >= 0.5, "DSA four-rule 1-NN {:?}", dsa.four);
    ms.into_iter().nth(1).unwrap().1
}

#[test]
fn dsa_groups_training_runs_by_optimiser_dynamics() {
    let p = LearningParams::default();
    let m = rule_study(&p);
    let k = 4 * p.runs_per_rule;
    // The snapshot guards the numbers; the assertions in `rule_study` are why they are right.
    insta::assert_snapshot!("learning_rules_wasserstein", rounded_json(k, &m));
}

/// The study's claims at seeds 1–3, the other seeds the settings were chosen on (about 3 s in the
/// test profile).
#[test]
fn learning_rule_study_holds_at_other_seeds() {
    for seed in 1..=3 {
        rule_study(&LearningParams {
            seed,
            ..LearningParams::default()
        });
    }
}

/// The study's claims at the held-out seeds 4–15.
#[test]
#[ignore = "about 12 s in the test profile; run with --ignored"]
fn learning_rule_study_holds_at_held_out_seeds() {
    for seed in 4..=15 {
        rule_study(&LearningParams {
            seed,
            ..LearningParams::default()
        });
    }
}

/// The measurements behind the study's settings (spec/cases.md §6.5, §6.6): the three
/// standardisations at D = 2, rank 8, then the (D, rank) grid under per-run z-scoring, seeds 0–3.
/// Prints only; the claims are asserted in `rule_study`.
#[test]
#[ignore = "about 1 minute in the test profile; prints the tables of spec/cases.md §6.5–6.6"]
fn learning_rule_settings_grid() {
    let line = |seed: u64, what: &str, name: &str, o: Outcome| {
        eprintln!(
            "seed {seed} {what} {name}: four {:.3} {:.3} merged {:.3} {:.3} sgd/fa {:.3} {:.3}",
            o.four.0, o.four.1, o.merged.0, o.merged.1, o.sgd_fa.0, o.sgd_fa.1
        );
    };
    for seed in 0..4 {
        let p = LearningParams {
            seed,
            ..LearningParams::default()
        };
        for mode in [
            Standardisation::None,
            Standardisation::PerRun,
            Standardisation::Global,
        ] {
            let (labels, ms) = study_matrices(&p, mode, 2, 8, &[Score::Wasserstein]);
            for (name, m) in ms {
                line(seed, &format!("{mode:?}"), &name, outcome(&m, &labels));
            }
        }
        for d in [1, 2, 4, 8] {
            for r in [4, 6, 8, 12, 16] {
                if r > d * FEATURES {
                    continue;
                }
                let (labels, ms) =
                    study_matrices(&p, Standardisation::PerRun, d, r, &[Score::Wasserstein]);
                line(
                    seed,
                    &format!("D={d} r={r}"),
                    &ms[1].0,
                    outcome(&ms[1].1, &labels),
                );
            }
        }
    }
}
