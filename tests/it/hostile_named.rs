//! The hostile-input table of spec/hostile.md: inputs whose expected error (or expected success) had
//! no test naming it. Each test asserts the typed `Error` variant and the key words of its message at
//! library level, and/or the exit code and the one-line message of the `dynsim` binary.
//!
//! Fixtures are written by a small .npy writer in this file (independent of `dynsim::io`), or taken
//! from the NumPy-written files in tests/data/npy.

use std::path::{Path, PathBuf};

use dynsim::dsa::{compare, with_threads, ScoreOptions};
use dynsim::embedding::{Dataset, DelayParams};
use dynsim::io::npy;
use dynsim::operator::{fit, FitParams, Operator, RankRule};
use dynsim::Error;
use serde_json::Value;

use crate::cli::{ok, run};
use crate::common::{gaussian, npy_f8, rng};

/// A fresh scratch directory for one test.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dynsim-hn-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/npy")
        .join(name)
        .display()
        .to_string()
}

fn write_npy(path: &Path, shape: &[usize], data: &[f64]) -> String {
    std::fs::write(path, npy_f8(shape, data)).unwrap();
    path.display().to_string()
}

/// Runs and expects exit code `code` and an `error:` message holding every needle; no panic. Exit
/// code 1 errors are exactly one line.
#[track_caller]
fn fails(args: &[&str], code: i32, needles: &[&str]) -> String {
    let out = run(args);
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        out.status.code(),
        Some(code),
        "dynsim {args:?}: expected exit code {code}, stderr: {err}"
    );
    assert!(err.starts_with("error: "), "{err}");
    assert!(
        !err.contains("panicked") && !err.contains("internal error"),
        "{err}"
    );
    if code == 1 {
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    }
    for n in needles {
        assert!(
            err.contains(n),
            "dynsim {args:?}: stderr lacks {n:?}: {err}"
        );
    }
    err
}

/// A noisy stable linear system of 3 features, (4, 60, 3), row-major.
fn system(seed: u64) -> Vec<f64> {
    let mut r = rng(seed);
    let a = [[0.9, -0.3, 0.1], [0.3, 0.85, 0.0], [-0.1, 0.2, 0.7]];
    let mut data = Vec::new();
    for _ in 0..4 {
        let mut x: Vec<f64> = (0..3).map(|_| gaussian(&mut r)).collect();
        for _ in 0..60 {
            data.extend_from_slice(&x);
            x = (0..3)
                .map(|i| (0..3).map(|j| a[i][j] * x[j]).sum::<f64>() + 0.1 * gaussian(&mut r))
                .collect();
        }
    }
    data
}

fn write_system(dir: &Path, name: &str, seed: u64) -> String {
    write_npy(&dir.join(name), &[4, 60, 3], &system(seed))
}

fn bits(op: &Operator) -> Vec<u64> {
    let m = op.matrix();
    (0..m.nrows())
        .flat_map(|i| (0..m.ncols()).map(move |j| m[(i, j)].to_bits()))
        .collect()
}

fn params(d: usize, rank: RankRule) -> FitParams {
    FitParams {
        delay: DelayParams {
            n_delays: d,
            delay_interval: 1,
        },
        rank,
        ..FitParams::default()
    }
}

/// True when this process can create files in a directory with mode 0o555 (root, CAP_DAC_OVERRIDE):
/// permission bits then prove nothing.
#[cfg(unix)]
fn permissions_are_not_enforced(dir: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let probe = dir.join("probe-ro");
    std::fs::create_dir_all(&probe).unwrap();
    std::fs::set_permissions(&probe, std::fs::Permissions::from_mode(0o555)).unwrap();
    let writable = std::fs::write(probe.join("x"), b"x").is_ok();
    std::fs::set_permissions(&probe, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::remove_dir_all(&probe).unwrap();
    writable
}

// ---- Values ---------------------------------------------------------------------------------------

/// NaN, +Inf and −Inf each reported at the index [trial, t, feature] of the first non-finite value,
/// library and CLI.
#[test]
fn non_finite_values_report_the_first_index() {
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let mut data = vec![0.25; 2 * 5 * 3];
        data[(5 + 3) * 3 + 2] = bad; // trial 1, t = 3, feature 2
        data[(5 + 4) * 3] = f64::NAN; // a later one
        match Dataset::from_array(&data, 2, 5, 3).unwrap_err() {
            Error::NonFinite {
                array,
                index,
                value,
            } => {
                assert_eq!(index, vec![1, 3, 2], "{bad}");
                assert_eq!(value.to_bits(), bad.to_bits(), "{bad}");
                assert_eq!(array, "data");
            }
            other => panic!("expected NonFinite for {bad}, got {other:?}"),
        }
    }
    let dir = scratch("nonfinite");
    for (name, bad, text) in [
        ("pinf.npy", f64::INFINITY, "non-finite value inf"),
        ("ninf.npy", f64::NEG_INFINITY, "non-finite value -inf"),
    ] {
        let mut data = system(1);
        data[(60 + 7) * 3 + 1] = bad; // trial 1, t = 7, feature 1
        let p = write_npy(&dir.join(name), &[4, 60, 3], &data);
        fails(&["fit", &p], 1, &[name, text, "[1, 7, 1]"]);
    }
}

