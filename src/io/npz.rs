//! `.npz` archives: one trial per member (spec/io.md §3).
//!
//! A `.npz` is a zip archive of `.npy` files (`numpy.savez`: stored; `numpy.savez_compressed`:
//! deflated). Each member is decompressed into memory and parsed by [`super::npy`]. Memory is bounded
//! by what the archive can really contain: a member may not declare more than `MAX_DEFLATE_RATIO`
//! (1032) × its compressed size (deflate cannot do better), the declared sizes of all members
//! together may not exceed that ratio × the file size (overlapping members, the classic non-recursive
//! zip bomb), and no member is read past its declared size.

use std::io::{Read, Seek};
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
    let (file, len) = open_file(path, &name)?;
    dataset_from(Archive::new(std::io::BufReader::new(file), len, &name)?)
}

/// As [`read_dataset`], from the bytes of a whole `.npz` file held in memory; `name` stands for the
/// file name in errors.
pub fn from_bytes(bytes: &[u8], name: &str) -> Result<Dataset> {
    dataset_from(Archive::new(
        std::io::Cursor::new(bytes),
        bytes.len() as u64,
        name,
    )?)
}

fn dataset_from<R: Read + Seek>(archive: Archive<'_, R>) -> Result<Dataset> {
    let name = archive.name.to_string();
    let trials = read_members(archive)?;
    let n_features = trials
        .first()
        .map_or(0, |(_, a)| a.shape.get(1).copied().unwrap_or(0));
    let slices: Vec<&[f64]> = trials.iter().map(|(_, a)| a.data.as_slice()).collect();
    Dataset::from_trials(&slices, n_features)
        .map_err(|e| e.in_array(&name))
        .map(|d| d.with_name(name))
}

/// The shape of every trial of a `.npz` archive, in archive order, from the members' headers only
/// (spec/io.md §3.3): each member is decompressed no further than the end of its `.npy` header. The
/// same checks as [`read_dataset`] apply (members, compression, zip-bomb limits, shapes, dtypes),
/// except those that need the data (non-finite values, integers above 2^53, trailing bytes inside
/// a compressed member).
pub fn peek(path: &Path) -> Result<Vec<npy::Header>> {
    let name = path.display().to_string();
    let (file, len) = open_file(path, &name)?;
    headers_of(Archive::new(std::io::BufReader::new(file), len, &name)?)
}

/// As [`peek`], from the bytes of a whole `.npz` file held in memory.
pub fn peek_bytes(bytes: &[u8], name: &str) -> Result<Vec<npy::Header>> {
    headers_of(Archive::new(
        std::io::Cursor::new(bytes),
        bytes.len() as u64,
        name,
    )?)
}

fn headers_of<R: Read + Seek>(mut archive: Archive<'_, R>) -> Result<Vec<npy::Header>> {
    let name = archive.name;
    let mut headers: Vec<(String, npy::Header)> = Vec::new();
    for i in 0..archive.len() {
        let (member_name, member) = archive.member(i)?;
        let declared = member.size();
        let header = npy::peek_reader(member, declared, name, Some(&member_name))?;
        check_trial_shape(name, &member_name, &header.shape, headers.first())?;
        headers.push((member_name, header));
    }
    Ok(headers.into_iter().map(|(_, h)| h).collect())
}

/// Opens a file for reading: its handle and length; a directory or an OS error is [`Error::Io`].
fn open_file(path: &Path, name: &str) -> Result<(std::fs::File, u64)> {
    let io_err = |e: std::io::Error| Error::Io {
        path: name.to_string(),
        reason: format!("cannot read the file: {e}"),
    };
    let file = std::fs::File::open(path).map_err(io_err)?;
    let meta = file.metadata().map_err(io_err)?;
    if meta.is_dir() {
        return Err(Error::Io {
            path: name.to_string(),
            reason: "cannot read the file: it is a directory".into(),
        });
    }
    Ok((file, meta.len()))
}

/// An open archive, with the running total of declared sizes for the zip-bomb limit.
struct Archive<'a, R: Read + Seek> {
    zip: zip::ZipArchive<R>,
    name: &'a str,
    file_len: u64,
    total_declared: u64,
}

impl<'a, R: Read + Seek> Archive<'a, R> {
    fn format(&self, array: &str, reason: String) -> Error {
        Error::Format {
            path: self.name.to_string(),
            array: array.to_string(),
            reason,
        }
    }

    /// Opens the archive held by `reader` (a file of `len` bytes) and checks that it has members.
    fn new(reader: R, len: u64, name: &'a str) -> Result<Self> {
        let zip = zip::ZipArchive::new(reader).map_err(|e| match e {
            // Running out of bytes or bad bytes is the archive's fault, anything else the system's.
            zip::result::ZipError::Io(e)
                if !matches!(
                    e.kind(),
                    std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::InvalidData
                ) =>
            {
                Error::Io {
                    path: name.to_string(),
                    reason: format!("cannot read the file: {e}"),
                }
            }
            e => Error::Format {
                path: name.to_string(),
                array: "archive".into(),
                reason: format!("not a valid .npz (zip) archive: {e}"),
            },
        })?;
        let archive = Archive {
            zip,
            name,
            file_len: len,
            total_declared: 0,
        };
        if archive.zip.is_empty() {
            return Err(archive.format(
                "archive",
                "the archive has no members; expected one .npy member per trial".into(),
            ));
        }
        Ok(archive)
    }

