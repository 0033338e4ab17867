//! Tests for wasserstein.