/// All-zero data: `DegenerateData` naming the dataset (library) and exit code 1 naming the file
/// (CLI); the operator of identically zero data would be zero, so no angle could be defined.
#[test]
fn all_zero_data_is_degenerate() {
    let zeros = Dataset::from_array(&[0.0; 2 * 10 * 3], 2, 10, 3)
        .unwrap()
        .with_name("zeros.npy");
    for p in [FitParams::default(), params(3, RankRule::Auto)] {
        let e = fit(&zeros, &p).unwrap_err();
        assert_eq!(
            e,
            Error::DegenerateData {
                array: "zeros.npy".into()
            }
        );
        assert!(e.to_string().contains("identically zero"), "{e}");
    }
    let dir = scratch("zeros");
    let z = write_npy(&dir.join("zeros.npy"), &[4, 60, 3], &[0.0; 720]);
    let good = write_system(&dir, "good.npy", 1);
    fails(&["fit", &z], 1, &["zeros.npy", "identically zero"]);
    fails(
        &["compare", &good, &z],
        1,
        &["zeros.npy", "identically zero"],
    );
}

/// Constant (non-zero) data are a fixed point, not an error: x_{t+1} = x_t, so at rank 1 the operator
/// is the 1 × 1 matrix [1] (up to the ridge shrinkage, ≈ λ = 1e-8) and the system is at angle 0
/// from itself. At full rank the fit also succeeds with finite values and the eigenvalue 1 first.
#[test]
fn constant_data_fit_a_fixed_point() {
    let ds = Dataset::from_array(&[2.5; 4 * 30 * 3], 4, 30, 3)
        .unwrap()
        .with_name("const");
    // λ = 0: A = v₋ᵀv₊ / v₋ᵀv₋ with v₋, v₊ equal constant vectors, 1 up to rounding. With the
    // default λ = 1e-8 the ridge shrinks it by about λ / ‖v₋‖² ≈ 1e-8 (whitened columns have unit
    // norm).
    for (rank, lambda, tol) in [
        (RankRule::Fixed(1), 0.0, 1e-12),
        (RankRule::Auto, 0.0, 1e-12),
        (RankRule::Fixed(1), 1e-8, 1e-7),
    ] {
        let p = FitParams {
            lambda,
            ..params(1, rank)
        };
        let op = fit(&ds, &p).unwrap();
        assert_eq!(op.rank(), 1);
        let a = op.matrix()[(0, 0)];
        assert!((a - 1.0).abs() < tol && a <= 1.0 + 1e-12, "{a}");
    }
    let full = fit(&ds, &FitParams::default()).unwrap();
    assert!(full.matrix().is_all_finite());
    let (re, im) = full.eigenvalues()[0];
    assert!((re - 1.0).abs() < 1e-6 && im == 0.0, "{re} {im}");
    let one = fit(&ds, &params(1, RankRule::Fixed(1))).unwrap();
    let s = compare(&one, &one, &ScoreOptions::default()).unwrap();
    assert!(s.value.abs() < 1e-7, "{}", s.value);
    // CLI.
    let dir = scratch("const");
    let c = write_npy(&dir.join("const.npy"), &[4, 60, 3], &[2.5; 720]);
    let v = ok(&["fit", &c, "--rank-auto"]);
    assert_eq!(v["rank"], 1);
    let l = v["eigenvalues"][0][0].as_f64().unwrap();
    assert!((l - 1.0).abs() < 1e-7, "{l}");
    let v = ok(&["compare", &c, &c, "--rank", "1"]);
    assert!(v["distance"].as_f64().unwrap() < 1e-7, "{v}");
}

