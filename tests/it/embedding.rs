//! Tests for embedding.
