//! Comparing two operators (spec/alignment.md): Procrustes analysis over vector fields (PAVF) and
//! Wasserstein distances between eigenvalue spectra.

mod assignment;
mod pavf;
mod wasserstein;

pub use assignment::*;
pub use pavf::*;
pub use wasserstein::*;