/// Data whose fitted operator is zero (an impulse: x₀ ≠ 0 and x_t = 0 afterwards, so V₊ = 0 at rank
/// 1): the normalised comparison is `ZeroOperator` (library) and exit code 1 (CLI `compare`, with the
/// file named, and `align` on a zero matrix).
#[test]
fn zero_operator_makes_the_angle_undefined() {
    let mut impulse = vec![0.0; 60 * 3];
    impulse[..3].copy_from_slice(&[1.0, -2.0, 0.5]);
    let ds = Dataset::from_array(&impulse, 1, 60, 3).unwrap();
    let zero = fit(&ds, &params(1, RankRule::Fixed(1))).unwrap();
    assert_eq!(zero.matrix()[(0, 0)], 0.0);
    let good = fit(
        &Dataset::from_array(&system(1), 4, 60, 3).unwrap(),
        &FitParams::default(),
    )
    .unwrap();
    match compare(&zero, &good, &ScoreOptions::default()) {
        Err(Error::ZeroOperator { what, norm }) => {
            assert_eq!(what, "operator A");
            assert_eq!(norm, 0.0);
        }
        other => panic!("expected ZeroOperator, got {other:?}"),
    }
    let dir = scratch("zeroop");
    let imp = write_npy(&dir.join("impulse.npy"), &[60, 3], &impulse);
    let g = write_system(&dir, "good.npy", 1);
    fails(
        &["compare", &g, &imp, "--rank", "1"],
        1,
        &["impulse.npy", "operator is zero", "undefined"],
    );
    let z = write_npy(&dir.join("zero33.npy"), &[3, 3], &[0.0; 9]);
    let eye = write_npy(
        &dir.join("eye.npy"),
        &[3, 3],
        &[1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
    );
    fails(
        &["align", &z, &eye],
        1,
        &["zero33.npy", "operator is zero", "undefined"],
    );
    // Pairwise refuses the pair too, and leaves no output.
    let out = dir.join("out.npy");
    fails(
        &[
            "pairwise",
            &g,
            &imp,
            "--rank",
            "1",
            "--output",
            &out.display().to_string(),
        ],
        1,
        &["operator is zero"],
    );
    assert!(!out.exists());
}

/// The contract says every error names the file: `pairwise` refuses a zero operator by its file.
#[test]
fn pairwise_zero_operator_error_names_the_file() {
    let dir = scratch("zeroop-pw");
    let mut impulse = vec![0.0; 60 * 3];
    impulse[..3].copy_from_slice(&[1.0, -2.0, 0.5]);
    let imp = write_npy(&dir.join("impulse.npy"), &[60, 3], &impulse);
    let g = write_system(&dir, "good.npy", 1);
    let out = dir.join("out.npy").display().to_string();
    fails(
        &["pairwise", &g, &imp, "--rank", "1", "--output", &out],
        1,
        &["impulse.npy", "operator is zero"],
    );
}

/// Data of magnitude 1e300 and 1e-300 through the binary: `fit` gives finite numbers, and `compare`
/// of the same data at the two scales is 0 (A_v is scale invariant, spec/operator.md §2.2).
#[test]
fn extreme_magnitudes_through_fit_and_compare() {
    let dir = scratch("extreme");
    let x = system(2);
    let scaled = |s: f64, name: &str| {
        let d: Vec<f64> = x.iter().map(|v| v * s).collect();
        write_npy(&dir.join(name), &[4, 60, 3], &d)
    };
    let (huge, tiny, one) = (
        scaled(1e300, "huge.npy"),
        scaled(1e-300, "tiny.npy"),
        scaled(1.0, "one.npy"),
    );
    let finite = |v: &Value| {
        v.as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r.as_array().unwrap().iter())
            .all(|x| x.as_f64().is_some_and(f64::is_finite))
    };
    for f in [&huge, &tiny] {
        let v = ok(&["fit", f, "--n-delays", "2"]);
        assert!(finite(&v["operator"]) && finite(&v["eigenvalues"]), "{f}");
        let sv = v["singular_values"].as_array().unwrap();
        assert!(sv.iter().all(|s| s.as_f64().is_some_and(f64::is_finite)));
        assert!(v["r2"].as_f64().is_some_and(f64::is_finite));
    }
    for (a, b) in [(&huge, &tiny), (&huge, &one), (&tiny, &one)] {
        for score in ["angular", "wasserstein2"] {
            let v = ok(&["compare", a, b, "--n-delays", "2", "--score", score]);
            let d = v["distance"].as_f64().unwrap();
            assert!(d.is_finite() && d < 1e-7, "{a} {b} {score}: {d}");
        }
    }
}

/// Near-duplicate singular values: a rotation by π/4 seen over whole periods has two exactly
/// equal-variance orthogonal directions, so σ₁ ≈ σ₂ and the whitening basis is arbitrary within their
/// plane. The fit must succeed with finite values, recover the eigenvalues e^{±iπ/4} (closed form),
/// be at angle 0 from an orthogonal readout of itself, and be bit-identical across runs and thread
/// counts.
#[test]
fn near_duplicate_singular_values_fit_deterministically() {
    let theta = std::f64::consts::FRAC_PI_4;
    let mk = |phase: f64, c: f64, s: f64| {
        let mut d = Vec::new();
        for t in 0..64 {
            let a = phase + theta * t as f64;
            let (x, y) = (a.cos(), a.sin());
            d.extend_from_slice(&[c * x - s * y, s * x + c * y]);
        }
        d
    };
    let data: Vec<f64> = [mk(0.0, 1.0, 0.0), mk(0.3, 1.0, 0.0)].concat();
    let ds = Dataset::from_array(&data, 2, 64, 2).unwrap();
    let op = fit(&ds, &FitParams::default()).unwrap();
    let s = op.singular_values();
    assert!((s[0] - s[1]).abs() <= 1e-12 * s[0], "near-duplicate: {s:?}");
    assert!(op.matrix().is_all_finite());
    for &(re, im) in op.eigenvalues() {
        assert!(
            (re - theta.cos()).abs() < 1e-6 && (im.abs() - theta.sin()).abs() < 1e-6,
            "{re} {im}"
        );
    }
    // Deterministic: again, and inside 1- and 2-thread pools.
    assert_eq!(bits(&fit(&ds, &FitParams::default()).unwrap()), bits(&op));
    for threads in [1, 2] {
        let again = with_threads(Some(threads), || fit(&ds, &FitParams::default()))
            .unwrap()
            .unwrap();
        assert_eq!(bits(&again), bits(&op), "{threads} threads");
    }
    // An orthogonal readout (rotation by 1 rad) of the same dynamics: angle 0.
    let (c, sn) = (1f64.cos(), 1f64.sin());
    let rotated: Vec<f64> = [mk(0.0, c, sn), mk(0.3, c, sn)].concat();
    let op2 = fit(
        &Dataset::from_array(&rotated, 2, 64, 2).unwrap(),
        &FitParams::default(),
    )
    .unwrap();
    let d = compare(&op, &op2, &ScoreOptions::default()).unwrap().value;
    assert!(d.is_finite() && d < 1e-6, "{d}");
}

