//! The single integration-test crate: one module per library module.

mod analysis;
mod baselines;
mod cases;
#[cfg(feature = "cli")]
mod cli;
mod common;
#[cfg(feature = "io")]
mod conformance;
#[cfg(feature = "io")]
mod crosscheck;
mod dsa;
mod embedding;
#[cfg(feature = "io")]
mod flipflop;
#[cfg(feature = "io")]
mod hostile;
#[cfg(feature = "cli")]
mod hostile_named;
#[cfg(feature = "io")]
mod io;
mod learning;
#[cfg(feature = "io")]
mod memory;
#[cfg(feature = "io")]
mod model;
mod operator;
mod pavf;
mod ring;
mod wasserstein;
