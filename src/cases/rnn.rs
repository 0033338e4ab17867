//! Recurrent networks trained on the K-bit flip-flop task (spec/cases.md §5; after Sussillo & Barak
//! 2013 and Maheswaranathan et al. 2019): the seeded task generator, three cells (vanilla tanh,
//! vanilla ReLU, GRU) with a linear readout, back-propagation through time with the analytic
//! gradient, and Adam.
//!
//! Batches are B × n matrices (one row per trial); a network's parameters are one flat vector θ
//! (layout in [`Network`]), its matrices stored row-major in θ. With h_0 = 0 and input x_t ∈ ℝᴷ:
//!
//!   vanilla:  a_t = W h_{t−1} + U x_t + b,   h_t = φ(a_t),   φ = tanh or max(·, 0),
//!   GRU:      z_t = σ(W_z h_{t−1} + U_z x_t + b_z),   r_t = σ(W_r h_{t−1} + U_r x_t + b_r),
//!             c_t = tanh(W_c (r_t ⊙ h_{t−1}) + U_c x_t + b_c),
//!             h_t = (1 − z_t) ⊙ h_{t−1} + z_t ⊙ c_t,
//!   readout:  y_t = C h_t + d,
//!   loss:     L = (1/M) Σ_{trials, t, k : s_tk ≠ 0} (y_tk − s_tk)²,
//!
//! with s_tk ∈ {−1, 0, +1} the target (0 before the first pulse on channel k: not scored) and M the
//! number of scored entries. All matrix products go through faer with `Par::Seq`, so results do not
//! depend on the thread count.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatMut, MatRef};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::{gaussian, stream};
use crate::error::{Error, Result};
use crate::linalg::PAR;

/// The stream offset of training trials: training trial j of a network with seed s draws from
/// stream 2³² + j of s (stream 0 initialises the parameters).
const TRAIN_STREAM: u64 = 1 << 32;

/// The parameters of a flip-flop data set (spec/cases.md §5).
#[derive(Debug, Clone, PartialEq)]
pub struct FlipFlopParams {
    /// K, the number of channels (input = output channels).
    pub bits: usize,
    /// T, time steps per trial.
    pub steps: usize,
    /// Number of trials.
    pub trials: usize,
    /// p, the probability of a pulse per channel and time step.
    pub pulse_probability: f64,
    /// The seed: trial k draws from ChaCha8 stream k of it.
    pub seed: u64,
}

impl Default for FlipFlopParams {
    fn default() -> Self {
        Self {
            bits: 3,
            steps: 100,
            trials: 32,
            pulse_probability: 0.05,
            seed: 0,
        }
    }
}

/// A flip-flop data set: per trial, the inputs and the targets, each T × K row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct FlipFlopData {
    /// K.
    pub bits: usize,
    /// T.
    pub steps: usize,
    /// Inputs x_tk ∈ {−1, 0, +1} (a pulse or nothing).
    pub inputs: Vec<Vec<f64>>,
    /// Targets s_tk ∈ {−1, 0, +1}: the sign of the last pulse on channel k up to and including t, 0
    /// before the first one (not scored).
    pub targets: Vec<Vec<f64>>,
}

fn invalid(name: &'static str, value: impl ToString, reason: &str) -> Error {
    Error::InvalidParameter {
        name,
        value: value.to_string(),
        reason: reason.into(),
    }
}

fn validate_task(bits: usize, steps: usize, p: f64) -> Result<()> {
    if bits == 0 {
        return Err(invalid("bits", bits, "need at least one channel"));
    }
    if steps == 0 {
        return Err(invalid("steps", steps, "need at least one time step"));
    }
    if !(p.is_finite() && p > 0.0 && p <= 1.0) {
        return Err(invalid(
            "pulse_probability",
            p,
            "the pulse probability must be in (0, 1]",
        ));
    }
    Ok(())
}

