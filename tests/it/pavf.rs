//! Tests for pavf.
