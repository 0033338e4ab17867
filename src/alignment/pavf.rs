//! Procrustes analysis over vector fields (PAVF), certified (spec/alignment.md).
//!
//! Given two square operators A and B, [`align`] finds C ∈ O(n) (both components, det ±1) minimising
//! ‖Â − C B̂ Cᵀ‖_F, where Â = A/‖A‖_F and B̂ = B/‖B‖_F (unless normalisation is turned off), and reports
//! the angular score θ = arccos⟨Â, C B̂ Cᵀ⟩ ∈ [0, π], the Euclidean score ‖Â − C B̂ Cᵀ‖_F, and a
//! [`PavfCertificate`]: lower bounds on both scores, how many starts were tried and how many reached
//! the best value, and the optimiser's convergence data. Each result is therefore an interval
//! [lower bound, achieved value] that contains the true optimum.
//!
//! Symmetric pairs and 2×2 pairs are solved in closed form; everything else by Riemannian L-BFGS
//! followed by a Riemannian trust-region method with the analytic Hessian, from a deterministic set of
//! starts (spectral with Ising signs, signed permutation, identity, reflection) plus seeded Haar-random
//! restarts. All computation is sequential: the same inputs and seed give bit-identical output
//! whatever the thread count.
//!
//! Operators of different sizes are compared after zero-padding the smaller one to the larger size
//! (spec/alignment.md §1.2); C is then N×N with N the larger size.

#[path = "bounds.rs"]
mod bounds;
#[path = "riemannian.rs"]
mod riemannian;
#[path = "starts.rs"]
mod starts;

use std::cmp::Ordering;

use faer::{Mat, MatRef};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use self::bounds::{Spectra, Which};
use self::riemannian::{Problem, Settings, Workspace};
use crate::error::{Error, Result};
use crate::linalg::{frob_norm, mul};

/// Two starts "reach the same value" when their normalised Euclidean scores ‖Â − C B̂ Cᵀ‖_F differ by
/// at most this much; a result "meets the lower bound" when it exceeds the (normalised) lower bound by
/// at most this much (spec/alignment.md §5.5).
pub const PAVF_AGREEMENT_TOLERANCE: f64 = 1e-10;

/// Gradient norm at which L-BFGS hands over to the trust region (spec/alignment.md §4.1).
const LBFGS_SWITCH: f64 = 1e-4;

/// The number of Haar-random restarts used when [`PavfOptions::restarts`] is `None`.
pub fn default_restarts(size: usize) -> usize {
    if size <= 16 {
        8
    } else if size <= 32 {
        4
    } else {
        0
    }
}

/// Options of [`align`] and [`align_from`] (spec/alignment.md §5.5 for the defaults).
#[derive(Clone, Debug, PartialEq)]
pub struct PavfOptions {
    /// Normalise both operators to unit Frobenius norm before comparing (upstream's convention;
    /// default `true`). With `false` the Euclidean score is ‖A − C B Cᵀ‖_F in the operators' own
    /// scale; the optimal C and the angular score do not depend on this flag.
    pub normalize: bool,
    /// Seed of the ChaCha8 generator that draws the Haar-random restarts (default 0).
    pub seed: u64,
    /// Number of Haar-random starts tried after the deterministic ones. `None` (the default) chooses
    /// by the compared size N: 8 for N ≤ 16, 4 for N ≤ 32, 0 above (spec/alignment.md §5.5).
    pub restarts: Option<usize>,
    /// Stop trying starts once this many starts reach the best value (default 4), at least
    /// min(2, restarts) of them Haar-random (spec/alignment.md §5.5).
    pub agreement: usize,
    /// A local solve stops when the Riemannian gradient norm of f(C) = ‖Â − C B̂ Cᵀ‖²_F is at most
    /// this (default 1e-10; normalised units).
    pub gradient_tolerance: f64,
    /// Cap on the iterations (L-BFGS steps plus trust-region steps) of one local solve (default 3000).
    pub max_iterations: usize,
}

