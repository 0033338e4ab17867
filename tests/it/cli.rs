//! End-to-end tests of the `dynsim` binary (spec/cli.md): every subcommand, every documented key,
//! shards merged = unsharded bit for bit, thread counts, the triangle inequality on a 12-system
//! matrix, model files, and bad input → exit code 1 or 2 with a one-line message (never a panic).
//!
//! Fixtures are written by a small .npy writer in this file (independent of `dynsim::io`), and output
//! matrices are read back by a small independent reader.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use faer::Mat;
use serde_json::Value;

use crate::common::*;

const BIN: &str = env!("CARGO_BIN_EXE_dynsim");

/// A fresh scratch directory for one test.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dynsim-cli-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A '<f8' C-order `.npy` file (written by the tests' own writer, independent of `dynsim::io`).
fn write_npy(path: &Path, shape: &[usize], data: &[f64]) {
    std::fs::write(path, npy_f8(shape, data)).unwrap();
}

/// Reads a '<f8' C-order .npy written by dynsim: (shape, values).
fn read_npy(path: &Path) -> (Vec<usize>, Vec<f64>) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00", "magic and version 1.0");
    let hlen = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = std::str::from_utf8(&bytes[10..10 + hlen]).unwrap();
    assert_eq!((10 + hlen) % 64, 0, "data aligned to 64 bytes");
    assert!(header.contains("'descr': '<f8'") && header.contains("'fortran_order': False"));
    let inner = &header[header.find("'shape': (").unwrap() + 10..];
    let inner = &inner[..inner.find(')').unwrap()];
    let shape: Vec<usize> = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    let data: Vec<f64> = bytes[10 + hlen..]
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(data.len(), shape.iter().product::<usize>());
    (shape, data)
}

pub(crate) fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

/// Runs and expects success; returns stdout parsed as JSON (or Null when stdout is empty).
pub(crate) fn ok(args: &[&str]) -> Value {
    let out = run(args);
    assert!(
        out.status.success(),
        "dynsim {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    if text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    }
}

/// Runs and expects failure with `code`; returns stderr, checked to be one line starting with
/// "error:" and free of panics and backtraces.
fn fails(args: &[&str], code: i32) -> String {
    let out = run(args);
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        out.status.code(),
        Some(code),
        "dynsim {args:?}: expected exit code {code}, stderr: {err}"
    );
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
    if code == 1 {
        assert!(err.starts_with("error: "), "{err}");
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    }
    err
}

/// A noisy stable linear system of n features seen through the readout `m`, as (K, T, N) data.
fn system(n: usize, seed: u64, m: Option<&Mat<f64>>) -> Vec<f64> {
    let mut r = rng(seed);
    let g = gaussian_matrix(n, n, &mut r);
    let radius = singular_values(&g)[0];
    let a = Mat::from_fn(n, n, |i, j| 0.95 * g[(i, j)] / radius);
    let mut data = Vec::new();
    for _ in 0..4 {
        let mut x: Vec<f64> = (0..n).map(|_| gaussian(&mut r)).collect();
        for _ in 0..60 {
            let y = match m {
                Some(m) => (0..n)
                    .map(|i| (0..n).map(|j| m[(i, j)] * x[j]).sum())
                    .collect(),
                None => x.clone(),
            };
            data.extend_from_slice(&y);
            x = (0..n)
                .map(|i| (0..n).map(|j| a[(i, j)] * x[j]).sum::<f64>() + 0.1 * gaussian(&mut r))
                .collect();
        }
    }
    data
}

