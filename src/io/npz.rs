//! `.npz` archives: one trial per member (spec/io.md §3).

use std::path::Path;

use crate::embedding::Dataset;
use crate::error::{Error, Result};

/// Reads one system's data from a `.npz` archive: every member is a trial of shape (T_i, N), in
/// archive order.
pub fn read_dataset(path: &Path) -> Result<Dataset> {
    Err(Error::Io {
        path: path.display().to_string(),
        reason: "not implemented yet".into(),
    })
}
