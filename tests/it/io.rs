//! Tests of `dynsim::io` (`.npy` / `.npz`) against spec/io.md §1–3.
//!
//! Reference files come from NumPy: `tests/data/npy/make_fixtures.py` wrote them (values follow simple
//! formulas recomputed here), so reading is checked against an independent writer and writing against
//! NumPy's own bytes. Malformed inputs that NumPy cannot produce are built here byte by byte.

use std::path::{Path, PathBuf};

use dynsim::io::{npy, npz};
use dynsim::Error;
use proptest::prelude::*;

use crate::common::{npy_with_header, proptest_config};

/// A committed fixture.
fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/npy")
        .join(name)
}

fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).expect("fixture")
}

/// A scratch directory for one test, `<tmp>/dynsim-io-<test>-<pid>`, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("dynsim-io-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Self(dir)
    }

    /// Writes `bytes` as `name` in the directory.
    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, bytes).expect("write scratch file");
        p
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The fixtures' float formula: v(c) = c / 7 − 3 at row-major flat index c.
fn v(c: usize) -> f64 {
    c as f64 / 7.0 - 3.0
}

/// v rounded to f32 (NumPy's astype('f4') rounds to nearest, as `as f32` does).
fn v32(c: usize) -> f64 {
    f64::from(v(c) as f32)
}

/// The value of trial i of the .npz fixtures at row-major index c: (1000 i + c) / 7 − 3.
fn tv(i: usize, c: usize) -> f64 {
    (1000.0 * i as f64 + c as f64) / 7.0 - 3.0
}

fn bits(x: &[f64]) -> Vec<u64> {
    x.iter().map(|x| x.to_bits()).collect()
}

/// Asserts a `Format` error for `path`, member/part `array`, whose reason contains every needle, and
/// that the message names the file.
#[track_caller]
fn assert_format(
    r: Result<impl std::fmt::Debug, Error>,
    path: &Path,
    array: &str,
    needles: &[&str],
) {
    let e = r.expect_err("expected an error");
    let msg = e.to_string();
    match &e {
        Error::Format {
            path: p,
            array: a,
            reason,
        } => {
            assert_eq!(p, &path.display().to_string(), "{msg}");
            assert_eq!(a, array, "{msg}");
            for n in needles {
                assert!(reason.contains(n), "reason {reason:?} lacks {n:?}");
            }
        }
        other => panic!("expected Error::Format, got {other:?}"),
    }
    assert!(msg.contains(&path.display().to_string()), "{msg}");
}

#[track_caller]
fn assert_io(r: Result<impl std::fmt::Debug, Error>, path: &Path) {
    let e = r.expect_err("expected an error");
    match &e {
        Error::Io { path: p, reason } => {
            assert_eq!(p, &path.display().to_string());
            assert!(!reason.is_empty());
        }
        other => panic!("expected Error::Io, got {other:?}"),
    }
    assert!(e.to_string().contains(&path.display().to_string()));
}

#[track_caller]
fn assert_non_finite(r: Result<impl std::fmt::Debug, Error>, path: &Path, at: &[usize]) {
    let e = r.expect_err("expected an error");
    match &e {
        Error::NonFinite {
            array,
            index,
            value,
        } => {
            assert_eq!(array, &path.display().to_string());
            assert_eq!(index, at);
            assert!(!value.is_finite());
        }
        other => panic!("expected Error::NonFinite, got {other:?}"),
    }
    assert!(e.to_string().contains(&path.display().to_string()));
}

// ---- §2 reading: dtypes, byte orders, memory orders ------------------------------------------------