impl PavfOptions {
    /// Publication-grade settings: 30 random restarts and no early stop on agreement (the search still
    /// stops when the lower bound is met). Measured on unrelated random pairs to reach the best of a
    /// separate 90-start run on 40/40 pairs at N = 6 and 10, 39/40 at N = 8, 38/40 at N = 12 and 12/12
    /// at N = 20 (spec/alignment.md §5.5); about 2–3× the default's time.
    pub fn thorough() -> Self {
        Self {
            restarts: Some(30),
            agreement: usize::MAX,
            ..Self::default()
        }
    }
}

impl Default for PavfOptions {
    fn default() -> Self {
        Self {
            normalize: true,
            seed: 0,
            restarts: None,
            agreement: 4,
            gradient_tolerance: 1e-10,
            max_iterations: 3000,
        }
    }
}

/// How a result was obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PavfMethod {
    /// Both operators are symmetric: C = V_A V_Bᵀ (spec/alignment.md §7.1). Exact.
    ClosedFormSymmetric,
    /// n = 2 (spec/alignment.md §7.2). Exact.
    ClosedForm2x2,
    /// Riemannian trust-region from several starts (spec/alignment.md §4, §5).
    Optimized,
}

/// Which start produced the reported C (spec/alignment.md §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PavfStart {
    /// No start: a closed form.
    ClosedForm,
    /// C₀ = V_A D V_Bᵀ with Ising signs D (§5.2).
    Spectral,
    /// The spectral start with one sign flipped (the other component of O(n)).
    SpectralTwin,
    /// The best-matching signed permutation (§5.3).
    SignedPermutation,
    /// The signed-permutation start with one sign flipped.
    SignedPermutationTwin,
    /// C₀ = V_A D V_Bᵀ from the eigenvectors of AᵀA and BᵀB (right singular vectors, §5.2).
    RightSingular,
    /// Its twin with one sign flipped.
    RightSingularTwin,
    /// C₀ = V_A D V_Bᵀ from the eigenvectors of AAᵀ and BBᵀ (left singular vectors, §5.2).
    LeftSingular,
    /// Its twin with one sign flipped.
    LeftSingularTwin,
    /// C₀ = I.
    Identity,
    /// C₀ = diag(1, …, 1, −1).
    Reflection,
    /// The k-th Haar-random start (k = 0, 1, …).
    Random(usize),
    /// The start given to [`align_from`].
    Given,
}

/// Why the search over starts stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PavfStop {
    /// A closed form was used.
    ClosedForm,
    /// The best value met the lower bound (within [`PAVF_AGREEMENT_TOLERANCE`]): certified optimal.
    LowerBoundMet,
    /// `agreement` starts reached the best value, at least min(2, restarts) of them random.
    Agreement,
    /// Every start was tried.
    StartsExhausted,
    /// [`align_from`]: the given start was refined.
    GivenStart,
}

/// What supports a result (spec/alignment.md §8): the interval [lower bound, achieved] for both scores
/// and how the value was found.
#[derive(Clone, Debug, PartialEq)]
pub struct PavfCertificate {
    /// How the result was obtained.
    pub method: PavfMethod,
    /// A lower bound on the Euclidean score over all C ∈ O(n) (same units as
    /// [`Alignment::euclidean`]); ≤ the achieved score.
    pub euclidean_lower_bound: f64,
    /// A lower bound on the angular score over all C ∈ O(n); ≤ the achieved angle.
    pub angular_lower_bound: f64,
    /// Trust-region iterations of the local solve that produced C (0 for closed forms).
    pub iterations: usize,
    /// Trust-region iterations over all starts.
    pub total_iterations: usize,
    /// Hessian-vector products over all starts.
    pub hessian_products: usize,
    /// Riemannian gradient norm of f at C (normalised units; computed afresh for closed forms).
    pub gradient_norm: f64,
    /// The local solve that produced C met the gradient tolerance (true for closed forms).
    pub converged: bool,
    /// Number of (distinct) starts tried.
    pub starts_tried: usize,
    /// Number of starts whose value is within [`PAVF_AGREEMENT_TOLERANCE`] of the best.
    pub starts_at_best: usize,
    /// The start that produced C.
    pub best_start: PavfStart,
    /// Why the search stopped.
    pub stop: PavfStop,
    /// The size N the operators were compared at (the larger size; the smaller is zero-padded).
    pub size: usize,
}

