//! Learning rules (spec/cases.md §6; the DSA paper's fourth case study, after Nayebi et al. 2020):
//! one small network trained on one seeded teacher–student regression by four learning rules, with
//! per-step statistics of each layer recorded as a (steps × features) trajectory per run.
//!
//! The network is a 2-layer MLP without biases, tanh hidden layer:
//!
//!   A = X W₁ᵀ,  H = tanh(A),  Ŷ = H W₂ᵀ,   L = (1/2B) Σ_b ‖ŷ_b − y_b‖²,
//!
//! X the B × n_in batch, W₁ (n_h × n_in), W₂ (n_out × n_h). The backward pass (spec/cases.md §6.2):
//!
//!   E = (Ŷ − Y)/B,  G₂ = Eᵀ H,  Δ = (E F) ⊙ (1 − H ⊙ H),  G₁ = Δᵀ X,
//!
//! with F = W₂ for backpropagation (G₁, G₂ is then ∇L) and F = a fixed random matrix for feedback
//! alignment. The rules (SGD, SGD with momentum, Adam, feedback alignment) turn (G₁, G₂) into
//! updates (spec/cases.md §6.3).

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef};

use super::{gaussian, stream};
use crate::embedding::Dataset;
use crate::error::{Error, Result};
use crate::linalg::PAR;

/// A learning rule (spec/cases.md §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    /// Plain SGD: W ← W − η G.
    Sgd,
    /// SGD with (heavy-ball) momentum: V ← μ V + G, W ← W − η V.
    Momentum,
    /// Adam (Kingma & Ba 2015) with bias correction.
    Adam,
    /// Feedback alignment (Lillicrap et al. 2016): G₁ from a fixed random feedback matrix F in place
    /// of W₂, then W ← W − η G.
    FeedbackAlignment,
}

impl Rule {
    /// The rules, in label order (0, 1, 2, 3).
    pub const ALL: [Rule; 4] = [
        Rule::Sgd,
        Rule::Momentum,
        Rule::Adam,
        Rule::FeedbackAlignment,
    ];

    /// The label: 0 SGD, 1 momentum, 2 Adam, 3 feedback alignment.
    pub fn label(self) -> usize {
        match self {
            Rule::Sgd => 0,
            Rule::Momentum => 1,
            Rule::Adam => 2,
            Rule::FeedbackAlignment => 3,
        }
    }

    /// `sgd`, `momentum`, `adam` or `fa`.
    pub fn name(self) -> &'static str {
        match self {
            Rule::Sgd => "sgd",
            Rule::Momentum => "momentum",
            Rule::Adam => "adam",
            Rule::FeedbackAlignment => "fa",
        }
    }
}

/// The statistics recorded per layer and per step (spec/cases.md §6.4), in column order; layer 1's
/// columns come first, then layer 2's.
pub const STATISTICS: [&str; 4] = ["norm", "mean", "std", "update_norm"];

/// Number of trajectory columns: [`STATISTICS`] for each of the two layers.
pub const FEATURES: usize = 2 * STATISTICS.len();

/// Parameters of the study (spec/cases.md §6.1). `Default` is the documented study.
#[derive(Debug, Clone, PartialEq)]
pub struct LearningParams {
    /// Input dimension n_in.
    pub inputs: usize,
    /// Hidden units n_h (of the student and of the teacher).
    pub hidden: usize,
    /// Output dimension n_out.
    pub outputs: usize,
    /// Batch size B.
    pub batch: usize,
    /// Training steps T (one batch each); the trajectory has T rows.
    pub steps: usize,
    /// Gain g of the teacher's first layer: W₁* ~ N(0, g²/n_in).
    pub teacher_gain: f64,
    /// Scale c of the student's initial second layer: W₂ ~ N(0, c²/n_h).
    pub readout_scale: f64,
    /// Standard deviation of the label noise added to the teacher's outputs.
    pub label_noise: f64,
    /// Learning rate η of SGD.
    pub sgd_rate: f64,
    /// Learning rate η of SGD with momentum.
    pub momentum_rate: f64,
    /// Momentum μ ∈ [0, 1).
    pub momentum: f64,
    /// Learning rate η of Adam.
    pub adam_rate: f64,
    /// Adam's β₁ ∈ [0, 1).
    pub adam_beta1: f64,
    /// Adam's β₂ ∈ [0, 1).
    pub adam_beta2: f64,
    /// Adam's ε > 0.
    pub adam_epsilon: f64,
    /// Learning rate η of feedback alignment.
    pub fa_rate: f64,
    /// Test samples on which the losses are evaluated.
    pub test_samples: usize,
    /// Runs per rule (run s of every rule shares teacher, initial weights and batches).
    pub runs_per_rule: usize,
    /// The seed.
    pub seed: u64,
}

