//! `.npy` files (spec/io.md §1–2).
//!
//! Reading is done in two passes over the file's bytes, which are all in memory (so nothing is ever
//! allocated from a size the file merely declares):
//! 1. `Preamble` and `HeaderDict`: dynsim's own strict parse of the magic, version, header length
//!    and header dictionary. It checks what npyz 0.8 does not: the header length against the bytes
//!    present (npyz allocates the declared length, up to 4 GiB), the shape's element count against
//!    64-bit overflow (npyz multiplies the shape unchecked: a panic when overflow checks are on, a
//!    wrapped count otherwise), and the element count × item size against the bytes present. Only
//!    headers NumPy itself would write are accepted (a dict with exactly the keys `descr`,
//!    `fortran_order`, `shape`; decimal integers; no escapes).
//! 2. npyz ([`npyz::NpyFile`]) then parses the same header again and decodes the elements (either
//!    byte order); the two parses must agree on shape and order.

use std::io::Read;
use std::path::Path;

use npyz::{TypeChar, TypeStr};

use crate::embedding::Dataset;
use crate::error::{Error, Result};

/// The 6 bytes every `.npy` file starts with.
const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// NumPy aligns the start of the data to this many bytes (`numpy.lib.format.ARRAY_ALIGN`).
const ARRAY_ALIGN: usize = 64;

/// NumPy pads the header with `21 − len(repr(shape[0]))` spaces so that the header can be rewritten in
/// place when the array grows along its first axis (`numpy.lib.format.GROWTH_AXIS_MAX_DIGITS`).
const GROWTH_AXIS_MAX_DIGITS: usize = 21;

/// Integers of larger magnitude are not all representable as f64 (2^53).
const MAX_EXACT_INT: u64 = 1 << 53;

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
///
/// Accepted dtypes: float64 and float32 (either byte order), signed and unsigned integers of 1, 2, 4
/// or 8 bytes (either byte order; every value must have magnitude ≤ 2^53 so that it converts exactly).
/// C or Fortran order (Fortran-order data are transposed to row-major). NaN and ±Inf are returned as
/// they are (the [`Dataset`] constructors refuse them).
pub fn read(path: &Path) -> Result<Array> {
    let name = path.display().to_string();
    let bytes = read_file(path, &name)?;
    parse(&bytes, &name, None)
}

/// Reads one system's data from a `.npy` file of shape (T, N) (one trial) or (K, T, N) (K trials of
/// equal length), named after the path.
pub fn read_dataset(path: &Path) -> Result<Dataset> {
    let name = path.display().to_string();
    let array = read(path)?;
    let (k, t, n) = dataset_dims(&array.shape, &name)?;
    Dataset::from_array(&array.data, k, t, n)
        .map_err(|e| e.in_array(&name))
        .map(|d| d.with_name(name))
}

/// (K, T, N) of a data array of shape (T, N) or (K, T, N), every axis ≥ 1.
pub(crate) fn dataset_dims(shape: &[usize], name: &str) -> Result<(usize, usize, usize)> {
    let (k, t, n) = match *shape {
        [t, n] => (1, t, n),
        [k, t, n] => (k, t, n),
        _ => {
            return Err(Error::Format {
                path: name.to_string(),
                array: "data".into(),
                reason: format!("expected (T, N) or (K, T, N), got shape {shape:?}"),
            })
        }
    };
    if k == 0 || t == 0 || n == 0 {
        return Err(Error::Format {
            path: name.to_string(),
            array: "data".into(),
            reason: format!(
                "shape {shape:?} has a zero-size axis; every axis (K trials, T time points, N \
                 features) must have length ≥ 1"
            ),
        });
    }
    Ok((k, t, n))
}

/// Reads a square matrix (an operator) from a 2-D `.npy` file: shape (n, n), n ≥ 1, all entries
/// finite.
pub fn read_matrix(path: &Path) -> Result<faer::Mat<f64>> {
    let name = path.display().to_string();
    let array = read(path)?;
    let n = match *array.shape.as_slice() {
        [r, c] if r == c && r > 0 => r,
        _ => {
            return Err(Error::Format {
                path: name,
                array: "data".into(),
                reason: format!(
                    "expected a square matrix of shape (n, n) with n ≥ 1, got shape {:?}",
                    array.shape
                ),
            })
        }
    };
    if let Some(pos) = array.data.iter().position(|x| !x.is_finite()) {
        return Err(Error::NonFinite {
            array: name,
            index: vec![pos / n, pos % n],
            value: array.data.get(pos).copied().unwrap_or(f64::NAN),
        });
    }
    // `array.data` has exactly n·n values (checked against the header when parsing).
    Ok(faer::Mat::from_fn(n, n, |i, j| {
        array.data.get(i * n + j).copied().unwrap_or(f64::NAN)
    }))
}