/// The result of comparing two operators.
#[derive(Clone, Debug, PartialEq)]
pub struct Alignment {
    /// The orthogonal C (N×N) aligning B to A: A ≈ C B Cᵀ.
    pub c: Mat<f64>,
    /// θ = arccos⟨Â, C B̂ Cᵀ⟩_F ∈ [0, π], computed as 2·asin(‖Â − C B̂ Cᵀ‖_F / 2) (same value, accurate
    /// near 0).
    pub angular: f64,
    /// ‖Â − C B̂ Cᵀ‖_F (or ‖A − C B Cᵀ‖_F without normalisation).
    pub euclidean: f64,
    /// Lower bounds and convergence data.
    pub certificate: PavfCertificate,
}

impl Alignment {
    /// Achieved Euclidean score minus its lower bound (≥ 0; 0 up to rounding means provably optimal).
    pub fn euclidean_gap(&self) -> f64 {
        self.euclidean - self.certificate.euclidean_lower_bound
    }
}

/// A validated operator: the zero-padded matrix, its normalised version and its scales.
struct Prepared {
    raw: Mat<f64>,
    unit: Mat<f64>,
    /// ‖X‖_F.
    norm: f64,
    /// max |Xᵢⱼ|.
    max_abs: f64,
}

/// spec/alignment.md §1: validation, zero-padding to `size`, normalisation.
fn validate(x: MatRef<'_, f64>, what: &str) -> Result<()> {
    let (r, c) = x.shape();
    if r == 0 || c == 0 {
        return Err(Error::Shape {
            array: what.to_string(),
            reason: format!("the operator is empty ({r}×{c})"),
        });
    }
    if r != c {
        return Err(Error::Shape {
            array: what.to_string(),
            reason: format!("the operator must be square, got {r}×{c}"),
        });
    }
    crate::linalg::check_finite(x, what)
}

fn prepare(x: MatRef<'_, f64>, size: usize, what: &str) -> Result<Prepared> {
    let n = x.nrows();
    let raw = Mat::from_fn(
        size,
        size,
        |i, j| if i < n && j < n { x[(i, j)] } else { 0.0 },
    );
    let mut max_abs = 0.0f64;
    for j in 0..n {
        for i in 0..n {
            max_abs = max_abs.max(x[(i, j)].abs());
        }
    }
    let norm = frob_norm(x);
    if max_abs == 0.0 {
        return Err(Error::ZeroOperator {
            what: what.to_string(),
            norm,
        });
    }
    // Two-step scaling so that neither huge nor tiny entries overflow or underflow.
    let scaled = Mat::from_fn(size, size, |i, j| raw[(i, j)] / max_abs);
    let scaled_norm = frob_norm(scaled.as_ref());
    let unit = Mat::from_fn(size, size, |i, j| scaled[(i, j)] / scaled_norm);
    Ok(Prepared {
        raw,
        unit,
        norm,
        max_abs,
    })
}

fn lex_cmp(x: MatRef<'_, f64>, y: MatRef<'_, f64>) -> Ordering {
    for j in 0..x.ncols() {
        for i in 0..x.nrows() {
            match x[(i, j)].total_cmp(&y[(i, j)]) {
                Ordering::Equal => {}
                o => return o,
            }
        }
    }
    Ordering::Equal
}

fn check_options(o: &PavfOptions) -> Result<()> {
    if !(o.gradient_tolerance.is_finite() && o.gradient_tolerance > 0.0) {
        return Err(Error::InvalidParameter {
            name: "gradient_tolerance",
            value: format!("{}", o.gradient_tolerance),
            reason: "must be finite and positive".to_string(),
        });
    }
    if o.agreement == 0 {
        return Err(Error::InvalidParameter {
            name: "agreement",
            value: "0".to_string(),
            reason: "at least one start must reach the best value".to_string(),
        });
    }
    Ok(())
}

