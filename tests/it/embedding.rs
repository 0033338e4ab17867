//! Tests of `dynsim::embedding` against spec/embedding.md.

use dynsim::embedding::{Dataset, DelayParams};
use dynsim::Error;
use proptest::prelude::*;

use crate::common::proptest_config;

/// K trials × T × N values, row-major, plus embedding parameters with T ≥ (D−1)τ + 1.
fn array_and_params() -> impl Strategy<Value = (usize, usize, usize, Vec<f64>, usize, usize)> {
    (1usize..4, 1usize..4, 1usize..4, 1usize..4).prop_flat_map(|(k, n, d, tau)| {
        let min_t = (d - 1) * tau + 1;
        (min_t..min_t + 6).prop_flat_map(move |t| {
            proptest::collection::vec(-10.0f64..10.0, k * t * n)
                .prop_map(move |data| (k, t, n, data, d, tau))
        })
    })
}

/// Ragged trials (different lengths, same N) plus parameters.
fn ragged_and_params() -> impl Strategy<Value = (usize, Vec<Vec<f64>>, usize, usize)> {
    (1usize..4, 1usize..4, 1usize..4).prop_flat_map(|(n, d, tau)| {
        let min_t = (d - 1) * tau + 1;
        proptest::collection::vec(
            (min_t..min_t + 7)
                .prop_flat_map(move |t| proptest::collection::vec(-10.0f64..10.0, t * n)),
            1..5,
        )
        .prop_map(move |trials| (n, trials, d, tau))
    })
}

proptest! {
    #![proptest_config(proptest_config(64))]

    /// spec §2: D = 1 is the identity: H is the data itself, trials stacked.
    #[test]
    fn one_delay_is_identity((k, t, n, data, _d, tau) in array_and_params()) {
        let ds = Dataset::from_array(&data, k, t, n).unwrap();
        let h = ds.embed(&DelayParams { n_delays: 1, delay_interval: tau }).unwrap();
        prop_assert_eq!(h.matrix.shape(), (k * t, n));
        for row in 0..k * t {
            for f in 0..n {
                prop_assert_eq!(h.matrix[(row, f)], data[row * n + f]);
            }
        }
    }

    /// spec §2: block d of row t of trial i equals x_i[t + (D−1−d)τ], and T' = T − (D−1)τ.
    #[test]
    fn block_layout_newest_first((n, trials, d, tau) in ragged_and_params()) {
        let slices: Vec<&[f64]> = trials.iter().map(|t| t.as_slice()).collect();
        let ds = Dataset::from_trials(&slices, n).unwrap();
        let h = ds.embed(&DelayParams { n_delays: d, delay_interval: tau }).unwrap();
        prop_assert_eq!(h.matrix.ncols(), n * d);
        prop_assert_eq!(h.n_trials(), trials.len());
        let mut row0 = 0;
        for (i, trial) in trials.iter().enumerate() {
            let t_len = trial.len() / n;
            let t_prime = t_len - (d - 1) * tau;
            prop_assert_eq!(h.trial_rows(i), Some(t_prime));
            prop_assert_eq!(h.offsets[i], row0);
            for t in 0..t_prime {
                for b in 0..d {
                    let src = t + (d - 1 - b) * tau;
                    for f in 0..n {
                        prop_assert_eq!(h.matrix[(row0 + t, b * n + f)], trial[src * n + f]);
                    }
                }
            }
            row0 += t_prime;
        }
        prop_assert_eq!(h.matrix.nrows(), row0);
    }

    /// spec §2: embedding a K-trial array equals embedding each trial alone and stacking the results
    /// (no delay vector crosses a trial), and a ragged list of equal-length trials equals the 3-D array.
    #[test]
    fn trials_embed_independently((k, t, n, data, d, tau) in array_and_params()) {
        let params = DelayParams { n_delays: d, delay_interval: tau };
        let whole = Dataset::from_array(&data, k, t, n).unwrap().embed(&params).unwrap();
        let slices: Vec<&[f64]> = data.chunks(t * n).collect();
        let ragged = Dataset::from_trials(&slices, n).unwrap().embed(&params).unwrap();
        prop_assert_eq!(&whole.matrix, &ragged.matrix);
        prop_assert_eq!(&whole.offsets, &ragged.offsets);
        let t_prime = t - (d - 1) * tau;
        for (i, chunk) in slices.iter().enumerate() {
            let single = Dataset::from_array(chunk, 1, t, n).unwrap().embed(&params).unwrap();
            prop_assert_eq!(single.matrix.nrows(), t_prime);
            for r in 0..t_prime {
                for c in 0..n * d {
                    prop_assert_eq!(whole.matrix[(i * t_prime + r, c)], single.matrix[(r, c)]);
                }
            }
        }
    }

    /// f32 input converts exactly.
    #[test]
    fn f32_input_matches_f64((k, t, n, data, d, tau) in array_and_params()) {
        let data32: Vec<f32> = data.iter().map(|&x| x as f32).collect();
        let back: Vec<f64> = data32.iter().map(|&x| f64::from(x)).collect();
        let params = DelayParams { n_delays: d, delay_interval: tau };
        let a = Dataset::from_array_f32(&data32, k, t, n).unwrap().embed(&params).unwrap();
        let b = Dataset::from_array(&back, k, t, n).unwrap().embed(&params).unwrap();
        prop_assert_eq!(a.matrix, b.matrix);
    }
}