/// One trial from `rng`: at each step and channel, a pulse with probability p, of sign ±1 equally
/// likely. Returns (inputs, targets), each T × K row-major.
fn trial(rng: &mut ChaCha8Rng, bits: usize, steps: usize, p: f64) -> (Vec<f64>, Vec<f64>) {
    let mut x = vec![0.0; steps * bits];
    let mut s = vec![0.0; steps * bits];
    let mut state = vec![0.0; bits];
    for t in 0..steps {
        for k in 0..bits {
            if rng.random::<f64>() < p {
                let sign = if rng.random::<f64>() < 0.5 { -1.0 } else { 1.0 };
                x[t * bits + k] = sign;
                state[k] = sign;
            }
            s[t * bits + k] = state[k];
        }
    }
    (x, s)
}

/// The flip-flop data set with parameters `p` (spec/cases.md §5): trial k from ChaCha8 stream k of
/// the seed, so more trials leave the earlier ones unchanged.
pub fn flipflop(p: &FlipFlopParams) -> Result<FlipFlopData> {
    validate_task(p.bits, p.steps, p.pulse_probability)?;
    if p.trials == 0 {
        return Err(invalid("trials", 0, "need at least one trial"));
    }
    let (inputs, targets) = (0..p.trials)
        .map(|k| {
            let mut rng = stream(p.seed, k as u64);
            trial(&mut rng, p.bits, p.steps, p.pulse_probability)
        })
        .unzip();
    Ok(FlipFlopData {
        bits: p.bits,
        steps: p.steps,
        inputs,
        targets,
    })
}

/// The recurrent cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cell {
    /// Vanilla RNN, h_t = tanh(W h_{t−1} + U x_t + b).
    Tanh,
    /// Vanilla RNN, h_t = max(W h_{t−1} + U x_t + b, 0).
    Relu,
    /// Gated recurrent unit (update gate z, reset gate r; spec/cases.md §5).
    Gru,
}

impl Cell {
    /// The name used in file names and reports (`tanh`, `relu`, `gru`).
    pub fn name(self) -> &'static str {
        match self {
            Cell::Tanh => "tanh",
            Cell::Relu => "relu",
            Cell::Gru => "gru",
        }
    }

    /// The number g of n-row blocks of W, U and b (1 for the vanilla cells, 3 for the GRU: z, r, c).
    fn blocks(self) -> usize {
        match self {
            Cell::Tanh | Cell::Relu => 1,
            Cell::Gru => 3,
        }
    }
}

/// A network: its cell, sizes and flat parameter vector θ. Layout of θ (each matrix row-major),
/// with g = 1 (vanilla) or 3 (GRU, blocks in the order z, r, c):
///
/// | block | shape |
/// |---|---|
/// | W = [W_z; W_r; W_c] | g n × n |
/// | U = [U_z; U_r; U_c] | g n × K |
/// | b = [b_z; b_r; b_c] | g n |
/// | C | K × n |
/// | d | K |
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    /// The cell.
    pub cell: Cell,
    /// n, the number of hidden units.
    pub hidden: usize,
    /// K, the number of input and output channels.
    pub bits: usize,
    /// θ, in the layout above.
    pub theta: Vec<f64>,
}

/// The lengths of the blocks W, U, b, C, d of θ.
fn block_lengths(cell: Cell, n: usize, k: usize) -> [usize; 5] {
    let g = cell.blocks();
    [g * n * n, g * n * k, g * n, k * n, k]
}

/// The number of parameters of a network with this cell, n hidden units and K channels.
pub fn parameter_count(cell: Cell, hidden: usize, bits: usize) -> usize {
    block_lengths(cell, hidden, bits).iter().sum()
}

/// Views of the blocks of θ (or of a gradient with the same layout).
struct Blocks<'a> {
    w: &'a [f64],
    u: &'a [f64],
    b: &'a [f64],
    c: &'a [f64],
    d: &'a [f64],
}

struct BlocksMut<'a> {
    w: &'a mut [f64],
    u: &'a mut [f64],
    b: &'a mut [f64],
    c: &'a mut [f64],
    d: &'a mut [f64],
}

fn blocks(cell: Cell, n: usize, k: usize, theta: &[f64]) -> Blocks<'_> {
    let [lw, lu, lb, lc, _] = block_lengths(cell, n, k);
    let (w, rest) = theta.split_at(lw);
    let (u, rest) = rest.split_at(lu);
    let (b, rest) = rest.split_at(lb);
    let (c, d) = rest.split_at(lc);
    Blocks { w, u, b, c, d }
}