// ---- Shapes ---------------------------------------------------------------------------------------

/// Empty data and 0 features: `Shape` errors whose reason names the problem (library), exit code 1
/// with "zero-size" (CLI).
#[test]
fn empty_arrays_and_zero_features_are_shape_errors() {
    let shape_reason = |r: dynsim::Result<Dataset>, needle: &str| match r {
        Err(Error::Shape { array, reason }) => {
            assert_eq!(array, "data");
            assert!(reason.contains(needle), "{reason} lacks {needle}");
        }
        other => panic!("expected Shape ({needle}), got {other:?}"),
    };
    shape_reason(Dataset::from_array(&[], 0, 3, 2), "0 trials");
    shape_reason(Dataset::from_array(&[], 1, 0, 2), "0 time points");
    shape_reason(Dataset::from_array(&[], 1, 6, 0), "0 features");
    shape_reason(Dataset::from_trials(&[], 2), "no trials");
    let one: [&[f64]; 1] = [&[1.0, 2.0]];
    shape_reason(Dataset::from_trials(&one, 0), "0 features");
    for f in ["shape_zero_t.npy", "hdr_0x4.npy", "hdr_123456x0.npy"] {
        fails(&["fit", &fixture(f)], 1, &[f, "zero-size axis"]);
    }
}

/// 1-D and 4-D arrays through the binary (the library test is io.rs::datasets_refuse_bad_shapes).
#[test]
fn one_and_four_dimensional_files_are_refused_by_the_cli() {
    fails(
        &["fit", &fixture("shape_1d.npy")],
        1,
        &["shape_1d.npy", "expected (T, N) or (K, T, N)", "[6]"],
    );
    fails(
        &["fit", &fixture("shape_4d.npy")],
        1,
        &[
            "shape_4d.npy",
            "expected (T, N) or (K, T, N)",
            "[1, 2, 3, 2]",
        ],
    );
}

/// Too few time points because of steps_ahead (the delays alone fit): `TooFewTimePoints` with the
/// minimum (D−1)τ + k + 1; CLI names the file and the minimum.
#[test]
fn steps_ahead_beyond_the_trial_is_too_few_time_points() {
    let ds = Dataset::from_array(&system(1)[..3 * 20], 1, 20, 3)
        .unwrap()
        .with_name("short.npy");
    let p = FitParams {
        steps_ahead: 15,
        ..params(6, RankRule::Full)
    };
    assert_eq!(
        fit(&ds, &p).unwrap_err(),
        Error::TooFewTimePoints {
            array: "short.npy".into(),
            trial: 0,
            len: 20,
            needed: 21,
            n_delays: 6,
            delay_interval: 1,
            steps_ahead: 15,
        }
    );
    let dir = scratch("steps");
    let g = write_system(&dir, "good.npy", 1);
    fails(
        &["fit", &g, "--n-delays", "70"],
        1,
        &["good.npy", "trial 0 has 60 time points", "need at least 71"],
    );
    fails(
        &["fit", &g, "--n-delays", "10", "--steps-ahead", "55"],
        1,
        &["good.npy", "steps_ahead = 55", "need at least 65"],
    );
}

/// K·T' < N·D through the binary: 4 trials × (60 − 49 − 1) = 40 rows < 150 columns.
#[test]
fn too_few_samples_through_the_cli() {
    let dir = scratch("samples");
    let g = write_system(&dir, "good.npy", 1);
    fails(
        &["fit", &g, "--n-delays", "50"],
        1,
        &["good.npy", "44 delay vectors", "fewer than the 150"],
    );
}

/// Ragged trials with different N: an .npz through the binary (library: io.rs::npz_bad_members), and
/// in memory trials whose lengths are not multiples of N.
#[test]
fn ragged_trials_with_different_n() {
    fails(
        &["fit", &fixture("diff_n.npz")],
        1,
        &["diff_n.npz", "arr_2.npy", "N = 4", "arr_0.npy has N = 3"],
    );
    let uneven: [&[f64]; 2] = [&[1.0, 2.0], &[1.0, 2.0, 3.0]];
    match Dataset::from_trials(&uneven, 2) {
        Err(Error::Shape { reason, .. }) => {
            assert!(reason.contains("trial 1 has 3 values"), "{reason}");
            assert!(reason.contains("multiple of N = 2"), "{reason}");
        }
        other => panic!("expected Shape, got {other:?}"),
    }
}

