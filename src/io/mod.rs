//! Files: NumPy `.npy` / `.npz` data, saved operators (model files) and atomic writes —
//! `spec/io.md`. Enabled by the `io` cargo feature (on by default).
//!
//! Every error names the file and the array (or archive member, or model field) it concerns, and no
//! input makes these functions panic. Outputs are written atomically ([`write_atomic`]): a temporary
//! file in the destination's directory, flushed to disk, then renamed over the destination, so an
//! interrupted run never leaves a half-written file under the final name.

pub mod model;
pub mod npy;
pub mod npz;

use std::io::Write;
use std::path::Path;

use crate::embedding::Dataset;
use crate::error::{Error, Result};

/// Reads one system's data (spec/io.md §1), by extension:
/// - `.npy`: an array of shape (T, N) (one trial) or (K, T, N) (K trials);
/// - `.npz`: every member is one trial of shape (T_i, N) (ragged allowed), in archive order.
///
/// The dataset is named after the path.
pub fn read_dataset(path: &Path) -> Result<Dataset> {
    if path.is_dir() {
        return Err(Error::Io {
            path: path.display().to_string(),
            reason: "is a directory, not a data file (.npy / .npz)".into(),
        });
    }
    match extension(path).as_deref() {
        Some("npy") => npy::read_dataset(path),
        Some("npz") => npz::read_dataset(path),
        _ => Err(unknown_extension(path)),
    }
}

/// The shape of one system's data file, read from its header(s) only ([`peek_dataset`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataShape {
    /// The length Tᵢ of every trial, in order.
    pub trial_lens: Vec<usize>,
    /// N, the number of features.
    pub n_features: usize,
    /// The file's size in bytes.
    pub file_bytes: u64,
    /// The largest single array as stored in the file, in bytes (a `.npz` member is decompressed
    /// into memory one at a time).
    pub largest_stored: u64,
}

impl DataShape {
    /// The number of values, ΣTᵢ·N.
    pub fn n_values(&self) -> u64 {
        self.trial_lens
            .iter()
            .fold(0u64, |acc, &t| acc.saturating_add(t as u64))
            .saturating_mul(self.n_features as u64)
    }

    /// The peak memory of reading the file into a dataset (spec/io.md §4.1), in bytes: the stored
    /// bytes of the largest array being decoded, plus the decoded f64 values, plus the dataset built
    /// from them (one copy each).
    pub fn read_memory(&self) -> u64 {
        let values = self.n_values().saturating_mul(8);
        self.largest_stored
            .saturating_add(values)
            .saturating_add(values)
    }
}

/// Reads only the header(s) of a data file (spec/io.md §4.1): the shape of every trial, with the
/// same checks of magic, dtype, shape and length against the file's size as [`read_dataset`], but
/// without reading (or decompressing) the data. Errors are those [`read_dataset`] would give for the
/// same header problem.
pub fn peek_dataset(path: &Path) -> Result<DataShape> {
    if path.is_dir() {
        return Err(Error::Io {
            path: path.display().to_string(),
            reason: "is a directory, not a data file (.npy / .npz)".into(),
        });
    }
    let name = path.display().to_string();
    let file_bytes = std::fs::metadata(path)
        .map_err(|e| Error::Io {
            path: name.clone(),
            reason: format!("cannot read the file: {e}"),
        })?
        .len();
    match extension(path).as_deref() {
        Some("npy") => {
            let header = npy::peek(path)?;
            let (k, t, n) = npy::dataset_dims(&header.shape, &name)?;
            Ok(DataShape {
                trial_lens: vec![t; k],
                n_features: n,
                file_bytes,
                largest_stored: file_bytes,
            })
        }
        Some("npz") => {
            let headers = npz::peek(path)?;
            let n_features = headers
                .first()
                .and_then(|h| h.shape.get(1))
                .copied()
                .unwrap_or(0);
            let largest_stored = headers
                .iter()
                .map(|h| (h.count as u64).saturating_mul(h.item_size))
                .max()
                .unwrap_or(0);
            Ok(DataShape {
                trial_lens: headers
                    .iter()
                    .map(|h| h.shape.first().copied().unwrap_or(0))
                    .collect(),
                n_features,
                file_bytes,
                largest_stored,
            })
        }
        _ => Err(unknown_extension(path)),
    }
}

fn unknown_extension(path: &Path) -> Error {
    Error::Format {
        path: path.display().to_string(),
        array: "file".into(),
        reason: "unknown extension: expected .npy (one array) or .npz (one array per trial)".into(),
    }
}

/// The lower-cased extension of `path`, if any.
fn extension(path: &Path) -> Option<String> {
    path.extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
}

/// Writes `bytes` to `path` atomically: a temporary file beside `path` is written, flushed and synced,
/// then renamed over `path`. On any error the temporary file is removed and `path` is left untouched.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let io_err = |what: &str, e: std::io::Error| Error::Io {
        path: path.display().to_string(),
        reason: format!("{what}: {e}"),
    };
    let name = path.file_name().ok_or_else(|| Error::Io {
        path: path.display().to_string(),
        reason: "not a file name".into(),
    })?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(Error::Io {
            path: path.display().to_string(),
            reason: format!("the directory {} does not exist", dir.display()),
        });
    }
    // Unique per process and per call, so concurrent writers never share a temporary file.
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let tmp = dir.join(format!(
        ".{}.tmp-{}-{}",
        name.to_string_lossy(),
        std::process::id(),
        COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp).map_err(|e| io_err("cannot create a file", e))?;
        f.write_all(bytes).map_err(|e| io_err("cannot write", e))?;
        f.sync_all()
            .map_err(|e| io_err("cannot flush to disk", e))?;
        drop(f);
        std::fs::rename(&tmp, path).map_err(|e| io_err("cannot rename the temporary file", e))?;
        // Make the rename itself durable where the platform allows syncing a directory.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
