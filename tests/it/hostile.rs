//! Hostile input (spec/io.md, spec/operator.md, spec/alignment.md): stable mirrors of the fuzz targets.
//! Whatever the input, the library returns `Ok` or a typed `Error`; it never panics, and an `Ok`
//! result holds only finite numbers.

use dynsim::alignment::{
    align, spectral_distance_operators, PavfOptions, SpectralScore, UnequalSizes,
};
use dynsim::dsa::{compare, Score, ScoreOptions};
use dynsim::embedding::{Dataset, DelayParams};
use dynsim::io::{npy, npz};
use dynsim::operator::{fit, FitParams, RankRule, Regression};
use faer::Mat;
use proptest::prelude::*;

use crate::common::proptest_config;

/// A value that is usually ordinary and sometimes hostile.
fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        8 => -3.0..3.0f64,
        1 => Just(0.0),
        1 => prop_oneof![
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(1e300),
            Just(-1e-300),
            Just(5e-324),
            Just(f64::MAX),
        ],
    ]
}

fn rank_rule() -> impl Strategy<Value = RankRule> {
    prop_oneof![
        Just(RankRule::Full),
        (0usize..12).prop_map(RankRule::Fixed),
        prop_oneof![Just(-1.0), Just(f64::NAN), 0.0..2.0f64].prop_map(RankRule::Threshold),
        prop_oneof![Just(0.0), Just(1.5), Just(f64::NAN), 0.01..1.0f64]
            .prop_map(RankRule::ExplainedVariance),
        Just(RankRule::Auto),
    ]
}

fn params() -> impl Strategy<Value = FitParams> {
    // Mostly valid parameters (so fits succeed often), sometimes out of their domain.
    (
        prop_oneof![9 => 1usize..4, 1 => Just(0usize)],
        prop_oneof![9 => 1usize..3, 1 => Just(0usize)],
        rank_rule(),
        prop_oneof![
            6 => Just(1e-8),
            1 => Just(0.0),
            1 => Just(1e6),
            1 => Just(-1.0),
            1 => Just(f64::NAN)
        ],
        prop_oneof![9 => 1usize..3, 1 => Just(0usize)],
        any::<bool>(),
    )
        .prop_map(|(d, tau, rank, lambda, k, rrr)| FitParams {
            delay: DelayParams {
                n_delays: d,
                delay_interval: tau,
            },
            rank,
            lambda,
            steps_ahead: k,
            regression: if rrr {
                Regression::ReducedRank
            } else {
                Regression::PrincipalComponent
            },
        })
}

fn all_finite(m: faer::MatRef<'_, f64>) -> bool {
    (0..m.nrows()).all(|i| (0..m.ncols()).all(|j| m[(i, j)].is_finite()))
}