/// Compare operators A (n×n) and B (m×m) by PAVF: minimise ‖Â − C B̂ Cᵀ‖_F over C ∈ O(N), both
/// components, N = max(n, m), the smaller operator zero-padded (spec/alignment.md).
///
/// Symmetric pairs and N = 2 use exact closed forms. Otherwise the starts of spec/alignment.md §5 are
/// refined in a fixed order until the best value meets the lower bound, `options.agreement` starts
/// reach the best value, or all `6 + options.restarts` starts have been tried.
///
/// The result does not depend on the order of the arguments beyond transposition:
/// `align(b, a)` returns the same scores and certificate bit for bit, and Cᵀ (spec/alignment.md §5.6).
///
/// # Errors
/// [`Error::Shape`] for an empty or non-square operator, [`Error::NonFinite`] for NaN/±Inf entries,
/// [`Error::ZeroOperator`] for an all-zero operator (its normalisation is undefined; also with
/// `normalize: false`, because the angle is undefined), [`Error::InvalidParameter`] for bad options,
/// [`Error::Decomposition`] if an eigen/singular value decomposition fails.
pub fn align(a: MatRef<'_, f64>, b: MatRef<'_, f64>, options: &PavfOptions) -> Result<Alignment> {
    solve(a, b, None, options)
}

/// Refine a given orthogonal start `start` (N×N, N = max(n, m); ‖startᵀ start − I‖_max ≤ 1e-6, it is
/// re-orthonormalised by QR first) for the pair (A, B), without trying any other start and without the
/// closed forms. Use it to repair a pairwise distance with a composed alignment ([`compose`]); the
/// result's value is never above the start's value. `options.seed`, `restarts` and `agreement` are
/// ignored. With `max_iterations: 0` it just scores the start.
///
/// # Errors
/// As [`align`], plus [`Error::Shape`]/[`Error::NonFinite`] for a start of the wrong size or with
/// non-finite entries (array "start"), and [`Error::InvalidParameter`] (name "start") for a start that
/// is not orthogonal.
pub fn align_from(
    a: MatRef<'_, f64>,
    b: MatRef<'_, f64>,
    start: MatRef<'_, f64>,
    options: &PavfOptions,
) -> Result<Alignment> {
    solve(a, b, Some(start), options)
}

/// Compose alignments: given C_ab aligning B to A and C_bd aligning D to B, C = C_ab C_bd aligns D to A
/// and achieves ‖Â − C D̂ Cᵀ‖ ≤ d(A, B) + d(B, D) (and the same for angles), so it is a start for
/// [`align_from`] that repairs triangle-inequality violations of local optima (spec/alignment.md §9).
///
/// # Errors
/// [`Error::Shape`] if the two matrices are not square of the same size, [`Error::NonFinite`] for
/// non-finite entries.
pub fn compose(c_ab: MatRef<'_, f64>, c_bd: MatRef<'_, f64>) -> Result<Mat<f64>> {
    validate(c_ab, "alignment C_ab")?;
    validate(c_bd, "alignment C_bd")?;
    if c_ab.nrows() != c_bd.nrows() {
        return Err(Error::Shape {
            array: "alignment C_bd".to_string(),
            reason: format!(
                "size {} differs from C_ab's size {}",
                c_bd.nrows(),
                c_ab.nrows()
            ),
        });
    }
    Ok(mul(c_ab, c_bd))
}

/// The PAVF objective as a function on matrices, for checking the derivatives used by the solver
/// (spec/alignment.md §3) or building other solvers on top of it.
///
/// f(C) = ‖Â − C B̂ Cᵀ‖²_F with Â, B̂ validated, zero-padded and (optionally) normalised as in [`align`].
#[derive(Clone, Debug)]
pub struct PavfObjective {
    a: Mat<f64>,
    b: Mat<f64>,
}

impl PavfObjective {
    /// Validate, pad and (if `normalize`) normalise A and B.
    ///
    /// # Errors
    /// As [`align`].
    pub fn new(a: MatRef<'_, f64>, b: MatRef<'_, f64>, normalize: bool) -> Result<Self> {
        validate(a, "operator A")?;
        validate(b, "operator B")?;
        let size = a.nrows().max(b.nrows());
        let pa = prepare(a, size, "operator A")?;
        let pb = prepare(b, size, "operator B")?;
        if normalize {
            Ok(Self {
                a: pa.unit,
                b: pb.unit,
            })
        } else {
            Ok(Self {
                a: pa.raw,
                b: pb.raw,
            })
        }
    }