/// The bytes of a little-endian f64, C-order `.npy` file of the given shape, byte for byte what
/// `numpy.save` writes for such an array (format version 1.0 — 2.0 only if the header does not fit in
/// 65535 bytes —, header padded with spaces so that the data start at a multiple of 64 bytes).
pub fn to_bytes(shape: &[usize], data: &[f64]) -> Result<Vec<u8>> {
    // As the reader: the product of the non-zero axes must fit in 64 bits (and in memory).
    let nonzero_product = shape
        .iter()
        .filter(|&&d| d != 0)
        .try_fold(1u64, |acc, &d| acc.checked_mul(u64::try_from(d).ok()?))
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| Error::Shape {
            array: "data".into(),
            reason: format!("shape {shape:?} has more elements than fit in 64 bits"),
        })?;
    let count = if shape.contains(&0) {
        0
    } else {
        nonzero_product
    };
    if count != data.len() {
        return Err(Error::Shape {
            array: "data".into(),
            reason: format!(
                "buffer has {} values but shape {shape:?} needs {count}",
                data.len()
            ),
        });
    }
    // Python's repr of the shape tuple: (), (3,), (3, 4).
    let shape_repr = match shape {
        [] => "()".to_string(),
        [d] => format!("({d},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {shape_repr}, }}");
    if let Some(first) = shape.first() {
        let digits = first.to_string().len();
        header.push_str(&" ".repeat(GROWTH_AXIS_MAX_DIGITS.saturating_sub(digits)));
    }
    // Version 1.0 has a 2-byte header length, 2.0 a 4-byte one; NumPy uses 1.0 whenever it fits.
    let text_len = header.len() + 1; // + the final '\n'
    let padded = |prefix: usize| text_len + ARRAY_ALIGN - (prefix + text_len) % ARRAY_ALIGN;
    let (version, prefix) = if padded(10) <= usize::from(u16::MAX) {
        (1u8, 10)
    } else {
        (2u8, 12)
    };
    let header_len = padded(prefix);
    let mut out = Vec::with_capacity(prefix + header_len + data.len() * 8);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[version, 0]);
    if version == 1 {
        let len = u16::try_from(header_len).map_err(|_| header_too_long(header_len))?;
        out.extend_from_slice(&len.to_le_bytes());
    } else {
        let len = u32::try_from(header_len).map_err(|_| header_too_long(header_len))?;
        out.extend_from_slice(&len.to_le_bytes());
    }
    out.extend_from_slice(header.as_bytes());
    out.resize(prefix + header_len - 1, b' ');
    out.push(b'\n');
    for x in data {
        out.extend_from_slice(&x.to_le_bytes());
    }
    Ok(out)
}

fn header_too_long(len: usize) -> Error {
    Error::Shape {
        array: "data".into(),
        reason: format!("the .npy header would be {len} bytes, too long for the format"),
    }
}

/// Writes a little-endian f64, C-order `.npy` file atomically.
pub fn write(path: &Path, shape: &[usize], data: &[f64]) -> Result<()> {
    super::write_atomic(path, &to_bytes(shape, data)?)
}

/// All bytes of a file; OS errors (missing, a directory, no permission) as [`Error::Io`].
pub(crate) fn read_file(path: &Path, name: &str) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::Io {
        path: name.to_string(),
        reason: format!("cannot read the file: {e}"),
    })
}

/// The element types that are converted to f64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    F8,
    F4,
    I1,
    I2,
    I4,
    I8,
    U1,
    U2,
    U4,
    U8,
}

/// Parses a whole `.npy` file held in memory (spec/io.md §2), exactly as [`read`] parses a file;
/// `name` stands for the file name in errors.
pub fn from_bytes(bytes: &[u8], name: &str) -> Result<Array> {
    parse(bytes, name, None)
}

