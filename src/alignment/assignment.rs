//! Assignment solver (spec/alignment.md, Wasserstein section).