    /// N, the (padded) size.
    pub fn size(&self) -> usize {
        self.a.nrows()
    }

    fn check(&self, c: MatRef<'_, f64>, what: &str) -> Result<()> {
        validate(c, what)?;
        if c.nrows() != self.size() {
            return Err(Error::Shape {
                array: what.to_string(),
                reason: format!(
                    "expected {n}×{n}, got {m}×{m}",
                    n = self.size(),
                    m = c.nrows()
                ),
            });
        }
        Ok(())
    }

    /// f(C) for any N×N matrix C.
    ///
    /// # Errors
    /// [`Error::Shape`]/[`Error::NonFinite`] for a bad C.
    pub fn value(&self, c: MatRef<'_, f64>) -> Result<f64> {
        self.check(c, "C")?;
        Ok(Problem::new(self.a.as_ref(), self.b.as_ref())
            .ambient_value_gradient(c)
            .0)
    }

    /// The Euclidean gradient of f on ℝᴺˣᴺ: ∇f(C) = −2(E C B̂ᵀ + Eᵀ C B̂), E = Â − C B̂ Cᵀ
    /// (spec/alignment.md §3.1).
    ///
    /// # Errors
    /// [`Error::Shape`]/[`Error::NonFinite`] for a bad C.
    pub fn euclidean_gradient(&self, c: MatRef<'_, f64>) -> Result<Mat<f64>> {
        self.check(c, "C")?;
        Ok(Problem::new(self.a.as_ref(), self.b.as_ref())
            .ambient_value_gradient(c)
            .1)
    }

    /// The Riemannian gradient at an orthogonal C in Ω-coordinates: the skew matrix G with
    /// grad f(C) = C G, G = −(T − Tᵀ), T = E Bᵀ + Eᵀ B, E = Cᵀ Â C − B̂ (spec/alignment.md §3.2).
    ///
    /// # Errors
    /// [`Error::Shape`]/[`Error::NonFinite`] for a bad C.
    pub fn riemannian_gradient(&self, c: MatRef<'_, f64>) -> Result<Mat<f64>> {
        self.check(c, "C")?;
        Ok(Problem::new(self.a.as_ref(), self.b.as_ref()).riemannian_gradient(c))
    }

    /// The Riemannian Hessian at an orthogonal C applied to a skew Ω (tangent vector C Ω), in
    /// Ω-coordinates (spec/alignment.md §3.3).
    ///
    /// # Errors
    /// [`Error::Shape`]/[`Error::NonFinite`] for a bad C or Ω.
    pub fn hessian(&self, c: MatRef<'_, f64>, omega: MatRef<'_, f64>) -> Result<Mat<f64>> {
        self.check(c, "C")?;
        self.check(omega, "Omega")?;
        Ok(Problem::new(self.a.as_ref(), self.b.as_ref()).hessian_vector(c, omega))
    }
}

/// The raw Euclidean score s·‖X/s − C (Y/s) Cᵀ‖ with s = max(max|X|, max|Y|) (no overflow).
fn scaled_distance(x: &Prepared, y: &Prepared, c: MatRef<'_, f64>) -> f64 {
    let s = x.max_abs.max(y.max_abs);
    let n = c.nrows();
    let ys = Mat::from_fn(n, n, |i, j| y.raw[(i, j)] / s);
    let cyc = mul(mul(c, ys.as_ref()).as_ref(), c.transpose());
    let e = Mat::from_fn(n, n, |i, j| x.raw[(i, j)] / s - cyc[(i, j)]);
    s * frob_norm(e.as_ref())
}