/// The header of a `.npy` file, checked against the file's length (spec/io.md §2): everything
/// [`parse`] checks before it decodes a single element.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    /// The shape, outermost axis first.
    pub shape: Vec<usize>,
    /// The number of elements (the product of the shape).
    pub count: usize,
    /// The dtype string, e.g. `<f8`.
    pub descr: String,
    /// Bytes per element in the file.
    pub item_size: u64,
    /// Whether the data are stored in Fortran (column-major) order.
    pub fortran_order: bool,
    kind: Kind,
}

/// Reads only the header of a `.npy` file (spec/io.md §2.6): the preamble and the header text, never
/// the data, and checks the declared shape and dtype against the file's length exactly as [`read`]
/// does. Used to estimate the memory a job needs before any array is allocated.
pub fn peek(path: &Path) -> Result<Header> {
    let name = path.display().to_string();
    let io_err = |e: std::io::Error| Error::Io {
        path: name.clone(),
        reason: format!("cannot read the file: {e}"),
    };
    let file = std::fs::File::open(path).map_err(io_err)?;
    let total = file.metadata().map_err(io_err)?.len();
    peek_reader(std::io::BufReader::new(file), total, &name, None)
}

/// Reads the header of a `.npy` stream of `total` bytes (a file, or a `.npz` member) and checks it
/// ([`parse_header`]), reading no further than the end of the header text.
pub(crate) fn peek_reader(
    mut reader: impl std::io::Read,
    total: u64,
    path: &str,
    member: Option<&str>,
) -> Result<Header> {
    let io_err = |e: std::io::Error| match member {
        None => Error::Io {
            path: path.to_string(),
            reason: format!("cannot read the file: {e}"),
        },
        Some(m) => Error::Format {
            path: path.to_string(),
            array: m.to_string(),
            reason: format!("cannot decompress: {e}"),
        },
    };
    // The preamble is at most 12 bytes; it gives the header's length, which Preamble::parse checks
    // against `total` before anything more is read.
    let mut head = Vec::with_capacity(12);
    (&mut reader)
        .take(12)
        .read_to_end(&mut head)
        .map_err(io_err)?;
    let pre = Preamble::parse(&head, total).map_err(|r| Error::Format {
        path: path.to_string(),
        array: member.unwrap_or("header").to_string(),
        reason: r,
    })?;
    let rest = (pre.data_start as u64).saturating_sub(head.len() as u64);
    reader.take(rest).read_to_end(&mut head).map_err(io_err)?;
    parse_header(&head, total, path, member)
}

/// Parses and checks the header held in the first bytes of a `.npy` file of `total` bytes; `bytes`
/// must hold at least the preamble and the header text (the whole file, or just its head).
pub(crate) fn parse_header(
    bytes: &[u8],
    total: u64,
    path: &str,
    member: Option<&str>,
) -> Result<Header> {
    let err = |part: &str, reason: String| Error::Format {
        path: path.to_string(),
        array: member.unwrap_or(part).to_string(),
        reason,
    };
    let pre = Preamble::parse(bytes, total).map_err(|r| err("header", r))?;
    let text = bytes
        .get(pre.prefix_len..pre.data_start)
        .ok_or_else(|| err("header", "truncated header".into()))?;
    let text = std::str::from_utf8(text)
        .map_err(|_| err("header", "the header is not valid UTF-8 text".into()))?;
    let dict =
        HeaderDict::parse(text).map_err(|r| err("header", format!("invalid header: {r}")))?;

    // Element count, refusing overflow. Zero-length axes are skipped in the product so that every
    // partial product npyz computes later (strides) is bounded too.
    let nonzero_product = dict
        .shape
        .iter()
        .filter(|&&d| d != 0)
        .try_fold(1u64, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| {
            err(
                "header",
                format!(
                    "shape {:?} has more elements than fit in 64 bits",
                    dict.shape
                ),
            )
        })?;
    let count = if dict.shape.contains(&0) {
        0
    } else {
        nonzero_product
    };

    let (kind, item_size) = dtype_kind(&dict.descr).map_err(|r| err("header", r))?;
    let present = total.saturating_sub(pre.data_start as u64);
    let needed = count.checked_mul(item_size);
    match needed {
        Some(needed) if needed == present => {}
        Some(needed) if needed < present => {
            return Err(err(
                "data",
                format!(
                    "{} unexpected bytes after the data (shape {:?} of '{}' needs {needed} bytes)",
                    present - needed,
                    dict.shape,
                    dict.descr
                ),
            ))
        }
        _ => {
            return Err(err(
                "data",
                format!(
                    "truncated data: shape {:?} of '{}' needs {} bytes after the header, only \
                     {present} present",
                    dict.shape,
                    dict.descr,
                    needed.map_or_else(|| "more than 2^64".to_string(), |n| n.to_string())
                ),
            ))
        }
    }
    // From here on count · item_size == present bytes, so every size below is bounded by the input.
    let shape: Vec<usize> = dict
        .shape
        .iter()
        .map(|&d| usize::try_from(d))
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| err("header", format!("shape {:?} is too large", dict.shape)))?;
    let count = usize::try_from(count)
        .map_err(|_| err("header", format!("shape {shape:?} is too large")))?;
    Ok(Header {
        shape,
        count,
        descr: dict.descr,
        item_size,
        fortran_order: dict.fortran_order,
        kind,
    })
}

