//! The PAVF objective on O(n), its Riemannian gradient and Hessian, the QR retraction, and the local
//! solver: Riemannian L-BFGS followed by a Riemannian trust-region method with truncated conjugate
//! gradients, preconditioned in the eigenbasis of the Hessian's symmetric factor (spec/alignment.md §3,
//! §4).
//!
//! Everything is sequential (`crate::linalg::PAR`) and every buffer is allocated once per problem
//! ([`Workspace`]), so an iteration does no heap allocation, except the eigendecomposition that the
//! trust region computes once per accepted step.
//!
//! Tangent vectors at C are written C·Ω with Ω skew-symmetric; every vector below is such an Ω, with
//! the Frobenius inner product ⟨Ω₁, Ω₂⟩ = tr(Ω₁ᵀΩ₂) (the metric O(n) inherits from ℝⁿˣⁿ; it is
//! bi-invariant, so Ω-coordinates are an isometric trivialisation of the tangent bundle).

use faer::dyn_stack::{MemBuffer, MemStack, StackReq};
use faer::linalg::cholesky::llt::factor as cholesky;
use faer::linalg::householder;
use faer::linalg::matmul::matmul;
use faer::linalg::qr::no_pivoting::factor as qr;
use faer::linalg::triangular_solve;
use faer::{unzip, zip, Accum, Conj, Mat, MatMut, MatRef};

use crate::linalg::PAR;

/// Frobenius inner product ⟨X, Y⟩ (column by column, fixed summation order).
pub(super) fn dot(x: &Mat<f64>, y: &Mat<f64>) -> f64 {
    let mut acc = [0.0f64; 4];
    for j in 0..x.ncols() {
        let (a, b) = (x.col_as_slice(j), y.col_as_slice(j));
        let mut ca = a.chunks_exact(4);
        let mut cb = b.chunks_exact(4);
        for (p, q) in (&mut ca).zip(&mut cb) {
            for k in 0..4 {
                acc[k] += p[k] * q[k];
            }
        }
        for (p, q) in ca.remainder().iter().zip(cb.remainder()) {
            acc[0] += p * q;
        }
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3])
}

/// ‖X − Y‖²_F.
pub(super) fn dist2(x: &Mat<f64>, y: &Mat<f64>) -> f64 {
    let mut acc = [0.0f64; 4];
    for j in 0..x.ncols() {
        let (a, b) = (x.col_as_slice(j), y.col_as_slice(j));
        let mut ca = a.chunks_exact(4);
        let mut cb = b.chunks_exact(4);
        for (p, q) in (&mut ca).zip(&mut cb) {
            for k in 0..4 {
                let d = p[k] - q[k];
                acc[k] += d * d;
            }
        }
        for (p, q) in ca.remainder().iter().zip(cb.remainder()) {
            let d = p - q;
            acc[0] += d * d;
        }
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3])
}

/// y ← y + a·x.
fn axpy(a: f64, x: &Mat<f64>, y: &mut Mat<f64>) {
    for j in 0..x.ncols() {
        let xs = x.col_as_slice(j);
        for (v, &u) in y.col_as_slice_mut(j).iter_mut().zip(xs) {
            *v += a * u;
        }
    }
}

/// Q factor of X = QR with diag(R) ≥ 0 ("qf"), written to `q`; `x` is overwritten by the factorisation.
/// spec/alignment.md §4.2 (retraction) and §5.4 (Haar starts).
fn qf_into(x: &mut Mat<f64>, q: &mut Mat<f64>, qcoeff: &mut Mat<f64>, mem: &mut MemBuffer) {
    let n = x.nrows();
    if n == 0 {
        return;
    }
    qr::qr_in_place(
        x.as_mut(),
        qcoeff.as_mut(),
        PAR,
        MemStack::new(mem),
        Default::default(),
    );
    q.fill(0.0);
    for i in 0..n {
        q[(i, i)] = 1.0;
    }
    householder::apply_block_householder_sequence_on_the_left_in_place_with_conj(
        x.as_ref(),
        qcoeff.as_ref(),
        Conj::No,
        q.as_mut(),
        PAR,
        MemStack::new(mem),
    );
    for j in 0..n {
        if x[(j, j)] < 0.0 {
            for v in q.col_as_slice_mut(j) {
                *v = -*v;
            }
        }
    }
}

/// L-BFGS memory (spec/alignment.md §4.1).
const LBFGS_MEMORY: usize = 10;

/// Reusable buffers for one problem size.
pub(super) struct Workspace {
    qcoeff: Mat<f64>,
    mem: MemBuffer,
    c: Mat<f64>,
    c_new: Mat<f64>,
    at: Mat<f64>,
    at_new: Mat<f64>,
    grad: Mat<f64>,
    rs: Mat<f64>,
    t1: Mat<f64>,
    t2: Mat<f64>,
    t3: Mat<f64>,
    delta: Mat<f64>,
    h_delta: Mat<f64>,
    /// L-BFGS pairs and vectors in packed coordinates (spec/alignment.md §4.1).
    s_mem: Vec<Vec<f64>>,
    y_mem: Vec<Vec<f64>>,
    g_packed: Vec<f64>,
    g_old_packed: Vec<f64>,
    r_packed: Vec<f64>,
    /// Trust-region basis (spec/alignment.md §4.3): eigenvectors V of Rs, Vᵀ Ã V, Vᵀ B V, the
    /// preconditioner's weights W and the eigenvalues λ of Rs (empty: no eigenbasis, V = I, W = 1).
    v: Mat<f64>,
    at_r: Mat<f64>,
    b_r: Mat<f64>,
    wgt: Mat<f64>,
    lam: Vec<f64>,
    /// Packed CG vectors g_z, z, H z, r, δ, H δ (spec/alignment.md §4.3).
    cg: [Vec<f64>; 6],
    ones: Mat<f64>,
}