fn blocks_mut(cell: Cell, n: usize, k: usize, theta: &mut [f64]) -> BlocksMut<'_> {
    let [lw, lu, lb, lc, _] = block_lengths(cell, n, k);
    let (w, rest) = theta.split_at_mut(lw);
    let (u, rest) = rest.split_at_mut(lu);
    let (b, rest) = rest.split_at_mut(lb);
    let (c, d) = rest.split_at_mut(lc);
    BlocksMut { w, u, b, c, d }
}

fn rm(s: &[f64], rows: usize, cols: usize) -> MatRef<'_, f64> {
    MatRef::from_row_major_slice(s, rows, cols)
}

fn rm_mut(s: &mut [f64], rows: usize, cols: usize) -> MatMut<'_, f64> {
    MatMut::from_row_major_slice_mut(s, rows, cols)
}

/// Back-propagated values below this magnitude are set to 0 (spec/cases.md §5): through saturated
/// units they could otherwise decay into subnormal numbers, on which arithmetic is many times slower.
const FLUSH: f64 = 1e-150;

fn flush_tiny(m: &mut Mat<f64>) {
    for j in 0..m.ncols() {
        for i in 0..m.nrows() {
            if m[(i, j)].abs() < FLUSH {
                m[(i, j)] = 0.0;
            }
        }
    }
}

/// eˣ from the `libm` crate (a portable Rust port of musl's libm): the same bits on every platform,
/// unlike the platform's libm, and no slow transition between faer's AVX-512 code and glibc's
/// (measured: glibc's `tanh` took 440 ns per call right after faer's AVX-512 products, 20 ns alone;
/// spec/cases.md §5).
pub fn exp(x: f64) -> f64 {
    libm::exp(x)
}

/// eˣ − 1 with full relative accuracy near 0 (`libm::expm1`, as [`exp`]).
pub fn exp_m1(x: f64) -> f64 {
    libm::expm1(x)
}

/// tanh x (`libm::tanh`, as [`exp`]).
pub fn tanh(x: f64) -> f64 {
    libm::tanh(x)
}

/// σ(x) = 1 / (1 + e⁻ˣ) for x ≥ 0, eˣ / (1 + eˣ) for x < 0 (no overflow, full relative accuracy).
pub fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + exp(-x))
    } else {
        let e = exp(x);
        e / (1.0 + e)
    }
}

impl Network {
    /// A network with the initial parameters of spec/cases.md §5, drawn from ChaCha8 stream 0 of
    /// `seed`: W_ij ~ N(0, γ²/n) (γ = 0.9 for the vanilla cells, 1 for the GRU), U_ij ~ N(0, 1/K),
    /// C_ij ~ N(0, 1/n), b = 0 (GRU: b_z = −1, so that the state is kept at first), d = 0.
    pub fn init(cell: Cell, hidden: usize, bits: usize, seed: u64) -> Result<Network> {
        if hidden == 0 {
            return Err(invalid("hidden", hidden, "need at least one hidden unit"));
        }
        if bits == 0 {
            return Err(invalid("bits", bits, "need at least one channel"));
        }
        let (n, k) = (hidden, bits);
        let mut theta = vec![0.0; parameter_count(cell, n, k)];
        let mut rng = stream(seed, 0);
        let gain = match cell {
            Cell::Tanh | Cell::Relu => 0.9,
            Cell::Gru => 1.0,
        };
        {
            let p = blocks_mut(cell, n, k, &mut theta);
            let sw = gain / (n as f64).sqrt();
            p.w.iter_mut().for_each(|v| *v = sw * gaussian(&mut rng));
            let su = 1.0 / (k as f64).sqrt();
            p.u.iter_mut().for_each(|v| *v = su * gaussian(&mut rng));
            let sc = 1.0 / (n as f64).sqrt();
            p.c.iter_mut().for_each(|v| *v = sc * gaussian(&mut rng));
            if cell == Cell::Gru {
                p.b[..n].iter_mut().for_each(|v| *v = -1.0);
            }
        }
        Ok(Network {
            cell,
            hidden,
            bits,
            theta,
        })
    }

