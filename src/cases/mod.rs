//! Deterministic, seeded generators of the case studies (spec/cases.md): systems whose dynamics are
//! known, so that what DSA must find is known too.
//!
//! Every generator takes a seed and draws from ChaCha8 streams derived from it, so the same seed
//! gives the same data (bit for bit on one platform; `ln`/`cos` of the Gaussian sampler come from
//! the platform's libm, so other platforms may differ in the last bits).

pub mod attractors;
pub mod learning;
pub mod linear;
pub mod lorenz;
pub mod ring;
pub mod rnn;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The generator for stream `stream` of `seed`: independent streams per model, so adding models
/// does not change the earlier ones.
pub(crate) fn stream(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// A standard normal sample (Box–Muller, cosine branch).
pub(crate) fn gaussian(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>(); // (0, 1]
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A uniform sample in [lo, hi).
pub(crate) fn uniform(rng: &mut ChaCha8Rng, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * rng.random::<f64>()
}