impl Workspace {
    pub(super) fn new(n: usize) -> Self {
        let block = qr::recommended_block_size::<f64>(n, n);
        let req = StackReq::any_of(&[
            cholesky::cholesky_in_place_scratch::<f64>(n, PAR, Default::default()),
            qr::qr_in_place_scratch::<f64>(n, n, block, PAR, Default::default()),
            householder::apply_block_householder_sequence_on_the_left_in_place_scratch::<f64>(
                n, block, n,
            ),
        ]);
        let z = || Mat::<f64>::zeros(n, n);
        let packed = n * n.saturating_sub(1) / 2;
        Self {
            qcoeff: Mat::zeros(block, n),
            mem: MemBuffer::new(req),
            c: z(),
            c_new: z(),
            at: z(),
            at_new: z(),
            grad: z(),
            rs: z(),
            t1: z(),
            t2: z(),
            t3: z(),
            delta: z(),
            h_delta: z(),
            s_mem: (0..LBFGS_MEMORY).map(|_| vec![0.0; packed]).collect(),
            y_mem: (0..LBFGS_MEMORY).map(|_| vec![0.0; packed]).collect(),
            g_packed: vec![0.0; packed],
            g_old_packed: vec![0.0; packed],
            r_packed: vec![0.0; packed],
            v: z(),
            at_r: z(),
            b_r: z(),
            wgt: z(),
            lam: Vec::new(),
            cg: std::array::from_fn(|_| vec![0.0; packed]),
            ones: Mat::from_fn(n, n, |_, _| 1.0),
        }
    }

    /// qf(X) into `q` (X is destroyed).
    pub(super) fn qf(&mut self, x: &mut Mat<f64>, q: &mut Mat<f64>) {
        qf_into(x, q, &mut self.qcoeff, &mut self.mem);
    }

    /// c_new ← qf(C (I + α Ω)) (spec/alignment.md §4.2), by Cholesky QR of X = C (I + α Ω):
    /// XᵀX = RᵀR, Q = X R⁻¹ (R has a positive diagonal, so Q = qf(X) exactly in exact arithmetic),
    /// repeated once on Q when ‖α Ω‖_F > 2 (CholeskyQR2). Forming XᵀX from X itself (rather than
    /// I − α²Ω²) makes the retraction correct any drift of C away from orthogonality. Falls back to
    /// Householder QR if a Cholesky factorisation fails.
    fn retract(&mut self, alpha: f64, omega: &Mat<f64>) {
        matmul(
            self.t1.as_mut(),
            Accum::Replace,
            self.c.as_ref(),
            omega.as_ref(),
            alpha,
            PAR,
        );
        axpy(1.0, &self.c, &mut self.t1);
        let passes = if alpha.abs() * dot(omega, omega).sqrt() > 2.0 {
            2
        } else {
            1
        };
        for _ in 0..passes {
            if !self.chol_qr() {
                // t1 still holds X (chol_qr only writes t1 on success).
                qf_into(
                    &mut self.t1,
                    &mut self.c_new,
                    &mut self.qcoeff,
                    &mut self.mem,
                );
                return;
            }
        }
        std::mem::swap(&mut self.t1, &mut self.c_new);
    }

    /// One Cholesky-QR pass on X = t1: on success t1 ← X R⁻¹ and returns true; on failure t1 is
    /// unchanged and returns false. Uses c_new as scratch for the Gram matrix.
    fn chol_qr(&mut self) -> bool {
        let g = &mut self.c_new;
        matmul(
            g.as_mut(),
            Accum::Replace,
            self.t1.transpose(),
            self.t1.as_ref(),
            1.0,
            PAR,
        );
        if cholesky::cholesky_in_place(
            g.as_mut(),
            Default::default(),
            PAR,
            MemStack::new(&mut self.mem),
            Default::default(),
        )
        .is_err()
        {
            return false;
        }
        // X R⁻¹ = Q  ⇔  Rᵀ Qᵀ = Xᵀ with Rᵀ = L, the lower Cholesky factor held in g.
        triangular_solve::solve_lower_triangular_in_place(
            g.as_ref(),
            self.t1.as_mut().transpose_mut(),
            PAR,
        );
        true
    }
}

/// The normalised, padded problem: minimise f(C) = ‖A − C B Cᵀ‖²_F over O(n) (spec/alignment.md §2).
pub(super) struct Problem {
    pub(super) a: Mat<f64>,
    pub(super) b: Mat<f64>,
    /// BBᵀ + BᵀB (constant part of the Hessian's symmetric factor).
    bbt: Mat<f64>,
}