fn write_system(dir: &Path, name: &str, n: usize, seed: u64, m: Option<&Mat<f64>>) -> String {
    let path = dir.join(name);
    write_npy(&path, &[4, 60, n], &system(n, seed, m));
    path.display().to_string()
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn matrix_of(v: &Value) -> Mat<f64> {
    let rows = v.as_array().unwrap();
    let n = rows.len();
    Mat::from_fn(n, rows[0].as_array().unwrap().len(), |i, j| f(&rows[i][j]))
}

#[test]
fn fit_prints_every_key_and_saves_a_model_that_reloads_bit_for_bit() {
    let dir = scratch("fit");
    let x = write_system(&dir, "x.npy", 3, 1, None);
    let y = write_system(&dir, "y.npy", 3, 2, None);
    let model = dir.join("x.json").display().to_string();
    let v = ok(&[
        "fit",
        &x,
        "--n-delays",
        "2",
        "--rank",
        "5",
        "--save",
        &model,
    ]);
    assert_eq!(v["rank"], 5);
    assert_eq!(v["singular_values"].as_array().unwrap().len(), 6);
    let a = matrix_of(&v["operator"]);
    assert_eq!((a.nrows(), a.ncols()), (5, 5));
    assert_eq!(v["eigenvalues"].as_array().unwrap().len(), 5);
    let r2 = f(&v["r2"]);
    assert!(r2 > 0.0 && r2 <= 1.0, "r2 = {r2}");
    // Σ eigenvalues = trace(A_v) (an independent check of the printed spectrum).
    let trace: f64 = (0..5).map(|i| a[(i, i)]).sum();
    let sum_re: f64 = v["eigenvalues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| f(&e[0]))
        .sum();
    assert!((trace - sum_re).abs() < 1e-12);
    // Re-scoring from the saved model gives the same distance, bit for bit, for every score.
    for score in [
        "angular",
        "euclidean",
        "wasserstein",
        "wasserstein2",
        "wasserstein1",
    ] {
        let common = ["--n-delays", "2", "--rank", "5", "--score", score];
        let from_data = ok(&[&["compare", &x, &y][..], &common[..]].concat());
        let from_model = ok(&[&["compare", &model, &y][..], &common[..]].concat());
        assert_eq!(
            f(&from_data["distance"]).to_bits(),
            f(&from_model["distance"]).to_bits(),
            "{score}"
        );
    }
}

#[test]
fn align_reports_scores_bounds_and_an_orthogonal_c() {
    let dir = scratch("align");
    let mut r = rng(5);
    let n = 6;
    let a = gaussian_matrix(n, n, &mut r);
    // B = P A Pᵀ for a signed permutation P: A = Pᵀ B P, distance 0.
    let perm = [3usize, 0, 5, 1, 4, 2];
    let signs = [1.0, -1.0, -1.0, 1.0, 1.0, -1.0];
    let p = Mat::from_fn(n, n, |i, j| if perm[i] == j { signs[i] } else { 0.0 });
    let b = matmul(&matmul(&p, &a), &transpose(&p));
    let (pa, pb) = (dir.join("a.npy"), dir.join("b.npy"));
    write_npy(&pa, &[n, n], &to_row_major(&a));
    write_npy(&pb, &[n, n], &to_row_major(&b));
    let (pa, pb) = (pa.display().to_string(), pb.display().to_string());
    let v = ok(&["align", &pa, &pb]);
    for key in [
        "distance",
        "angular",
        "euclidean",
        "lower_bound",
        "grad_norm",
        "c",
        "certificate",
    ] {
        assert!(v.get(key).is_some(), "missing key {key}");
    }
    assert!(f(&v["distance"]) <= 1e-9, "{}", v["distance"]);
    assert!(f(&v["lower_bound"]) <= f(&v["distance"]) + 1e-12);
    let c = matrix_of(&v["c"]);
    let ctc = matmul(&transpose(&c), &c);
    for i in 0..n {
        for j in 0..n {
            let want = if i == j { 1.0 } else { 0.0 };
            assert!((ctc[(i, j)] - want).abs() < 1e-12);
        }
    }
    // The euclidean score and the spectral scores too.
    let v = ok(&["align", &pa, &pb, "--score", "euclidean"]);
    assert!(f(&v["distance"]) <= 1e-9);
    let v = ok(&["align", &pa, &pb, "--score", "wasserstein2"]);
    assert!(f(&v["distance"]) <= 1e-9);
    assert_eq!(f(&v["lower_bound"]), f(&v["distance"]));
    // A non-square operator is a data error naming the file.
    let bad = dir.join("bad.npy");
    write_npy(&bad, &[2, 3], &[1.0; 6]);
    let err = fails(&["align", &pa, &bad.display().to_string()], 1);
    assert!(err.contains("bad.npy"), "{err}");
    // A zero operator: the angle is undefined.
    let zero = dir.join("zero.npy");
    write_npy(&zero, &[n, n], &vec![0.0; n * n]);
    let err = fails(&["align", &pa, &zero.display().to_string()], 1);
    assert!(err.contains("zero.npy") && err.contains("zero"), "{err}");
}

#[test]
fn compare_a_system_and_its_rotated_readout_is_zero() {
    let dir = scratch("compare");
    let q = random_orthogonal(4, &mut rng(11));
    let x = write_system(&dir, "x.npy", 4, 3, None);
    let y = write_system(&dir, "y.npy", 4, 3, Some(&q));
    for score in [
        "angular",
        "euclidean",
        "wasserstein",
        "wasserstein2",
        "wasserstein1",
    ] {
        let v = ok(&["compare", &x, &y, "--n-delays", "3", "--score", score]);
        for key in ["distance", "rank_x", "rank_y", "certificate", "lower_bound"] {
            assert!(v.get(key).is_some(), "missing key {key}");
        }
        assert_eq!(
            (v["rank_x"].as_u64(), v["rank_y"].as_u64()),
            (Some(12), Some(12))
        );
        assert!(f(&v["distance"]) <= 1e-8, "{score}: {}", v["distance"]);
    }
}

/// 12 systems: three families of four (one system seen through orthogonal readouts, plus noise in
/// the dynamics), so the matrix has structure and near-zero entries.
fn twelve_systems(dir: &Path) -> Vec<String> {
    let mut r = rng(21);
    (0..12)
        .map(|s| {
            let q = random_orthogonal(3, &mut r);
            write_system(
                dir,
                &format!("s{s:02}.npy"),
                3,
                100 + (s % 3) as u64,
                Some(&q),
            )
        })
        .collect()
}

#[test]
fn pairwise_matrix_is_a_metric_and_shards_merge_bit_for_bit() {
    let dir = scratch("pairwise");
    let files = twelve_systems(&dir);
    let files: Vec<&str> = files.iter().map(String::as_str).collect();
    let d = |name: &str| dir.join(name).display().to_string();
    let fit = ["--n-delays", "2", "--rank", "5"];
    let full = d("full.npy");
    let report = d("report.json");
    let args = [
        &["pairwise"][..],
        &files,
        &fit,
        &["--output", &full, "--report", &report, "--threads", "2"],
    ]
    .concat();
    assert_eq!(ok(&args), Value::Null, "pairwise prints nothing on stdout");
    let (shape, m) = read_npy(Path::new(&full));
    assert_eq!(shape, vec![12, 12]);
    let k = 12;
    for i in 0..k {
        assert_eq!(m[i * k + i], 0.0);
        for j in 0..k {
            assert_eq!(m[i * k + j].to_bits(), m[j * k + i].to_bits());
            for l in 0..k {
                assert!(
                    m[i * k + l] <= m[i * k + j] + m[j * k + l] + 1e-12,
                    "triangle ({i},{j},{l})"
                );
            }
        }
    }
    // Same family (same dynamics, rotated readout, different noise) closer than other families.
    assert!(m[3] < m[1] && m[3] < m[2], "row 0: {:?}", &m[..k]);
    // The report.
    let rep: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    for key in [
        "dynsim_version",
        "systems",
        "options",
        "pairs",
        "repaired",
        "repaired_pairs",
        "repair_sweeps",
        "shape",
        "execution",
    ] {
        assert!(rep.get(key).is_some(), "report lacks {key}");
    }
    for key in ["command", "threads", "timings"] {
        assert!(
            rep["execution"].get(key).is_some(),
            "report lacks execution.{key}"
        );
    }
    assert!(rep["execution"]["timings"]["score_seconds"]
        .as_f64()
        .is_some());
    assert_eq!(rep["systems"].as_array().unwrap().len(), 12);
    assert_eq!(rep["systems"][0]["rank"], 5);
    let pairs = rep["pairs"].as_array().unwrap();
    assert_eq!(pairs.len(), 66);
    for p in pairs {
        let (i, j) = (
            p["i"].as_u64().unwrap() as usize,
            p["j"].as_u64().unwrap() as usize,
        );
        assert_eq!(f(&p["value"]).to_bits(), m[i * k + j].to_bits());
        let lb = f(&p["certificate"]["angular_lower_bound"]);
        assert!(lb <= m[i * k + j] + 1e-12);
    }
    // One thread: identical bytes.
    let one = d("one.npy");
    ok(&[
        &["pairwise"][..],
        &files,
        &fit,
        &["--output", &one, "--threads", "1"],
    ]
    .concat());
    assert_eq!(std::fs::read(&full).unwrap(), std::fs::read(&one).unwrap());
    // Three shards (given to merge out of order), merged: identical bytes.
    let parts: Vec<String> = (0..3).map(|s| d(&format!("part{s}.json"))).collect();
    for (s, part) in parts.iter().enumerate() {
        let shard = format!("{s}/3");
        ok(&[
            &["pairwise"][..],
            &files,
            &fit,
            &["--output", part, "--shard", &shard],
        ]
        .concat());
    }
    let merged = d("merged.npy");
    let merged_report = d("merged.json");
    ok(&[
        "merge",
        &parts[2],
        &parts[0],
        &parts[1],
        "--output",
        &merged,
        "--report",
        &merged_report,
    ]);
    assert_eq!(
        std::fs::read(&full).unwrap(),
        std::fs::read(&merged).unwrap()
    );
    let mrep: Value =
        serde_json::from_str(&std::fs::read_to_string(&merged_report).unwrap()).unwrap();
    assert_eq!(mrep["repaired"], rep["repaired"]);
    assert_eq!(mrep["shards"], 3);
    // Merge refuses a missing or a duplicated shard, and parts of different runs.
    let err = fails(&["merge", &parts[0], &parts[1], "--output", &d("x.npy")], 1);
    assert!(err.contains("shard 2/3 is missing"), "{err}");
    let err = fails(
        &[
            "merge",
            &parts[0],
            &parts[1],
            &parts[1],
            "--output",
            &d("x.npy"),
        ],
        1,
    );
    assert!(err.contains("already given"), "{err}");
    let other = d("other.json");
    ok(&[
        &["pairwise"][..],
        &files,
        &[
            "--n-delays",
            "2",
            "--rank",
            "4",
            "--output",
            &other,
            "--shard",
            "2/3",
        ],
    ]
    .concat());
    let err = fails(
        &[
            "merge",
            &parts[0],
            &parts[1],
            &other,
            "--output",
            &d("x.npy"),
        ],
        1,
    );
    assert!(err.contains("another run"), "{err}");
    assert!(
        !Path::new(&d("x.npy")).exists(),
        "no output after a failed merge"
    );
}

#[test]
fn pairwise_spectral_cross_and_saved_models() {
    let dir = scratch("cross");
    let files = twelve_systems(&dir);
    let files: Vec<&str> = files.iter().map(String::as_str).collect();
    let d = |name: &str| dir.join(name).display().to_string();
    let fit = ["--n-delays", "2", "--rank", "5", "--score", "wasserstein2"];
    let (full, cross, models) = (d("full.npy"), d("cross.npy"), d("models.json"));
    ok(&[
        &["pairwise"][..],
        &files[..6],
        &fit,
        &["--output", &full, "--save-models", &models],
    ]
    .concat());
    // Cross: the first two systems against the models of all six (fit options are ignored for
    // model files): equal to the rows of the full matrix, bit for bit.
    ok(&[
        &["pairwise"][..],
        &files[..2],
        &fit,
        &["--against", &models, "--output", &cross],
    ]
    .concat());
    let (s_full, m_full) = read_npy(Path::new(&full));
    let (s_cross, m_cross) = read_npy(Path::new(&cross));
    assert_eq!((s_full, s_cross.clone()), (vec![6, 6], vec![2, 6]));
    for i in 0..2 {
        for j in 0..6 {
            assert_eq!(
                m_cross[i * 6 + j].to_bits(),
                m_full[i * 6 + j].to_bits(),
                "({i},{j})"
            );
        }
    }
}

#[test]
fn bad_input_gives_exit_code_1_and_names_the_file() {
    let dir = scratch("bad");
    let d = |name: &str| dir.join(name).display().to_string();
    let good = write_system(&dir, "good.npy", 3, 1, None);
    let out = d("out.npy");
    // Missing file, a directory, garbage bytes, empty file.
    let err = fails(&["fit", &d("missing.npy")], 1);
    assert!(err.contains("missing.npy"), "{err}");
    let err = fails(&["fit", &dir.display().to_string()], 1);
    assert!(
        err.contains(&dir.display().to_string()) && err.contains("directory"),
        "{err}"
    );
    std::fs::write(d("garbage.npy"), b"this is not an npy file").unwrap();
    let err = fails(&["fit", &d("garbage.npy")], 1);
    assert!(err.contains("garbage.npy"), "{err}");
    std::fs::write(d("empty.npy"), b"").unwrap();
    fails(&["pairwise", &good, &d("empty.npy"), "--output", &out], 1);
    // NaN in the data: the index is reported.
    let mut data = system(3, 1, None);
    data[4 * 3 + 2] = f64::NAN;
    write_npy(&dir.join("nan.npy"), &[4, 60, 3], &data);
    let err = fails(&["fit", &d("nan.npy")], 1);
    assert!(
        err.contains("nan.npy") && err.contains("[0, 4, 2]"),
        "{err}"
    );
    // Too few time points for the delays.
    let err = fails(&["fit", &good, "--n-delays", "70"], 1);
    assert!(err.contains("good.npy"), "{err}");
    // Rank above N·D.
    let err = fails(&["fit", &good, "--rank", "4"], 1);
    assert!(err.contains("rank 4"), "{err}");
    // Output into a missing directory: an error, and no file.
    let err = fails(
        &[
            "pairwise",
            &good,
            &good,
            "--output",
            &d("no/such/dir/out.npy"),
        ],
        1,
    );
    assert!(err.contains("out.npy"), "{err}");
    assert!(!out.is_empty() && !Path::new(&out).exists());
}

#[test]
fn usage_errors_give_exit_code_2() {
    let dir = scratch("usage");
    let good = write_system(&dir, "good.npy", 3, 1, None);
    let out = dir.join("out.npy").display().to_string();
    fails(&["frobnicate"], 2);
    fails(&["fit"], 2);
    fails(&["fit", &good, "--rank", "3", "--rank-auto"], 2);
    fails(&["fit", &good, "--n-delays", "0"], 2);
    fails(&["fit", &good, "--lambda", "-1"], 2);
    fails(&["fit", &good, "--rank-explained-variance", "1.5"], 2);
    fails(&["compare", &good, &good, "--score", "cosine"], 2);
    fails(&["compare", &good, &good, "--threads", "0"], 2);
    fails(
        &["pairwise", &good, &good, "--output", &out, "--shard", "3/2"],
        2,
    );
    fails(
        &["pairwise", &good, &good, "--output", &out, "--shard", "x"],
        2,
    );
    fails(&["pairwise", &good, &good], 2);
    assert!(!Path::new(&out).exists());
    // --help and --version succeed.
    assert!(run(&["--help"]).status.success());
    assert!(run(&["--version"]).status.success());
}

#[test]
fn demo_prints_the_study_and_writes_an_svg() {
    let dir = scratch("demo");
    let svg = dir.join("demo.svg");
    let out = run(&["demo", "--svg", &svg.display().to_string()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "DSA angular",
        "DSA wasserstein",
        "Procrustes",
        "silhouette",
        "classical MDS",
    ] {
        assert!(text.contains(needle), "demo output lacks {needle}");
    }
    // The same silhouettes the study test asserts: DSA ≥ 0.5, Procrustes ≤ 0.2.
    let silhouettes: Vec<f64> = text
        .lines()
        .filter_map(|l| l.split("silhouette ").nth(1))
        .map(|rest| rest.split_whitespace().next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(silhouettes.len(), 3, "{text}");
    assert!(silhouettes[0] >= 0.5 && silhouettes[1] >= 0.5 && silhouettes[2] <= 0.2);
    let figure = std::fs::read_to_string(&svg).unwrap();
    assert!(figure.starts_with("<svg") && figure.trim_end().ends_with("</svg>"));
    assert_eq!(
        figure.matches("<circle").count(),
        15,
        "one MDS point per system"
    );
    assert!(
        figure.matches("<rect").count() >= 3 * 15 * 15,
        "three 15 × 15 heat maps"
    );
    // Deterministic: a second run (without --svg) prints the same text up to the "wrote" line.
    let again = String::from_utf8(run(&["demo"]).stdout).unwrap();
    let body = text.split("\nwrote ").next().unwrap();
    assert!(
        again == body || again == format!("{body}\n"),
        "demo output differs between runs"
    );
}

/// spec/cli.md §2.3: a job whose estimated peak memory exceeds `--max-memory` is refused before any
/// data are read, with the estimate, the budget and the largest system named; bad sizes are usage
/// errors.
#[test]
fn max_memory_refuses_with_the_estimate() {
    let dir = scratch("maxmem");
    let a = write_system(&dir, "a.npy", 3, 1, None);
    let b = write_system(&dir, "b.npy", 4, 2, None);
    let out = dir.join("out.npy").display().to_string();
    // The process baseline alone (16 MiB) exceeds 1 MiB.
    let err = fails(&["fit", &a, "--max-memory", "1M"], 1);
    assert!(
        err.contains("a.npy")
            && err.contains("estimated peak memory")
            && err.contains("1.000 MiB")
            && err.contains("--max-memory"),
        "{err}"
    );
    // Pairwise names the system with the largest estimate (b: 4 features) and, with two threads,
    // how many systems are fitted at once.
    let err = fails(
        &[
            "pairwise",
            &a,
            &b,
            "--output",
            &out,
            "--threads",
            "2",
            "--max-memory",
            "2M",
        ],
        1,
    );
    assert!(
        err.contains("b.npy") && err.contains("2 systems are fitted at once"),
        "{err}"
    );
    assert!(!Path::new(&out).exists());
    // Generous or no budgets run.
    for ok_size in ["1.5G", "512M", "none", "unlimited", "1e12"] {
        let v = ok(&["fit", &a, "--max-memory", ok_size]);
        assert_eq!(v["rank"], 3, "{ok_size}");
    }
    for bad in ["12Q", "0", "-5", "nan", "inf", "G", ""] {
        fails(&["fit", &a, "--max-memory", bad], 2);
    }
}

/// A reader that closes the pipe early (`dynsim fit X | head`) ends the output quietly: exit code 0,
/// no "internal error" (Rust's print macros would panic on the broken pipe).
#[test]
fn closed_stdout_is_not_a_crash() {
    use std::process::Stdio;
    let dir = scratch("pipe");
    let a = write_system(&dir, "a.npy", 3, 1, None);
    // D = 20: a 60 × 60 operator, ≈ 150 KB of JSON, more than a pipe buffer holds.
    let mut child = Command::new(BIN)
        .args(["fit", &a, "--n-delays", "20"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        !err.contains("internal error") && !err.contains("panicked"),
        "{err}"
    );
}

/// spec/cli.md §1: outputs are written atomically. `pairwise` killed (SIGKILL, no chance to clean up)
/// at many moments of its run leaves under the destination name either the previous file or the
/// complete new one — never a partial file; at most an orphaned temporary `.NAME.tmp-*` beside it.
#[test]
fn killing_pairwise_never_leaves_a_partial_output() {
    let dir = scratch("kill");
    let files = twelve_systems(&dir);
    let files: Vec<&str> = files.iter().map(String::as_str).collect();
    let d = |name: &str| dir.join(name).display().to_string();
    let out = d("out.npy");
    let report = d("report.json");
    let base = [
        &["pairwise"][..],
        &files,
        &["--n-delays", "2", "--rank", "6"],
    ]
    .concat();
    let killed = [
        &base[..],
        &[
            "--output",
            &out,
            "--report",
            &report,
            "--reproducible-report",
        ],
    ]
    .concat();
    // The complete new results (angular) of the command that will be killed, then the previous
    // results (W₂²) in their place.
    ok(&killed);
    let new_bytes = (
        std::fs::read(&out).unwrap(),
        std::fs::read(&report).unwrap(),
    );
    let previous = [
        &base[..],
        &[
            "--score",
            "wasserstein",
            "--output",
            &out,
            "--report",
            &report,
        ],
    ]
    .concat();
    ok(&previous);
    let prev_bytes = (
        std::fs::read(&out).unwrap(),
        std::fs::read(&report).unwrap(),
    );
    assert_ne!(prev_bytes.0, new_bytes.0);
    assert_ne!(prev_bytes.1, new_bytes.1);
    let (mut interrupted, mut finished) = (0, 0);
    for delay_ms in [0u64, 5, 15, 30, 60, 100, 150, 250, 400, 700] {
        let mut child = Command::new(BIN)
            .args(&killed)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        match child.try_wait().unwrap() {
            Some(_) => finished += 1,
            None => {
                child.kill().unwrap();
                interrupted += 1;
            }
        }
        child.wait().unwrap();
        let now = std::fs::read(&out).unwrap();
        assert!(
            now == prev_bytes.0 || now == new_bytes.0,
            "after a kill at {delay_ms} ms the output is neither the previous nor the new file"
        );
        let now_report = std::fs::read(&report).unwrap();
        assert!(
            now_report == prev_bytes.1 || now_report == new_bytes.1,
            "after a kill at {delay_ms} ms the report is partial"
        );
        // Nothing else appears in the directory but orphaned temporary files.
        for entry in std::fs::read_dir(&dir).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            assert!(
                name.ends_with(".npy")
                    || name.ends_with(".json")
                    || name.starts_with(".out.npy.tmp-")
                    || name.starts_with(".report.json.tmp-"),
                "{name}"
            );
        }
    }
    eprintln!("{interrupted} runs were killed mid-run, {finished} had finished");
    assert!(
        interrupted >= 3,
        "{interrupted} runs were killed mid-run, {finished} had finished"
    );
}

/// A command-line token: a subcommand's option, a value (ordinary or hostile) or a path that does not
/// exist (so no run ever reads or writes a file).
fn cli_token() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    let options = [
        "--n-delays",
        "--delay-interval",
        "--rank",
        "--rank-thresh",
        "--rank-explained-variance",
        "--rank-auto",
        "--lambda",
        "--steps-ahead",
        "--reduced-rank",
        "--max-memory",
        "--score",
        "--seed",
        "--restarts",
        "--no-normalize",
        "--unequal",
        "--threads",
        "--against",
        "--output",
        "--report",
        "--shard",
        "--save-models",
        "--reproducible-report",
        "--save",
        "--vectors",
        "--candidate",
        "--write-candidate",
        "--json",
        "--help",
        "--bogus",
        "-x",
    ];
    let values = [
        "0",
        "1",
        "3",
        "-1",
        "0.5",
        "1.5",
        "nan",
        "inf",
        "-inf",
        "1e400",
        "18446744073709551616",
        "3/2",
        "0/2",
        "1/1",
        "2/3",
        "x",
        "",
        "none",
        "1G",
        "12Q",
        "angular",
        "euclidean",
        "wasserstein",
        "wasserstein2",
        "wasserstein1",
        "cosine",
        "transport",
        "zero-pad",
    ];
    let paths = [
        "/nonexistent-dynsim/a.npy",
        "/nonexistent-dynsim/b.npz",
        "/nonexistent-dynsim/m.json",
        "/nonexistent-dynsim/dir",
        "/nonexistent-dynsim/out.npy",
    ];
    prop_oneof![
        3 => proptest::sample::select(options.to_vec()).prop_map(str::to_string),
        3 => proptest::sample::select(values.to_vec()).prop_map(str::to_string),
        2 => proptest::sample::select(paths.to_vec()).prop_map(str::to_string),
        1 => "[ -~]{0,6}",
    ]
}

proptest::proptest! {
    #![proptest_config(proptest_config(64))]

    /// Stable mirror of the `cli_args` fuzz target, through the real binary: any argument list ends
    /// with exit code 0, 1 or 2 and, on failure, an `error:` line — never a panic (exit code 101).
    #[test]
    fn any_command_line_ends_in_a_clean_exit(
        command in proptest::sample::select(vec!["fit", "align", "compare", "pairwise", "merge", "verify"]),
        tokens in proptest::collection::vec(cli_token(), 0..9),
    ) {
        let mut args = vec![command.to_string()];
        args.extend(tokens);
        let out = Command::new(BIN).args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        let code = out.status.code();
        proptest::prop_assert!(matches!(code, Some(0..=2)), "{args:?}: exit {code:?}, {err}");
        proptest::prop_assert!(!err.contains("internal error") && !err.contains("panicked"), "{args:?}: {err}");
        if code != Some(0) {
            proptest::prop_assert!(err.starts_with("error:"), "{args:?}: {err}");
        }
    }
}
