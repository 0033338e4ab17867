//! Fitting the DSA operator: SVD of the Hankel matrix, rank selection, and regression in the whitened
//! delay coordinates (HAVOK-style DMD, principal-component regression) — `spec/operator.md`.
//!
//! With H (M × p, M = Σᵢ T'ᵢ delay vectors, p = N·D) the stacked Hankel matrix and H = V S Uᵀ its thin
//! SVD, the rows of V are the whitened delay coordinates. Transition pairs (v_t, v_{t+k}) are taken within
//! each trial, stacked into V₋ and V₊, and the operator on the first r coordinates is the ridge solution
//!
//! A_v = [ (V₋ᵀV₋ + λI)⁻¹ V₋ᵀV₊ ]ᵀ   (r × r, acting on column vectors: v_{t+k} ≈ A_v v_t).

use faer::{Accum, Mat, MatRef};

use crate::embedding::{Dataset, DelayParams, Hankel};
use crate::error::{Error, Result};
use crate::linalg;

/// How the rank r of the regression is chosen (spec/operator.md §3). At most one rule applies; use
/// [`RankRule::from_options`] to build one from upstream-style optional arguments.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum RankRule {
    /// r = p = N·D (upstream's default).
    #[default]
    Full,
    /// A fixed r, 1 ≤ r ≤ p (upstream caps larger values silently; dynsim refuses them).
    Fixed(usize),
    /// r = #{σᵢ > θ}, at least 1 (upstream's `rank_thresh`). θ ≥ 0.
    Threshold(f64),
    /// The smallest r with Σ_{i≤r} σᵢ² / Σᵢ σᵢ² ≥ q, q ∈ (0, 1] (upstream's `rank_explained_variance`).
    ExplainedVariance(f64),
    /// Gavish–Donoho optimal hard threshold for unknown noise: r = #{σᵢ > ω(β)·median(σ)}, at least 1,
    /// with β = p / M and ω(β) ≈ 0.56β³ − 0.95β² + 1.82β + 1.43. Not in upstream.
    Auto,
}

impl RankRule {
    /// Builds a rule from upstream-style optional arguments; more than one given is an error
    /// ([`Error::ConflictingRankRules`]), none gives [`RankRule::Full`].
    pub fn from_options(
        rank: Option<usize>,
        rank_thresh: Option<f64>,
        rank_explained_variance: Option<f64>,
        rank_auto: bool,
    ) -> Result<Self> {
        let mut given = Vec::new();
        let mut rule = RankRule::Full;
        if let Some(r) = rank {
            given.push("rank");
            rule = RankRule::Fixed(r);
        }
        if let Some(t) = rank_thresh {
            given.push("rank_thresh");
            rule = RankRule::Threshold(t);
        }
        if let Some(q) = rank_explained_variance {
            given.push("rank_explained_variance");
            rule = RankRule::ExplainedVariance(q);
        }
        if rank_auto {
            given.push("rank_auto");
            rule = RankRule::Auto;
        }
        if given.len() > 1 {
            return Err(Error::ConflictingRankRules {
                rules: given.join(", "),
            });
        }
        rule.validate(None)?;
        Ok(rule)
    }

    /// Checks the rule's parameter; with `max = Some(p)` also checks a fixed rank against p.
    pub fn validate(&self, max: Option<usize>) -> Result<()> {
        match *self {
            RankRule::Fixed(r) if r == 0 || max.is_some_and(|m| r > m) => {
                return Err(Error::RankOutOfRange {
                    rank: r,
                    max: max.unwrap_or(usize::MAX),
                });
            }
            RankRule::Threshold(t) if !(t.is_finite() && t >= 0.0) => {
                return Err(Error::InvalidParameter {
                    name: "rank_thresh",
                    value: t.to_string(),
                    reason: "must be a finite number ≥ 0".into(),
                })
            }
            RankRule::ExplainedVariance(q) if !(q > 0.0 && q <= 1.0) => {
                return Err(Error::InvalidParameter {
                    name: "rank_explained_variance",
                    value: q.to_string(),
                    reason: "must be in (0, 1]".into(),
                })
            }
            _ => {}
        }
        Ok(())
    }