impl Default for LearningParams {
    fn default() -> Self {
        Self {
            inputs: 10,
            hidden: 20,
            outputs: 5,
            batch: 16,
            steps: 400,
            teacher_gain: 2.0,
            readout_scale: 1.0,
            label_noise: 0.0,
            sgd_rate: 0.05,
            momentum_rate: 0.005,
            momentum: 0.9,
            adam_rate: 0.002,
            adam_beta1: 0.9,
            adam_beta2: 0.999,
            adam_epsilon: 1e-8,
            fa_rate: 0.05,
            test_samples: 256,
            runs_per_rule: 6,
            seed: 0,
        }
    }
}

impl LearningParams {
    /// The learning rate of `rule`.
    pub fn rate(&self, rule: Rule) -> f64 {
        match rule {
            Rule::Sgd => self.sgd_rate,
            Rule::Momentum => self.momentum_rate,
            Rule::Adam => self.adam_rate,
            Rule::FeedbackAlignment => self.fa_rate,
        }
    }

    /// Checks every parameter's domain.
    pub fn validate(&self) -> Result<()> {
        let counts = [
            ("inputs", self.inputs),
            ("hidden", self.hidden),
            ("outputs", self.outputs),
            ("batch", self.batch),
            ("steps", self.steps),
            ("test_samples", self.test_samples),
            ("runs_per_rule", self.runs_per_rule),
        ];
        for (name, v) in counts {
            if v == 0 {
                return Err(Error::InvalidParameter {
                    name,
                    value: "0".into(),
                    reason: "must be at least 1".into(),
                });
            }
        }
        let sizes = [
            ("steps", self.steps, FEATURES),
            ("hidden", self.hidden, self.inputs.max(self.outputs)),
            ("batch", self.batch, self.inputs.max(self.hidden)),
            (
                "test_samples",
                self.test_samples,
                self.inputs.max(self.hidden),
            ),
        ];
        for (name, a, b) in sizes {
            if a.checked_mul(b).is_none_or(|n| n > isize::MAX as usize / 8) {
                return Err(Error::InvalidParameter {
                    name,
                    value: a.to_string(),
                    reason: "the arrays it sizes would not fit in memory".into(),
                });
            }
        }
        for (name, v) in [
            ("teacher_gain", self.teacher_gain),
            ("readout_scale", self.readout_scale),
            ("sgd_rate", self.sgd_rate),
            ("momentum_rate", self.momentum_rate),
            ("adam_rate", self.adam_rate),
            ("adam_epsilon", self.adam_epsilon),
            ("fa_rate", self.fa_rate),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(Error::InvalidParameter {
                    name,
                    value: v.to_string(),
                    reason: "must be a finite number > 0".into(),
                });
            }
        }
        if !(self.label_noise.is_finite() && self.label_noise >= 0.0) {
            return Err(Error::InvalidParameter {
                name: "label_noise",
                value: self.label_noise.to_string(),
                reason: "must be a finite number ≥ 0".into(),
            });
        }
        for (name, v) in [
            ("momentum", self.momentum),
            ("adam_beta1", self.adam_beta1),
            ("adam_beta2", self.adam_beta2),
        ] {
            if !(0.0..1.0).contains(&v) {
                return Err(Error::InvalidParameter {
                    name,
                    value: v.to_string(),
                    reason: "must be in [0, 1)".into(),
                });
            }
        }
        Ok(())
    }
}

/// The weights of a 2-layer MLP (no biases): W₁ (n_h × n_in), W₂ (n_out × n_h).
#[derive(Debug, Clone, PartialEq)]
pub struct Mlp {
    /// First layer W₁, n_h × n_in.
    pub w1: Mat<f64>,
    /// Second layer W₂, n_out × n_h.
    pub w2: Mat<f64>,
}

/// The loss on a batch and the two update directions (G₁, G₂) of spec/cases.md §6.2.
#[derive(Debug, Clone, PartialEq)]
pub struct Gradients {
    /// L = (1/2B) Σ_b ‖ŷ_b − y_b‖².
    pub loss: f64,
    /// G₁ (n_h × n_in).
    pub g1: Mat<f64>,
    /// G₂ (n_out × n_h).
    pub g2: Mat<f64>,
}