/// A non-square operator file: exit code 1 naming the file and "square" (library: pavf.rs, io.rs).
#[test]
fn non_square_operator_file_through_the_cli() {
    let dir = scratch("rect");
    let r = write_npy(&dir.join("rect.npy"), &[3, 4], &[1.0; 12]);
    let eye = write_npy(
        &dir.join("eye.npy"),
        &[3, 3],
        &[1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
    );
    fails(&["align", &eye, &r], 1, &["rect.npy", "square", "[3, 4]"]);
}

/// Operators of different sizes are supported (zero-padded for PAVF, transport for spectra): a 2 × 2
/// rotation against the same rotation ⊕ [0] is at distance 0 both ways (padding adds a zero block,
/// spec/alignment.md §1.2).
#[test]
fn operators_of_different_sizes_are_compared() {
    let dir = scratch("sizes");
    let (c, s) = (0.6, 0.8);
    let a = write_npy(&dir.join("a.npy"), &[2, 2], &[c, -s, s, c]);
    let b = write_npy(
        &dir.join("b.npy"),
        &[3, 3],
        &[c, -s, 0.0, s, c, 0.0, 0.0, 0.0, 0.0],
    );
    let v = ok(&["align", &a, &b]);
    assert!(v["distance"].as_f64().unwrap() < 1e-9, "{v}");
    let v = ok(&[
        "align",
        &a,
        &b,
        "--score",
        "wasserstein2",
        "--unequal",
        "zero-pad",
    ]);
    assert!(v["distance"].as_f64().unwrap() < 1e-9, "{v}");
}

// ---- Parameters -----------------------------------------------------------------------------------

/// n_delays 0 and delay_interval 0: `InvalidParameter` with the parameter's name (library), exit code
/// 2 with the same words (CLI).
#[test]
fn zero_delays_and_interval_name_the_parameter() {
    let ds = Dataset::from_array(&[0.5; 10], 1, 10, 1).unwrap();
    for (d, tau, name) in [(0, 1, "n_delays"), (2, 0, "delay_interval")] {
        let p = DelayParams {
            n_delays: d,
            delay_interval: tau,
        };
        match ds.embed(&p) {
            Err(Error::InvalidParameter {
                name: n, reason, ..
            }) => {
                assert_eq!(n, name);
                assert!(reason.contains("at least 1"), "{reason}");
            }
            other => panic!("expected InvalidParameter {name}, got {other:?}"),
        }
    }
    let dir = scratch("delays");
    let g = write_system(&dir, "good.npy", 1);
    fails(
        &["fit", &g, "--n-delays", "0"],
        2,
        &["invalid parameter n_delays = 0", "at least 1"],
    );
    fails(
        &["fit", &g, "--delay-interval", "0"],
        2,
        &["invalid parameter delay_interval = 0", "at least 1"],
    );
}

/// Rank 0, rank above N·D, two rank rules, λ < 0 and NaN: the CLI messages (library:
/// operator.rs::rank_options_like_upstream, bad_input_gives_specific_errors).
#[test]
fn rank_and_lambda_errors_through_the_cli() {
    let dir = scratch("rank");
    let g = write_system(&dir, "good.npy", 1);
    fails(
        &["fit", &g, "--rank", "0"],
        2,
        &["rank 0 is out of range", "at least 1"],
    );
    fails(
        &["fit", &g, "--rank", "4"],
        1,
        &["rank 4 is out of range", "between 1 and 3"],
    );
    for (a, b) in [
        (&["--rank", "3"][..], &["--rank-auto"][..]),
        (
            &["--rank-thresh", "0.1"][..],
            &["--rank-explained-variance", "0.5"][..],
        ),
    ] {
        let args = [&["fit", &g][..], a, b].concat();
        fails(&args, 2, &["cannot be used with"]);
    }
    fails(
        &["fit", &g, "--lambda=-1"],
        2,
        &["invalid parameter lambda = -1", "finite number ≥ 0"],
    );
    fails(
        &["fit", &g, "--lambda", "nan"],
        2,
        &["invalid parameter lambda = NaN", "finite number ≥ 0"],
    );
    // The library's words for two rules.
    let e = RankRule::from_options(Some(3), None, None, true).unwrap_err();
    assert!(matches!(e, Error::ConflictingRankRules { .. }));
    assert!(e.to_string().contains("more than one rank rule"), "{e}");
}

/// `--lambda -1` written with a space: clap takes "-1" for an option unless negative numbers are
/// allowed; the error must be about λ, not about an unexpected argument.
#[test]
fn negative_lambda_with_a_space_is_a_lambda_error() {
    let dir = scratch("neglambda");
    let g = write_system(&dir, "good.npy", 1);
    fails(
        &["fit", &g, "--lambda", "-1"],
        2,
        &["invalid parameter lambda = -1"],
    );
}

/// `--shard 3/2`, an unknown score and `--threads 0`: exit code 2 with the reason (library:
/// dsa.rs::shards_partition_every_pair_list, per_system_parameters_and_errors,
/// thread_count_does_not_change_a_bit).
#[test]
fn shard_score_and_threads_errors_through_the_cli() {
    let dir = scratch("usage");
    let g = write_system(&dir, "good.npy", 1);
    let out = dir.join("out.npy").display().to_string();
    fails(
        &["pairwise", &g, &g, "--output", &out, "--shard", "3/2"],
        2,
        &["invalid parameter shard = 3/2", "0 ≤ I < K"],
    );
    fails(
        &["compare", &g, &g, "--score", "cosine"],
        2,
        &["invalid value 'cosine'", "--score", "possible values"],
    );
    fails(
        &["compare", &g, &g, "--threads", "0"],
        2,
        &["invalid parameter threads = 0", "at least one thread"],
    );
    fails(
        &["pairwise", &g, &g, "--output", &out, "--threads", "0"],
        2,
        &["threads = 0"],
    );
    assert!(!Path::new(&out).exists());
}

// ---- Files ----------------------------------------------------------------------------------------

/// A file that exists but cannot be read. `/proc/self/mem` (through a symlink named .npy) fails to
/// read at offset 0 with EIO for every user, root included; a mode-000 file is tested too unless the
/// process ignores permission bits (root), which is printed.
#[test]
fn unreadable_file_is_an_io_error() {
    let dir = scratch("unreadable");
    #[cfg(target_os = "linux")]
    {
        let link = dir.join("mem.npy");
        std::os::unix::fs::symlink("/proc/self/mem", &link).unwrap();
        match npy::read(&link) {
            Err(Error::Io { path, reason }) => {
                assert_eq!(path, link.display().to_string());
                assert!(reason.contains("cannot read"), "{reason}");
            }
            other => panic!("expected Io, got {other:?}"),
        }
        let p = link.display().to_string();
        fails(&["fit", &p], 1, &["mem.npy", "cannot read"]);
    }
    // A path under a regular file (ENOTDIR), for every user.
    let file = dir.join("afile");
    std::fs::write(&file, b"x").unwrap();
    let under = file.join("x.npy");
    assert!(matches!(npy::read(&under), Err(Error::Io { .. })));
    fails(
        &["fit", &under.display().to_string()],
        1,
        &["afile/x.npy", "cannot read"],
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if permissions_are_not_enforced(&dir) {
            eprintln!(
                "unreadable_file_is_an_io_error: running with permission override (root); \
                 the mode-000 case is skipped, the /proc/self/mem and ENOTDIR cases ran"
            );
        } else {
            let locked = dir.join("locked.npy");
            write_npy(&locked, &[4, 60, 3], &system(1));
            std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
            match npy::read(&locked) {
                Err(Error::Io { path, reason }) => {
                    assert_eq!(path, locked.display().to_string());
                    assert!(reason.contains("ermission denied"), "{reason}");
                }
                other => panic!("expected Io, got {other:?}"),
            }
            fails(
                &["fit", &locked.display().to_string()],
                1,
                &["locked.npy", "ermission denied"],
            );
        }
    }
}

/// Missing file and directory with the reason words (exit code 1), empty file, truncated header and
/// wrong magic through the binary (library: io.rs).
#[test]
fn malformed_files_through_the_cli() {
    let dir = scratch("files");
    let d = |n: &str| dir.join(n).display().to_string();
    fails(&["fit", &d("nope.npy")], 1, &["nope.npy", "No such file"]);
    std::fs::create_dir_all(dir.join("adir.npy")).unwrap();
    fails(&["fit", &d("adir.npy")], 1, &["adir.npy", "directory"]);
    std::fs::write(dir.join("empty.npy"), b"").unwrap();
    fails(
        &["fit", &d("empty.npy")],
        1,
        &["empty.npy", "header", "empty"],
    );
    let full = npy_f8(&[4, 60, 3], &system(1));
    std::fs::write(dir.join("cut.npy"), &full[..40]).unwrap();
    fails(
        &["fit", &d("cut.npy")],
        1,
        &["cut.npy", "header", "truncated header"],
    );
    std::fs::write(dir.join("text.npy"), b"time,x,y\n0,1,2\n").unwrap();
    fails(
        &["fit", &d("text.npy")],
        1,
        &["text.npy", "header", "wrong magic"],
    );
}

/// bool, complex, object and unicode dtypes through the binary: exit code 1 naming the dtype
/// (library: io.rs::refuses_unsupported_dtypes).
#[test]
fn unsupported_dtypes_through_the_cli() {
    for (f, what) in [
        ("bad_bool.npy", "(bool)"),
        ("bad_complex.npy", "(complex)"),
        ("bad_object.npy", "(Python objects"),
        ("bad_unicode.npy", "(unicode strings)"),
    ] {
        fails(
            &["fit", &fixture(f)],
            1,
            &[f, "header", "unsupported dtype", what],
        );
    }
}

/// Integers above 2⁵³ through the binary (library: io.rs::refuses_integers_beyond_2_pow_53).
#[test]
fn integers_beyond_2_pow_53_through_the_cli() {
    fails(
        &["fit", &fixture("int_i8_too_big_f.npy")],
        1,
        &["int_i8_too_big_f.npy", "9007199254740993", "[0, 2]", "2^53"],
    );
}

/// Big-endian and Fortran-order floats are supported: fitting the NumPy-written (4, 3, 2) file that
/// is both gives the same operator, bit for bit, as the same values written here little-endian in C
/// order (values v(c) = c/7 − 3 at row-major index c, tests/data/npy/make_fixtures.py).
#[test]
fn big_endian_fortran_floats_fit_like_little_endian_c_order() {
    let dir = scratch("layout");
    let v: Vec<f64> = (0..24).map(|c| c as f64 / 7.0 - 3.0).collect();
    let le = write_npy(&dir.join("le.npy"), &[4, 3, 2], &v);
    let be = fixture("f8_be_f_4x3x2.npy");
    let a = ok(&["fit", &le]);
    let b = ok(&["fit", &be]);
    assert_eq!(a["operator"], b["operator"]);
    assert_eq!(a["singular_values"], b["singular_values"]);
    assert_eq!(a["n_samples"], 12);
}

/// Integer data (binned spike counts) are accepted and converted exactly: the same counts written as
/// '<i4' and as '<f8' give the same operator, bit for bit (library: io.rs::reads_integers_exactly).
#[test]
fn integer_spike_counts_fit_like_floats() {
    let dir = scratch("ints");
    let counts: Vec<i32> = system(3)
        .iter()
        .map(|x| (x.abs() * 3.0).floor() as i32)
        .collect();
    let floats: Vec<f64> = counts.iter().map(|&c| f64::from(c)).collect();
    let f = write_npy(&dir.join("f.npy"), &[4, 60, 3], &floats);
    // The same header with descr '<i4', then 4-byte little-endian integers.
    let fbytes = npy_f8(&[4, 60, 3], &floats);
    let hlen = 10 + u16::from_le_bytes([fbytes[8], fbytes[9]]) as usize;
    let mut ibytes = fbytes[..hlen].to_vec();
    let at = ibytes.windows(5).position(|w| w == b"'<f8'").unwrap();
    ibytes[at..at + 5].copy_from_slice(b"'<i4'");
    for c in &counts {
        ibytes.extend_from_slice(&c.to_le_bytes());
    }
    let i = dir.join("i.npy");
    std::fs::write(&i, ibytes).unwrap();
    let a = ok(&["fit", &f, "--n-delays", "2"]);
    let b = ok(&["fit", &i.display().to_string(), "--n-delays", "2"]);
    assert_eq!(a["operator"], b["operator"]);
    assert_eq!(a["singular_values"], b["singular_values"]);
}

/// A header declaring 10¹² elements through the binary: refused from the bytes present, naming the
/// 8 TB it would need (library: io.rs::huge_declared_sizes, memory.rs).
#[test]
fn tera_element_header_through_the_cli() {
    let dir = scratch("tera");
    let mut h =
        "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000, 1000000), }".to_string();
    while (10 + h.len() + 1) % 64 != 0 {
        h.push(' ');
    }
    h.push('\n');
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend_from_slice(&(h.len() as u16).to_le_bytes());
    b.extend_from_slice(h.as_bytes());
    b.extend_from_slice(&[0u8; 120]);
    let p = dir.join("tera.npy");
    std::fs::write(&p, b).unwrap();
    for budget in ["none", "1G"] {
        fails(
            &["fit", &p.display().to_string(), "--max-memory", budget],
            1,
            &["tera.npy", "truncated data", "8000000000000 bytes"],
        );
    }
}

/// An .npz with a non-array member through the binary (library: io.rs::npz_bad_members).
#[test]
fn npz_non_array_member_through_the_cli() {
    fails(
        &["fit", &fixture("non_npy_member.npz")],
        1,
        &["non_npy_member.npz", "notes.txt", "not a .npy member"],
    );
}

/// Output into a missing directory: `Io` naming the file (library `npy::write`, `model::write`) and
/// exit code 1 with no file (CLI `fit --save`, `pairwise --save-models`, `--report`).
#[test]
fn output_in_a_missing_directory() {
    let dir = scratch("outmissing");
    let missing = dir.join("no/such/out.npy");
    match npy::write(&missing, &[1], &[1.0]) {
        Err(Error::Io { path, reason }) => {
            assert_eq!(path, missing.display().to_string());
            assert!(reason.contains("does not exist"), "{reason}");
        }
        other => panic!("expected Io, got {other:?}"),
    }
    assert!(!missing.exists());
    let g = write_system(&dir, "good.npy", 1);
    let m = dir.join("no/m.json");
    fails(
        &["fit", &g, "--save", &m.display().to_string()],
        1,
        &["m.json", "does not exist"],
    );
    let out = dir.join("out.npy");
    fails(
        &[
            "pairwise",
            &g,
            &g,
            "--output",
            &out.display().to_string(),
            "--save-models",
            &m.display().to_string(),
        ],
        1,
        &["m.json", "does not exist"],
    );
    let r = dir.join("no/r.json");
    fails(
        &[
            "pairwise",
            &g,
            &g,
            "--output",
            &out.display().to_string(),
            "--report",
            &r.display().to_string(),
        ],
        1,
        &["r.json", "does not exist"],
    );
    assert!(!m.exists() && !r.exists());
}

/// Unwritable output: a path under a regular file (unwritable for every user) and a read-only
/// directory (when permissions are enforced): `Io` naming the file, exit code 1, and no file —
/// neither the destination nor a temporary file left beside it.
#[test]
fn unwritable_output_leaves_no_file() {
    let dir = scratch("unwritable");
    let g = write_system(&dir, "good.npy", 1);
    let file = dir.join("afile");
    std::fs::write(&file, b"x").unwrap();
    let under = file.join("out.npy");
    assert!(matches!(
        npy::write(&under, &[1], &[1.0]),
        Err(Error::Io { .. })
    ));
    fails(
        &["pairwise", &g, &g, "--output", &under.display().to_string()],
        1,
        &["afile/out.npy"],
    );
    fails(
        &[
            "fit",
            &g,
            "--save",
            &file.join("m.json").display().to_string(),
        ],
        1,
        &["afile/m.json"],
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if permissions_are_not_enforced(&dir) {
            eprintln!(
                "unwritable_output_leaves_no_file: running with permission override (root); \
                 the read-only-directory case is skipped, the path-under-a-file case ran"
            );
        } else {
            let ro = dir.join("ro");
            std::fs::create_dir_all(&ro).unwrap();
            std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
            let out = ro.join("out.npy");
            match npy::write(&out, &[1], &[1.0]) {
                Err(Error::Io { path, reason }) => {
                    assert_eq!(path, out.display().to_string());
                    assert!(reason.contains("ermission denied"), "{reason}");
                }
                other => panic!("expected Io, got {other:?}"),
            }
            fails(
                &["pairwise", &g, &g, "--output", &out.display().to_string()],
                1,
                &["ro/out.npy", "ermission denied"],
            );
            let left: Vec<_> = std::fs::read_dir(&ro).unwrap().collect();
            std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).unwrap();
            assert!(left.is_empty(), "files left in the read-only directory");
        }
    }
}