    /// Applies the rule to non-increasing, non-negative `values` (the singular values σ for
    /// principal-component regression) and returns r ∈ [1, values.len()] (spec/operator.md §3).
    ///
    /// `gd_values` and `beta` feed the Gavish–Donoho rule (singular values of a matrix of aspect ratio
    /// β ≤ 1); for PCR they are σ itself and p / M.
    pub fn select(&self, values: &[f64], gd_values: &[f64], beta: f64) -> Result<usize> {
        let m = values.len();
        self.validate(Some(m))?;
        let r = match *self {
            RankRule::Full => m,
            RankRule::Fixed(r) => r,
            RankRule::Threshold(t) => values.iter().filter(|&&s| s > t).count(),
            RankRule::ExplainedVariance(q) => explained_variance_rank(values, q),
            RankRule::Auto => {
                let tau = gavish_donoho_omega(beta) * median(gd_values);
                gd_values.iter().filter(|&&s| s > tau).count()
            }
        };
        Ok(r.clamp(1, m.max(1)))
    }
}

/// ω(β) ≈ 0.56β³ − 0.95β² + 1.82β + 1.43, the Gavish–Donoho (2014) coefficient for an unknown noise level
/// (spec/operator.md §3.5).
pub fn gavish_donoho_omega(beta: f64) -> f64 {
    0.56 * beta.powi(3) - 0.95 * beta.powi(2) + 1.82 * beta + 1.43
}

/// Median of a slice (mean of the two middle values for even lengths); 0 for an empty slice.
fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => 0.0,
        _ if n % 2 == 1 => v[n / 2],
        _ => 0.5 * (v[n / 2 - 1] + v[n / 2]),
    }
}

/// The smallest r with Σ_{i<r} sᵢ² / Σ sᵢ² ≥ q (values scaled by their maximum first, so that 1e±300
/// neither overflows nor underflows); len when rounding keeps the ratio below q.
fn explained_variance_rank(values: &[f64], q: f64) -> usize {
    let scale = values.iter().fold(0.0f64, |a, &b| a.max(b.abs()));
    if scale == 0.0 {
        return values.len();
    }
    let total: f64 = values.iter().map(|s| (s / scale).powi(2)).sum();
    let mut cum = 0.0;
    for (i, s) in values.iter().enumerate() {
        cum += (s / scale).powi(2);
        if cum / total >= q {
            return i + 1;
        }
    }
    values.len()
}

/// The regression that maps V₋ to V₊ (spec/operator.md §4–5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Regression {
    /// Principal-component regression on the first r columns of V (upstream's default).
    #[default]
    PrincipalComponent,
    /// Reduced-rank regression over all p columns of V, reported as an r × r operator in the basis of
    /// the leading eigenvectors of the projector (spec/operator.md §5; differs from upstream's m × m).
    ReducedRank,
}

/// All parameters of a fit (spec/operator.md §1). `Default` gives upstream's `DSA` class defaults:
/// D = 1, τ = 1, full rank, λ = 1e-8, k = 1, principal-component regression.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FitParams {
    /// Delay embedding (D, τ).
    pub delay: DelayParams,
    /// Rank rule.
    pub rank: RankRule,
    /// Ridge parameter λ ≥ 0.
    pub lambda: f64,
    /// k ≥ 1: transition pairs are (v_t, v_{t+k}).
    pub steps_ahead: usize,
    /// Which regression.
    pub regression: Regression,
}

impl Default for FitParams {
    fn default() -> Self {
        Self {
            delay: DelayParams::default(),
            rank: RankRule::Full,
            lambda: 1e-8,
            steps_ahead: 1,
            regression: Regression::PrincipalComponent,
        }
    }
}

impl FitParams {
    /// Checks every parameter's domain (not those that depend on the data).
    pub fn validate(&self) -> Result<()> {
        self.delay.validate()?;
        self.rank.validate(None)?;
        if !(self.lambda.is_finite() && self.lambda >= 0.0) {
            return Err(Error::InvalidParameter {
                name: "lambda",
                value: self.lambda.to_string(),
                reason: "the ridge parameter must be a finite number ≥ 0".into(),
            });
        }
        if self.steps_ahead == 0 {
            return Err(Error::InvalidParameter {
                name: "steps_ahead",
                value: "0".into(),
                reason: "must be at least 1".into(),
            });
        }
        Ok(())
    }
}