/// A matrix of independent N(0, s²) entries.
fn normal(rows: usize, cols: usize, s: f64, g: &mut rand_chacha::ChaCha8Rng) -> Mat<f64> {
    let mut m = Mat::zeros(rows, cols);
    for i in 0..rows {
        for j in 0..cols {
            m[(i, j)] = s * gaussian(g);
        }
    }
    m
}

impl Mlp {
    /// W₁ ~ N(0, gain²/n_in), W₂ ~ N(0, readout²/n_h) (LeCun-normal initialisation at gain =
    /// readout = 1; spec/cases.md §6.1).
    fn random(p: &LearningParams, gain: f64, readout: f64, g: &mut rand_chacha::ChaCha8Rng) -> Mlp {
        let w1 = normal(p.hidden, p.inputs, gain / (p.inputs as f64).sqrt(), g);
        let w2 = normal(p.outputs, p.hidden, readout / (p.hidden as f64).sqrt(), g);
        Mlp { w1, w2 }
    }

    /// H = tanh(X W₁ᵀ) (B × n_h) and Ŷ = H W₂ᵀ (B × n_out).
    pub fn forward(&self, x: MatRef<'_, f64>) -> (Mat<f64>, Mat<f64>) {
        let mut h = Mat::zeros(x.nrows(), self.w1.nrows());
        matmul(h.as_mut(), Accum::Replace, x, self.w1.transpose(), 1.0, PAR);
        for j in 0..h.ncols() {
            for i in 0..h.nrows() {
                h[(i, j)] = h[(i, j)].tanh();
            }
        }
        let mut y = Mat::zeros(x.nrows(), self.w2.nrows());
        matmul(
            y.as_mut(),
            Accum::Replace,
            h.as_ref(),
            self.w2.transpose(),
            1.0,
            PAR,
        );
        (h, y)
    }

    /// The loss L = (1/2B) Σ_b ‖ŷ_b − y_b‖² of the batch (X, Y).
    pub fn loss(&self, x: MatRef<'_, f64>, y: MatRef<'_, f64>) -> Result<f64> {
        self.check(x, y, None)?;
        let (_, yhat) = self.forward(x);
        Ok(sq_error(yhat.as_ref(), y) / (2.0 * x.nrows() as f64))
    }