impl Problem {
    pub(super) fn new(a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> Self {
        let n = b.nrows();
        let mut bbt = Mat::zeros(n, n);
        matmul(bbt.as_mut(), Accum::Replace, b, b.transpose(), 1.0, PAR);
        matmul(bbt.as_mut(), Accum::Add, b.transpose(), b, 1.0, PAR);
        Self {
            a: a.to_owned(),
            b: b.to_owned(),
            bbt,
        }
    }

    pub(super) fn n(&self) -> usize {
        self.b.nrows()
    }

    /// Ã = Cᵀ A C into `at` (uses `tmp`); returns f = ‖Ã − B‖²_F = ‖A − C B Cᵀ‖²_F.
    fn pullback(&self, c: &Mat<f64>, tmp: &mut Mat<f64>, at: &mut Mat<f64>) -> f64 {
        matmul(
            tmp.as_mut(),
            Accum::Replace,
            self.a.as_ref(),
            c.as_ref(),
            1.0,
            PAR,
        );
        matmul(
            at.as_mut(),
            Accum::Replace,
            c.transpose(),
            tmp.as_ref(),
            1.0,
            PAR,
        );
        dist2(at, &self.b)
    }

    /// Riemannian gradient G and the Hessian's symmetric factor Rs at Ã (spec/alignment.md §3.2–3.3):
    /// with E = Ã − B and T = E Bᵀ + Eᵀ B, G = Tᵀ − T = −2 skew(T) and Rs = sym(T) + BBᵀ + BᵀB.
    fn gradient(
        &self,
        at: &Mat<f64>,
        t: &mut Mat<f64>,
        e: &mut Mat<f64>,
        g: &mut Mat<f64>,
        rs: &mut Mat<f64>,
    ) {
        zip!(e.as_mut(), at.as_ref(), self.b.as_ref()).for_each(|unzip!(e, x, y)| *e = *x - *y);
        matmul(
            t.as_mut(),
            Accum::Replace,
            e.as_ref(),
            self.b.transpose(),
            1.0,
            PAR,
        );
        matmul(
            t.as_mut(),
            Accum::Add,
            e.transpose(),
            self.b.as_ref(),
            1.0,
            PAR,
        );
        zip!(
            g.as_mut(),
            rs.as_mut(),
            t.as_ref(),
            t.transpose(),
            self.bbt.as_ref()
        )
        .for_each(|unzip!(g, rs, t, tt, bb)| {
            *g = *tt - *t;
            *rs = 0.5 * (*t + *tt) + *bb;
        });
    }

    /// Hess f[Ω] = (Ω Rs + Rs Ω) − 2 skew(Bᵀ Ω Ã + Ã Ω Bᵀ) (spec/alignment.md §3.3), into `out`.
    #[allow(clippy::too_many_arguments)]
    fn hess(
        &self,
        at: &Mat<f64>,
        rs: &Mat<f64>,
        omega: &Mat<f64>,
        t1: &mut Mat<f64>,
        t2: &mut Mat<f64>,
        t3: &mut Mat<f64>,
        out: &mut Mat<f64>,
    ) {
        // t1 = Ω Rs; since Ω is skew and Rs symmetric, Ω Rs + Rs Ω = t1 − t1ᵀ.
        matmul(
            t1.as_mut(),
            Accum::Replace,
            omega.as_ref(),
            rs.as_ref(),
            1.0,
            PAR,
        );
        // t3 = Bᵀ Ω Ã + Ã Ω Bᵀ.
        matmul(
            t2.as_mut(),
            Accum::Replace,
            self.b.transpose(),
            omega.as_ref(),
            1.0,
            PAR,
        );
        matmul(
            t3.as_mut(),
            Accum::Replace,
            t2.as_ref(),
            at.as_ref(),
            1.0,
            PAR,
        );
        matmul(
            t2.as_mut(),
            Accum::Replace,
            at.as_ref(),
            omega.as_ref(),
            1.0,
            PAR,
        );
        matmul(
            t3.as_mut(),
            Accum::Add,
            t2.as_ref(),
            self.b.transpose(),
            1.0,
            PAR,
        );
        zip!(
            out.as_mut(),
            t1.as_ref(),
            t1.transpose(),
            t3.as_ref(),
            t3.transpose()
        )
        .for_each(|unzip!(o, a, at, b, bt)| *o = (*a - *at) - (*b - *bt));
    }

    /// f(C) and the Euclidean (ambient) gradient ∇f = −2(E C Bᵀ + Eᵀ C B), E = A − C B Cᵀ, for any C.
    pub(super) fn ambient_value_gradient(&self, c: MatRef<'_, f64>) -> (f64, Mat<f64>) {
        let n = self.n();
        let cb = crate::linalg::mul(c, self.b.as_ref());
        let cbct = crate::linalg::mul(cb.as_ref(), c.transpose());
        let e = Mat::from_fn(n, n, |i, j| self.a[(i, j)] - cbct[(i, j)]);
        let f = dot(&e, &e);
        let ec = crate::linalg::mul(e.as_ref(), c);
        let etc = crate::linalg::mul(e.transpose(), c);
        let mut g = Mat::zeros(n, n);
        matmul(
            g.as_mut(),
            Accum::Replace,
            ec.as_ref(),
            self.b.transpose(),
            -2.0,
            PAR,
        );
        matmul(
            g.as_mut(),
            Accum::Add,
            etc.as_ref(),
            self.b.as_ref(),
            -2.0,
            PAR,
        );
        (f, g)
    }

    /// Riemannian gradient (Ω-coordinates) at an orthogonal C.
    pub(super) fn riemannian_gradient(&self, c: MatRef<'_, f64>) -> Mat<f64> {
        let mut ws = Workspace::new(self.n());
        ws.c.copy_from(c);
        self.pullback(&ws.c, &mut ws.t1, &mut ws.at);
        self.gradient(&ws.at, &mut ws.t1, &mut ws.t2, &mut ws.grad, &mut ws.rs);
        ws.grad
    }

    /// Riemannian Hessian at an orthogonal C applied to Ω (Ω-coordinates).
    pub(super) fn hessian_vector(&self, c: MatRef<'_, f64>, omega: MatRef<'_, f64>) -> Mat<f64> {
        let n = self.n();
        let mut ws = Workspace::new(n);
        ws.c.copy_from(c);
        self.pullback(&ws.c, &mut ws.t1, &mut ws.at);
        self.gradient(&ws.at, &mut ws.t1, &mut ws.t2, &mut ws.grad, &mut ws.rs);
        ws.delta.copy_from(omega);
        let mut out = Mat::zeros(n, n);
        self.hess(
            &ws.at, &ws.rs, &ws.delta, &mut ws.t1, &mut ws.t2, &mut ws.t3, &mut out,
        );
        out
    }
}

/// Settings of one local solve.
#[derive(Clone, Copy, Debug)]
pub(super) struct Settings {
    /// Stop when ‖grad f‖ ≤ this.
    pub(super) gradient_tolerance: f64,
    /// Cap on L-BFGS + trust-region iterations.
    pub(super) max_iterations: usize,
    /// Hand over from L-BFGS to the trust region when ‖grad f‖ ≤ this (spec/alignment.md §4.1).
    pub(super) switch_tolerance: f64,
}

/// Outcome of one local solve.
#[derive(Clone, Debug)]
pub(super) struct Local {
    pub(super) c: Mat<f64>,
    /// ‖A − C B Cᵀ‖_F (normalised units).
    pub(super) distance: f64,
    pub(super) gradient_norm: f64,
    pub(super) iterations: usize,
    pub(super) hessian_products: usize,
    pub(super) converged: bool,
}

/// The local solver state shared by both phases.
struct State {
    f: f64,
    gnorm: f64,
    iterations: usize,
    hessian_products: usize,
}

/// Minimise f from the orthogonal `c0`: L-BFGS while ‖grad f‖ > switch tolerance, then the trust
/// region (spec/alignment.md §4).
pub(super) fn solve(
    problem: &Problem,
    c0: MatRef<'_, f64>,
    s: Settings,
    ws: &mut Workspace,
) -> Local {
    ws.c.copy_from(c0);
    let f = problem.pullback(&ws.c, &mut ws.t1, &mut ws.at);
    problem.gradient(&ws.at, &mut ws.t1, &mut ws.t2, &mut ws.grad, &mut ws.rs);
    let gnorm = dot(&ws.grad, &ws.grad).sqrt();
    let mut st = State {
        f,
        gnorm,
        iterations: 0,
        hessian_products: 0,
    };
    lbfgs(problem, s, ws, &mut st);
    rtr(problem, s, ws, &mut st);
    Local {
        c: ws.c.clone(),
        distance: st.f.max(0.0).sqrt(),
        gradient_norm: st.gnorm,
        iterations: st.iterations,
        hessian_products: st.hessian_products,
        converged: st.gnorm <= s.gradient_tolerance,
    }
}

/// Accept the candidate (c_new, at_new) with value f_new: swap it in and recompute the gradient.
fn accept(problem: &Problem, ws: &mut Workspace, st: &mut State, f_new: f64) {
    std::mem::swap(&mut ws.c, &mut ws.c_new);
    std::mem::swap(&mut ws.at, &mut ws.at_new);
    st.f = f_new;
    problem.gradient(&ws.at, &mut ws.t1, &mut ws.t2, &mut ws.grad, &mut ws.rs);
    st.gnorm = dot(&ws.grad, &ws.grad).sqrt();
}

/// Packed coordinates of a skew-symmetric matrix: its strict upper triangle, column by column
/// (N(N−1)/2 numbers). ⟨X, Y⟩_F = 2 ⟨pack X, pack Y⟩.
fn pack(x: &Mat<f64>, out: &mut [f64]) {
    let mut k = 0;
    for q in 1..x.ncols() {
        let col = &x.col_as_slice(q)[..q];
        out[k..k + q].copy_from_slice(col);
        k += q;
    }
}

/// The skew-symmetric matrix with packed coordinates `x` (exactly skew, zero diagonal).
fn unpack(x: &[f64], out: &mut Mat<f64>) {
    let n = out.nrows();
    let mut k = 0;
    for q in 0..n {
        out[(q, q)] = 0.0;
        for p in 0..q {
            let v = x[k];
            out[(p, q)] = v;
            out[(q, p)] = -v;
            k += 1;
        }
    }
}

/// ⟨x, y⟩ for packed vectors (faer's SIMD kernel, sequential and deterministic).
fn pdot(x: &[f64], y: &[f64]) -> f64 {
    faer::linalg::matmul::dot::inner_prod(
        faer::ColRef::from_slice(x).transpose(),
        Conj::No,
        faer::ColRef::from_slice(y),
        Conj::No,
    )
}

/// y ← y + a·x for packed vectors (long vectors through faer's SIMD kernel).
fn paxpy(a: f64, x: &[f64], y: &mut [f64]) {
    let m = x.len();
    if m >= 512 {
        let alpha = [a];
        matmul(
            MatMut::from_column_major_slice_mut(y, m, 1),
            Accum::Add,
            MatRef::from_column_major_slice(x, m, 1),
            MatRef::from_column_major_slice(&alpha, 1, 1),
            1.0,
            PAR,
        );
    } else {
        for (v, &u) in y.iter_mut().zip(x) {
            *v += a * u;
        }
    }
}

/// Phase 1 (spec/alignment.md §4.1): Riemannian L-BFGS in Ω-coordinates (the transport of the stored
/// pairs is the identity in Ω-coordinates, i.e. left translation, an isometry), Armijo backtracking.
/// The two-loop recursion runs on packed coordinates (half the data of the N×N matrices; the factor 2
/// of the inner product cancels in every ratio it forms).
fn lbfgs(problem: &Problem, s: Settings, ws: &mut Workspace, st: &mut State) {
    let max_step = std::f64::consts::FRAC_PI_2;
    let mut rho = [0.0f64; LBFGS_MEMORY];
    let mut alpha_k = [0.0f64; LBFGS_MEMORY];
    let mut len = 0usize; // stored pairs
    let mut head = 0usize; // index of the next slot to overwrite
    let mut failures = 0;
    let mut g = std::mem::take(&mut ws.g_packed);
    let mut g_old = std::mem::take(&mut ws.g_old_packed);
    let mut r = std::mem::take(&mut ws.r_packed);
    pack(&ws.grad, &mut g);
    while st.iterations < s.max_iterations
        && st.gnorm > s.switch_tolerance.max(s.gradient_tolerance)
    {
        // Two-loop recursion: r = H g, then the direction δ = −r.
        r.copy_from_slice(&g);
        for k in 0..len {
            let i = (head + LBFGS_MEMORY - 1 - k) % LBFGS_MEMORY;
            let a = rho[i] * pdot(&ws.s_mem[i], &r);
            alpha_k[i] = a;
            paxpy(-a, &ws.y_mem[i], &mut r);
        }
        let gamma = if len > 0 {
            let i = (head + LBFGS_MEMORY - 1) % LBFGS_MEMORY;
            1.0 / (rho[i] * pdot(&ws.y_mem[i], &ws.y_mem[i]))
        } else {
            (0.1 / st.gnorm).min(1.0)
        };
        // Second loop with the initial scaling applied.
        for x in r.iter_mut() {
            *x *= gamma;
        }
        for k in (0..len).rev() {
            let i = (head + LBFGS_MEMORY - 1 - k) % LBFGS_MEMORY;
            let b = rho[i] * pdot(&ws.y_mem[i], &r);
            paxpy(alpha_k[i] - b, &ws.s_mem[i], &mut r);
        }
        let mut slope = -2.0 * pdot(&g, &r);
        if slope.is_nan() || slope >= 0.0 {
            // Not a descent direction: restart from steepest descent.
            len = 0;
            let sc = (0.1 / st.gnorm).min(1.0);
            for (x, &v) in r.iter_mut().zip(&g) {
                *x = sc * v;
            }
            slope = -2.0 * pdot(&g, &r);
        }
        unpack(&r, &mut ws.delta);
        // Direction is −δ; step α along it.
        let pn = (2.0 * pdot(&r, &r)).sqrt();
        let mut alpha: f64 = if pn > max_step { max_step / pn } else { 1.0 };
        let mut f_new;
        let mut tries = 0;
        loop {
            tries += 1;
            let d = std::mem::replace(&mut ws.delta, Mat::new());
            ws.retract(-alpha, &d);
            ws.delta = d;
            f_new = problem.pullback(&ws.c_new, &mut ws.t1, &mut ws.at_new);
            if f_new <= st.f + 1e-4 * alpha * slope || tries >= 30 {
                break;
            }
            let denom = 2.0 * (f_new - st.f - slope * alpha);
            let a_q = if denom > 0.0 {
                -slope * alpha * alpha / denom
            } else {
                0.5 * alpha
            };
            alpha = a_q.clamp(0.1 * alpha, 0.5 * alpha);
        }
        st.iterations += 1;
        if f_new.is_nan() || f_new > st.f {
            failures += 1;
            len = 0;
            if failures >= 2 {
                break;
            }
            continue;
        }
        // s = −α δ, y = g_new − g (both in packed Ω-coordinates).
        std::mem::swap(&mut g, &mut g_old);
        accept(problem, ws, st, f_new);
        pack(&ws.grad, &mut g);
        let i = head;
        for (x, &v) in ws.s_mem[i].iter_mut().zip(&r) {
            *x = -alpha * v;
        }
        for ((x, &a), &b) in ws.y_mem[i].iter_mut().zip(&g).zip(&g_old) {
            *x = a - b;
        }
        let sy = pdot(&ws.s_mem[i], &ws.y_mem[i]);
        let yy = pdot(&ws.y_mem[i], &ws.y_mem[i]);
        if sy > 1e-10 * (pdot(&ws.s_mem[i], &ws.s_mem[i]) * yy).sqrt() && yy > 0.0 {
            rho[i] = 1.0 / sy;
            head = (head + 1) % LBFGS_MEMORY;
            len = (len + 1).min(LBFGS_MEMORY);
        }
    }
    ws.g_packed = g;
    ws.g_old_packed = g_old;
    ws.r_packed = r;
}

/// out ← W ∘ skew(X), exactly skew-symmetric (out_qp = −out_pq bit for bit, zero diagonal).
fn skew_weighted(x: &Mat<f64>, w: &Mat<f64>, out: &mut Mat<f64>) {
    let n = x.nrows();
    for q in 0..n {
        out[(q, q)] = 0.0;
        for p in 0..q {
            let v = w[(p, q)] * (0.5 * (x[(p, q)] - x[(q, p)]));
            out[(p, q)] = v;
            out[(q, p)] = -v;
        }
    }
}

/// out ← Vᵀ X V (`tmp` is scratch).
fn conj_t(v: &Mat<f64>, x: &Mat<f64>, tmp: &mut Mat<f64>, out: &mut Mat<f64>) {
    matmul(
        tmp.as_mut(),
        Accum::Replace,
        x.as_ref(),
        v.as_ref(),
        1.0,
        PAR,
    );
    matmul(
        out.as_mut(),
        Accum::Replace,
        v.transpose(),
        tmp.as_ref(),
        1.0,
        PAR,
    );
}

/// out ← V X Vᵀ (`tmp` is scratch).
fn conj(v: &Mat<f64>, x: &Mat<f64>, tmp: &mut Mat<f64>, out: &mut Mat<f64>) {
    matmul(
        tmp.as_mut(),
        Accum::Replace,
        x.as_ref(),
        v.transpose(),
        1.0,
        PAR,
    );
    matmul(
        out.as_mut(),
        Accum::Replace,
        v.as_ref(),
        tmp.as_ref(),
        1.0,
        PAR,
    );
}

/// Floor of the preconditioner's entries λp + λq, relative to the largest (spec/alignment.md §4.3).
const PRECONDITIONER_FLOOR: f64 = 1e-2;

/// Set up the trust-region basis at the current iterate (spec/alignment.md §4.3): Rs = V Λ Vᵀ, the
/// rotated Ã' = Vᵀ Ã V and B' = Vᵀ B V, and the weights Wpq = (max(λp + λq, τ)/m)^(−1/2) of the
/// preconditioner (m the largest λp + λq, τ = 10⁻² m). If the eigendecomposition fails or Rs has no
/// positive eigenvalue, V = I and W = 1 (no preconditioning).
fn setup_basis(problem: &Problem, ws: &mut Workspace) {
    let n = problem.n();
    let eig = crate::linalg::sym_eig(ws.rs.as_ref(), "trust-region basis").ok();
    let top = eig
        .as_ref()
        .and_then(|(l, _)| l.last().copied())
        .unwrap_or(0.0);
    match eig {
        Some((lam, v)) if top > 0.0 && top.is_finite() => {
            ws.v.copy_from(&v);
            conj_t(&ws.v, &ws.at, &mut ws.t1, &mut ws.at_r);
            conj_t(&ws.v, &problem.b, &mut ws.t1, &mut ws.b_r);
            let m = 2.0 * top;
            let floor = PRECONDITIONER_FLOOR * m;
            for q in 0..n {
                for p in 0..n {
                    let d = (lam[p] + lam[q]).max(floor) / m;
                    ws.wgt[(p, q)] = 1.0 / d.sqrt();
                }
            }
            ws.lam = lam;
        }
        _ => {
            ws.lam.clear();
            ws.wgt.fill(1.0);
        }
    }
}

/// Hessian in the scaled, rotated, packed coordinates z (spec/alignment.md §4.3):
/// out ← pack(W ∘ H'[W ∘ z]) with H'[Ω'] = Vᵀ H[V Ω' Vᵀ] V = (λp + λq) Ω'pq − 2 skew(B'ᵀ Ω' Ã' + Ã' Ω' B'ᵀ)
/// (four products). Without an eigenbasis this is H itself (five products).
fn hess_z(problem: &Problem, ws: &mut Workspace, z: &[f64], out: &mut [f64]) {
    let n = problem.n();
    if ws.lam.is_empty() {
        unpack(z, &mut ws.delta);
        problem.hess(
            &ws.at,
            &ws.rs,
            &ws.delta,
            &mut ws.t1,
            &mut ws.t2,
            &mut ws.t3,
            &mut ws.h_delta,
        );
        pack(&ws.h_delta, out);
        return;
    }
    // t1 = Ω' = W ∘ z (exactly skew by construction).
    {
        let (w, om) = (&ws.wgt, &mut ws.t1);
        let mut k = 0;
        for q in 0..n {
            om[(q, q)] = 0.0;
            for p in 0..q {
                let v = w[(p, q)] * z[k];
                om[(p, q)] = v;
                om[(q, p)] = -v;
                k += 1;
            }
        }
    }
    let (b, at, om) = (&ws.b_r, &ws.at_r, &ws.t1);
    matmul(
        ws.t2.as_mut(),
        Accum::Replace,
        b.transpose(),
        om.as_ref(),
        1.0,
        PAR,
    );
    matmul(
        ws.t3.as_mut(),
        Accum::Replace,
        ws.t2.as_ref(),
        at.as_ref(),
        1.0,
        PAR,
    );
    matmul(
        ws.t2.as_mut(),
        Accum::Replace,
        at.as_ref(),
        om.as_ref(),
        1.0,
        PAR,
    );
    matmul(
        ws.t3.as_mut(),
        Accum::Add,
        ws.t2.as_ref(),
        b.transpose(),
        1.0,
        PAR,
    );
    let (lam, w, t3) = (&ws.lam, &ws.wgt, &ws.t3);
    let mut k = 0;
    for q in 0..n {
        let (w_q, om_q, t3_q) = (w.col_as_slice(q), om.col_as_slice(q), t3.col_as_slice(q));
        for p in 0..q {
            let lyap = (lam[p] + lam[q]) * om_q[p];
            out[k] = w_q[p] * (lyap - (t3_q[p] - t3[(q, p)]));
            k += 1;
        }
    }
}

/// ⟨x, y⟩_F of skew matrices given by packed coordinates.
fn pip(x: &[f64], y: &[f64]) -> f64 {
    2.0 * pdot(x, y)
}

/// Phase 2 (spec/alignment.md §4.3): Riemannian trust region with truncated CG (Steihaug–Toint),
/// preconditioned in the eigenbasis of Rs; the CG vectors are packed.
fn rtr(problem: &Problem, s: Settings, ws: &mut Workspace, st: &mut State) {
    let n = problem.n();
    let dim = (n * n.saturating_sub(1) / 2).max(1);
    let delta_bar = std::f64::consts::PI * (n as f64).sqrt();
    let mut radius = (delta_bar / 8.0).min(st.gnorm.max(1e-3) * 10.0);
    let (rho_accept, kappa, theta) = (0.1, 0.1, 1.0);
    let rho_reg = 1e3 * f64::EPSILON;
    let mut basis_valid = false;
    let mut v = std::mem::take(&mut ws.cg);
    let [g_z, eta, h_eta, r, delta, h_delta] = &mut v;

    while st.iterations < s.max_iterations && st.gnorm > s.gradient_tolerance {
        if radius.is_nan() || radius <= 1e-14 {
            break;
        }
        st.iterations += 1;
        if !basis_valid {
            setup_basis(problem, ws);
            basis_valid = true;
        }
        // Gradient in z-coordinates: g_z = pack(W ∘ skew(Vᵀ G V)).
        if ws.lam.is_empty() {
            pack(&ws.grad, g_z);
        } else {
            conj_t(&ws.v, &ws.grad, &mut ws.t1, &mut ws.t2);
            let (x, w) = (&ws.t2, &ws.wgt);
            let mut k = 0;
            for q in 0..n {
                for p in 0..q {
                    g_z[k] = w[(p, q)] * (0.5 * (x[(p, q)] - x[(q, p)]));
                    k += 1;
                }
            }
        }

        // Truncated CG on m(z) = f + ⟨g_z, z⟩ + ½⟨z, H_z z⟩, ‖z‖ ≤ radius.
        eta.fill(0.0);
        h_eta.fill(0.0);
        r.copy_from_slice(g_z);
        for (d, &g) in delta.iter_mut().zip(g_z.iter()) {
            *d = -g;
        }
        let r0 = pip(g_z, g_z).sqrt();
        let target = (r0 * st.gnorm.powf(theta).min(kappa)).max(0.1 * s.gradient_tolerance);
        let mut rr = r0 * r0;
        let (mut e_e, mut e_d, mut d_d) = (0.0, 0.0, rr);
        let mut on_boundary = false;
        for _ in 0..dim {
            hess_z(problem, ws, delta, h_delta);
            st.hessian_products += 1;
            let dhd = pip(delta, h_delta);
            let alpha = rr / dhd;
            let e_e_new = e_e + 2.0 * alpha * e_d + alpha * alpha * d_d;
            if dhd.is_nan() || dhd <= 0.0 || e_e_new.is_nan() || e_e_new >= radius * radius {
                // Negative curvature or leaving the region: go to the boundary along δ.
                let disc = (e_d * e_d + d_d * (radius * radius - e_e)).max(0.0);
                let tau = if d_d > 0.0 {
                    (-e_d + disc.sqrt()) / d_d
                } else {
                    0.0
                };
                paxpy(tau, delta, eta);
                paxpy(tau, h_delta, h_eta);
                on_boundary = true;
                break;
            }
            paxpy(alpha, delta, eta);
            paxpy(alpha, h_delta, h_eta);
            paxpy(alpha, h_delta, r);
            e_e = e_e_new;
            let rr_new = pip(r, r);
            if rr_new.sqrt() <= target {
                break;
            }
            let beta = rr_new / rr;
            rr = rr_new;
            for (d, &x) in delta.iter_mut().zip(r.iter()) {
                *d = beta * *d - x;
            }
            // Steihaug–Toint recurrences (⟨η, r⟩ = 0 in exact arithmetic).
            e_d = beta * (e_d + alpha * d_d);
            d_d = rr + beta * beta * d_d;
        }
        let model_decrease = -(pip(g_z, eta) + 0.5 * pip(eta, h_eta));

        // Back to Ω-coordinates: η = skew(V (W ∘ z) Vᵀ), in h_delta (free until the next CG).
        if ws.lam.is_empty() {
            unpack(eta, &mut ws.h_delta);
        } else {
            {
                let (w, om) = (&ws.wgt, &mut ws.t2);
                let mut k = 0;
                for q in 0..n {
                    om[(q, q)] = 0.0;
                    for p in 0..q {
                        let v = w[(p, q)] * eta[k];
                        om[(p, q)] = v;
                        om[(q, p)] = -v;
                        k += 1;
                    }
                }
            }
            conj(&ws.v, &ws.t2, &mut ws.t1, &mut ws.t3);
            skew_weighted(&ws.t3, &ws.ones, &mut ws.h_delta);
        }
        // Candidate C' = qf(C (I + η)).
        let step = std::mem::replace(&mut ws.h_delta, Mat::new());
        ws.retract(1.0, &step);
        ws.h_delta = step;
        let f_new = problem.pullback(&ws.c_new, &mut ws.t1, &mut ws.at_new);
        let reg = rho_reg * st.f.abs().max(1.0);
        let rho = ((st.f - f_new) + reg) / (model_decrease + reg);
        if rho.is_nan() || rho < 0.25 {
            radius /= 4.0;
        } else if rho > 0.75 && on_boundary {
            radius = (2.0 * radius).min(delta_bar);
        }
        if rho > rho_accept && f_new.is_finite() {
            accept(problem, ws, st, f_new);
            basis_valid = false;
        }
    }
    ws.cg = v;
}

#[cfg(test)]
mod tests {
    //! Checks of the trust region's preconditioned coordinates (spec/alignment.md §4.3, §10.2).
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn problem(n: usize, seed: u64, ws: &mut Workspace) -> (Problem, Mat<f64>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut unit = |rng: &mut ChaCha8Rng| {
            let g = super::super::starts::haar(rng, n, ws);
            let h = super::super::starts::haar(rng, n, ws);
            // A generic non-normal matrix of unit norm: a product of orthogonal and diagonal factors.
            let d = Mat::from_fn(n, n, |i, j| if i == j { 1.0 + i as f64 } else { 0.0 });
            let x = crate::linalg::mul(
                crate::linalg::mul(g.as_ref(), d.as_ref()).as_ref(),
                h.as_ref(),
            );
            let s = dot(&x, &x).sqrt();
            Mat::from_fn(n, n, |i, j| {
                x[(i, j)] / s + 0.1 * (g[(j, i)] - h[(i, j)]) / (n as f64)
            })
        };
        let a = unit(&mut rng);
        let b = unit(&mut rng);
        let c = super::super::starts::haar(&mut rng, n, ws);
        (Problem::new(a.as_ref(), b.as_ref()), c)
    }