/// A fitted DSA operator and what is needed to reuse it without the data (spec/operator.md §6).
#[derive(Debug, Clone)]
pub struct Operator {
    matrix: Mat<f64>,
    singular_values: Vec<f64>,
    eigenvalues: Vec<(f64, f64)>,
    r2: f64,
    params: FitParams,
    n_features: usize,
    n_samples: usize,
    n_transitions: usize,
}

impl Operator {
    /// A_v (r × r), acting on column vectors of whitened delay coordinates: v_{t+k} ≈ A_v v_t.
    pub fn matrix(&self) -> MatRef<'_, f64> {
        self.matrix.as_ref()
    }

    /// r, the rank used.
    pub fn rank(&self) -> usize {
        self.matrix.nrows()
    }

    /// All p = N·D singular values of the Hankel matrix H, non-increasing.
    pub fn singular_values(&self) -> &[f64] {
        &self.singular_values
    }

    /// Eigenvalues (re, im) of A_v, sorted by [`sort_eigenvalues`]'s order.
    pub fn eigenvalues(&self) -> &[(f64, f64)] {
        &self.eigenvalues
    }

    /// One-step training R² in V coordinates (spec/operator.md §6).
    pub fn r2(&self) -> f64 {
        self.r2
    }

    /// The parameters of the fit.
    pub fn params(&self) -> &FitParams {
        &self.params
    }

    /// N, the number of features of the data.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// M = Σᵢ T'ᵢ, the number of delay vectors.
    pub fn n_samples(&self) -> usize {
        self.n_samples
    }

    /// The number of transition pairs, Σᵢ (T'ᵢ − k).
    pub fn n_transitions(&self) -> usize {
        self.n_transitions
    }

    /// Rebuilds an operator from stored parts (e.g. a saved model): validates the shapes and values
    /// and recomputes the eigenvalues, so a reloaded operator is indistinguishable from the original.
    #[allow(clippy::too_many_arguments)]
    pub fn from_parts(
        matrix: Mat<f64>,
        singular_values: Vec<f64>,
        r2: f64,
        params: FitParams,
        n_features: usize,
        n_samples: usize,
        n_transitions: usize,
    ) -> Result<Self> {
        params.validate()?;
        let name = "operator".to_string();
        if matrix.nrows() != matrix.ncols() || matrix.nrows() == 0 {
            return Err(Error::Shape {
                array: name,
                reason: format!(
                    "A_v must be square and non-empty, got {}×{}",
                    matrix.nrows(),
                    matrix.ncols()
                ),
            });
        }
        linalg::check_finite(matrix.as_ref(), &name)?;
        if let Some(i) = singular_values
            .iter()
            .position(|s| !s.is_finite() || *s < 0.0)
        {
            return Err(Error::NonFinite {
                array: "singular_values".into(),
                index: vec![i],
                value: singular_values[i],
            });
        }
        if matrix.nrows() > singular_values.len() {
            return Err(Error::RankOutOfRange {
                rank: matrix.nrows(),
                max: singular_values.len(),
            });
        }
        let mut eigenvalues = linalg::eigenvalues(matrix.as_ref(), "eigenvalues of A_v")?;
        sort_eigenvalues(&mut eigenvalues);
        Ok(Self {
            matrix,
            singular_values,
            eigenvalues,
            r2,
            params,
            n_features,
            n_samples,
            n_transitions,
        })
    }
}

/// The Hankel matrix is scaled so that its largest entry lies in [2ᴷ, 2ᴷ⁺¹) with K = this
/// (spec/operator.md §2.2).
const HANKEL_SCALE: i32 = 256;

/// e such that x·2⁻ᵉ ∈ [½, 1) for finite x > 0 (0 for x = 0 or non-finite x).
fn binary_exponent(x: f64) -> i32 {
    if !(x.is_finite() && x > 0.0) {
        return 0;
    }
    let (x, shift) = if x < f64::MIN_POSITIVE {
        (x * 2f64.powi(64), -64)
    } else {
        (x, 0)
    };
    ((x.to_bits() >> 52) & 0x7ff) as i32 - 1022 + shift
}

/// x·2ᵏ, exact whenever the result is a normal number (applied in steps so that no intermediate
/// power of two overflows or underflows).
fn scale_pow2(mut x: f64, mut k: i32) -> f64 {
    while k != 0 {
        let step = k.clamp(-1000, 1000);
        x *= 2f64.powi(step);
        k -= step;
    }
    x
}