/// §2: float64/float32, C and Fortran order, either byte order, format versions 1.0–3.0, read as
/// row-major f64, bit-exact.
#[test]
fn reads_floats_in_every_layout() {
    let cases: &[(&str, &[usize], bool)] = &[
        ("f8_c_5x3.npy", &[5, 3], false),
        ("f8_c_2x4x3.npy", &[2, 4, 3], false),
        ("f8_v2_5x3.npy", &[5, 3], false),
        ("f8_v3_5x3.npy", &[5, 3], false),
        ("f8_f_5x3.npy", &[5, 3], false),
        ("f8_f_4x3x2.npy", &[4, 3, 2], false),
        ("f8_be_c_5x3.npy", &[5, 3], false),
        ("f8_be_f_4x3x2.npy", &[4, 3, 2], false),
        ("f4_c_5x3.npy", &[5, 3], true),
        ("f4_f_4x3x2.npy", &[4, 3, 2], true),
        ("f4_be_c_2x4x3.npy", &[2, 4, 3], true),
        ("hdr_7.npy", &[7], false),
        ("hdr_scalar.npy", &[], false),
        ("hdr_0x4.npy", &[0, 4], false),
    ];
    for &(name, shape, is_f32) in cases {
        let a = npy::read(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(a.shape, shape, "{name}");
        let n: usize = shape.iter().product();
        let expected: Vec<f64> = (0..n).map(|c| if is_f32 { v32(c) } else { v(c) }).collect();
        assert_eq!(bits(&a.data), bits(&expected), "{name}");
    }
}

/// The integers of make_fixtures.py's INT_CASES, as (code, rows).
fn int_cases() -> Vec<(&'static str, [[i128; 3]; 2])> {
    let p53 = 1i128 << 53;
    vec![
        ("i1", [[-128, 127, 0], [1, -1, 5]]),
        ("i2", [[-32768, 32767, 0], [300, -300, 7]]),
        ("i4", [[-2147483648, 2147483647, 0], [70000, -70000, 9]]),
        ("i8", [[-p53, p53, 0], [1 << 40, -(1 << 40) - 1, 11]]),
        ("u1", [[0, 255, 1], [2, 3, 4]]),
        ("u2", [[0, 65535, 1], [256, 3, 4]]),
        ("u4", [[0, 4294967295, 1], [65536, 3, 4]]),
        ("u8", [[0, p53, 1], [1 << 32, 3, 4]]),
    ]
}

/// §2: every integer width, signed and unsigned, both byte orders, C and Fortran order, converted
/// exactly (including ±2^53).
#[test]
fn reads_integers_exactly() {
    for (code, rows) in int_cases() {
        let expected: Vec<f64> = rows.iter().flatten().map(|&x| x as f64).collect();
        for tag in ["le", "be"] {
            for order in ["c", "f"] {
                let name = format!("int_{code}_{tag}_{order}.npy");
                let a = npy::read(&fixture(&name)).unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(a.shape, [2, 3], "{name}");
                assert_eq!(bits(&a.data), bits(&expected), "{name}");
            }
        }
    }
}

/// §2: an integer of magnitude > 2^53 is refused, naming the first such index in row-major order
/// (the Fortran-order file stores [1, 0] before [0, 2]).
#[test]
fn refuses_integers_beyond_2_pow_53() {
    let p = fixture("int_i8_too_big_f.npy");
    assert_format(
        npy::read(&p),
        &p,
        "data",
        &["9007199254740993", "[0, 2]", "2^53"],
    );
    let p = fixture("int_u8_too_big_c.npy");
    assert_format(
        npy::read(&p),
        &p,
        "data",
        &["18446744073709551615", "[1, 1]"],
    );
    assert_format(npy::read_dataset(&p), &p, "data", &["[1, 1]"]);
}

/// §2: unsupported dtypes are refused by name.
#[test]
fn refuses_unsupported_dtypes() {
    let cases = [
        ("bad_bool.npy", "bool"),
        ("bad_complex.npy", "complex"),
        ("bad_unicode.npy", "unicode"),
        ("bad_bytes.npy", "byte strings"),
        ("bad_float16.npy", "float16"),
        ("bad_object.npy", "object"),
        ("bad_structured.npy", "structured"),
    ];
    for (name, what) in cases {
        let p = fixture(name);
        assert_format(npy::read(&p), &p, "header", &[what]);
        assert_format(dynsim::io::read_dataset(&p), &p, "header", &[what]);
    }
}

// ---- §1 datasets and matrices ----------------------------------------------------------------------

/// §1: (T, N) is one trial, (K, T, N) is K trials; the dataset is named after the path.
#[test]
fn datasets_from_npy() {
    let p = fixture("f8_f_5x3.npy");
    let ds = dynsim::io::read_dataset(&p).unwrap();
    assert_eq!((ds.n_trials(), ds.n_features()), (1, 3));
    assert_eq!(ds.name(), p.display().to_string());
    let expected: Vec<f64> = (0..15).map(v).collect();
    assert_eq!(bits(ds.trial(0).unwrap()), bits(&expected));

    let p = fixture("f8_be_f_4x3x2.npy");
    let ds = npy::read_dataset(&p).unwrap();
    assert_eq!((ds.n_trials(), ds.n_features()), (4, 2));
    for k in 0..4 {
        assert_eq!(ds.trial_len(k), Some(3));
        let expected: Vec<f64> = (0..6).map(|c| v(6 * k + c)).collect();
        assert_eq!(bits(ds.trial(k).unwrap()), bits(&expected));
    }

    // Spike counts.
    let p = fixture("int_u2_be_f.npy");
    let ds = npy::read_dataset(&p).unwrap();
    assert_eq!(ds.trial(0).unwrap(), &[0.0, 65535.0, 1.0, 256.0, 3.0, 4.0]);
}

/// §1: other dimensionalities and zero-size axes are refused.
#[test]
fn datasets_refuse_bad_shapes() {
    let p = fixture("shape_1d.npy");
    assert_format(
        npy::read_dataset(&p),
        &p,
        "data",
        &["expected (T, N) or (K, T, N)", "[6]"],
    );
    let p = fixture("shape_4d.npy");
    assert_format(npy::read_dataset(&p), &p, "data", &["[1, 2, 3, 2]"]);
    let p = fixture("hdr_scalar.npy");
    assert_format(npy::read_dataset(&p), &p, "data", &["[]"]);
    let p = fixture("shape_zero_t.npy");
    assert_format(npy::read_dataset(&p), &p, "data", &["zero-size", "[0, 3]"]);
    let p = fixture("hdr_123456x0.npy");
    assert_format(dynsim::io::read_dataset(&p), &p, "data", &["zero-size"]);
}

/// §1: NaN / ±Inf are refused with the index [trial, t, feature] of the first one.
#[test]
fn datasets_refuse_non_finite() {
    let p = fixture("nan_4x3.npy");
    assert_non_finite(npy::read_dataset(&p), &p, &[0, 2, 1]);
    let p = fixture("inf_2x3x4.npy");
    assert_non_finite(npy::read_dataset(&p), &p, &[1, 0, 2]);
    // read() itself returns the values as they are.
    let a = npy::read(&fixture("nan_4x3.npy")).unwrap();
    assert!(a.data[7].is_nan());
}

/// §2: read_matrix returns a square matrix and refuses anything else.
#[test]
fn matrices() {
    let sc = Scratch::new("matrices");
    let m = npy::read_matrix(&fixture("f8_c_3x3.npy")).unwrap();
    assert_eq!((m.nrows(), m.ncols()), (3, 3));
    for i in 0..3 {
        for j in 0..3 {
            assert_eq!(m[(i, j)].to_bits(), v(3 * i + j).to_bits());
        }
    }
    let p = fixture("f8_c_5x3.npy");
    assert_format(npy::read_matrix(&p), &p, "data", &["square", "[5, 3]"]);
    let p = fixture("f8_c_2x4x3.npy");
    assert_format(npy::read_matrix(&p), &p, "data", &["square"]);
    let p = fixture("hdr_0x4.npy");
    assert_format(npy::read_matrix(&p), &p, "data", &["square"]);
    let p = sc.file(
        "nan.npy",
        &npy::to_bytes(&[2, 2], &[1.0, 2.0, f64::NAN, 4.0]).unwrap(),
    );
    assert_non_finite(npy::read_matrix(&p), &p, &[1, 0]);
}

// ---- §2 writing --------------------------------------------------------------------------------------

/// §2: our bytes equal NumPy's, header and data, for NumPy-written f64 C-order files.
#[test]
fn writes_numpys_bytes() {
    let cases: &[(&str, &[usize])] = &[
        ("f8_c_5x3.npy", &[5, 3]),
        ("f8_c_2x4x3.npy", &[2, 4, 3]),
        ("f8_c_3x3.npy", &[3, 3]),
        ("hdr_7.npy", &[7]),
        ("hdr_scalar.npy", &[]),
        ("hdr_0x4.npy", &[0, 4]),
        ("hdr_123456x0.npy", &[123456, 0]),
        ("hdr_1x2x1x2.npy", &[1, 2, 1, 2]),
        ("hdr_11x1.npy", &[11, 1]),
    ];
    for &(name, shape) in cases {
        let n: usize = shape.iter().product();
        let data: Vec<f64> = (0..n).map(v).collect();
        let ours = npy::to_bytes(shape, &data).unwrap();
        assert_eq!(ours, fixture_bytes(name), "{name}");
    }
}

/// §2.5: a header too long for version 1.0 (thousands of axes; NumPy itself allows at most 64) is
/// written as version 2.0, still aligned, and read back.
#[test]
fn version_2_header_for_many_axes() {
    let sc = Scratch::new("v2");
    let shape = vec![1usize; 30000];
    let bytes = npy::to_bytes(&shape, &[2.5]).unwrap();
    assert_eq!(&bytes[6..8], &[2, 0]);
    assert_eq!((bytes.len() - 8) % 64, 0);
    let p = sc.file("many.npy", &bytes);
    let a = npy::read(&p).unwrap();
    assert_eq!((a.shape, a.data), (shape, vec![2.5]));
}

#[test]
fn write_refuses_mismatched_length() {
    let e = npy::to_bytes(&[2, 3], &[1.0; 5]).unwrap_err();
    assert!(matches!(e, Error::Shape { .. }), "{e:?}");
    let e = npy::to_bytes(&[usize::MAX, 3], &[]).unwrap_err();
    assert!(matches!(e, Error::Shape { .. }), "{e:?}");
}

/// Shapes of up to 4 axes with arbitrary f64 bit patterns (NaN payloads, −0, subnormals, ±Inf).
fn shape_and_bits() -> impl Strategy<Value = (Vec<usize>, Vec<u64>)> {
    proptest::collection::vec(0usize..5, 0..5).prop_flat_map(|shape| {
        let n = shape.iter().product::<usize>();
        (Just(shape), proptest::collection::vec(any::<u64>(), n))
    })
}

proptest! {
    #![proptest_config(proptest_config(48))]

    /// §2: write → read is bit-exact, and the data start at a multiple of 64 bytes.
    #[test]
    fn write_read_round_trip((shape, raw) in shape_and_bits()) {
        let data: Vec<f64> = raw.iter().map(|&b| f64::from_bits(b)).collect();
        let bytes = npy::to_bytes(&shape, &data).unwrap();
        prop_assert_eq!((bytes.len() - 8 * data.len()) % 64, 0);
        let sc = Scratch::new("round_trip");
        let p = sc.0.join("x.npy");
        npy::write(&p, &shape, &data).unwrap();
        let a = npy::read(&p).unwrap();
        prop_assert_eq!(&a.shape, &shape);
        prop_assert_eq!(bits(&a.data), raw);
    }

    /// §2: large axis lengths (with a zero axis, so no data) keep the header aligned and readable.
    #[test]
    fn header_of_large_shapes(big in proptest::collection::vec(0usize..usize::MAX / 2, 1..4), zero_at in 0usize..4) {
        let sc = Scratch::new("large_shapes");
        let mut shape = big.clone();
        let at = zero_at.min(shape.len());
        shape.insert(at, 0);
        // Writable (and readable) unless the non-zero axes overflow 64 bits together.
        let overflow = big.iter().filter(|&&d| d != 0).try_fold(1u64, |a, &d| a.checked_mul(d as u64)).is_none();
        let bytes = match npy::to_bytes(&shape, &[]) {
            Err(Error::Shape { reason, .. }) if overflow => {
                prop_assert!(reason.contains("64 bits"));
                return Ok(());
            }
            r => r.unwrap(),
        };
        prop_assert_eq!(bytes.len() % 64, 0);
        prop_assert_eq!(*bytes.last().unwrap(), b'\n');
        let name = format!("large_{}.npy", shape.len());
        let p = sc.file(&name, &bytes);
        prop_assert!(!overflow);
        prop_assert_eq!(npy::read(&p).unwrap().shape, shape);
    }
}

// ---- §2 malformed files ------------------------------------------------------------------------------

#[test]
fn missing_file_and_directory_are_io_errors() {
    let sc = Scratch::new("missing");
    let dir = &sc.0;
    let p = dir.join("nope.npy");
    assert_io(npy::read(&p), &p);
    assert_io(npy::read_dataset(&p), &p);
    assert_io(dynsim::io::read_dataset(&p), &p);
    let p = dir.join("nope.npz");
    assert_io(npz::read_dataset(&p), &p);
    let d = dir.join("adir.npy");
    std::fs::create_dir_all(&d).unwrap();
    assert_io(npy::read(&d), &d);
    let d = dir.join("adir.npz");
    std::fs::create_dir_all(&d).unwrap();
    assert_io(npz::read_dataset(&d), &d);
}

#[test]
fn empty_file_and_wrong_magic() {
    let sc = Scratch::new("magic");
    let p = sc.file("empty.npy", b"");
    assert_format(npy::read(&p), &p, "header", &["empty"]);
    let p = sc.file("text.npy", b"time,x,y\n0,1,2\n");
    assert_format(npy::read(&p), &p, "header", &["wrong magic"]);
    let mut bytes = fixture_bytes("f8_c_5x3.npy");
    bytes[1] = b'n';
    let p = sc.file("lower.npy", &bytes);
    assert_format(npy::read(&p), &p, "header", &["wrong magic"]);
    let mut bytes = fixture_bytes("f8_c_5x3.npy");
    bytes[6] = 4;
    let p = sc.file("v4.npy", &bytes);
    assert_format(npy::read(&p), &p, "header", &["version 4.0"]);
}

#[test]
fn truncated_files() {
    let sc = Scratch::new("truncated");
    let full = fixture_bytes("f8_c_5x3.npy"); // 128-byte header + 120 bytes of data
    assert_eq!(full.len(), 248);
    let p = sc.file("pre.npy", &full[..9]);
    assert_format(npy::read(&p), &p, "header", &["truncated header", "10"]);
    let p = sc.file("hdr.npy", &full[..40]);
    assert_format(
        npy::read(&p),
        &p,
        "header",
        &["truncated header", "118 bytes", "only 30"],
    );
    let p = sc.file("data.npy", &full[..243]);
    assert_format(
        npy::read(&p),
        &p,
        "data",
        &["truncated data", "needs 120 bytes", "only 115"],
    );
    let mut longer = full.clone();
    longer.extend_from_slice(&[0; 3]);
    let p = sc.file("trailing.npy", &longer);
    assert_format(npy::read(&p), &p, "data", &["3 unexpected bytes"]);
    // Every truncation is an error, never a panic.
    for len in 0..full.len() {
        let p = sc.file("cut.npy", &full[..len]);
        assert!(
            matches!(npy::read(&p), Err(Error::Format { .. })),
            "cut at {len}"
        );
    }
}

/// A header declaring 10^12 elements (or a shape that overflows, or a 4 GiB header) is refused from
/// the bytes present, before anything is allocated for it.
#[test]
fn huge_declared_sizes() {
    let sc = Scratch::new("huge");
    let data = vec![0u8; 120];
    let b = npy_with_header(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000, 1000000), }",
        &data,
    );
    let p = sc.file("tera.npy", &b);
    assert_format(
        npy::read(&p),
        &p,
        "data",
        &["truncated data", "8000000000000 bytes", "only 120"],
    );
    let b = npy_with_header(
        "{'descr': '<f8', 'fortran_order': True, 'shape': (1099511627776, 1099511627776, 0), }",
        &[],
    );
    let p = sc.file("overflow.npy", &b);
    assert_format(npy::read(&p), &p, "header", &["64 bits"]);
    let b = npy_with_header(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999999,), }",
        &[],
    );
    let p = sc.file("bigint.npy", &b);
    assert_format(npy::read(&p), &p, "header", &["64 bits"]);
    let b = npy_with_header(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (1152921504606846976, 4), }",
        &data,
    );
    let p = sc.file("bytes_overflow.npy", &b);
    assert_format(
        npy::read(&p),
        &p,
        "data",
        &["truncated data", "more than 2^64"],
    );
    // Version 2.0 with a 4 GiB header length.
    let mut b = b"\x93NUMPY\x02\x00\xff\xff\xff\xff{'descr'".to_vec();
    b.extend_from_slice(&[b' '; 20]);
    let p = sc.file("hdrlen.npy", &b);
    assert_format(
        npy::read(&p),
        &p,
        "header",
        &["truncated header", "4294967295"],
    );
}