    /// A network from its parameters θ (layout in [`Network`]); θ must have
    /// [`parameter_count`] finite entries.
    pub fn from_parameters(
        cell: Cell,
        hidden: usize,
        bits: usize,
        theta: Vec<f64>,
    ) -> Result<Network> {
        if hidden == 0 || bits == 0 {
            return Err(invalid(
                "hidden",
                format!("hidden {hidden}, bits {bits}"),
                "need at least one hidden unit and one channel",
            ));
        }
        let count = parameter_count(cell, hidden, bits);
        if theta.len() != count {
            return Err(Error::Shape {
                array: "theta".into(),
                reason: format!(
                    "{} parameters, but a {} network with {hidden} units and {bits} channels has \
                     {count}",
                    theta.len(),
                    cell.name()
                ),
            });
        }
        if let Some(i) = theta.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                array: "theta".into(),
                index: vec![i],
                value: theta[i],
            });
        }
        Ok(Network {
            cell,
            hidden,
            bits,
            theta,
        })
    }
}

/// The forward pass of a batch, with what the backward pass needs.
struct Forward {
    /// h_0 … h_T (B × n each).
    h: Vec<Mat<f64>>,
    /// Vanilla: the pre-activations a_1 … a_T. GRU: empty.
    a: Vec<Mat<f64>>,
    /// GRU: z_t, r_t, c_t for t = 1 … T (B × n each). Vanilla: empty.
    gates: Vec<[Mat<f64>; 3]>,
    /// y_1 … y_T (B × K).
    y: Vec<Mat<f64>>,
}

/// The inputs of a batch at each step: x_t as a B × K matrix.
fn input_matrices(inputs: &[&[f64]], steps: usize, k: usize) -> Vec<Mat<f64>> {
    (0..steps)
        .map(|t| Mat::from_fn(inputs.len(), k, |b, j| inputs[b][t * k + j]))
        .collect()
}

/// The forward pass; `cache`: keep what the backward pass needs (pre-activations, gates).
fn forward(net: &Network, x: &[Mat<f64>], cache: bool) -> Forward {
    let (n, k, cell) = (net.hidden, net.bits, net.cell);
    let bsz = x.first().map_or(0, |m| m.nrows());
    let p = blocks(cell, n, k, &net.theta);
    let cmat = rm(p.c, k, n);
    let mut out = Forward {
        h: vec![Mat::zeros(bsz, n)],
        a: Vec::new(),
        gates: Vec::new(),
        y: Vec::new(),
    };
    for xt in x {
        let hp = out.h[out.h.len() - 1].as_ref();
        let h = match cell {
            Cell::Tanh | Cell::Relu => {
                let mut a = Mat::<f64>::zeros(bsz, n);
                matmul(
                    a.as_mut(),
                    Accum::Replace,
                    hp,
                    rm(p.w, n, n).transpose(),
                    1.0,
                    PAR,
                );
                matmul(
                    a.as_mut(),
                    Accum::Add,
                    xt.as_ref(),
                    rm(p.u, n, k).transpose(),
                    1.0,
                    PAR,
                );
                for j in 0..n {
                    for i in 0..bsz {
                        a[(i, j)] += p.b[j];
                    }
                }
                let h = Mat::from_fn(bsz, n, |i, j| {
                    let v = a[(i, j)];
                    if cell == Cell::Tanh {
                        tanh(v)
                    } else {
                        v.max(0.0)
                    }
                });
                if cache {
                    out.a.push(a);
                }
                h
            }
            Cell::Gru => {
                // z and r together: [W_z; W_r] is the first 2n rows of W.
                let mut zr = Mat::<f64>::zeros(bsz, 2 * n);
                matmul(
                    zr.as_mut(),
                    Accum::Replace,
                    hp,
                    rm(&p.w[..2 * n * n], 2 * n, n).transpose(),
                    1.0,
                    PAR,
                );
                matmul(
                    zr.as_mut(),
                    Accum::Add,
                    xt.as_ref(),
                    rm(&p.u[..2 * n * k], 2 * n, k).transpose(),
                    1.0,
                    PAR,
                );
                let z = Mat::from_fn(bsz, n, |i, j| sigmoid(zr[(i, j)] + p.b[j]));
                let r = Mat::from_fn(bsz, n, |i, j| sigmoid(zr[(i, n + j)] + p.b[n + j]));
                let rh = Mat::from_fn(bsz, n, |i, j| r[(i, j)] * hp[(i, j)]);
                let mut c = Mat::<f64>::zeros(bsz, n);
                matmul(
                    c.as_mut(),
                    Accum::Replace,
                    rh.as_ref(),
                    rm(&p.w[2 * n * n..], n, n).transpose(),
                    1.0,
                    PAR,
                );
                matmul(
                    c.as_mut(),
                    Accum::Add,
                    xt.as_ref(),
                    rm(&p.u[2 * n * k..], n, k).transpose(),
                    1.0,
                    PAR,
                );
                for j in 0..n {
                    for i in 0..bsz {
                        c[(i, j)] = tanh(c[(i, j)] + p.b[2 * n + j]);
                    }
                }
                let h = Mat::from_fn(bsz, n, |i, j| {
                    let zz = z[(i, j)];
                    (1.0 - zz) * hp[(i, j)] + zz * c[(i, j)]
                });
                if cache {
                    out.gates.push([z, r, c]);
                }
                h
            }
        };
        let mut y = Mat::<f64>::zeros(bsz, k);
        matmul(
            y.as_mut(),
            Accum::Replace,
            h.as_ref(),
            cmat.transpose(),
            1.0,
            PAR,
        );
        for j in 0..k {
            for i in 0..bsz {
                y[(i, j)] += p.d[j];
            }
        }
        out.y.push(y);
        out.h.push(h);
    }
    out
}

