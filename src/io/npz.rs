//! `.npz` archives: one trial per member (spec/io.md §3).
//!
//! A `.npz` is a zip archive of `.npy` files (`numpy.savez`: stored; `numpy.savez_compressed`:
//! deflated). Each member is decompressed into memory and parsed by [`super::npy`]. Memory is bounded
//! by what the archive can really contain: a member may not declare more than `MAX_DEFLATE_RATIO`
//! (1032) × its compressed size (deflate cannot do better), the declared sizes of all members
//! together may not exceed that ratio × the file size (overlapping members, the classic non-recursive
//! zip bomb), and no member is read past its declared size.

use std::io::Read;
use std::path::Path;

use crate::embedding::Dataset;
use crate::error::{Error, Result};

use super::npy;

/// Deflate's largest possible expansion: one 258-byte match per 2 bits, ≈ 1032:1.
const MAX_DEFLATE_RATIO: u64 = 1032;

/// Slack added to the ratio bounds (stream headers, tiny members).
const RATIO_SLACK: u64 = 4096;

/// Reads one system's data from a `.npz` archive: every member is a trial of shape (T_i, N), in
/// archive order.
pub fn read_dataset(path: &Path) -> Result<Dataset> {
    let name = path.display().to_string();
    let trials = read_members(path, &name)?;
    let n_features = trials
        .first()
        .map_or(0, |(_, a)| a.shape.get(1).copied().unwrap_or(0));
    let slices: Vec<&[f64]> = trials.iter().map(|(_, a)| a.data.as_slice()).collect();
    Dataset::from_trials(&slices, n_features)
        .map_err(|e| e.in_array(&name))
        .map(|d| d.with_name(name))
}

/// The members of the archive, in archive order, each checked to be a (T_i, N) array with T_i ≥ 1
/// and the same N ≥ 1 for all.
fn read_members(path: &Path, name: &str) -> Result<Vec<(String, npy::Array)>> {
    let io_err = |e: std::io::Error| Error::Io {
        path: name.to_string(),
        reason: format!("cannot read the file: {e}"),
    };
    let format = |array: &str, reason: String| Error::Format {
        path: name.to_string(),
        array: array.to_string(),
        reason,
    };
    let file = std::fs::File::open(path).map_err(io_err)?;
    let meta = file.metadata().map_err(io_err)?;
    if meta.is_dir() {
        return Err(Error::Io {
            path: name.to_string(),
            reason: "cannot read the file: it is a directory".into(),
        });
    }
    let file_len = meta.len();
    let mut archive = zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|e| match e {
        // Running out of bytes or bad bytes is the archive's fault, anything else the system's.
        zip::result::ZipError::Io(e)
            if !matches!(
                e.kind(),
                std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::InvalidData
            ) =>
        {
            io_err(e)
        }
        e => format("archive", format!("not a valid .npz (zip) archive: {e}")),
    })?;
    if archive.is_empty() {
        return Err(format(
            "archive",
            "the archive has no members; expected one .npy member per trial".into(),
        ));
    }
    let total_bound = file_len
        .saturating_mul(MAX_DEFLATE_RATIO)
        .saturating_add(RATIO_SLACK);
    let mut total_declared = 0u64;
    let mut trials: Vec<(String, npy::Array)> = Vec::with_capacity(archive.len().min(1 << 16));
    for i in 0..archive.len() {
        let member_name = archive
            .name_for_index(i)
            .map_or_else(|| format!("member {i}"), str::to_string);
        if !member_name.to_ascii_lowercase().ends_with(".npy") {
            return Err(format(
                &member_name,
                "not a .npy member; every member of a .npz must be one trial saved as .npy".into(),
            ));
        }
        let open_err = |e: zip::result::ZipError| {
            format(&member_name, format!("cannot open the archive member: {e}"))
        };
        let method = archive.by_index_raw(i).map_err(open_err)?.compression();
        if !matches!(
            method,
            zip::CompressionMethod::Stored | zip::CompressionMethod::Deflated
        ) {
            return Err(format(
                &member_name,
                format!(
                    "compression method {method} is not supported; only stored (numpy.savez) and \
                     deflated (numpy.savez_compressed) members are"
                ),
            ));
        }
        let mut member = archive.by_index(i).map_err(open_err)?;
        let declared = member.size();
        let compressed = member.compressed_size();
        total_declared = total_declared.saturating_add(declared);
        let member_bound = compressed
            .saturating_mul(MAX_DEFLATE_RATIO)
            .saturating_add(RATIO_SLACK);
        if declared > member_bound || total_declared > total_bound {
            return Err(format(
                &member_name,
                format!(
                    "declares {declared} bytes uncompressed from {compressed} compressed bytes \
                     in a {file_len}-byte file, more than deflate can expand; refusing a likely zip \
                     bomb"
                ),
            ));
        }
        // Read at most one byte past the declared size; the buffer only grows with bytes actually
        // decompressed.
        let mut bytes = Vec::new();
        (&mut member)
            .take(declared.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| format(&member_name, format!("cannot decompress: {e}")))?;
        if bytes.len() as u64 != declared {
            return Err(format(
                &member_name,
                format!(
                    "decompresses to {}{} bytes but declares {declared}",
                    bytes.len(),
                    if bytes.len() as u64 > declared {
                        "+"
                    } else {
                        ""
                    }
                ),
            ));
        }
        let array = npy::parse(&bytes, name, Some(&member_name))?;
        drop(bytes);
        let (t, n) = match *array.shape.as_slice() {
            [t, n] => (t, n),
            _ => {
                return Err(format(
                    &member_name,
                    format!(
                        "expected a 2-D array of shape (T, N) per trial, got shape {:?}",
                        array.shape
                    ),
                ))
            }
        };
        if t == 0 || n == 0 {
            return Err(format(
                &member_name,
                format!(
                    "shape {:?} has a zero-size axis; a trial needs T ≥ 1 time points and N ≥ 1 \
                     features",
                    array.shape
                ),
            ));
        }
        if let Some((first_name, first)) = trials.first() {
            let n0 = first.shape.get(1).copied().unwrap_or(0);
            if n != n0 {
                return Err(format(
                    &member_name,
                    format!(
                        "has N = {n} features (shape {:?}) but {first_name} has N = {n0}; all \
                         trials must have the same number of features",
                        array.shape
                    ),
                ));
            }
        }
        trials.push((member_name, array));
    }
    Ok(trials)
}
