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
        _ => Err(Error::Format {
            path: path.display().to_string(),
            array: "file".into(),
            reason: "unknown extension: expected .npy (one array) or .npz (one array per trial)"
                .into(),
        }),
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