    fn random_skew(n: usize, seed: u64) -> Mat<f64> {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut next = move || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        let x = Mat::from_fn(n, n, |_, _| next());
        Mat::from_fn(n, n, |i, j| x[(i, j)] - x[(j, i)])
    }

    /// W ∘ H'[W ∘ z] computed by `hess_z` equals W ∘ skew(Vᵀ H[V (W ∘ z) Vᵀ] V) with the unrotated
    /// five-product Hessian, and its output is exactly skew-symmetric.
    #[test]
    fn preconditioned_hessian_is_the_rotated_scaled_hessian() {
        for (n, seed) in [(3usize, 1u64), (5, 2), (8, 3), (13, 4)] {
            let mut ws = Workspace::new(n);
            let (p, c) = problem(n, seed, &mut ws);
            ws.c.copy_from(&c);
            p.pullback(&ws.c, &mut ws.t1, &mut ws.at);
            p.gradient(&ws.at, &mut ws.t1, &mut ws.t2, &mut ws.grad, &mut ws.rs);
            setup_basis(&p, &mut ws);
            assert_eq!(ws.lam.len(), n);
            let z = random_skew(n, seed + 100);
            let m = n * (n - 1) / 2;
            let (mut zp, mut hp) = (vec![0.0; m], vec![0.0; m]);
            pack(&z, &mut zp);
            hess_z(&p, &mut ws, &zp, &mut hp);
            let mut got = Mat::zeros(n, n);
            unpack(&hp, &mut got);
            // Direct: η = V (W ∘ z) Vᵀ, H[η], back-rotated and weighted.
            let wz = Mat::from_fn(n, n, |i, j| ws.wgt[(i, j)] * z[(i, j)]);
            let (mut t1, mut t2, mut t3) = (Mat::zeros(n, n), Mat::zeros(n, n), Mat::zeros(n, n));
            let mut eta = Mat::zeros(n, n);
            conj(&ws.v, &wz, &mut t1, &mut eta);
            let mut h = Mat::zeros(n, n);
            p.hess(&ws.at, &ws.rs, &eta, &mut t1, &mut t2, &mut t3, &mut h);
            let mut hr = Mat::zeros(n, n);
            conj_t(&ws.v, &h, &mut t1, &mut hr);
            let mut want = Mat::zeros(n, n);
            skew_weighted(&hr, &ws.wgt, &mut want);
            let scale = dot(&want, &want).sqrt();
            for j in 0..n {
                for i in 0..n {
                    assert!(
                        (got[(i, j)] - want[(i, j)]).abs() <= 1e-12 * scale,
                        "n={n}: ({i},{j}) {} vs {}",
                        got[(i, j)],
                        want[(i, j)]
                    );
                    assert_eq!(got[(i, j)], -got[(j, i)], "exactly skew");
                }
            }
            // The weights are those of the spec: W = (max(λp + λq, τ)/m)^(−1/2) ≥ 1.
            let m = 2.0 * ws.lam[n - 1];
            for q in 0..n {
                for pp in 0..n {
                    let d = (ws.lam[pp] + ws.lam[q]).max(PRECONDITIONER_FLOOR * m) / m;
                    assert_eq!(ws.wgt[(pp, q)], 1.0 / d.sqrt());
                    assert!(ws.wgt[(pp, q)] >= 1.0);
                }
            }
        }
    }

