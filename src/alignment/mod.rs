//! Comparing two operators (spec/alignment.md): Procrustes analysis over vector fields (PAVF) and
//! Wasserstein distances between eigenvalue spectra.

mod assignment;
mod wasserstein;

pub use assignment::*;
pub use wasserstein::*;
