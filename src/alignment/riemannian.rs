//! The PAVF objective on O(n), its Riemannian gradient and Hessian, the QR retraction, and the local
//! solver: Riemannian L-BFGS followed by a Riemannian trust-region method with truncated conjugate
//! gradients (spec/alignment.md §3, §4).
//!
//! Everything is sequential (`crate::linalg::PAR`) and every buffer is allocated once per problem
//! ([`Workspace`]), so an iteration does no heap allocation.
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
use faer::{unzip, zip, Accum, Conj, Mat, MatRef};

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

/// y ← a·x + b·y.
fn axpby(a: f64, x: &Mat<f64>, b: f64, y: &mut Mat<f64>) {
    for j in 0..x.ncols() {
        let xs = x.col_as_slice(j);
        for (v, &u) in y.col_as_slice_mut(j).iter_mut().zip(xs) {
            *v = a * u + b * *v;
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
    grad_new: Mat<f64>,
    rs: Mat<f64>,
    t1: Mat<f64>,
    t2: Mat<f64>,
    t3: Mat<f64>,
    eta: Mat<f64>,
    h_eta: Mat<f64>,
    r: Mat<f64>,
    delta: Mat<f64>,
    h_delta: Mat<f64>,
    s_mem: Vec<Mat<f64>>,
    y_mem: Vec<Mat<f64>>,
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
        Self {
            qcoeff: Mat::zeros(block, n),
            mem: MemBuffer::new(req),
            c: z(),
            c_new: z(),
            at: z(),
            at_new: z(),
            grad: z(),
            grad_new: z(),
            rs: z(),
            t1: z(),
            t2: z(),
            t3: z(),
            eta: z(),
            h_eta: z(),
            r: z(),
            delta: z(),
            h_delta: z(),
            s_mem: (0..LBFGS_MEMORY).map(|_| z()).collect(),
            y_mem: (0..LBFGS_MEMORY).map(|_| z()).collect(),
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

/// Phase 1 (spec/alignment.md §4.1): Riemannian L-BFGS in Ω-coordinates (the transport of the stored
/// pairs is the identity in Ω-coordinates, i.e. left translation, an isometry), Armijo backtracking.
fn lbfgs(problem: &Problem, s: Settings, ws: &mut Workspace, st: &mut State) {
    let n = problem.n();
    let max_step = std::f64::consts::FRAC_PI_2;
    let mut rho = [0.0f64; LBFGS_MEMORY];
    let mut alpha_k = [0.0f64; LBFGS_MEMORY];
    let mut len = 0usize; // stored pairs
    let mut head = 0usize; // index of the next slot to overwrite
    let mut failures = 0;
    while st.iterations < s.max_iterations
        && st.gnorm > s.switch_tolerance.max(s.gradient_tolerance)
    {
        // Two-loop recursion: r = H g, then the direction δ = −r.
        ws.r.copy_from(&ws.grad);
        for k in 0..len {
            let i = (head + LBFGS_MEMORY - 1 - k) % LBFGS_MEMORY;
            let a = rho[i] * dot(&ws.s_mem[i], &ws.r);
            alpha_k[i] = a;
            axpy(-a, &ws.y_mem[i], &mut ws.r);
        }
        let gamma = if len > 0 {
            let i = (head + LBFGS_MEMORY - 1) % LBFGS_MEMORY;
            1.0 / (rho[i] * dot(&ws.y_mem[i], &ws.y_mem[i]))
        } else {
            (0.1 / st.gnorm).min(1.0)
        };
        // Second loop with the initial scaling applied.
        {
            for v in 0..n {
                for x in ws.r.col_as_slice_mut(v) {
                    *x *= gamma;
                }
            }
            for k in (0..len).rev() {
                let i = (head + LBFGS_MEMORY - 1 - k) % LBFGS_MEMORY;
                let b = rho[i] * dot(&ws.y_mem[i], &ws.r);
                axpy(alpha_k[i] - b, &ws.s_mem[i], &mut ws.r);
            }
        }
        ws.delta.copy_from(&ws.r);
        let mut slope = -dot(&ws.grad, &ws.delta);
        if slope.is_nan() || slope >= 0.0 {
            // Not a descent direction: restart from steepest descent.
            len = 0;
            ws.delta.copy_from(&ws.grad);
            let sc = (0.1 / st.gnorm).min(1.0);
            for v in 0..n {
                for x in ws.delta.col_as_slice_mut(v) {
                    *x *= sc;
                }
            }
            slope = -dot(&ws.grad, &ws.delta);
        }
        // Direction is −δ; step α along it.
        let pn = dot(&ws.delta, &ws.delta).sqrt();
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
        // s = −α δ, y = g_new − g (both in Ω-coordinates).
        let mut g_old = std::mem::replace(&mut ws.grad_new, Mat::new());
        g_old.copy_from(&ws.grad);
        accept(problem, ws, st, f_new);
        let i = head;
        ws.s_mem[i].copy_from(&ws.delta);
        for v in 0..n {
            for x in ws.s_mem[i].col_as_slice_mut(v) {
                *x *= -alpha;
            }
        }
        ws.y_mem[i].copy_from(&ws.grad);
        axpy(-1.0, &g_old, &mut ws.y_mem[i]);
        ws.grad_new = g_old;
        let sy = dot(&ws.s_mem[i], &ws.y_mem[i]);
        let yy = dot(&ws.y_mem[i], &ws.y_mem[i]);
        if sy > 1e-10 * (dot(&ws.s_mem[i], &ws.s_mem[i]) * yy).sqrt() && yy > 0.0 {
            rho[i] = 1.0 / sy;
            head = (head + 1) % LBFGS_MEMORY;
            len = (len + 1).min(LBFGS_MEMORY);
        }
    }
}

/// Phase 2 (spec/alignment.md §4.3): Riemannian trust region with truncated CG (Steihaug–Toint).
fn rtr(problem: &Problem, s: Settings, ws: &mut Workspace, st: &mut State) {
    let n = problem.n();
    let dim = (n * n.saturating_sub(1) / 2).max(1);
    let delta_bar = std::f64::consts::PI * (n as f64).sqrt();
    let mut radius = (delta_bar / 8.0).min(st.gnorm.max(1e-3) * 10.0);
    let (rho_accept, kappa, theta) = (0.1, 0.1, 1.0);
    let rho_reg = 1e3 * f64::EPSILON;

    while st.iterations < s.max_iterations && st.gnorm > s.gradient_tolerance {
        if radius.is_nan() || radius <= 1e-14 {
            break;
        }
        st.iterations += 1;

        // Truncated CG on m(η) = f + ⟨G, η⟩ + ½⟨η, H η⟩, ‖η‖ ≤ radius.
        ws.eta.fill(0.0);
        ws.h_eta.fill(0.0);
        ws.r.copy_from(&ws.grad);
        ws.delta.copy_from(&ws.grad);
        axpby(0.0, &ws.grad, -1.0, &mut ws.delta);
        let r0 = st.gnorm;
        let mut rr = r0 * r0;
        let (mut e_e, mut e_d, mut d_d) = (0.0, 0.0, rr);
        let mut on_boundary = false;
        for _ in 0..dim {
            problem.hess(
                &ws.at,
                &ws.rs,
                &ws.delta,
                &mut ws.t1,
                &mut ws.t2,
                &mut ws.t3,
                &mut ws.h_delta,
            );
            st.hessian_products += 1;
            let dhd = dot(&ws.delta, &ws.h_delta);
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
                axpy(tau, &ws.delta, &mut ws.eta);
                axpy(tau, &ws.h_delta, &mut ws.h_eta);
                on_boundary = true;
                break;
            }
            axpy(alpha, &ws.delta, &mut ws.eta);
            axpy(alpha, &ws.h_delta, &mut ws.h_eta);
            axpy(alpha, &ws.h_delta, &mut ws.r);
            e_e = e_e_new;
            let rr_new = dot(&ws.r, &ws.r);
            if rr_new.sqrt() <= r0 * r0.powf(theta).min(kappa) {
                break;
            }
            let beta = rr_new / rr;
            rr = rr_new;
            axpby(-1.0, &ws.r, beta, &mut ws.delta);
            // Steihaug–Toint recurrences (⟨η, r⟩ = 0 in exact arithmetic).
            e_d = beta * (e_d + alpha * d_d);
            d_d = rr + beta * beta * d_d;
        }
        let model_decrease = -(dot(&ws.grad, &ws.eta) + 0.5 * dot(&ws.eta, &ws.h_eta));

        // Candidate C' = qf(C (I + η)).
        let eta = std::mem::replace(&mut ws.eta, Mat::new());
        ws.retract(1.0, &eta);
        ws.eta = eta;
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
        }
    }
}