    /// The Hessian's diagonal in the basis Eᵢⱼ − Eⱼᵢ (spec/alignment.md §4.3, §10.2):
    /// ⟨E, H[E]⟩ = 2(Rs,ᵢᵢ + Rs,ⱼⱼ) − 4(Bᵢᵢ Ãⱼⱼ + Bⱼⱼ Ãᵢᵢ − Bⱼᵢ Ãᵢⱼ − Bᵢⱼ Ãⱼᵢ).
    #[test]
    fn hessian_diagonal_formula() {
        let n = 6;
        let mut ws = Workspace::new(n);
        let (p, c) = problem(n, 7, &mut ws);
        ws.c.copy_from(&c);
        p.pullback(&ws.c, &mut ws.t1, &mut ws.at);
        p.gradient(&ws.at, &mut ws.t1, &mut ws.t2, &mut ws.grad, &mut ws.rs);
        let (at, b, rs) = (&ws.at, &p.b, &ws.rs);
        for j in 0..n {
            for i in 0..j {
                let mut e = Mat::zeros(n, n);
                e[(i, j)] = 1.0;
                e[(j, i)] = -1.0;
                let (mut t1, mut t2, mut t3) =
                    (Mat::zeros(n, n), Mat::zeros(n, n), Mat::zeros(n, n));
                let mut h = Mat::zeros(n, n);
                p.hess(at, rs, &e, &mut t1, &mut t2, &mut t3, &mut h);
                let direct = dot(&e, &h);
                let formula = 2.0 * (rs[(i, i)] + rs[(j, j)])
                    - 4.0
                        * (b[(i, i)] * at[(j, j)] + b[(j, j)] * at[(i, i)]
                            - b[(j, i)] * at[(i, j)]
                            - b[(i, j)] * at[(j, i)]);
                assert!(
                    (direct - formula).abs() <= 1e-13,
                    "({i},{j}): {direct} vs {formula}"
                );
            }
        }
    }

    /// Packed coordinates: ⟨X, Y⟩_F = 2⟨pack X, pack Y⟩ and unpack ∘ pack = id on skew matrices.
    #[test]
    fn packed_coordinates_round_trip() {
        for n in [1usize, 2, 5, 40] {
            let x = random_skew(n, 11);
            let y = random_skew(n, 12);
            let m = n * n.saturating_sub(1) / 2;
            let (mut px, mut py) = (vec![0.0; m], vec![0.0; m]);
            pack(&x, &mut px);
            pack(&y, &mut py);
            let (a, b) = (dot(&x, &y), 2.0 * pdot(&px, &py));
            assert!((a - b).abs() <= 1e-12 * (1.0 + a.abs()));
            let mut back = Mat::zeros(n, n);
            unpack(&px, &mut back);
            assert!(back == x);
            let mut z = py.clone();
            paxpy(0.5, &px, &mut z);
            for k in 0..m {
                assert!((z[k] - (py[k] + 0.5 * px[k])).abs() <= 1e-15);
            }
        }
    }
}