    fn len(&self) -> usize {
        self.zip.len()
    }

    /// Member `i`, opened for decompression after the checks of spec/io.md §3: a `.npy` name, a
    /// supported compression method, and declared sizes within what deflate can produce.
    fn member(&mut self, i: usize) -> Result<(String, zip::read::ZipFile<'_, R>)> {
        let member_name = self
            .zip
            .name_for_index(i)
            .map_or_else(|| format!("member {i}"), str::to_string);
        if !member_name.to_ascii_lowercase().ends_with(".npy") {
            return Err(self.format(
                &member_name,
                "not a .npy member; every member of a .npz must be one trial saved as .npy".into(),
            ));
        }
        let open_err = |e: zip::result::ZipError| Error::Format {
            path: self.name.to_string(),
            array: member_name.clone(),
            reason: format!("cannot open the archive member: {e}"),
        };
        let (method, declared, compressed) = {
            let raw = self.zip.by_index_raw(i).map_err(open_err)?;
            (raw.compression(), raw.size(), raw.compressed_size())
        };
        if !matches!(
            method,
            zip::CompressionMethod::Stored | zip::CompressionMethod::Deflated
        ) {
            return Err(self.format(
                &member_name,
                format!(
                    "compression method {method} is not supported; only stored (numpy.savez) and \
                     deflated (numpy.savez_compressed) members are"
                ),
            ));
        }
        self.total_declared = self.total_declared.saturating_add(declared);
        let member_bound = compressed
            .saturating_mul(MAX_DEFLATE_RATIO)
            .saturating_add(RATIO_SLACK);
        let total_bound = self
            .file_len
            .saturating_mul(MAX_DEFLATE_RATIO)
            .saturating_add(RATIO_SLACK);
        if declared > member_bound || self.total_declared > total_bound {
            return Err(self.format(
                &member_name,
                format!(
                    "declares {declared} bytes uncompressed from {compressed} compressed bytes \
                     in a {}-byte file, more than deflate can expand; refusing a likely zip bomb",
                    self.file_len
                ),
            ));
        }
        let name = self.name;
        let member = self.zip.by_index(i).map_err(|e| Error::Format {
            path: name.to_string(),
            array: member_name.clone(),
            reason: format!("cannot open the archive member: {e}"),
        })?;
        Ok((member_name, member))
    }
}

/// A trial's shape must be (T, N) with T, N ≥ 1 and the same N as the first trial's.
fn check_trial_shape<H>(
    name: &str,
    member_name: &str,
    shape: &[usize],
    first: Option<&(String, H)>,
) -> Result<()>
where
    H: HasShape,
{
    let format = |reason: String| Error::Format {
        path: name.to_string(),
        array: member_name.to_string(),
        reason,
    };
    let (t, n) = match *shape {
        [t, n] => (t, n),
        _ => {
            return Err(format(format!(
                "expected a 2-D array of shape (T, N) per trial, got shape {shape:?}"
            )))
        }
    };
    if t == 0 || n == 0 {
        return Err(format(format!(
            "shape {shape:?} has a zero-size axis; a trial needs T ≥ 1 time points and N ≥ 1 \
             features"
        )));
    }
    if let Some((first_name, first)) = first {
        let n0 = first.shape().get(1).copied().unwrap_or(0);
        if n != n0 {
            return Err(format(format!(
                "has N = {n} features (shape {shape:?}) but {first_name} has N = {n0}; all \
                 trials must have the same number of features"
            )));
        }
    }
    Ok(())
}

/// Arrays and headers both know their shape.
trait HasShape {
    fn shape(&self) -> &[usize];
}

impl HasShape for npy::Array {
    fn shape(&self) -> &[usize] {
        &self.shape
    }
}

impl HasShape for npy::Header {
    fn shape(&self) -> &[usize] {
        &self.shape
    }
}

/// The members of the archive, in archive order, each checked to be a (T_i, N) array with T_i ≥ 1
/// and the same N ≥ 1 for all.
fn read_members<R: Read + Seek>(mut archive: Archive<'_, R>) -> Result<Vec<(String, npy::Array)>> {
    let name = archive.name;
    let mut trials: Vec<(String, npy::Array)> = Vec::with_capacity(archive.len().min(1 << 16));
    for i in 0..archive.len() {
        let (member_name, mut member) = archive.member(i)?;
        let declared = member.size();
        let format = |reason: String| Error::Format {
            path: name.to_string(),
            array: member_name.clone(),
            reason,
        };
        // Read at most one byte past the declared size; the buffer only grows with bytes actually
        // decompressed.
        let mut bytes = Vec::new();
        (&mut member)
            .take(declared.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| format(format!("cannot decompress: {e}")))?;
        if bytes.len() as u64 != declared {
            return Err(format(format!(
                "decompresses to {}{} bytes but declares {declared}",
                bytes.len(),
                if bytes.len() as u64 > declared {
                    "+"
                } else {
                    ""
                }
            )));
        }
        drop(member);
        let array = npy::parse(&bytes, name, Some(&member_name))?;
        drop(bytes);
        check_trial_shape(name, &member_name, &array.shape, trials.first())?;
        trials.push((member_name, array));
    }
    Ok(trials)
}