#[test]
fn non_finite_value_reports_first_index() {
    let mut data = vec![0.5; 2 * 3 * 2];
    data[(3 + 1) * 2 + 1] = f64::NAN; // trial 1, t = 1, feature 1
    data[(3 + 2) * 2 + 1] = f64::INFINITY; // a later one
    let err = Dataset::from_array(&data, 2, 3, 2).unwrap_err();
    match err {
        Error::NonFinite { index, value, .. } => {
            assert_eq!(index, vec![1, 1, 1]);
            assert!(value.is_nan());
        }
        other => panic!("expected NonFinite, got {other:?}"),
    }
    let trials: [&[f64]; 2] = [&[1.0, 2.0], &[3.0, f64::NEG_INFINITY]];
    match Dataset::from_trials(&trials, 1).unwrap_err() {
        Error::NonFinite { index, .. } => assert_eq!(index, vec![1, 1, 0]),
        other => panic!("expected NonFinite, got {other:?}"),
    }
}

#[test]
fn bad_shapes_are_errors() {
    assert!(matches!(
        Dataset::from_array(&[], 0, 3, 2),
        Err(Error::Shape { .. })
    ));
    assert!(matches!(
        Dataset::from_array(&[1.0; 6], 1, 6, 0),
        Err(Error::Shape { .. })
    ));
    assert!(matches!(
        Dataset::from_array(&[1.0; 5], 1, 3, 2),
        Err(Error::Shape { .. })
    ));
    assert!(matches!(
        Dataset::from_array(&[1.0; 4], usize::MAX, 2, 2),
        Err(Error::Shape { .. })
    ));
    assert!(matches!(
        Dataset::from_trials(&[], 2),
        Err(Error::Shape { .. })
    ));
    let uneven: [&[f64]; 2] = [&[1.0, 2.0], &[1.0, 2.0, 3.0]];
    assert!(matches!(
        Dataset::from_trials(&uneven, 2),
        Err(Error::Shape { .. })
    ));
}

#[test]
fn too_few_time_points_names_the_trial() {
    let trials: [&[f64]; 2] = [&[0.0; 10], &[0.0; 4]];
    let ds = Dataset::from_trials(&trials, 1)
        .unwrap()
        .with_name("rec.npz");
    let err = ds
        .embed(&DelayParams {
            n_delays: 3,
            delay_interval: 2,
        })
        .unwrap_err();
    assert_eq!(
        err,
        Error::TooFewTimePoints {
            array: "rec.npz".into(),
            trial: 1,
            len: 4,
            needed: 5,
            n_delays: 3,
            delay_interval: 2,
            steps_ahead: 0
        }
    );
    assert!(err.to_string().contains("rec.npz"));
}

#[test]
fn zero_delays_or_interval_are_errors() {
    let ds = Dataset::from_array(&[0.0; 10], 1, 10, 1).unwrap();
    for p in [
        DelayParams {
            n_delays: 0,
            delay_interval: 1,
        },
        DelayParams {
            n_delays: 2,
            delay_interval: 0,
        },
    ] {
        assert!(matches!(ds.embed(&p), Err(Error::InvalidParameter { .. })));
    }
    let huge = DelayParams {
        n_delays: usize::MAX,
        delay_interval: 3,
    };
    assert!(matches!(
        ds.embed(&huge),
        Err(Error::InvalidParameter { .. })
    ));
}

#[test]
fn error_can_be_renamed() {
    let err = Dataset::from_array(&[f64::NAN], 1, 1, 1)
        .unwrap_err()
        .in_array("x.npy");
    assert!(err.to_string().starts_with("x.npy:"), "{err}");
}
