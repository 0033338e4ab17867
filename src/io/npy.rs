//! `.npy` files (spec/io.md §1–2).

use std::path::Path;

use crate::embedding::Dataset;
use crate::error::{Error, Result};

/// A numeric array read from a file, converted to f64: its shape and its values in row-major (C)
/// order.
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    /// The shape, outermost axis first.
    pub shape: Vec<usize>,
    /// The values, row-major.
    pub data: Vec<f64>,
}

/// Reads a `.npy` file as f64 (spec/io.md §2).
pub fn read(path: &Path) -> Result<Array> {
    Err(Error::Io {
        path: path.display().to_string(),
        reason: "not implemented yet".into(),
    })
}

/// Reads one system's data from a `.npy` file of shape (T, N) or (K, T, N).
pub fn read_dataset(path: &Path) -> Result<Dataset> {
    let _ = read(path)?;
    unimplemented_dataset(path)
}

fn unimplemented_dataset(path: &Path) -> Result<Dataset> {
    Err(Error::Io {
        path: path.display().to_string(),
        reason: "not implemented yet".into(),
    })
}

/// Reads a square matrix (an operator) from a 2-D `.npy` file.
pub fn read_matrix(path: &Path) -> Result<faer::Mat<f64>> {
    let _ = read(path)?;
    Err(Error::Io {
        path: path.display().to_string(),
        reason: "not implemented yet".into(),
    })
}

/// The bytes of a little-endian f64, C-order `.npy` file of the given shape.
pub fn to_bytes(shape: &[usize], data: &[f64]) -> Result<Vec<u8>> {
    let _ = (shape, data);
    Ok(Vec::new())
}

/// Writes a little-endian f64, C-order `.npy` file atomically.
pub fn write(path: &Path, shape: &[usize], data: &[f64]) -> Result<()> {
    super::write_atomic(path, &to_bytes(shape, data)?)
}