/// Header dictionaries NumPy would not write are refused with a reason, never a panic.
#[test]
fn malformed_headers() {
    let sc = Scratch::new("headers");
    let data = 1.5f64.to_le_bytes();
    let cases = [
        (
            "{'descr': '<f8', 'fortran_order': False}",
            "missing key 'shape'",
        ),
        (
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'x': 1}",
            "unexpected key",
        ),
        (
            "{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (1,)}",
            "duplicate",
        ),
        (
            "{'descr': '<f8', 'fortran_order': 0, 'shape': (1,)}",
            "unexpected value",
        ),
        (
            "{'descr': '<f8', 'fortran_order': False, 'shape': (-1,)}",
            "integer",
        ),
        (
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1.0,)}",
            "expected ')'",
        ),
        (
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1,)} x",
            "after the dictionary",
        ),
        (
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1,)",
            "expected '}'",
        ),
        (
            "{'descr': '<f\\x38', 'fortran_order': False, 'shape': (1,)}",
            "escapes",
        ),
        (
            "{'descr': '<q8', 'fortran_order': False, 'shape': (1,)}",
            "unsupported dtype",
        ),
        (
            "{'descr': '|f8', 'fortran_order': False, 'shape': (1,)}",
            "unsupported dtype",
        ),
        ("[1, 2]", "expected '{'"),
    ];
    for (i, (dict, needle)) in cases.iter().enumerate() {
        let p = sc.file(&format!("h{i}.npy"), &npy_with_header(dict, &data));
        assert_format(npy::read(&p), &p, "header", &[needle]);
    }
    // The accepted variants: double quotes, a list shape, no trailing comma.
    let b = npy_with_header(
        "{\"shape\": [1], \"fortran_order\": False, \"descr\": \">f8\"}",
        &1.5f64.to_be_bytes(),
    );
    let p = sc.file("ok.npy", &b);
    assert_eq!(npy::read(&p).unwrap().data, [1.5]);
}

