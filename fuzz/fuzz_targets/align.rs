//! Fuzz target: PAVF and the spectral distances on arbitrary small matrices (any shape, any f64 bit
//! pattern) must return Ok or a typed error, never panic; Ok values are finite and C is orthogonal.
//! Run: `cargo +nightly fuzz run align`.
#![no_main]

use dynsim::alignment::{align, spectral_distance_operators, PavfOptions, SpectralScore, UnequalSizes};
use dynsim::faer::Mat;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if bytes.len() < 5 {
        return;
    }
    let (head, body) = bytes.split_at(5);
    let (ra, ca, rb, cb) = (
        (head[0] % 6) as usize,
        (head[1] % 6) as usize,
        (head[2] % 6) as usize,
        (head[3] % 6) as usize,
    );
    let values: Vec<f64> = body
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
        .collect();
    let at = |k: usize| values.get(k).copied().unwrap_or(0.25 * k as f64);
    let a = Mat::from_fn(ra, ca, |i, j| at(i * 6 + j));
    let b = Mat::from_fn(rb, cb, |i, j| at(36 + i * 6 + j));
    let options = PavfOptions {
        normalize: head[4] & 1 == 0,
        seed: u64::from(head[4] >> 1),
        restarts: Some(usize::from(head[4] >> 5)),
        ..PavfOptions::default()
    };
    if let Ok(al) = align(a.as_ref(), b.as_ref(), &options) {
        assert!(al.angular.is_finite() && al.euclidean.is_finite());
        let n = al.c.nrows();
        for i in 0..n {
            for j in 0..n {
                let dot: f64 = (0..n).map(|k| al.c[(k, i)] * al.c[(k, j)]).sum();
                let want = if i == j { 1.0 } else { 0.0 };
                assert!((dot - want).abs() < 1e-9, "C is not orthogonal");
            }
        }
    }
    for score in [SpectralScore::Wasserstein, SpectralScore::Wasserstein2, SpectralScore::Wasserstein1] {
        for unequal in [UnequalSizes::Transport, UnequalSizes::ZeroPad] {
            if let Ok(v) = spectral_distance_operators(a.as_ref(), b.as_ref(), score, unequal) {
                assert!(v >= 0.0);
            }
        }
    }
});
