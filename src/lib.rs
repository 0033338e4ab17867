//! # dynsim: Dynamical Similarity Analysis
//!
//! A reference implementation of DSA (Ostrow, Eisen, Kozachkov & Fiete, NeurIPS 2023): delay-embed
//! each system's data ([`embedding`], `spec/embedding.md`), fit a linear operator in whitened delay
//! coordinates ([`operator`], `spec/operator.md`), and compare operators by Procrustes analysis over
//! vector fields or by spectral Wasserstein distances ([`alignment`], `spec/alignment.md`).
//!
//! All arithmetic is `f64`; every result is deterministic (bit-identical for the same inputs and
//! seed, whatever the thread count).
//!
//! The crate README follows; its example is compiled and run as a doctest.
#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod alignment;
pub mod analysis;
pub mod baselines;
pub mod cases;
#[cfg(feature = "io")]
pub mod conformance;
pub mod dsa;
pub mod embedding;
mod error;
#[cfg(feature = "io")]
pub mod io;
pub(crate) mod linalg;
pub mod operator;

pub use error::{Error, Result};
pub use faer;