/// Checks that the trials of a batch are T × K buffers with finite entries.
fn check_batch(net: &Network, inputs: &[Vec<f64>]) -> Result<usize> {
    let k = net.bits;
    let Some(first) = inputs.first() else {
        return Err(Error::Shape {
            array: "inputs".into(),
            reason: "no trials".into(),
        });
    };
    let len = first.len();
    if len == 0 || len % k != 0 {
        return Err(Error::Shape {
            array: "inputs".into(),
            reason: format!("a trial of {len} values is not T × K with T ≥ 1, K = {k}"),
        });
    }
    for (i, tr) in inputs.iter().enumerate() {
        if tr.len() != len {
            return Err(Error::Shape {
                array: "inputs".into(),
                reason: format!("trial {i} has {} values, trial 0 has {len}", tr.len()),
            });
        }
        if let Some(j) = tr.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                array: "inputs".into(),
                index: vec![i, j / k, j % k],
                value: tr[j],
            });
        }
    }
    Ok(len / k)
}

/// The hidden states h_1 … h_T of every trial (each T × n, row-major) for the given inputs (each
/// T × K, row-major), from h_0 = 0.
pub fn hidden_states(net: &Network, inputs: &[Vec<f64>]) -> Result<Vec<Vec<f64>>> {
    let steps = check_batch(net, inputs)?;
    let refs: Vec<&[f64]> = inputs.iter().map(Vec::as_slice).collect();
    let f = forward(net, &input_matrices(&refs, steps, net.bits), false);
    let n = net.hidden;
    Ok((0..inputs.len())
        .map(|b| {
            let mut out = Vec::with_capacity(steps * n);
            for h in &f.h[1..] {
                out.extend((0..n).map(|j| h[(b, j)]));
            }
            out
        })
        .collect())
}

/// The outputs y_1 … y_T of every trial (each T × K, row-major).
pub fn outputs(net: &Network, inputs: &[Vec<f64>]) -> Result<Vec<Vec<f64>>> {
    let steps = check_batch(net, inputs)?;
    let refs: Vec<&[f64]> = inputs.iter().map(Vec::as_slice).collect();
    let f = forward(net, &input_matrices(&refs, steps, net.bits), false);
    let k = net.bits;
    Ok((0..inputs.len())
        .map(|b| {
            let mut out = Vec::with_capacity(steps * k);
            for y in &f.y {
                out.extend((0..k).map(|j| y[(b, j)]));
            }
            out
        })
        .collect())
}

fn check_data(net: &Network, data: &FlipFlopData) -> Result<()> {
    if data.bits != net.bits {
        return Err(Error::Shape {
            array: "data".into(),
            reason: format!("{} channels, but the network has {}", data.bits, net.bits),
        });
    }
    if data.targets.len() != data.inputs.len()
        || data
            .targets
            .iter()
            .zip(&data.inputs)
            .any(|(s, x)| s.len() != x.len())
    {
        return Err(Error::Shape {
            array: "targets".into(),
            reason: "targets and inputs differ in shape".into(),
        });
    }
    for (i, tr) in data.targets.iter().enumerate() {
        if let Some(j) = tr.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                array: "targets".into(),
                index: vec![i, j / data.bits, j % data.bits],
                value: tr[j],
            });
        }
    }
    Ok(())
}

