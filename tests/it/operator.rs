//! Tests for operator.