/// Sorts eigenvalues deterministically: by modulus descending, then real part descending, then
/// imaginary part descending (so a conjugate pair lists +im first). Uses a total order on f64.
pub fn sort_eigenvalues(eigs: &mut [(f64, f64)]) {
    eigs.sort_by(|a, b| {
        let (ma, mb) = (a.0.hypot(a.1), b.0.hypot(b.1));
        mb.total_cmp(&ma)
            .then(b.0.total_cmp(&a.0))
            .then(b.1.total_cmp(&a.1))
    });
}

/// The memory a fit allocates, estimated from the shapes alone (spec/operator.md §7.1), in bytes.
/// Every field is an upper bound on one buffer the fit holds at its peak; [`FitMemory::total`] is
/// their sum. Sizes saturate at `u64::MAX` instead of overflowing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FitMemory {
    /// The dataset, 8·ΣTᵢ·N (held by the caller during the fit).
    pub dataset: u64,
    /// The Hankel matrix H, 8·M·p, M = Σᵢ (Tᵢ − (D−1)τ), p = N·D.
    pub hankel: u64,
    /// The regression basis V[:, :c], 8·M·c: c = r for a fixed rank, else p (the rank rule picks r
    /// after the SVD, so the estimate takes the largest possible).
    pub basis: u64,
    /// The QR factorisation's block factors, faer's workspaces for the QR and for applying Q (as
    /// faer computes them), and the matrix-product kernel's packing of one M × bs block.
    pub workspace: u64,
    /// The p × p and c × c matrices (R, its SVD factors and workspace, the Gram matrices): 8·12·p².
    pub small: u64,
}

impl FitMemory {
    /// The peak: the sum of the buffers.
    pub fn total(&self) -> u64 {
        self.dataset
            .saturating_add(self.hankel)
            .saturating_add(self.basis)
            .saturating_add(self.workspace)
            .saturating_add(self.small)
    }
}

/// Estimates the memory [`fit`] needs for a dataset of trials of lengths `trial_lens` with
/// `n_features` features (spec/operator.md §7.1), without allocating anything. Validates `params`
/// (their domains only; a trial too short for the delays counts as contributing no rows here and is
/// refused by [`fit`] itself).
pub fn fit_memory(
    trial_lens: &[usize],
    n_features: usize,
    params: &FitParams,
) -> Result<FitMemory> {
    params.validate()?;
    let span = params.delay.validate()? as u64;
    let bytes = |count: u64| count.saturating_mul(8);
    let n = n_features as u64;
    let total_time = trial_lens
        .iter()
        .fold(0u64, |acc, &t| acc.saturating_add(t as u64));
    let m = trial_lens.iter().fold(0u64, |acc, &t| {
        acc.saturating_add((t as u64).saturating_sub(span))
    });
    let p = n.saturating_mul(params.delay.n_delays as u64);
    let c = match (params.regression, params.rank) {
        (Regression::PrincipalComponent, RankRule::Fixed(r)) => (r as u64).min(p),
        _ => p,
    };
    Ok(FitMemory {
        dataset: bytes(total_time.saturating_mul(n)),
        hankel: bytes(m.saturating_mul(p)),
        basis: bytes(m.saturating_mul(c)),
        workspace: linalg::qr_workspace_bytes(
            usize::try_from(m).unwrap_or(usize::MAX),
            usize::try_from(p).unwrap_or(usize::MAX),
            usize::try_from(c).unwrap_or(usize::MAX),
        ),
        small: bytes(p.saturating_mul(p).saturating_mul(12)),
    })
}

/// Fits the operator of one system (spec/operator.md). Validates the parameters and that every trial
/// has at least (D−1)τ + k + 1 time points, embeds, and calls [`fit_hankel`].
pub fn fit(data: &Dataset, params: &FitParams) -> Result<Operator> {
    params.validate()?;
    data.check_lengths(&params.delay, params.steps_ahead)?;
    // §1: shape checks before the Hankel matrix is allocated.
    let span = params.delay.validate()?;
    let rows: usize = (0..data.n_trials())
        .filter_map(|i| data.trial_len(i))
        .map(|t| t - span)
        .sum();
    let cols = data.n_features().saturating_mul(params.delay.n_delays);
    if rows < cols {
        return Err(Error::TooFewSamples {
            array: data.name().to_string(),
            rows,
            cols,
        });
    }
    if let RankRule::Fixed(r) = params.rank {
        if r > cols {
            return Err(Error::RankOutOfRange { rank: r, max: cols });
        }
    }
    let hankel = data.embed(&params.delay)?;
    fit_hankel(hankel, params)
}