/// The fraction of scored outputs (s_tk ≠ 0) whose sign is the target's: sign(y_tk) = s_tk.
pub fn accuracy(net: &Network, data: &FlipFlopData) -> Result<f64> {
    check_data(net, data)?;
    let y = outputs(net, &data.inputs)?;
    let (mut right, mut scored) = (0usize, 0usize);
    for (yt, st) in y.iter().zip(&data.targets) {
        for (&v, &s) in yt.iter().zip(st) {
            if s != 0.0 {
                scored += 1;
                if v * s > 0.0 {
                    right += 1;
                }
            }
        }
    }
    Ok(right as f64 / scored.max(1) as f64)
}

/// The loss L and its gradient ∂L/∂θ (same layout as θ) on a batch, by back-propagation through
/// time (spec/cases.md §5).
pub fn loss_and_gradient(net: &Network, data: &FlipFlopData) -> Result<(f64, Vec<f64>)> {
    check_data(net, data)?;
    let steps = check_batch(net, &data.inputs)?;
    let refs: Vec<&[f64]> = data.inputs.iter().map(Vec::as_slice).collect();
    let x = input_matrices(&refs, steps, net.bits);
    let trefs: Vec<&[f64]> = data.targets.iter().map(Vec::as_slice).collect();
    let s = input_matrices(&trefs, steps, net.bits);
    Ok(backward(net, &x, &s))
}