/// Any single corrupted byte in the header or data of a valid file gives Ok or an error, never a
/// panic.
#[test]
fn corrupted_bytes_never_panic() {
    let sc = Scratch::new("corrupt");
    let full = fixture_bytes("f8_f_4x3x2.npy");
    for pos in 0..full.len().min(140) {
        for val in [0u8, b' ', b'9', b'(', b'\'', 0xff] {
            let mut b = full.clone();
            b[pos] = val;
            let p = sc.file("c.npy", &b);
            let _ = npy::read(&p);
        }
    }
}

// ---- §3 .npz -------------------------------------------------------------------------------------------

/// §3: members are trials in archive order (arr_10 after arr_9), ragged lengths, stored or deflated.
#[test]
fn npz_ragged_trials_in_archive_order() {
    for name in ["ragged12.npz", "ragged12_compressed.npz"] {
        let p = fixture(name);
        let ds = dynsim::io::read_dataset(&p).unwrap();
        assert_eq!(ds.name(), p.display().to_string());
        assert_eq!((ds.n_trials(), ds.n_features()), (12, 3));
        assert!(ds.is_ragged());
        for i in 0..12 {
            let t = 2 + i;
            assert_eq!(ds.trial_len(i), Some(t), "{name} trial {i}");
            let expected: Vec<f64> = (0..3 * t).map(|c| tv(i, c)).collect();
            assert_eq!(
                bits(ds.trial(i).unwrap()),
                bits(&expected),
                "{name} trial {i}"
            );
        }
    }
}