/// Parses the bytes of a whole `.npy` file (spec/io.md §2). `path` names the file in errors; `member`
/// is the `.npz` member the bytes came from, if any (errors then name the member instead of
/// `"header"` / `"data"`).
pub(crate) fn parse(bytes: &[u8], path: &str, member: Option<&str>) -> Result<Array> {
    let err = |part: &str, reason: String| Error::Format {
        path: path.to_string(),
        array: member.unwrap_or(part).to_string(),
        reason,
    };
    let header = parse_header(bytes, bytes.len() as u64, path, member)?;
    let (shape, count, kind, fortran_order) = (
        header.shape,
        header.count,
        header.kind,
        header.fortran_order,
    );

    let npy =
        npyz::NpyFile::new(bytes).map_err(|e| err("header", format!("invalid header: {e}")))?;
    let npyz_order_fortran = npy.order() == npyz::Order::Fortran;
    if npy
        .shape()
        .iter()
        .map(|&d| d as usize)
        .ne(shape.iter().copied())
        || npyz_order_fortran != fortran_order
    {
        return Err(err(
            "header",
            "the header is ambiguous (npyz reads a different shape or order)".into(),
        ));
    }
    let layout = Layout::new(&shape, fortran_order);
    let decoded = match kind {
        Kind::F8 => decode(npy, count, &layout, Some),
        Kind::F4 => decode(npy, count, &layout, |x: f32| Some(f64::from(x))),
        Kind::I1 => decode(npy, count, &layout, |x: i8| Some(f64::from(x))),
        Kind::I2 => decode(npy, count, &layout, |x: i16| Some(f64::from(x))),
        Kind::I4 => decode(npy, count, &layout, |x: i32| Some(f64::from(x))),
        Kind::U1 => decode(npy, count, &layout, |x: u8| Some(f64::from(x))),
        Kind::U2 => decode(npy, count, &layout, |x: u16| Some(f64::from(x))),
        Kind::U4 => decode(npy, count, &layout, |x: u32| Some(f64::from(x))),
        // Exact: the magnitude is at most 2^53.
        Kind::I8 => decode(npy, count, &layout, |x: i64| {
            (x.unsigned_abs() <= MAX_EXACT_INT).then_some(x as f64)
        }),
        Kind::U8 => decode(npy, count, &layout, |x: u64| {
            (x <= MAX_EXACT_INT).then_some(x as f64)
        }),
    };
    match decoded {
        Decoded::Ok(data) => Ok(Array { shape, data }),
        Decoded::NpyzError(e) => Err(err("data", format!("cannot decode the data: {e}"))),
        Decoded::Inexact { c_index, value } => Err(err(
            "data",
            format!(
                "integer {value} at index {:?} has magnitude above 2^53 and cannot be represented \
                 exactly as float64",
                unravel(c_index, &shape)
            ),
        )),
    }
}

/// The fixed-size start of a `.npy` file: magic, version, header length.
struct Preamble {
    /// Bytes before the header text: 10 (version 1.0) or 12 (2.0, 3.0).
    prefix_len: usize,
    /// Offset of the first data byte (end of the header text).
    data_start: usize,
}