/// ‖X̂ − C Ŷ Cᵀ‖_F.
fn unit_distance(x: &Prepared, y: &Prepared, c: MatRef<'_, f64>) -> f64 {
    let cyc = mul(mul(c, y.unit.as_ref()).as_ref(), c.transpose());
    let n = c.nrows();
    let e = Mat::from_fn(n, n, |i, j| x.unit[(i, j)] - cyc[(i, j)]);
    frob_norm(e.as_ref())
}

/// One local solve's record.
struct Tried {
    kind: PavfStart,
    local: riemannian::Local,
}

fn solve(
    a: MatRef<'_, f64>,
    b: MatRef<'_, f64>,
    start: Option<MatRef<'_, f64>>,
    options: &PavfOptions,
) -> Result<Alignment> {
    check_options(options)?;
    validate(a, "operator A")?;
    validate(b, "operator B")?;
    let size = a.nrows().max(b.nrows());
    let pa = prepare(a, size, "operator A")?;
    let pb = prepare(b, size, "operator B")?;

    // spec/alignment.md §5.6: canonical orientation, so that align(a, b) and align(b, a) agree bit for bit.
    let swap = match lex_cmp(pa.unit.as_ref(), pb.unit.as_ref()) {
        Ordering::Equal => lex_cmp(pa.raw.as_ref(), pb.raw.as_ref()) == Ordering::Greater,
        o => o == Ordering::Greater,
    };
    let (x, y) = if swap { (&pb, &pa) } else { (&pa, &pb) };
    let (wx, wy) = if swap {
        (Which::B, Which::A)
    } else {
        (Which::A, Which::B)
    };

    let start = match start {
        None => None,
        Some(s) => {
            validate(s, "start")?;
            if s.nrows() != size {
                return Err(Error::Shape {
                    array: "start".to_string(),
                    reason: format!(
                        "expected {size}×{size} (the padded size), got {0}×{0}",
                        s.nrows()
                    ),
                });
            }
            let ctc = mul(s.transpose(), s);
            let mut err = 0.0f64;
            for j in 0..size {
                for i in 0..size {
                    let want = if i == j { 1.0 } else { 0.0 };
                    err = err.max((ctc[(i, j)] - want).abs());
                }
            }
            if err.is_nan() || err > 1e-6 {
                return Err(Error::InvalidParameter {
                    name: "start",
                    value: format!("max |CᵀC − I| = {err:e}"),
                    reason: "the start must be orthogonal (to 1e-6)".to_string(),
                });
            }
            Some(if swap {
                s.transpose().to_owned()
            } else {
                s.to_owned()
            })
        }
    };

    let sx = Spectra::new(x.unit.as_ref(), wx)?;
    let sy = Spectra::new(y.unit.as_ref(), wy)?;

    // spec/alignment.md §6: lower bounds, made safe against rounding.
    let eps = f64::EPSILON;
    let margin_unit = 128.0 * size as f64 * eps;
    let lb_unit = (bounds::lower_bound(&sx, 1.0, &sy, 1.0) - margin_unit).max(0.0);
    let lb_euclid = if options.normalize {
        lb_unit
    } else {
        let margin = 64.0 * size as f64 * eps * (x.norm + y.norm);
        (bounds::lower_bound(&sx, x.norm, &sy, y.norm) - margin).max(0.0)
    };
    let lb_angle = 2.0 * (0.5 * lb_unit).min(1.0).asin();

    let problem = Problem::new(x.unit.as_ref(), y.unit.as_ref());
    let mut ws = Workspace::new(size);
    let settings = Settings {
        gradient_tolerance: options.gradient_tolerance,
        max_iterations: options.max_iterations,
        switch_tolerance: LBFGS_SWITCH,
    };

    let closed = if start.is_some() {
        None
    } else if bounds::exactly_symmetric(x.unit.as_ref())
        && bounds::exactly_symmetric(y.unit.as_ref())
    {
        Some((
            PavfMethod::ClosedFormSymmetric,
            bounds::closed_symmetric(&sx, &sy),
        ))
    } else if size == 2 {
        Some((
            PavfMethod::ClosedForm2x2,
            bounds::closed_2x2(x.unit.as_ref(), y.unit.as_ref()).0,
        ))
    } else {
        None
    };

    let out = if let Some((method, c)) = closed {
        let g = problem.riemannian_gradient(c.as_ref());
        let gradient_norm = riemannian::dot(&g, &g).sqrt();
        Outcome {
            c,
            method,
            best_start: PavfStart::ClosedForm,
            stop: PavfStop::ClosedForm,
            iterations: 0,
            total_iterations: 0,
            hessian_products: 0,
            gradient_norm,
            converged: true,
            starts_tried: 0,
            starts_at_best: 0,
        }
    } else if let Some(s0) = start {
        let s0 = starts::reorthonormalize(s0.as_ref(), &mut ws);
        let local = riemannian::solve(&problem, s0.as_ref(), settings, &mut ws);
        Outcome {
            c: local.c,
            method: PavfMethod::Optimized,
            best_start: PavfStart::Given,
            stop: PavfStop::GivenStart,
            iterations: local.iterations,
            total_iterations: local.iterations,
            hessian_products: local.hessian_products,
            gradient_norm: local.gradient_norm,
            converged: local.converged,
            starts_tried: 1,
            starts_at_best: 1,
        }
    } else {
        multistart(&problem, &sx, &sy, lb_unit, options, settings, &mut ws)?
    };
    let c = out.c;

    let unit = unit_distance(x, y, c.as_ref());
    let euclidean = if options.normalize {
        unit
    } else {
        scaled_distance(x, y, c.as_ref())
    };
    // §8: without normalisation the distance of operators with entries near f64::MAX can exceed the
    // f64 range; that is an error, not an infinite score.
    if !euclidean.is_finite() {
        return Err(Error::NonFinite {
            array: "Euclidean distance ‖A − C B Cᵀ‖ without normalisation (exceeds the f64 range)"
                .into(),
            index: Vec::new(),
            value: euclidean,
        });
    }
    let angular = 2.0 * (0.5 * unit).min(1.0).asin();
    let c = if swap { c.transpose().to_owned() } else { c };
    Ok(Alignment {
        c,
        angular,
        euclidean,
        certificate: PavfCertificate {
            method: out.method,
            euclidean_lower_bound: lb_euclid,
            angular_lower_bound: lb_angle,
            iterations: out.iterations,
            total_iterations: out.total_iterations,
            hessian_products: out.hessian_products,
            gradient_norm: out.gradient_norm,
            converged: out.converged,
            starts_tried: out.starts_tried,
            starts_at_best: out.starts_at_best,
            best_start: out.best_start,
            stop: out.stop,
            size,
        },
    })
}