/// §3: members may have different dtypes, byte orders and memory orders.
#[test]
fn npz_mixed_members() {
    let p = fixture("mixed.npz");
    let ds = npz::read_dataset(&p).unwrap();
    assert_eq!(ds.n_trials(), 4);
    let t0: Vec<f64> = (0..9).map(|c| f64::from(tv(0, c) as f32)).collect();
    assert_eq!(bits(ds.trial(0).unwrap()), bits(&t0));
    let t1: Vec<f64> = (0..12).map(|c| tv(1, c)).collect();
    assert_eq!(bits(ds.trial(1).unwrap()), bits(&t1));
    assert_eq!(ds.trial(2).unwrap(), &[1.0, -2.0, 3.0, 4.0, 5.0, -6.0]);
    let t3: Vec<f64> = (0..15).map(|c| tv(3, c)).collect();
    assert_eq!(bits(ds.trial(3).unwrap()), bits(&t3));
}

#[test]
fn npz_bad_members() {
    let cases: &[(&str, &str, &[&str])] = &[
        ("non_npy_member.npz", "notes.txt", &["not a .npy member"]),
        ("one_d_member.npz", "arr_1.npy", &["2-D", "[6]"]),
        ("three_d_member.npz", "arr_1.npy", &["2-D", "[2, 2, 3]"]),
        ("diff_n.npz", "arr_2.npy", &["N = 4", "arr_0.npy has N = 3"]),
        ("zero_t_member.npz", "arr_1.npy", &["zero-size"]),
        ("bool_member.npz", "arr_1.npy", &["bool"]),
        ("empty.npz", "archive", &["no members"]),
        (
            "bzip2_member.npz",
            "arr_1.npy",
            &["compression method", "not supported"],
        ),
        ("lying_size.npz", "arr_0.npy", &["4294967280", "zip bomb"]),
        (
            "huge_header_member.npz",
            "arr_0.npy",
            &["truncated data", "8000000000000 bytes", "only 120"],
        ),
    ];
    for &(name, member, needles) in cases {
        let p = fixture(name);
        assert_format(npz::read_dataset(&p), &p, member, needles);
        assert_format(dynsim::io::read_dataset(&p), &p, member, needles);
    }
    let p = fixture("nan_member.npz");
    assert_non_finite(npz::read_dataset(&p), &p, &[1, 3, 2]);
}