fn backward(net: &Network, x: &[Mat<f64>], s: &[Mat<f64>]) -> (f64, Vec<f64>) {
    let (n, k, cell) = (net.hidden, net.bits, net.cell);
    let f = forward(net, x, true);
    let bsz = x.first().map_or(0, |m| m.nrows());
    let scored = s
        .iter()
        .map(|m| {
            let mut c = 0usize;
            for j in 0..k {
                for i in 0..bsz {
                    c += usize::from(m[(i, j)] != 0.0);
                }
            }
            c
        })
        .sum::<usize>()
        .max(1) as f64;
    let p = blocks(cell, n, k, &net.theta);
    let mut grad = vec![0.0; net.theta.len()];
    let g = blocks_mut(cell, n, k, &mut grad);
    let (gw, gu, gb, gc, gd) = (g.w, g.u, g.b, g.c, g.d);
    let mut loss = 0.0;
    let mut dh = Mat::<f64>::zeros(bsz, n);
    for t in (0..x.len()).rev() {
        // Readout: dy = (2/M) [s ≠ 0] (y − s); dC += dyᵀ h_t; dd += Σ_rows dy; dh += dy C.
        let (y, st) = (&f.y[t], &s[t]);
        let mut dy = Mat::<f64>::zeros(bsz, k);
        for j in 0..k {
            for i in 0..bsz {
                if st[(i, j)] != 0.0 {
                    let e = y[(i, j)] - st[(i, j)];
                    loss += e * e;
                    dy[(i, j)] = 2.0 * e / scored;
                    gd[j] += dy[(i, j)];
                }
            }
        }
        let ht = f.h[t + 1].as_ref();
        let hp = f.h[t].as_ref();
        matmul(rm_mut(gc, k, n), Accum::Add, dy.transpose(), ht, 1.0, PAR);
        matmul(
            dh.as_mut(),
            Accum::Add,
            dy.as_ref(),
            rm(p.c, k, n),
            1.0,
            PAR,
        );
        let xt = x[t].as_ref();
        dh = match cell {
            Cell::Tanh | Cell::Relu => {
                // da = dh ⊙ φ'(a); dW += daᵀ h_{t−1}; dU += daᵀ x_t; db += Σ da; dh_{t−1} = da W.
                let a = &f.a[t];
                let da = Mat::from_fn(bsz, n, |i, j| {
                    let d = if cell == Cell::Tanh {
                        1.0 - ht[(i, j)] * ht[(i, j)]
                    } else if a[(i, j)] > 0.0 {
                        1.0
                    } else {
                        0.0
                    };
                    dh[(i, j)] * d
                });
                matmul(rm_mut(gw, n, n), Accum::Add, da.transpose(), hp, 1.0, PAR);
                matmul(rm_mut(gu, n, k), Accum::Add, da.transpose(), xt, 1.0, PAR);
                for j in 0..n {
                    for i in 0..bsz {
                        gb[j] += da[(i, j)];
                    }
                }
                let mut prev = Mat::<f64>::zeros(bsz, n);
                matmul(
                    prev.as_mut(),
                    Accum::Replace,
                    da.as_ref(),
                    rm(p.w, n, n),
                    1.0,
                    PAR,
                );
                prev
            }
            Cell::Gru => {
                let [z, r, c] = &f.gates[t];
                // dc = dh ⊙ z, dA_c = dc ⊙ (1 − c²); d(r ⊙ h_{t−1}) = dA_c W_c.
                let dac = Mat::from_fn(bsz, n, |i, j| {
                    dh[(i, j)] * z[(i, j)] * (1.0 - c[(i, j)] * c[(i, j)])
                });
                let wc = rm(&p.w[2 * n * n..], n, n);
                let mut drh = Mat::<f64>::zeros(bsz, n);
                matmul(drh.as_mut(), Accum::Replace, dac.as_ref(), wc, 1.0, PAR);
                // dA_z = dh ⊙ (c − h_{t−1}) ⊙ z(1 − z); dA_r = d(r h) ⊙ h_{t−1} ⊙ r(1 − r).
                let dazr = Mat::from_fn(bsz, 2 * n, |i, jj| {
                    if jj < n {
                        let zz = z[(i, jj)];
                        dh[(i, jj)] * (c[(i, jj)] - hp[(i, jj)]) * zz * (1.0 - zz)
                    } else {
                        let j = jj - n;
                        let rr = r[(i, j)];
                        drh[(i, j)] * hp[(i, j)] * rr * (1.0 - rr)
                    }
                });
                let rh = Mat::from_fn(bsz, n, |i, j| r[(i, j)] * hp[(i, j)]);
                let (gw_zr, gw_c) = gw.split_at_mut(2 * n * n);
                let (gu_zr, gu_c) = gu.split_at_mut(2 * n * k);
                matmul(
                    rm_mut(gw_c, n, n),
                    Accum::Add,
                    dac.transpose(),
                    rh.as_ref(),
                    1.0,
                    PAR,
                );
                matmul(
                    rm_mut(gu_c, n, k),
                    Accum::Add,
                    dac.transpose(),
                    xt,
                    1.0,
                    PAR,
                );
                matmul(
                    rm_mut(gw_zr, 2 * n, n),
                    Accum::Add,
                    dazr.transpose(),
                    hp,
                    1.0,
                    PAR,
                );
                matmul(
                    rm_mut(gu_zr, 2 * n, k),
                    Accum::Add,
                    dazr.transpose(),
                    xt,
                    1.0,
                    PAR,
                );
                for j in 0..n {
                    for i in 0..bsz {
                        gb[j] += dazr[(i, j)];
                        gb[n + j] += dazr[(i, n + j)];
                        gb[2 * n + j] += dac[(i, j)];
                    }
                }
                // dh_{t−1} = dh ⊙ (1 − z) + d(r h) ⊙ r + dA_zr [W_z; W_r].
                let mut prev = Mat::from_fn(bsz, n, |i, j| {
                    dh[(i, j)] * (1.0 - z[(i, j)]) + drh[(i, j)] * r[(i, j)]
                });
                matmul(
                    prev.as_mut(),
                    Accum::Add,
                    dazr.as_ref(),
                    rm(&p.w[..2 * n * n], 2 * n, n),
                    1.0,
                    PAR,
                );
                prev
            }
        };
        flush_tiny(&mut dh);
    }
    (loss / scored, grad)
}