/// The optimiser's part of a result.
struct Outcome {
    c: Mat<f64>,
    method: PavfMethod,
    best_start: PavfStart,
    stop: PavfStop,
    iterations: usize,
    total_iterations: usize,
    hessian_products: usize,
    gradient_norm: f64,
    converged: bool,
    starts_tried: usize,
    starts_at_best: usize,
}

/// spec/alignment.md §5: the starts, in order, with early stopping.
fn multistart(
    problem: &Problem,
    sx: &Spectra,
    sy: &Spectra,
    lb_unit: f64,
    options: &PavfOptions,
    settings: Settings,
    ws: &mut Workspace,
) -> Result<Outcome> {
    let n = problem.n();
    let (a, b) = (problem.a.as_ref(), problem.b.as_ref());
    let (spec, spec_twin) =
        starts::spectral(a, sx.sym_vectors.as_ref(), b, sy.sym_vectors.as_ref())?;
    let (perm, perm_twin) = starts::signed_permutation(a, b)?;
    let ra = starts::gram_vectors(a, true, "eigendecomposition of AᵀA")?;
    let rb = starts::gram_vectors(b, true, "eigendecomposition of BᵀB")?;
    let (right, right_twin) = starts::spectral(a, ra.as_ref(), b, rb.as_ref())?;
    let la = starts::gram_vectors(a, false, "eigendecomposition of AAᵀ")?;
    let lb = starts::gram_vectors(b, false, "eigendecomposition of BBᵀ")?;
    let (left, left_twin) = starts::spectral(a, la.as_ref(), b, lb.as_ref())?;
    let identity = Mat::<f64>::identity(n, n);
    let mut reflection = Mat::<f64>::identity(n, n);
    reflection[(n - 1, n - 1)] = -1.0;
    let mut fixed = vec![
        (PavfStart::Spectral, spec),
        (PavfStart::SpectralTwin, spec_twin),
        (PavfStart::SignedPermutation, perm),
        (PavfStart::SignedPermutationTwin, perm_twin),
        (PavfStart::RightSingular, right),
        (PavfStart::RightSingularTwin, right_twin),
        (PavfStart::LeftSingular, left),
        (PavfStart::LeftSingularTwin, left_twin),
        (PavfStart::Identity, identity),
        (PavfStart::Reflection, reflection),
    ]
    .into_iter();
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let restarts = options.restarts.unwrap_or_else(|| default_restarts(n));
    let mut random_drawn = 0usize;

    // Deterministic starts already tried (random starts are distinct with probability 1 and are not
    // stored, so memory does not grow with `restarts`), the values of all tried starts, and the best.
    let mut seen: Vec<Mat<f64>> = Vec::new();
    let mut values: Vec<f64> = Vec::new();
    let mut kinds: Vec<PavfStart> = Vec::new();
    let mut best: Option<Tried> = None;
    let mut stop = PavfStop::StartsExhausted;
    let mut total_iterations = 0;
    let mut hessian_products = 0;
    loop {
        let (kind, c0) = if let Some(s) = fixed.next() {
            s
        } else if random_drawn < restarts {
            let k = random_drawn;
            random_drawn += 1;
            (PavfStart::Random(k), starts::haar(&mut rng, n, ws))
        } else {
            break;
        };
        let deterministic = !matches!(kind, PavfStart::Random(_));
        if deterministic {
            // Skip a start identical to one already tried (it would not be an independent start).
            let duplicate = seen
                .iter()
                .any(|s| (0..n).all(|j| (0..n).all(|i| (s[(i, j)] - c0[(i, j)]).abs() <= 1e-12)));
            if duplicate {
                continue;
            }
        }
        let local = riemannian::solve(problem, c0.as_ref(), settings, ws);
        if deterministic {
            seen.push(c0);
        }
        total_iterations += local.iterations;
        hessian_products += local.hessian_products;
        values.push(local.distance);
        kinds.push(kind);
        let improved = best
            .as_ref()
            .is_none_or(|t| local.distance < t.local.distance);
        if improved {
            best = Some(Tried { kind, local });
        }
        let best_d = best.as_ref().map_or(f64::INFINITY, |t| t.local.distance);
        if best_d <= lb_unit + PAVF_AGREEMENT_TOLERANCE {
            stop = PavfStop::LowerBoundMet;
            break;
        }
        // §5.5: the deterministic starts are built from the same spectral structure and can agree on
        // one wrong minimum, so agreement also needs independent evidence: at least
        // min(2, restarts) of the agreeing starts must be Haar-random.
        let agree = values
            .iter()
            .filter(|&&v| v <= best_d + PAVF_AGREEMENT_TOLERANCE)
            .count();
        let random_agree = values
            .iter()
            .zip(&kinds)
            .filter(|&(&v, k)| {
                matches!(k, PavfStart::Random(_)) && v <= best_d + PAVF_AGREEMENT_TOLERANCE
            })
            .count();
        if agree >= options.agreement && random_agree >= restarts.min(2) {
            stop = PavfStop::Agreement;
            break;
        }
    }
    let starts_tried = values.len();
    let Some(bt) = best else {
        return Err(Error::Decomposition {
            what: "PAVF multistart (no start was tried)",
        });
    };
    let starts_at_best = values
        .iter()
        .filter(|&&v| v <= bt.local.distance + PAVF_AGREEMENT_TOLERANCE)
        .count();
    Ok(Outcome {
        c: bt.local.c,
        method: PavfMethod::Optimized,
        best_start: bt.kind,
        stop,
        iterations: bt.local.iterations,
        total_iterations,
        hessian_products,
        gradient_norm: bt.local.gradient_norm,
        converged: bt.local.converged,
        starts_tried,
        starts_at_best,
    })
}