impl Preamble {
    /// `bytes`: the start of a file of `total` bytes (the whole file, or at least its first 12 bytes).
    fn parse(bytes: &[u8], total: u64) -> std::result::Result<Self, String> {
        if bytes.is_empty() {
            return Err("empty (0 bytes); a .npy file starts with the magic \\x93NUMPY".into());
        }
        let magic_len = bytes.len().min(MAGIC.len());
        if bytes.get(..magic_len) != MAGIC.get(..magic_len) {
            return Err(format!(
                "not a .npy file: wrong magic {:02x?} (expected {:02x?}, \\x93NUMPY)",
                bytes.get(..magic_len).unwrap_or_default(),
                MAGIC
            ));
        }
        let truncated = |need: usize| {
            format!(
                "truncated header: the file has {} bytes, the preamble needs {need}",
                bytes.len()
            )
        };
        let (major, minor) = match (bytes.get(6), bytes.get(7)) {
            (Some(&a), Some(&b)) => (a, b),
            _ => return Err(truncated(8)),
        };
        let (prefix_len, header_len) = match (major, minor) {
            (1, 0) => match bytes.get(8..10) {
                Some(&[a, b]) => (10, usize::from(u16::from_le_bytes([a, b]))),
                _ => return Err(truncated(10)),
            },
            (2, 0) | (3, 0) => match bytes.get(8..12) {
                Some(&[a, b, c, d]) => {
                    let len = u32::from_le_bytes([a, b, c, d]);
                    (12, usize::try_from(len).unwrap_or(usize::MAX))
                }
                _ => return Err(truncated(12)),
            },
            _ => {
                return Err(format!(
                    "unsupported .npy format version {major}.{minor} (expected 1.0, 2.0 or 3.0)"
                ))
            }
        };
        let present = total.saturating_sub(prefix_len as u64);
        if header_len as u64 > present {
            return Err(format!(
                "truncated header: the header declares {header_len} bytes, only {present} present"
            ));
        }
        Ok(Self {
            prefix_len,
            data_start: prefix_len + header_len,
        })
    }
}

/// The header dictionary, e.g. `{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }`.
#[derive(Debug)]
struct HeaderDict {
    descr: String,
    fortran_order: bool,
    shape: Vec<u64>,
}

/// A value in the header dictionary (the subset of Python literals NumPy writes for plain dtypes).
enum Literal {
    Str(String),
    Bool(bool),
    Ints(Vec<u64>),
    /// A list (a structured dtype's `descr`), not parsed further.
    List,
}

impl HeaderDict {
    fn parse(text: &str) -> std::result::Result<Self, String> {
        let mut p = Cursor {
            s: text.as_bytes(),
            i: 0,
        };
        p.expect(b'{')?;
        let (mut descr, mut fortran, mut shape) = (None, None, None);
        loop {
            p.skip_ws();
            if p.eat(b'}') {
                break;
            }
            let key = p.string()?;
            let slot = match key.as_str() {
                "descr" => &mut descr,
                "fortran_order" => &mut fortran,
                "shape" => &mut shape,
                _ => return Err(format!("unexpected key '{key}'")),
            };
            if slot.is_some() {
                return Err(format!("duplicate key '{key}'"));
            }
            p.skip_ws();
            p.expect(b':')?;
            p.skip_ws();
            *slot = Some(p.value()?);
            p.skip_ws();
            if !p.eat(b',') {
                p.skip_ws();
                p.expect(b'}')?;
                break;
            }
        }
        p.skip_ws();
        if p.i != p.s.len() {
            return Err("unexpected text after the dictionary".into());
        }
        let descr = match descr {
            Some(Literal::Str(s)) => s,
            Some(Literal::List) => {
                return Err(
                    "structured dtypes (record arrays) are not supported; save a plain \
                            numeric array"
                        .into(),
                )
            }
            Some(_) => return Err("'descr' is not a string".into()),
            None => return Err("missing key 'descr'".into()),
        };
        let fortran_order = match fortran {
            Some(Literal::Bool(b)) => b,
            Some(_) => return Err("'fortran_order' is not True or False".into()),
            None => return Err("missing key 'fortran_order'".into()),
        };
        let shape = match shape {
            Some(Literal::Ints(v)) => v,
            Some(_) => return Err("'shape' is not a tuple of non-negative integers".into()),
            None => return Err("missing key 'shape'".into()),
        };
        Ok(Self {
            descr,
            fortran_order,
            shape,
        })
    }
}

