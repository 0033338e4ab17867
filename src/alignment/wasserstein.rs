//! Wasserstein distances between spectra (spec/alignment.md, Wasserstein section).