#[test]
fn npz_not_an_archive() {
    let sc = Scratch::new("npz_bad");
    let p = sc.file("empty.npz", b"");
    assert_format(npz::read_dataset(&p), &p, "archive", &["not a valid .npz"]);
    let p = sc.file("npy.npz", &fixture_bytes("f8_c_5x3.npy"));
    assert_format(npz::read_dataset(&p), &p, "archive", &["not a valid .npz"]);
    // A truncated archive: an error, never a panic.
    let full = fixture_bytes("ragged12_compressed.npz");
    for len in (0..full.len()).step_by(97) {
        let p = sc.file("cut.npz", &full[..len]);
        assert!(
            matches!(npz::read_dataset(&p), Err(Error::Format { .. })),
            "cut at {len}"
        );
    }
    // Corrupted member data: deflate or CRC errors name the member.
    let mut b = fixture_bytes("ragged12.npz");
    b[200] ^= 0x55; // inside arr_0.npy's data (stored)
    let p = sc.file("crc.npz", &b);
    assert_format(
        npz::read_dataset(&p),
        &p,
        "arr_0.npy",
        &["cannot decompress"],
    );
}

#[test]
fn unknown_extension() {
    let sc = Scratch::new("ext");
    let p = sc.file("data.csv", b"1,2\n");
    assert_format(
        dynsim::io::read_dataset(&p),
        &p,
        "file",
        &["unknown extension"],
    );
}

/// Any single corrupted byte of an archive (local headers, deflate streams, central directory) gives
/// Ok or an error, never a panic.
#[test]
fn npz_corrupted_bytes_never_panic() {
    let sc = Scratch::new("npz_corrupt");
    for name in ["ragged12_compressed.npz", "mixed.npz"] {
        let full = fixture_bytes(name);
        for pos in 0..full.len() {
            let mut b = full.clone();
            b[pos] ^= 0xff;
            let p = sc.file("c.npz", &b);
            let _ = npz::read_dataset(&p);
        }
    }
}