/// A byte cursor over the header text.
struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8) -> std::result::Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(format!(
                "expected '{}' at byte {} of the header text",
                char::from(c),
                self.i
            ))
        }
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    /// A quoted string without escapes.
    fn string(&mut self) -> std::result::Result<String, String> {
        let quote = match self.peek() {
            Some(q @ (b'\'' | b'"')) => q,
            _ => return Err(format!("expected a quoted string at byte {}", self.i)),
        };
        self.i += 1;
        let start = self.i;
        loop {
            match self.peek() {
                None => return Err("unterminated string".into()),
                Some(b'\\') => return Err("escapes in strings are not supported".into()),
                Some(c) if c == quote => break,
                Some(_) => self.i += 1,
            }
        }
        let s = self.s.get(start..self.i).unwrap_or_default();
        self.i += 1;
        String::from_utf8(s.to_vec()).map_err(|_| "a string is not valid UTF-8".to_string())
    }

    fn value(&mut self) -> std::result::Result<Literal, String> {
        match self.peek() {
            Some(b'\'' | b'"') => self.string().map(Literal::Str),
            Some(b'T') | Some(b'F') => {
                let rest = self.s.get(self.i..).unwrap_or_default();
                for (word, b) in [(&b"True"[..], true), (&b"False"[..], false)] {
                    if rest.starts_with(word) {
                        self.i += word.len();
                        return Ok(Literal::Bool(b));
                    }
                }
                Err(format!("unexpected word at byte {}", self.i))
            }
            Some(b'(') => self.ints(b')'),
            Some(b'[') => {
                let start = self.i;
                match self.ints(b']') {
                    Ok(v) => Ok(v),
                    Err(_) => {
                        // Not a list of integers: a structured dtype's field list. Skip it, so
                        // that the error can say what it is.
                        self.i = start;
                        self.skip_brackets()?;
                        Ok(Literal::List)
                    }
                }
            }
            _ => Err(format!("unexpected value at byte {}", self.i)),
        }
    }

    /// A tuple or list of decimal integers, e.g. `()`, `(3,)`, `(3, 4)`.
    fn ints(&mut self, close: u8) -> std::result::Result<Literal, String> {
        self.i += 1; // the opening bracket
        let mut v = Vec::new();
        loop {
            self.skip_ws();
            if self.eat(close) {
                return Ok(Literal::Ints(v));
            }
            let start = self.i;
            while matches!(self.peek(), Some(b'0'..=b'9')) {
                self.i += 1;
            }
            let digits = std::str::from_utf8(self.s.get(start..self.i).unwrap_or_default())
                .unwrap_or_default();
            if digits.is_empty() {
                return Err(format!("expected an integer at byte {}", self.i));
            }
            let d: u64 = digits
                .parse()
                .map_err(|_| format!("dimension {digits} does not fit in 64 bits"))?;
            v.push(d);
            self.skip_ws();
            if !self.eat(b',') {
                self.skip_ws();
                self.expect(close)?;
                return Ok(Literal::Ints(v));
            }
        }
    }

    /// Skips a bracketed list, honouring nesting and quoted strings.
    fn skip_brackets(&mut self) -> std::result::Result<(), String> {
        let mut depth = 0usize;
        while let Some(c) = self.peek() {
            match c {
                b'[' | b'(' => depth += 1,
                b']' | b')' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        self.i += 1;
                        return Ok(());
                    }
                }
                b'\'' | b'"' => {
                    self.string()?;
                    continue;
                }
                _ => {}
            }
            self.i += 1;
        }
        Err("unterminated list".into())
    }
}

/// The element kind and item size of a dtype string, or why it is refused.
fn dtype_kind(descr: &str) -> std::result::Result<(Kind, u64), String> {
    let unsupported = |what: &str| {
        format!(
            "unsupported dtype '{descr}' ({what}); expected float64, float32 or an integer type \
             (i1, i2, i4, i8, u1, u2, u4, u8)"
        )
    };
    let ty: TypeStr = match descr.parse() {
        Ok(ty) => ty,
        Err(e) if descr.contains('O') => return Err(unsupported(&format!("Python objects: {e}"))),
        Err(e) => return Err(unsupported(&e.to_string())),
    };
    let kind = match (ty.type_char(), ty.size_field()) {
        (TypeChar::Float, 8) => Kind::F8,
        (TypeChar::Float, 4) => Kind::F4,
        (TypeChar::Int, 1) => Kind::I1,
        (TypeChar::Int, 2) => Kind::I2,
        (TypeChar::Int, 4) => Kind::I4,
        (TypeChar::Int, 8) => Kind::I8,
        (TypeChar::Uint, 1) => Kind::U1,
        (TypeChar::Uint, 2) => Kind::U2,
        (TypeChar::Uint, 4) => Kind::U4,
        (TypeChar::Uint, 8) => Kind::U8,
        (TypeChar::Float, 2) => return Err(unsupported("float16; convert with .astype('f4')")),
        (TypeChar::Float, _) => return Err(unsupported("extended precision")),
        (TypeChar::Bool, _) => return Err(unsupported("bool")),
        (TypeChar::Complex, _) => return Err(unsupported("complex")),
        (TypeChar::TimeDelta | TypeChar::DateTime, _) => {
            return Err(unsupported("datetime/timedelta"))
        }
        (TypeChar::ByteStr, _) => return Err(unsupported("byte strings")),
        (TypeChar::UnicodeStr, _) => return Err(unsupported("unicode strings")),
        (TypeChar::RawData, _) => return Err(unsupported("raw bytes")),
        _ => return Err(unsupported("unknown type")),
    };
    Ok((kind, ty.size_field()))
}