    fn check(
        &self,
        x: MatRef<'_, f64>,
        y: MatRef<'_, f64>,
        feedback: Option<MatRef<'_, f64>>,
    ) -> Result<()> {
        let (n_h, n_in, n_out) = (self.w1.nrows(), self.w1.ncols(), self.w2.nrows());
        if self.w2.ncols() != n_h {
            return Err(Error::Shape {
                array: "w2".into(),
                reason: format!("{} columns, expected n_h = {n_h}", self.w2.ncols()),
            });
        }
        if x.nrows() == 0 || x.ncols() != n_in || y.nrows() != x.nrows() || y.ncols() != n_out {
            return Err(Error::Shape {
                array: "batch".into(),
                reason: format!(
                    "X is {} × {}, Y is {} × {}; expected B × {n_in} and B × {n_out}, B ≥ 1",
                    x.nrows(),
                    x.ncols(),
                    y.nrows(),
                    y.ncols()
                ),
            });
        }
        if let Some(f) = feedback {
            if f.nrows() != n_out || f.ncols() != n_h {
                return Err(Error::Shape {
                    array: "feedback".into(),
                    reason: format!(
                        "{} × {}, expected n_out × n_h = {n_out} × {n_h}",
                        f.nrows(),
                        f.ncols()
                    ),
                });
            }
        }
        for (name, m) in [("x", x), ("y", y)] {
            for j in 0..m.ncols() {
                for i in 0..m.nrows() {
                    if !m[(i, j)].is_finite() {
                        return Err(Error::NonFinite {
                            array: name.into(),
                            index: vec![i, j],
                            value: m[(i, j)],
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// The loss and the update directions (G₁, G₂) on the batch (X, Y) (spec/cases.md §6.2):
    /// E = (Ŷ − Y)/B, G₂ = Eᵀ H, Δ = (E F) ⊙ (1 − H ⊙ H), G₁ = Δᵀ X, with F = W₂ when `feedback` is
    /// `None` (backpropagation: (G₁, G₂) = ∇L) and F = `feedback` (n_out × n_h) otherwise (feedback
    /// alignment: G₂ is still ∂L/∂W₂, G₁ is not ∂L/∂W₁).
    pub fn gradients(
        &self,
        x: MatRef<'_, f64>,
        y: MatRef<'_, f64>,
        feedback: Option<MatRef<'_, f64>>,
    ) -> Result<Gradients> {
        self.check(x, y, feedback)?;
        let b = x.nrows() as f64;
        let (h, yhat) = self.forward(x);
        let loss = sq_error(yhat.as_ref(), y) / (2.0 * b);
        let mut e = yhat;
        for j in 0..e.ncols() {
            for i in 0..e.nrows() {
                e[(i, j)] = (e[(i, j)] - y[(i, j)]) / b;
            }
        }
        let mut g2 = Mat::zeros(self.w2.nrows(), self.w2.ncols());
        matmul(
            g2.as_mut(),
            Accum::Replace,
            e.transpose(),
            h.as_ref(),
            1.0,
            PAR,
        );
        let f = feedback.unwrap_or(self.w2.as_ref());
        let mut delta = Mat::zeros(h.nrows(), h.ncols());
        matmul(delta.as_mut(), Accum::Replace, e.as_ref(), f, 1.0, PAR);
        for j in 0..delta.ncols() {
            for i in 0..delta.nrows() {
                let hij = h[(i, j)];
                delta[(i, j)] *= 1.0 - hij * hij;
            }
        }
        let mut g1 = Mat::zeros(self.w1.nrows(), self.w1.ncols());
        matmul(g1.as_mut(), Accum::Replace, delta.transpose(), x, 1.0, PAR);
        Ok(Gradients { loss, g1, g2 })
    }
}

fn sq_error(a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> f64 {
    let mut s = 0.0;
    for j in 0..a.ncols() {
        for i in 0..a.nrows() {
            let d = a[(i, j)] - b[(i, j)];
            s += d * d;
        }
    }
    s
}

/// The optimiser state of one layer.
#[derive(Debug, Clone)]
struct State {
    /// Momentum buffer V, or Adam's first moment m.
    first: Mat<f64>,
    /// Adam's second moment s.
    second: Mat<f64>,
}

impl State {
    fn new(like: &Mat<f64>) -> State {
        State {
            first: Mat::zeros(like.nrows(), like.ncols()),
            second: Mat::zeros(like.nrows(), like.ncols()),
        }
    }
}

/// The update ΔW of one layer at step t ≥ 1 (spec/cases.md §6.3), written into `delta`.
fn update(
    rule: Rule,
    p: &LearningParams,
    t: usize,
    g: &Mat<f64>,
    state: &mut State,
    delta: &mut Mat<f64>,
) {
    let eta = p.rate(rule);
    match rule {
        Rule::Sgd | Rule::FeedbackAlignment => {
            for j in 0..g.ncols() {
                for i in 0..g.nrows() {
                    delta[(i, j)] = -eta * g[(i, j)];
                }
            }
        }
        Rule::Momentum => {
            for j in 0..g.ncols() {
                for i in 0..g.nrows() {
                    let v = p.momentum * state.first[(i, j)] + g[(i, j)];
                    state.first[(i, j)] = v;
                    delta[(i, j)] = -eta * v;
                }
            }
        }
        Rule::Adam => {
            let (b1, b2) = (p.adam_beta1, p.adam_beta2);
            let c1 = 1.0 - b1.powi(t as i32);
            let c2 = 1.0 - b2.powi(t as i32);
            for j in 0..g.ncols() {
                for i in 0..g.nrows() {
                    let gij = g[(i, j)];
                    let m = b1 * state.first[(i, j)] + (1.0 - b1) * gij;
                    let s = b2 * state.second[(i, j)] + (1.0 - b2) * gij * gij;
                    state.first[(i, j)] = m;
                    state.second[(i, j)] = s;
                    delta[(i, j)] = -eta * (m / c1) / ((s / c2).sqrt() + p.adam_epsilon);
                }
            }
        }
    }
}

/// ‖W‖_F, mean(W), std(W) (population), ‖ΔW‖_F: the columns of [`STATISTICS`] (spec/cases.md
/// §6.4).
fn layer_statistics(w: &Mat<f64>, delta: &Mat<f64>, out: &mut Vec<f64>) {
    let n = (w.nrows() * w.ncols()) as f64;
    let (mut sum, mut sq, mut dsq) = (0.0, 0.0, 0.0);
    for j in 0..w.ncols() {
        for i in 0..w.nrows() {
            sum += w[(i, j)];
            sq += w[(i, j)] * w[(i, j)];
            dsq += delta[(i, j)] * delta[(i, j)];
        }
    }
    let mean = sum / n;
    let mut var = 0.0;
    for j in 0..w.ncols() {
        for i in 0..w.nrows() {
            let d = w[(i, j)] - mean;
            var += d * d;
        }
    }
    out.extend_from_slice(&[sq.sqrt(), mean, (var / n).sqrt(), dsq.sqrt()]);
}

/// The teacher–student task of run s (spec/cases.md §6.1): the teacher, the student's initial
/// weights, the feedback matrix and a fixed test set. Shared by every rule's run s.
#[derive(Debug, Clone)]
pub struct Task {
    /// The teacher network (W₁* ~ N(0, g²/n_in), W₂* ~ N(0, 1/n_h)).
    pub teacher: Mlp,
    /// The student's initial weights (W₁ ~ N(0, 1/n_in), W₂ ~ N(0, 1/n_h)).
    pub initial: Mlp,
    /// The feedback matrix F ~ N(0, 1/n_h) (n_out × n_h) of feedback alignment.
    pub feedback: Mat<f64>,
    /// Test inputs (test_samples × n_in).
    pub test_x: Mat<f64>,
    /// Noise-free teacher outputs on the test inputs.
    pub test_y: Mat<f64>,
}

/// The task of run `run`: teacher, initial weights and feedback matrix from ChaCha8 stream 2·run of
/// the seed, in that order, then the test set; the training batches come from stream 2·run + 1
/// (`train`).
pub fn task(p: &LearningParams, run: usize) -> Result<Task> {
    p.validate()?;
    let mut g = stream(p.seed, 2 * run as u64);
    let teacher = Mlp::random(p, p.teacher_gain, 1.0, &mut g);
    let initial = Mlp::random(p, 1.0, p.readout_scale, &mut g);
    let feedback = normal(p.outputs, p.hidden, 1.0 / (p.hidden as f64).sqrt(), &mut g);
    let test_x = normal(p.test_samples, p.inputs, 1.0, &mut g);
    let (_, test_y) = teacher.forward(test_x.as_ref());
    Ok(Task {
        teacher,
        initial,
        feedback,
        test_x,
        test_y,
    })
}

/// One training run.
#[derive(Debug, Clone)]
pub struct Run {
    /// The rule.
    pub rule: Rule,
    /// The run index s within the rule (run s of every rule shares the task and the batches).
    pub run: usize,
    /// T × [`FEATURES`] row-major statistics: row t is recorded after update t + 1.
    pub trajectory: Vec<f64>,
    /// The training-batch loss before each update (T values).
    pub batch_losses: Vec<f64>,
    /// Test loss of the initial weights.
    pub initial_loss: f64,
    /// Test loss after the last update.
    pub final_loss: f64,
    /// The final weights.
    pub weights: Mlp,
}

/// Trains run `run` of `rule` for `p.steps` steps (spec/cases.md §6.1–6.4): batch t has inputs
/// x ~ N(0, I) and targets y = teacher(x) + σ_y ξ, drawn from ChaCha8 stream 2·run + 1 of the seed.
pub fn train(p: &LearningParams, rule: Rule, run: usize) -> Result<Run> {
    let task = task(p, run)?;
    let mut g = stream(p.seed, 2 * run as u64 + 1);
    let mut w = task.initial.clone();
    let initial_loss = w.loss(task.test_x.as_ref(), task.test_y.as_ref())?;
    let (mut s1, mut s2) = (State::new(&w.w1), State::new(&w.w2));
    let mut d1 = Mat::zeros(w.w1.nrows(), w.w1.ncols());
    let mut d2 = Mat::zeros(w.w2.nrows(), w.w2.ncols());
    let mut trajectory = Vec::with_capacity(p.steps * FEATURES);
    let mut batch_losses = Vec::with_capacity(p.steps);
    for t in 1..=p.steps {
        let x = normal(p.batch, p.inputs, 1.0, &mut g);
        let (_, mut y) = task.teacher.forward(x.as_ref());
        if p.label_noise > 0.0 {
            for j in 0..y.ncols() {
                for i in 0..y.nrows() {
                    y[(i, j)] += p.label_noise * gaussian(&mut g);
                }
            }
        }
        let feedback = (rule == Rule::FeedbackAlignment).then(|| task.feedback.as_ref());
        let grads = w.gradients(x.as_ref(), y.as_ref(), feedback)?;
        batch_losses.push(grads.loss);
        update(rule, p, t, &grads.g1, &mut s1, &mut d1);
        update(rule, p, t, &grads.g2, &mut s2, &mut d2);
        w.w1 += &d1;
        w.w2 += &d2;
        layer_statistics(&w.w1, &d1, &mut trajectory);
        layer_statistics(&w.w2, &d2, &mut trajectory);
    }
    if let Some(i) = trajectory.iter().position(|v| !v.is_finite()) {
        return Err(Error::NonFinite {
            array: format!("{} run {run} trajectory", rule.name()),
            index: vec![i / FEATURES, i % FEATURES],
            value: trajectory[i],
        });
    }
    let final_loss = w.loss(task.test_x.as_ref(), task.test_y.as_ref())?;
    Ok(Run {
        rule,
        run,
        trajectory,
        batch_losses,
        initial_loss,
        final_loss,
        weights: w,
    })
}

/// The study: `runs_per_rule` runs of each rule, in the order SGD 0…, momentum 0…, Adam 0…, FA 0…
pub fn study(p: &LearningParams) -> Result<Vec<Run>> {
    p.validate()?;
    let mut out = Vec::with_capacity(4 * p.runs_per_rule);
    for rule in Rule::ALL {
        for run in 0..p.runs_per_rule {
            out.push(train(p, rule, run)?);
        }
    }
    Ok(out)
}

/// How trajectories are standardised before they are compared (spec/cases.md §6.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Standardisation {
    /// The raw statistics.
    None,
    /// Each statistic z-scored over time within each run (its own mean and standard deviation).
    PerRun,
    /// Each statistic z-scored with one mean and standard deviation over all runs and steps.
    Global,
}

/// Standardises T × `features` row-major trajectories (spec/cases.md §6.5). A statistic with zero
/// spread (in a run for `PerRun`, overall for `Global`) becomes exactly 0. All trajectories must
/// have the same positive length, a multiple of `features`, and finite values.
pub fn standardise(
    trajectories: &[Vec<f64>],
    features: usize,
    mode: Standardisation,
) -> Result<Vec<Vec<f64>>> {
    let len = trajectories.first().map_or(0, Vec::len);
    if features == 0 || len == 0 || len % features != 0 {
        return Err(Error::Shape {
            array: "trajectories".into(),
            reason: format!("length {len} is not a positive multiple of {features} features"),
        });
    }
    for (k, tr) in trajectories.iter().enumerate() {
        if tr.len() != len {
            return Err(Error::Shape {
                array: format!("trajectory {k}"),
                reason: format!("length {}, expected {len}", tr.len()),
            });
        }
        if let Some(i) = tr.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                array: format!("trajectory {k}"),
                index: vec![i / features, i % features],
                value: tr[i],
            });
        }
    }
    let moments = |trs: &[&Vec<f64>]| -> Vec<(f64, f64)> {
        (0..features)
            .map(|f| {
                let vals = || {
                    trs.iter()
                        .flat_map(|tr| tr.iter().skip(f).step_by(features))
                };
                let n = vals().count() as f64;
                let mean = vals().sum::<f64>() / n;
                let var = vals().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
                (mean, var.sqrt())
            })
            .collect()
    };
    let apply = |tr: &Vec<f64>, m: &[(f64, f64)]| -> Vec<f64> {
        tr.iter()
            .enumerate()
            .map(|(i, &v)| {
                let (mean, sd) = m[i % features];
                if sd > 0.0 {
                    (v - mean) / sd
                } else {
                    0.0
                }
            })
            .collect()
    };
    Ok(match mode {
        Standardisation::None => trajectories.to_vec(),
        Standardisation::PerRun => trajectories
            .iter()
            .map(|tr| apply(tr, &moments(&[tr])))
            .collect(),
        Standardisation::Global => {
            let all: Vec<&Vec<f64>> = trajectories.iter().collect();
            let m = moments(&all);
            trajectories.iter().map(|tr| apply(tr, &m)).collect()
        }
    })
}

/// A trajectory as a one-trial dataset named `name`.
pub fn dataset(trajectory: &[f64], features: usize, name: &str) -> Result<Dataset> {
    Ok(Dataset::from_trials(&[trajectory], features)?.with_name(name))
}