// ---- Determinism ----------------------------------------------------------------------------------

/// Same inputs and seed → identical bytes in every output file, with 1 and 2 threads and across two
/// runs: the `.npy` matrix, the report with `--reproducible-report`, model files of `fit --save` and
/// `pairwise --save-models`.
#[test]
fn every_output_file_is_identical_across_runs_and_threads() {
    let dir = scratch("determinism");
    let files: Vec<String> = (0..4)
        .map(|i| write_system(&dir, &format!("s{i}.npy"), 10 + i))
        .collect();
    let files: Vec<&str> = files.iter().map(String::as_str).collect();
    let d = |n: &str| dir.join(n).display().to_string();
    let fit_args = ["--n-delays", "2", "--rank", "4", "--seed", "7"];
    // The same destination names every run (the report records the output's path).
    let outputs = |threads: &str| {
        let (out, rep, models) = (d("m.npy"), d("r.json"), d("models.json"));
        ok(&[
            &["pairwise"][..],
            &files,
            &fit_args,
            &[
                "--output",
                &out,
                "--report",
                &rep,
                "--reproducible-report",
                "--save-models",
                &models,
                "--threads",
                threads,
            ],
        ]
        .concat());
        [out, rep, models].map(|p| std::fs::read(p).unwrap())
    };
    let first = outputs("1");
    for (tag, threads) in [("b", "1"), ("c", "2"), ("d", "2")] {
        let again = outputs(threads);
        for (k, what) in ["matrix", "report", "models"].iter().enumerate() {
            assert!(
                first[k] == again[k],
                "{what} differs ({threads} threads, run {tag})"
            );
        }
    }
    // fit --save, two runs.
    let save = |n: &str| {
        ok(&[&["fit", files[0], "--save", &d(n)][..], &fit_args[..4]].concat());
        std::fs::read(d(n)).unwrap()
    };
    assert!(
        save("fit-a.json") == save("fit-b.json"),
        "fit --save differs"
    );
}