/// Where each stored element goes in the row-major output.
struct Layout {
    shape: Vec<usize>,
    /// Row-major strides, in elements.
    c_strides: Vec<usize>,
    fortran: bool,
}

impl Layout {
    fn new(shape: &[usize], fortran: bool) -> Self {
        let mut c_strides = vec![1usize; shape.len()];
        for k in (0..shape.len().saturating_sub(1)).rev() {
            c_strides[k] = c_strides[k + 1] * shape[k + 1];
        }
        Self {
            shape: shape.to_vec(),
            c_strides,
            fortran,
        }
    }
}

/// Iterates the row-major index of each stored element, in storage order. For Fortran order the
/// first axis varies fastest in storage (an odometer over the multi-index).
struct StorageToC<'a> {
    layout: &'a Layout,
    index: Vec<usize>,
    c: usize,
    next_pos: usize,
}

impl<'a> StorageToC<'a> {
    fn new(layout: &'a Layout) -> Self {
        Self {
            layout,
            index: vec![0; layout.shape.len()],
            c: 0,
            next_pos: 0,
        }
    }

    fn next_c(&mut self) -> usize {
        let pos = self.next_pos;
        self.next_pos += 1;
        if !self.layout.fortran {
            return pos;
        }
        let current = self.c;
        for (i, (&len, &stride)) in self
            .index
            .iter_mut()
            .zip(self.layout.shape.iter().zip(&self.layout.c_strides))
        {
            *i += 1;
            self.c += stride;
            if *i < len {
                break;
            }
            self.c -= stride * len;
            *i = 0;
        }
        current
    }
}

enum Decoded {
    Ok(Vec<f64>),
    /// The first (in row-major order) integer that does not convert exactly.
    Inexact {
        c_index: usize,
        value: String,
    },
    NpyzError(String),
}

/// Decodes `count` elements of type `T` with npyz and converts them (`conv` returns `None` for a value
/// that does not convert exactly), placing them in row-major order.
fn decode<T: npyz::Deserialize + std::fmt::Display + Copy>(
    npy: npyz::NpyFile<&[u8]>,
    count: usize,
    layout: &Layout,
    conv: impl Fn(T) -> Option<f64>,
) -> Decoded {
    let reader = match npy.data::<T>() {
        Ok(r) => r,
        Err(e) => return Decoded::NpyzError(e.to_string()),
    };
    let mut out = vec![0.0; count];
    let mut order = StorageToC::new(layout);
    let mut worst: Option<(usize, T)> = None;
    for item in reader {
        let x = match item {
            Ok(x) => x,
            Err(e) => return Decoded::NpyzError(e.to_string()),
        };
        let c = order.next_c();
        match conv(x) {
            Some(v) => {
                if let Some(slot) = out.get_mut(c) {
                    *slot = v;
                }
            }
            None => {
                if worst.is_none_or(|(w, _)| c < w) {
                    worst = Some((c, x));
                }
            }
        }
    }
    match worst {
        Some((c_index, value)) => Decoded::Inexact {
            c_index,
            value: value.to_string(),
        },
        None => Decoded::Ok(out),
    }
}

/// The multi-index of row-major position `c` in an array of the given shape.
fn unravel(mut c: usize, shape: &[usize]) -> Vec<usize> {
    let mut index = vec![0; shape.len()];
    for (i, &len) in index.iter_mut().zip(shape).rev() {
        if len > 0 {
            *i = c % len;
            c /= len;
        }
    }
    index
}