proptest! {
    #![proptest_config(proptest_config(64))]

    /// Mirror of `fuzz_targets/fit.rs`: fit and score arbitrary small data with arbitrary parameters.
    #[test]
    fn fit_and_score_never_panic(
        k in 1usize..4,
        t in prop_oneof![1 => 0usize..4, 4 => 4usize..30],
        n in 0usize..4,
        seed_values in prop::collection::vec(-3.0..3.0f64, 1..150),
        inject in prop::option::weighted(0.3, (any::<usize>(), value())),
        scale in prop_oneof![8 => Just(1.0), 1 => Just(1e300), 1 => Just(1e-310)],
        p in params(),
        score in prop::sample::select(Score::ALL.to_vec()),
    ) {
        let len = k * t * n;
        let mut data: Vec<f64> = (0..len)
            .map(|i| scale * seed_values[i % seed_values.len()] * (1.0 + i as f64 * 1e-3))
            .collect();
        if let (Some((at, v)), false) = (inject, data.is_empty()) {
            let n = data.len();
            data[at % n] = v;
        }
        let Ok(ds) = Dataset::from_array(&data, k, t, n) else { return Ok(()) };
        let fitted = fit(&ds, &p);
        if let Ok(op) = fitted {
            prop_assert!(all_finite(op.matrix()));
            prop_assert!(op.singular_values().iter().all(|s| s.is_finite() && *s >= 0.0));
            let opts = ScoreOptions { score, ..ScoreOptions::default() };
            if let Ok(s) = compare(&op, &op, &opts) {
                prop_assert!(s.value.is_finite() && s.value >= 0.0);
            }
        }
    }

    /// Mirror of `fuzz_targets/align.rs`: arbitrary small (possibly non-square, non-finite, zero)
    /// matrices.
    #[test]
    fn align_never_panics(
        (ra, ca) in (0usize..5, 0usize..5),
        (rb, cb) in (0usize..5, 0usize..5),
        va in prop::collection::vec(value(), 25),
        vb in prop::collection::vec(value(), 25),
        normalize in any::<bool>(),
    ) {
        let a = Mat::from_fn(ra, ca, |i, j| va[i * 5 + j]);
        let b = Mat::from_fn(rb, cb, |i, j| vb[i * 5 + j]);
        let opts = PavfOptions { normalize, ..PavfOptions::default() };
        if let Ok(al) = align(a.as_ref(), b.as_ref(), &opts) {
            prop_assert!(al.angular.is_finite() && al.euclidean.is_finite());
            prop_assert!(all_finite(al.c.as_ref()));
        }
        for s in [SpectralScore::Wasserstein, SpectralScore::Wasserstein2, SpectralScore::Wasserstein1] {
            if let Ok(v) = spectral_distance_operators(a.as_ref(), b.as_ref(), s, UnequalSizes::Transport) {
                prop_assert!(v >= 0.0);
            }
        }
    }

    /// Mirror of `fuzz_targets/npy.rs`: arbitrary bytes, and valid files with arbitrary corruption.
    #[test]
    fn npy_reader_never_panics(
        bytes in prop::collection::vec(any::<u8>(), 0..300),
        shape in prop::collection::vec(0usize..5, 0..4),
        flips in prop::collection::vec((any::<usize>(), any::<u8>()), 0..4),
        cut in any::<usize>(),
    ) {
        let _ = npy::from_bytes(&bytes, "arbitrary.npy");
        let len: usize = shape.iter().product();
        let data: Vec<f64> = (0..len).map(|i| i as f64).collect();
        let mut file = npy::to_bytes(&shape, &data).unwrap();
        for (at, x) in flips {
            let n = file.len();
            file[at % n] ^= x;
        }
        file.truncate(cut % (file.len() + 1) + if cut % 3 == 0 { file.len() } else { 0 });
        if let Ok(a) = npy::from_bytes(&file, "corrupted.npy") {
            prop_assert_eq!(a.data.len(), a.shape.iter().product::<usize>());
        }
    }

    /// Mirror of `fuzz_targets/npz.rs`: corrupted `.npz` fixtures (stored and deflated, ragged) never
    /// make the reader or the header-only reader panic, and whenever the reader accepts the bytes the
    /// header-only reader accepts them too, with the same trial lengths (spec/io.md §3.3).
    #[test]
    fn npz_readers_never_panic_and_agree(
        which in 0usize..3,
        flips in prop::collection::vec((any::<usize>(), any::<u8>()), 0..4),
        cut in any::<usize>(),
    ) {
        let name = ["ragged12.npz", "ragged12_compressed.npz", "mixed.npz"][which];
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/npy").join(name);
        let mut file = std::fs::read(path).unwrap();
        for (at, x) in flips {
            let n = file.len();
            file[at % n] ^= x;
        }
        file.truncate(cut % (file.len() + 1) + if cut % 3 == 0 { file.len() } else { 0 });
        let read = npz::from_bytes(&file, "corrupted.npz");
        let peek = npz::peek_bytes(&file, "corrupted.npz");
        if let Ok(ds) = read {
            let headers = peek.expect("the header-only reader accepts what the reader accepts");
            prop_assert_eq!(headers.len(), ds.n_trials());
            for (i, h) in headers.iter().enumerate() {
                prop_assert_eq!(Some(h.shape[0]), ds.trial_len(i));
            }
        }
    }
}

/// Found by `align_never_panics`: without normalisation, an operator with an entry f64::MAX against
/// an ordinary one has a distance at the edge of the f64 range, which came back as +∞. Now a
/// distance that overflows is a `NonFinite` error naming the Euclidean distance. Here
/// ‖A‖ = √2·f64::MAX, so the distance ≥ ‖A‖ − ‖B‖ certainly exceeds the range.
#[test]
fn unnormalised_distance_beyond_the_f64_range_is_an_error() {
    let mut a = Mat::<f64>::zeros(3, 3);
    a[(0, 1)] = f64::MAX;
    a[(1, 0)] = -f64::MAX;
    let b = Mat::from_fn(4, 4, |i, j| (i as f64 - 1.5) * 0.7 + j as f64 * 0.3 - 1.0);
    let opts = PavfOptions {
        normalize: false,
        ..PavfOptions::default()
    };
    match align(a.as_ref(), b.as_ref(), &opts) {
        Err(dynsim::Error::NonFinite { array, .. }) => assert!(array.contains("Euclidean")),
        other => panic!("expected NonFinite, got {other:?}"),
    }
    // Normalised, the same pair is fine.
    let al = align(a.as_ref(), b.as_ref(), &PavfOptions::default()).unwrap();
    assert!(al.angular.is_finite() && al.euclidean.is_finite());
}
