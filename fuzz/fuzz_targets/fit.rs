//! Fuzz target: fitting an operator from arbitrary small arrays and parameters must return Ok or a
//! typed error, never panic. Run: `cargo +nightly fuzz run fit` (from the repository root).
#![no_main]

use dynsim::embedding::{Dataset, DelayParams};
use dynsim::operator::{fit, FitParams, RankRule, Regression};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if bytes.len() < 8 {
        return;
    }
    let (head, body) = bytes.split_at(8);
    let k = 1 + (head[0] % 3) as usize;
    let n = 1 + (head[1] % 4) as usize;
    let d = (head[2] % 5) as usize; // 0 is invalid on purpose
    let tau = (head[3] % 3) as usize;
    let steps = (head[4] % 3) as usize;
    let rank = match head[5] % 5 {
        0 => RankRule::Full,
        1 => RankRule::Fixed((head[6] % 12) as usize),
        2 => RankRule::Threshold(f64::from(head[6]) / 64.0),
        3 => RankRule::ExplainedVariance(f64::from(head[6]) / 255.0),
        _ => RankRule::Auto,
    };
    let regression = if head[7] & 1 == 0 { Regression::PrincipalComponent } else { Regression::ReducedRank };
    let lambda = if head[7] & 2 == 0 { 1e-8 } else { 0.0 };
    let values: Vec<f64> = body.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8]))).collect();
    let t = values.len() / (k * n);
    if t == 0 {
        return;
    }
    let Ok(ds) = Dataset::from_array(&values[..k * t * n], k, t, n) else { return };
    let params = FitParams { delay: DelayParams { n_delays: d, delay_interval: tau }, rank, lambda, steps_ahead: steps, regression };
    if let Ok(op) = fit(&ds, &params) {
        assert!(op.rank() >= 1);
        assert!(op.eigenvalues().iter().all(|e| e.0.is_finite() && e.1.is_finite()));
    }
});
