//! The single integration-test crate: one module per library module.

mod common;
mod dsa;
mod embedding;
mod operator;
mod pavf;
mod wasserstein;
