//! Saved operators (spec/io.md §4).
