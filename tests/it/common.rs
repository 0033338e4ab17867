//! Tests for common.