/// Training settings (spec/cases.md §5). `Default` is the documented setting for a 3-bit network
/// of 64 tanh units.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainParams {
    /// The cell.
    pub cell: Cell,
    /// n.
    pub hidden: usize,
    /// K.
    pub bits: usize,
    /// T of the training trials.
    pub steps: usize,
    /// B, trials per batch (a fresh batch every iteration).
    pub batch: usize,
    /// Number of Adam iterations.
    pub iterations: usize,
    /// Adam's learning rate η.
    pub learning_rate: f64,
    /// The gradient's Euclidean norm is clipped to this value before Adam.
    pub clip: f64,
    /// p, the pulse probability of the training trials.
    pub pulse_probability: f64,
    /// The seed: stream 0 initialises θ, stream 2³² + j is training trial j.
    pub seed: u64,
}

impl Default for TrainParams {
    fn default() -> Self {
        Self {
            cell: Cell::Tanh,
            hidden: 64,
            bits: 3,
            steps: 100,
            batch: 32,
            iterations: 500,
            learning_rate: 3e-3,
            clip: 1.0,
            pulse_probability: 0.05,
            seed: 0,
        }
    }
}

/// The result of training: the network and the loss of every iteration's batch (before its update).
#[derive(Debug, Clone, PartialEq)]
pub struct Trained {
    /// The trained network.
    pub network: Network,
    /// L on each iteration's batch.
    pub losses: Vec<f64>,
}

/// Trains a network (spec/cases.md §5): θ from [`Network::init`], then `iterations` Adam steps
/// (β₁ = 0.9, β₂ = 0.999, ε = 1e-8) on the BPTT gradient of fresh batches, each gradient clipped to
/// Euclidean norm ≤ `clip`. Deterministic for a given `p` (sequential matrix products).
pub fn train(p: &TrainParams) -> Result<Trained> {
    validate_task(p.bits, p.steps, p.pulse_probability)?;
    if p.batch == 0 {
        return Err(invalid("batch", 0, "need at least one trial per batch"));
    }
    if !(p.learning_rate.is_finite() && p.learning_rate > 0.0) {
        return Err(invalid(
            "learning_rate",
            p.learning_rate,
            "must be a finite number > 0",
        ));
    }
    if p.clip.is_nan() || p.clip <= 0.0 {
        return Err(invalid("clip", p.clip, "must be > 0 (∞ for no clipping)"));
    }
    let mut net = Network::init(p.cell, p.hidden, p.bits, p.seed)?;
    let (b1, b2, eps) = (0.9f64, 0.999f64, 1e-8);
    let mut m = vec![0.0; net.theta.len()];
    let mut v = vec![0.0; net.theta.len()];
    let mut losses = Vec::with_capacity(p.iterations);
    for it in 0..p.iterations {
        let batch: Vec<(Vec<f64>, Vec<f64>)> = (0..p.batch)
            .map(|b| {
                let j = (it * p.batch + b) as u64;
                let mut rng = stream(p.seed, TRAIN_STREAM + j);
                trial(&mut rng, p.bits, p.steps, p.pulse_probability)
            })
            .collect();
        let xr: Vec<&[f64]> = batch.iter().map(|(x, _)| x.as_slice()).collect();
        let sr: Vec<&[f64]> = batch.iter().map(|(_, s)| s.as_slice()).collect();
        let x = input_matrices(&xr, p.steps, p.bits);
        let s = input_matrices(&sr, p.steps, p.bits);
        let (loss, mut grad) = backward(&net, &x, &s);
        if !loss.is_finite() || grad.iter().any(|g| !g.is_finite()) {
            return Err(Error::NonFinite {
                array: format!("{} network training (iteration {it})", p.cell.name()),
                index: vec![it],
                value: loss,
            });
        }
        losses.push(loss);
        let norm = grad.iter().map(|g| g * g).sum::<f64>().sqrt();
        if norm > p.clip {
            let scale = p.clip / norm;
            grad.iter_mut().for_each(|g| *g *= scale);
        }
        let step = (it + 1) as i32;
        let (c1, c2) = (1.0 - b1.powi(step), 1.0 - b2.powi(step));
        for (((th, g), mi), vi) in net.theta.iter_mut().zip(&grad).zip(&mut m).zip(&mut v) {
            *mi = b1 * *mi + (1.0 - b1) * g;
            *vi = b2 * *vi + (1.0 - b2) * g * g;
            *th -= p.learning_rate * (*mi / c1) / ((*vi / c2).sqrt() + eps);
        }
    }
    Ok(Trained {
        network: net,
        losses,
    })
}