/// Partial files of `--shard`: byte-identical across runs and thread counts under
/// `--reproducible-report` (no wall-clock time in them); without it, identical but for the shard's
/// `seconds` (the values, certificates, operators and options).
#[test]
fn shard_partial_files_are_byte_identical() {
    let dir = scratch("shards");
    let files: Vec<String> = (0..4)
        .map(|i| write_system(&dir, &format!("s{i}.npy"), 20 + i))
        .collect();
    let files: Vec<&str> = files.iter().map(String::as_str).collect();
    let part = |tag: &str, threads: &str, reproducible: bool| {
        let p = dir.join(format!("p-{tag}.json")).display().to_string();
        let flag: &[&str] = if reproducible {
            &["--reproducible-report"]
        } else {
            &[]
        };
        ok(&[
            &["pairwise"][..],
            &files,
            &[
                "--n-delays",
                "2",
                "--rank",
                "4",
                "--output",
                &p,
                "--shard",
                "1/2",
            ],
            &["--threads", threads],
            flag,
        ]
        .concat());
        std::fs::read(&p).unwrap()
    };
    let first = part("a", "1", true);
    assert!(first == part("b", "1", true), "two runs differ");
    assert!(first == part("c", "2", true), "1 vs 2 threads differ");
    let timed = |tag: &str, threads: &str| {
        let mut v: Value = serde_json::from_slice(&part(tag, threads, false)).unwrap();
        assert!(v["seconds"].as_f64().is_some());
        v.as_object_mut().unwrap().remove("seconds");
        v
    };
    let reference: Value = serde_json::from_slice(&first).unwrap();
    assert_eq!(timed("d", "1"), reference);
    assert_eq!(timed("e", "2"), reference);
}