/// Fits the operator from an already embedded system. Consumes `hankel`: its buffer is overwritten by
/// an in-place QR factorisation, so the fit needs at most one further M × r buffer (spec/operator.md §7).
pub fn fit_hankel(hankel: Hankel, params: &FitParams) -> Result<Operator> {
    params.validate()?;
    if hankel.params != params.delay {
        return Err(Error::InvalidParameter {
            name: "n_delays",
            value: format!("{:?}", params.delay),
            reason: format!("the Hankel matrix was embedded with {:?}", hankel.params),
        });
    }
    let Hankel {
        matrix: mut h,
        offsets,
        n_features,
        name,
        ..
    } = hankel;
    let k = params.steps_ahead;
    let (m_rows, p) = h.shape();
    // A `Hankel` has public fields: check that its offsets describe its rows before indexing by them.
    let offsets_ok = offsets.first() == Some(&0)
        && offsets.last() == Some(&m_rows)
        && offsets.len() >= 2
        && offsets.windows(2).all(|w| w[0] <= w[1])
        && n_features.checked_mul(params.delay.n_delays) == Some(p);
    if !offsets_ok {
        return Err(Error::Shape {
            array: name,
            reason: format!(
                "inconsistent Hankel matrix: {m_rows}×{p} with N = {n_features}, D = {} and trial offsets {:?}",
                params.delay.n_delays, offsets
            ),
        });
    }
    if p == 0 {
        return Err(Error::Shape {
            array: name,
            reason: "0 embedding dimensions".into(),
        });
    }
    if m_rows < p {
        return Err(Error::TooFewSamples {
            array: name,
            rows: m_rows,
            cols: p,
        });
    }
    // Every trial must contribute at least one transition pair.
    for (i, w) in offsets.windows(2).enumerate() {
        let rows = w[1] - w[0];
        if rows <= k {
            let span = (params.delay.n_delays - 1) * params.delay.delay_interval;
            return Err(Error::TooFewTimePoints {
                array: name,
                trial: i,
                len: rows + span,
                needed: span + k + 1,
                n_delays: params.delay.n_delays,
                delay_interval: params.delay.delay_interval,
                steps_ahead: k,
            });
        }
    }
    if let RankRule::Fixed(r) = params.rank {
        if r == 0 || r > p {
            return Err(Error::RankOutOfRange { rank: r, max: p });
        }
    }
    linalg::check_finite(h.as_ref(), &name)?;

    // §2.2: scale H by a power of two so that max |H_ij| ∈ [2²⁵⁶, 2²⁵⁷) (exact); V and A_v do not depend on
    // the scale, σ is scaled back. Without it, data near 1e300 overflow the QR's column norms and
    // subnormal data look identically zero.
    let mut max_abs = 0.0f64;
    for j in 0..p {
        for x in h.col(j).iter() {
            max_abs = max_abs.max(x.abs());
        }
    }
    // max |H_ij|·2⁻ᵉ ∈ [2ᴷ, 2ᴷ⁺¹), K = `HANKEL_SCALE`: large enough that faer's robust column norms
    // never produce subnormal intermediates for entries down to 2⁻ᴷ of the largest (§2.2).
    let exponent = binary_exponent(max_abs) - (HANKEL_SCALE + 1);
    if exponent != 0 {
        // One power of two for the whole matrix when it is representable (|e| ≤ 1000: all but data
        // near the ends of the f64 range); the same products as `scale_pow2`, without a `powi` per
        // entry.
        let factor = (exponent.abs() <= 1000).then(|| 2f64.powi(-exponent));
        for j in 0..p {
            for x in h.as_mut().col_mut(j).iter_mut() {
                *x = match factor {
                    Some(f) => *x * f,
                    None => scale_pow2(*x, -exponent),
                };
            }
        }
    }

    // §2: H = Q R (in place), R = U_R Σ W_Rᵀ, so H = (Q U_R) Σ W_Rᵀ: V = Q U_R, U = W_R.
    let q_coeff = linalg::qr_in_place(h.as_mut());
    let r_factor = Mat::from_fn(p, p, |i, j| if i <= j { h[(i, j)] } else { 0.0 });
    let (mut u_r, sigma_scaled, mut w_r) =
        linalg::svd(r_factor.as_ref(), "SVD of the Hankel matrix")?;
    drop(r_factor);
    let sigma: Vec<f64> = sigma_scaled
        .iter()
        .map(|&s| scale_pow2(s, exponent))
        .collect();
    if sigma.iter().any(|s| s.is_infinite()) {
        return Err(Error::NonFinite {
            array: format!("{name}: singular values"),
            index: vec![0],
            value: f64::INFINITY,
        });
    }
    // σ₁ = 0 (or NaN, impossible for finite H) means there is nothing to fit.
    if sigma.first().is_none_or(|&s| s.is_nan() || s <= 0.0) {
        return Err(Error::DegenerateData { array: name });
    }
    // §2.1 sign convention: the entry of largest magnitude of each loading vector (column of U) is > 0.
    for j in 0..p {
        let mut best = 0usize;
        for i in 1..p {
            if w_r[(i, j)].abs() > w_r[(best, j)].abs() {
                best = i;
            }
        }
        if w_r[(best, j)] < 0.0 {
            for i in 0..p {
                w_r[(i, j)] = -w_r[(i, j)];
                u_r[(i, j)] = -u_r[(i, j)];
            }
        }
    }
    drop(w_r);

    let n_cols = match params.regression {
        Regression::PrincipalComponent => {
            params
                .rank
                .select(&sigma, &sigma, p as f64 / m_rows as f64)?
        }
        Regression::ReducedRank => p,
    };
    // V = Q [U_R[:, :c]; 0]  (M × c): the one extra M-row buffer.
    let mut v = Mat::<f64>::zeros(m_rows, n_cols);
    v.as_mut()
        .submatrix_mut(0, 0, p, n_cols)
        .copy_from(u_r.as_ref().submatrix(0, 0, p, n_cols));
    linalg::apply_q(h.as_ref(), q_coeff.as_ref(), v.as_mut());
    drop(h);

    // §4: Gram matrices over within-trial transition pairs. V has orthonormal columns, so
    // V₋ᵀV₋ = VᵀV − Σᵢ TᵢᵀTᵢ = I − Σᵢ TᵢᵀTᵢ with Tᵢ the last k rows of trial i (§4.1): one M × c × c
    // product fewer than forming V₋ᵀV₋ itself.
    let mut gram = Mat::<f64>::identity(n_cols, n_cols);
    let mut cross = Mat::<f64>::zeros(n_cols, n_cols);
    let mut n_transitions = 0usize;
    for w in offsets.windows(2) {
        let len = w[1] - w[0] - k;
        n_transitions += len;
        let vm = v.as_ref().submatrix(w[0], 0, len, n_cols);
        let vp = v.as_ref().submatrix(w[0] + k, 0, len, n_cols);
        let tail = v.as_ref().submatrix(w[0] + len, 0, k, n_cols);
        faer::linalg::matmul::matmul(
            gram.as_mut(),
            Accum::Add,
            tail.transpose(),
            tail,
            -1.0,
            linalg::PAR,
        );
        faer::linalg::matmul::matmul(
            cross.as_mut(),
            Accum::Add,
            vm.transpose(),
            vp,
            1.0,
            linalg::PAR,
        );
    }
    let lambda = params.lambda;
    let mut reg = gram.clone();
    for i in 0..n_cols {
        reg[(i, i)] += lambda;
    }
    // B = (V₋ᵀV₋ + λI)⁻¹ V₋ᵀV₊ (acts on row vectors: V₊ ≈ V₋ B).
    let mut b = cross.clone();
    if !linalg::spd_solve_in_place(reg.as_mut(), b.as_mut()) {
        return Err(Error::SingularRegression {
            array: name,
            lambda,
        });
    }

    let (matrix, predictor) = match params.regression {
        Regression::PrincipalComponent => (b.transpose().to_owned(), b),
        Regression::ReducedRank => {
            // §5: P = V₊ᵀV₋(V₋ᵀV₋ + λI)⁻¹V₋ᵀV₊ = (V₋ᵀV₊)ᵀ B, symmetric PSD.
            let p_mat = linalg::mul(cross.transpose(), b.as_ref());
            let p_sym = Mat::from_fn(p, p, |i, j| 0.5 * (p_mat[(i, j)] + p_mat[(j, i)]));
            let (rho_asc, w_asc) =
                linalg::sym_eig(p_sym.as_ref(), "eigendecomposition of the RRR projector")?;
            let rho: Vec<f64> = rho_asc.iter().rev().copied().collect();
            let mut w = Mat::from_fn(p, p, |i, j| w_asc[(i, p - 1 - j)]);
            canonical_signs(w.as_mut());
            let gd: Vec<f64> = rho.iter().map(|x| x.max(0.0).sqrt()).collect();
            let beta = if p <= n_transitions {
                p as f64 / n_transitions as f64
            } else {
                n_transitions as f64 / p as f64
            };
            let r = params.rank.select(&rho, &gd, beta)?;
            let w_r = w.as_ref().submatrix(0, 0, p, r);
            // A_v = W_rᵀ Bᵀ W_r (r × r); the full predictor B W_r W_rᵀ is used for R².
            let bt_w = linalg::mul(b.transpose(), w_r);
            let a_v = linalg::mul(w_r.transpose(), bt_w.as_ref());
            let bw = linalg::mul(b.as_ref(), w_r);
            let pred = linalg::mul(bw.as_ref(), w_r.transpose());
            (a_v, pred)
        }
    };
    let r2 = r_squared(v.as_ref(), &offsets, k, predictor.as_ref());
    let mut eigenvalues = linalg::eigenvalues(matrix.as_ref(), "eigenvalues of A_v")?;
    sort_eigenvalues(&mut eigenvalues);
    if !eigenvalues
        .iter()
        .all(|e| e.0.is_finite() && e.1.is_finite())
    {
        return Err(Error::Decomposition {
            what: "eigenvalues of A_v",
        });
    }
    Ok(Operator {
        matrix,
        singular_values: sigma,
        eigenvalues,
        r2,
        params: *params,
        n_features,
        n_samples: m_rows,
        n_transitions,
    })
}

