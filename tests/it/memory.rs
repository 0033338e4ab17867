//! Resource limits before allocation (spec/io.md §2.6, §3.3, §4.1; spec/operator.md §7.1): reading a
//! data file's headers alone agrees with reading the file, and the fit's memory estimate follows its
//! closed form without ever overflowing.

use std::path::{Path, PathBuf};

use dynsim::embedding::DelayParams;
use dynsim::io::{peek_dataset, read_dataset};
use dynsim::operator::{fit_memory, FitParams, RankRule, Regression};
use dynsim::Error;

use crate::common::npy_with_header;

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/npy");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("fixture directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "npy" || e == "npz"))
        .collect();
    files.sort();
    files
}

/// Errors that need the data itself, which a header-only read cannot see.
fn needs_the_data(e: &Error) -> bool {
    match e {
        Error::NonFinite { .. } => true,
        Error::Format { reason, .. } => {
            reason.contains("2^53")
                || reason.contains("decompress")
                || reason.contains("cannot decode")
        }
        _ => false,
    }
}

/// On every NumPy-written fixture (76 files: every dtype, byte order, layout, format version, and
/// every malformed variant the reader refuses), the header-only read gives exactly the shape the full
/// read gives, or exactly the same error, or (only for errors that need the data: NaN/Inf, integers
/// above 2^53, a member that decompresses to another size) succeeds.
#[test]
fn peek_agrees_with_read_on_every_fixture() {
    let files = fixtures();
    assert!(files.len() >= 70, "{} fixtures", files.len());
    let (mut same_shape, mut same_error, mut data_only) = (0, 0, 0);
    for path in &files {
        let read = read_dataset(path);
        let peek = peek_dataset(path);
        match (&read, &peek) {
            (Ok(ds), Ok(shape)) => {
                let lens: Vec<usize> = (0..ds.n_trials())
                    .map(|i| ds.trial_len(i).expect("trial"))
                    .collect();
                assert_eq!(shape.trial_lens, lens, "{}", path.display());
                assert_eq!(shape.n_features, ds.n_features(), "{}", path.display());
                let len = std::fs::metadata(path).expect("metadata").len();
                assert_eq!(shape.file_bytes, len);
                assert!(shape.largest_stored <= len.max(shape.largest_stored));
                same_shape += 1;
            }
            (Err(r), Err(p)) => {
                assert_eq!(r.to_string(), p.to_string(), "{}", path.display());
                same_error += 1;
            }
            (Err(r), Ok(_)) => {
                assert!(
                    needs_the_data(r),
                    "{}: peek accepted, read: {r}",
                    path.display()
                );
                data_only += 1;
            }
            (Ok(_), Err(p)) => panic!("{}: read accepted, peek refused: {p}", path.display()),
        }
    }
    // The fixture set exercises all three outcomes.
    assert!(
        same_shape >= 30 && same_error >= 15 && data_only >= 3,
        "{same_shape} {same_error} {data_only}"
    );
}

/// Headers declaring 10^12 elements, overflowing shapes and a 4 GiB header length are refused by the
/// header-only read with the full read's error.
#[test]
fn peek_refuses_huge_declared_sizes_like_read() {
    let dir = std::env::temp_dir().join(format!("dynsim-memory-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch");
    let mut v2 = b"\x93NUMPY\x02\x00\xff\xff\xff\xff{'descr'".to_vec();
    v2.extend_from_slice(&[b' '; 20]);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "tera.npy",
            npy_with_header(
                "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000, 1000000), }",
                &[0; 120],
            ),
            "8000000000000 bytes",
        ),
        (
            "overflow.npy",
            npy_with_header(
                "{'descr': '<f8', 'fortran_order': True, 'shape': (1099511627776, 1099511627776, 3), }",
                &[],
            ),
            "64 bits",
        ),
        ("hdrlen.npy", v2, "4294967295"),
    ];
    for (name, bytes, needle) in cases {
        let p = dir.join(name);
        std::fs::write(&p, bytes).expect("write");
        let read = read_dataset(&p).expect_err("read refuses").to_string();
        let peek = peek_dataset(&p).expect_err("peek refuses").to_string();
        assert_eq!(read, peek);
        assert!(peek.contains(needle) && peek.contains(name), "{peek}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn params(d: usize, tau: usize, rank: RankRule, regression: Regression) -> FitParams {
    FitParams {
        delay: DelayParams {
            n_delays: d,
            delay_interval: tau,
        },
        rank,
        regression,
        ..FitParams::default()
    }
}

/// spec/operator.md §7.1, by hand: trials of 100 and 50 steps, N = 3, D = 4, τ = 2, so the span is
/// (D − 1)τ = 6, M = 94 + 44 = 138 rows and p = 12 columns.
#[test]
fn fit_memory_follows_its_closed_form() {
    let lens = [100, 50];
    let full = fit_memory(
        &lens,
        3,
        &params(4, 2, RankRule::Full, Regression::PrincipalComponent),
    )
    .expect("estimate");
    assert_eq!(full.dataset, 8 * 150 * 3);
    assert_eq!(full.hankel, 8 * 138 * 12);
    assert_eq!(full.basis, 8 * 138 * 12);
    assert_eq!(full.small, 8 * 12 * 144);
    // The workspace holds at least the kernel's packing of one block of rows (bs ≥ 1).
    assert!(full.workspace >= 8 * 138);
    assert_eq!(
        full.total(),
        full.dataset + full.hankel + full.basis + full.workspace + full.small
    );
    let fixed = fit_memory(
        &lens,
        3,
        &params(4, 2, RankRule::Fixed(5), Regression::PrincipalComponent),
    )
    .expect("estimate");
    assert_eq!(fixed.basis, 8 * 138 * 5);
    assert!(fixed.total() < full.total());
    // Rules that choose r after the SVD, and reduced-rank regression (which needs all p columns),
    // are estimated at c = p.
    for (rank, regression) in [
        (RankRule::Auto, Regression::PrincipalComponent),
        (RankRule::Threshold(0.5), Regression::PrincipalComponent),
        (RankRule::Fixed(5), Regression::ReducedRank),
    ] {
        let e = fit_memory(&lens, 3, &params(4, 2, rank, regression)).expect("estimate");
        assert_eq!(e.basis, full.basis, "{rank:?} {regression:?}");
    }
    // A trial shorter than the span contributes no rows (fit refuses it later).
    let short = fit_memory(
        &[100, 3],
        3,
        &params(4, 2, RankRule::Full, Regression::PrincipalComponent),
    )
    .expect("estimate");
    assert_eq!(short.hankel, 8 * 94 * 12);
}

/// Absurd shapes saturate at u64::MAX instead of overflowing; invalid parameters are refused.
#[test]
fn fit_memory_saturates_and_validates() {
    let e = fit_memory(
        &[usize::MAX, usize::MAX],
        usize::MAX,
        &params(
            usize::MAX,
            1,
            RankRule::Full,
            Regression::PrincipalComponent,
        ),
    )
    .expect("estimate");
    assert_eq!(e.total(), u64::MAX);
    assert!(matches!(
        fit_memory(
            &[10],
            2,
            &params(0, 1, RankRule::Full, Regression::PrincipalComponent)
        ),
        Err(Error::InvalidParameter {
            name: "n_delays",
            ..
        })
    ));
    let bad_lambda = FitParams {
        lambda: f64::NAN,
        ..FitParams::default()
    };
    assert!(matches!(
        fit_memory(&[10], 2, &bad_lambda),
        Err(Error::InvalidParameter { name: "lambda", .. })
    ));
}
