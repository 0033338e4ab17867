//! Helpers shared by the integration tests. Everything here is written independently of the library
//! (its own Gram–Schmidt, its own Gaussian sampler), so a test that uses it does not check the library
//! against itself.

#![allow(dead_code)]

use faer::Mat;
use proptest::test_runner::Config;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A proptest configuration whose case count is `PROPTEST_CASES` when set, else `default_cases`.
pub fn proptest_config(default_cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default_cases);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// As [`proptest_config`], with proptest's own generator seeded (reproducible case sequences).
pub fn proptest_config_seeded(default_cases: u32, seed: u64) -> Config {
    Config {
        rng_seed: proptest::test_runner::RngSeed::Fixed(seed),
        ..proptest_config(default_cases)
    }
}

/// A seeded generator.
pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// A standard normal sample (Box–Muller).
pub fn gaussian(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>(); // (0, 1]
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// An r × c matrix of standard normal entries.
pub fn gaussian_matrix(r: usize, c: usize, rng: &mut ChaCha8Rng) -> Mat<f64> {
    let mut m = Mat::zeros(r, c);
    for j in 0..c {
        for i in 0..r {
            m[(i, j)] = gaussian(rng);
        }
    }
    m
}

/// A Haar-distributed orthogonal n × n matrix: Gram–Schmidt (twice, for orthogonality to round-off)
/// of a Gaussian matrix; column signs follow the Gaussian draw, which keeps the distribution Haar.
pub fn random_orthogonal(n: usize, rng: &mut ChaCha8Rng) -> Mat<f64> {
    let mut q = gaussian_matrix(n, n, rng);
    for _pass in 0..2 {
        for j in 0..n {
            for k in 0..j {
                let dot: f64 = (0..n).map(|i| q[(i, j)] * q[(i, k)]).sum();
                for i in 0..n {
                    q[(i, j)] -= dot * q[(i, k)];
                }
            }
            let norm = (0..n).map(|i| q[(i, j)] * q[(i, j)]).sum::<f64>().sqrt();
            for i in 0..n {
                q[(i, j)] /= norm;
            }
        }
    }
    q
}

/// Naive triple-loop product (independent of faer's kernels).
pub fn matmul(a: &Mat<f64>, b: &Mat<f64>) -> Mat<f64> {
    assert_eq!(a.ncols(), b.nrows());
    Mat::from_fn(a.nrows(), b.ncols(), |i, j| {
        (0..a.ncols()).map(|k| a[(i, k)] * b[(k, j)]).sum()
    })
}

/// Transpose.
pub fn transpose(a: &Mat<f64>) -> Mat<f64> {
    Mat::from_fn(a.ncols(), a.nrows(), |i, j| a[(j, i)])
}

/// A real matrix with the planted eigenvalues: real ones as 1×1 blocks, (re, im) pairs (im > 0) as
/// 2×2 rotation-scaling blocks [[re, −im], [im, re]], in the given order, block diagonal.
pub fn block_diagonal(real: &[f64], complex: &[(f64, f64)]) -> Mat<f64> {
    let n = real.len() + 2 * complex.len();
    let mut a = Mat::zeros(n, n);
    for (i, &r) in real.iter().enumerate() {
        a[(i, i)] = r;
    }
    for (k, &(re, im)) in complex.iter().enumerate() {
        let i = real.len() + 2 * k;
        a[(i, i)] = re;
        a[(i, i + 1)] = -im;
        a[(i + 1, i)] = im;
        a[(i + 1, i + 1)] = re;
    }
    a
}

/// Simulates x_{t+1} = A x_t from x0 for `t_len` steps; returns a row-major T × N buffer.
pub fn simulate(a: &Mat<f64>, x0: &[f64], t_len: usize) -> Vec<f64> {
    let n = a.nrows();
    let mut out = Vec::with_capacity(t_len * n);
    let mut x = x0.to_vec();
    for _ in 0..t_len {
        out.extend_from_slice(&x);
        x = (0..n)
            .map(|i| (0..n).map(|j| a[(i, j)] * x[j]).sum())
            .collect();
    }
    out
}

/// Multiplies every row of a row-major T × N buffer by M (N × N'): returns the T × N' buffer X M.
pub fn readout(data: &[f64], n: usize, m: &Mat<f64>) -> Vec<f64> {
    let n_out = m.ncols();
    data.chunks(n)
        .flat_map(|row| (0..n_out).map(move |j| (0..n).map(|i| row[i] * m[(i, j)]).sum::<f64>()))
        .collect()
}

/// Eigenvalues sorted by (re, im) for comparisons that must not depend on the library's order.
pub fn sorted_by_re_im(mut e: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    e.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    e
}

/// max |a_i − b_i| over two equally long lists of complex numbers, matched greedily to the nearest
/// unmatched partner (exact for well-separated spectra, which is what the tests plant).
pub fn spectrum_distance(a: &[(f64, f64)], b: &[(f64, f64)]) -> f64 {
    assert_eq!(a.len(), b.len(), "spectra of different sizes");
    let mut used = vec![false; b.len()];
    let mut worst: f64 = 0.0;
    for x in a {
        let mut best = (f64::INFINITY, usize::MAX);
        for (j, y) in b.iter().enumerate() {
            if !used[j] {
                let d = (x.0 - y.0).hypot(x.1 - y.1);
                if d < best.0 {
                    best = (d, j);
                }
            }
        }
        used[best.1] = true;
        worst = worst.max(best.0);
    }
    worst
}

/// Singular values (descending) through faer's high-level API (not the library's code path).
pub fn singular_values(a: &Mat<f64>) -> Vec<f64> {
    a.singular_values().expect("singular values")
}

/// Row-major buffer of a matrix.
pub fn to_row_major(a: &Mat<f64>) -> Vec<f64> {
    (0..a.nrows())
        .flat_map(|i| (0..a.ncols()).map(move |j| a[(i, j)]))
        .collect()
}

/// The bytes of a NumPy format 1.0 `.npy` file with the header dictionary `dict` followed by `data`:
/// magic, version, u16 header length, the dict padded with spaces and a newline to a multiple of 64
/// bytes (NumPy's documented layout), written independently of `dynsim::io`.
pub fn npy_with_header(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut h = dict.to_string();
    while (10 + h.len() + 1) % 64 != 0 {
        h.push(' ');
    }
    h.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(h.len() as u16).to_le_bytes());
    out.extend_from_slice(h.as_bytes());
    out.extend_from_slice(data);
    out
}

/// A '<f8', C-order `.npy` file of `shape` holding `data` (row-major), as [`npy_with_header`].
pub fn npy_f8(shape: &[usize], data: &[f64]) -> Vec<u8> {
    assert_eq!(shape.iter().product::<usize>(), data.len());
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape_text = if shape.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let bytes: Vec<u8> = data.iter().flat_map(|x| x.to_le_bytes()).collect();
    npy_with_header(
        &format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {shape_text}, }}"),
        &bytes,
    )
}