/// Flips each column so that its entry of largest magnitude is positive (first such entry on ties).
fn canonical_signs(mut w: faer::MatMut<'_, f64>) {
    for j in 0..w.ncols() {
        let mut best = 0usize;
        for i in 1..w.nrows() {
            if w[(i, j)].abs() > w[(best, j)].abs() {
                best = i;
            }
        }
        if w.nrows() > 0 && w[(best, j)] < 0.0 {
            for i in 0..w.nrows() {
                w[(i, j)] = -w[(i, j)];
            }
        }
    }
}

/// R² = 1 − ‖V₊ − V₋B‖²_F / ‖V₊ − 1 v̄₊ᵀ‖²_F over the columns B acts on (spec/operator.md §6).
fn r_squared(v: MatRef<'_, f64>, offsets: &[usize], k: usize, b: MatRef<'_, f64>) -> f64 {
    let c = b.nrows();
    let mut mean = vec![0.0; c];
    let mut count = 0usize;
    for w in offsets.windows(2) {
        count += w[1] - w[0] - k;
    }
    // Column by column: V is column-major.
    for (j, m) in mean.iter_mut().enumerate() {
        for w in offsets.windows(2) {
            for t in (w[0] + k)..w[1] {
                *m += v[(t, j)];
            }
        }
    }
    for m in &mut mean {
        *m /= count.max(1) as f64;
    }
    let (mut ss_res, mut ss_tot) = (0.0, 0.0);
    for w in offsets.windows(2) {
        let len = w[1] - w[0] - k;
        let vm = v.submatrix(w[0], 0, len, c);
        let pred = linalg::mul(vm, b);
        for j in 0..c {
            for t in 0..len {
                let y = v[(w[0] + k + t, j)];
                ss_res += (y - pred[(t, j)]).powi(2);
                ss_tot += (y - mean[j]).powi(2);
            }
        }
    }
    if ss_tot > 0.0 {
        1.0 - ss_res / ss_tot
    } else {
        0.0
    }
}
