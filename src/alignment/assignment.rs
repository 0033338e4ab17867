//! Exact solvers for the two discrete matching problems behind the spectral Wasserstein scores
//! (spec/alignment.md, "Wasserstein distances between spectra"):
//!
//! - [`solve_assignment`]: the linear assignment problem on an n×m cost matrix (n ≤ m), by shortest
//!   augmenting paths with dual potentials (the Hungarian method in its Jonker–Volgenant form), O(n²m).
//! - [`solve_uniform_transport`]: optimal transport between the uniform measures on n and m points (weights
//!   1/n and 1/m), as an integer transportation problem solved by the network simplex method.
//!
//! Both return their dual potentials, which certify optimality: the potentials are feasible for the dual
//! linear program and the dual objective equals the primal cost (up to floating-point rounding).

use faer::MatRef;

use crate::error::{Error, Result};

/// Exponent above which a cost matrix is rescaled (by a power of two, which is exact) before solving, so
/// that the potentials cannot overflow.
const RESCALE_EXPONENT: i32 = 256;

/// An optimal solution of the linear assignment problem (see [`solve_assignment`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    /// `columns[i]` is the column assigned to row i; the columns are pairwise distinct.
    pub columns: Vec<usize>,
    /// The total cost Σᵢ `cost[(i, columns[i])]`, summed in f64 in row order.
    pub cost: f64,
    /// Dual potential uᵢ of each row.
    pub row_potentials: Vec<f64>,
    /// Dual potential vⱼ of each column (≤ 0, and exactly 0 for a column left unassigned when n < m).
    pub column_potentials: Vec<f64>,
}

/// Solves the linear assignment problem: minimise Σᵢ `cost[(i, π(i))]` over injective maps π from the n
/// rows to the m columns (a permutation when n = m).
///
/// Algorithm: rows are inserted one at a time, in increasing index order; each insertion is a Dijkstra
/// search over reduced costs cᵢⱼ − uᵢ − vⱼ ≥ 0 for the cheapest augmenting path, followed by a potential
/// update (Hungarian method, Jonker–Volgenant shortest-augmenting-path form). O(n²m) time, O(m) extra
/// memory besides the output.
///
/// Determinism and ties: the result is a function of the matrix alone. When several columns have the same
/// tentative distance, an unassigned column is taken before an assigned one, and otherwise the one with
/// the smallest index; in particular a matrix whose entries are all equal yields the identity
/// (`columns[i] = i`), in O(nm) time.
///
/// Certificate: on return, uᵢ + vⱼ ≤ cᵢⱼ for all i, j and Σᵢ uᵢ + Σⱼ vⱼ = `cost`, both up to rounding of
/// order n·ε·max|c|. Entries larger than 2²⁵⁶ in magnitude trigger an exact power-of-two rescaling before
/// the search (entries below ~2⁻¹⁰⁷⁴ of the largest are then flushed to zero, which cannot change the
/// optimal value at f64 precision). `cost` is the f64 sum of the original entries, so it overflows to ±∞
/// only when the true total does.
///
/// An empty matrix (n = 0) has the empty assignment, of cost 0.
///
/// # Errors
/// - [`Error::Shape`] if n > m (transpose the matrix: every row must receive a distinct column);
/// - [`Error::NonFinite`] if an entry is NaN or ±∞ (`index` = `[i, j]`).
pub fn solve_assignment(cost: MatRef<'_, f64>) -> Result<Assignment> {
    let (n, m) = cost.shape();
    if n > m {
        return Err(Error::Shape {
            array: "cost matrix".into(),
            reason: format!("{n} rows but only {m} columns; an assignment needs rows ≤ columns"),
        });
    }
    let max_abs = max_abs_finite(cost, "cost matrix")?;
    if n == 0 {
        return Ok(Assignment {
            columns: Vec::new(),
            cost: 0.0,
            row_potentials: Vec::new(),
            column_potentials: vec![0.0; m],
        });
    }
    let shift = rescale_shift(max_abs);
    let c = |i: usize, j: usize| scale_pow2(cost[(i, j)], -shift);

    // Column index `m` is a virtual column holding the row being inserted.
    const NONE: usize = usize::MAX;
    let mut u = vec![0.0f64; n];
    let mut v = vec![0.0f64; m + 1];
    let mut row_of = vec![NONE; m + 1];
    let mut way = vec![m; m + 1];
    let mut minv = vec![f64::INFINITY; m + 1];
    let mut used = vec![false; m + 1];

    for i in 0..n {
        row_of[m] = i;
        let mut j0 = m;
        minv.iter_mut().for_each(|x| *x = f64::INFINITY);
        used.iter_mut().for_each(|x| *x = false);
        loop {
            used[j0] = true;
            let i0 = row_of[j0];
            let mut delta = f64::INFINITY;
            let mut j1 = NONE;
            for j in 0..m {
                if used[j] {
                    continue;
                }
                let cur = c(i0, j) - u[i0] - v[j];
                if cur < minv[j] {
                    minv[j] = cur;
                    way[j] = j0;
                }
                // Ties: a free column (which ends the search) before an assigned one, then the
                // smallest index.
                let free_tie =
                    minv[j] == delta && j1 != NONE && row_of[j] == NONE && row_of[j1] != NONE;
                if minv[j] < delta || free_tie {
                    delta = minv[j];
                    j1 = j;
                }
            }
            if j1 == NONE {
                // Unreachable with finite costs and n ≤ m; refuse rather than panic.
                return Err(Error::Decomposition {
                    what: "linear assignment (no augmenting path)",
                });
            }
            for j in 0..=m {
                if used[j] {
                    let r = row_of[j];
                    if r != NONE {
                        u[r] += delta;
                    }
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if row_of[j0] == NONE {
                break;
            }
        }
        // Augment along the alternating path ending at column j0.
        while j0 != m {
            let j1 = way[j0];
            row_of[j0] = row_of[j1];
            j0 = j1;
        }
    }

    let mut columns = vec![NONE; n];
    for (j, &r) in row_of.iter().take(m).enumerate() {
        if r != NONE {
            columns[r] = j;
        }
    }
    if columns.contains(&NONE) {
        return Err(Error::Decomposition {
            what: "linear assignment (incomplete matching)",
        });
    }
    let total = columns.iter().enumerate().map(|(i, &j)| cost[(i, j)]).sum();
    v.truncate(m);
    Ok(Assignment {
        columns,
        cost: total,
        row_potentials: u.into_iter().map(|x| scale_pow2(x, shift)).collect(),
        column_potentials: v.into_iter().map(|x| scale_pow2(x, shift)).collect(),
    })
}

/// An optimal coupling between the uniform measures on n sources and m sinks (see
/// [`solve_uniform_transport`]).
#[derive(Debug, Clone, PartialEq)]
pub struct TransportPlan {
    /// Σᵢⱼ Pᵢⱼ cᵢⱼ, the optimal transport cost.
    pub cost: f64,
    /// The non-zero entries (i, j, Pᵢⱼ) of the optimal coupling P, sorted by (i, j). Row sums are 1/n,
    /// column sums 1/m; every Pᵢⱼ is an integer multiple of gcd(n, m)/(n·m) (exactly so in the solver,
    /// rounded once when converted to f64 here).
    pub plan: Vec<(usize, usize, f64)>,
    /// Dual potential uᵢ of each source.
    pub source_potentials: Vec<f64>,
    /// Dual potential vⱼ of each sink.
    pub sink_potentials: Vec<f64>,
}

/// Exact optimal transport between the uniform probability measures on n sources and m sinks: minimise
/// Σᵢⱼ Pᵢⱼ cᵢⱼ over couplings P ≥ 0 with row sums 1/n and column sums 1/m.
///
/// Algorithm: with g = gcd(n, m) the problem is scaled to integers (each source supplies m/g units, each
/// sink demands n/g units) and solved by the primal network simplex method on the bipartite network plus
/// one artificial root node, started from the all-artificial tree and kept *strongly feasible*
/// (Cunningham's leaving-arc rule), which rules out cycling on the many degenerate pivots of this
/// problem. Entering arcs are chosen by block pricing (blocks of ⌈√(nm)⌉ arcs scanned cyclically, the
/// most negative reduced cost of the first block that has one); ties go to the first arc scanned. The
/// flows stay integers throughout, so the plan is an exact vertex of the transport polytope. Costs are
/// first scaled by a power of two so that max|c| ∈ [½, 1) (exact unless some entries become subnormal).
///
/// Optimality is declared when no reduced cost cᵢⱼ − uᵢ − vⱼ is below −8ε(|cᵢⱼ| + |uᵢ| + |vⱼ|), a bound on
/// the rounding error of computing it; the potentials (recomputed exactly from the tree after every
/// pivot, so they never drift) are returned as the certificate: uᵢ + vⱼ ≤ cᵢⱼ and
/// Σᵢ uᵢ/n + Σⱼ vⱼ/m = `cost`, both up to rounding.
///
/// # Errors
/// - [`Error::Shape`] if n = 0 or m = 0 (a uniform measure needs at least one point);
/// - [`Error::NonFinite`] if an entry is NaN or ±∞ (`index` = `[i, j]`);
/// - [`Error::Decomposition`] if the simplex exceeds its pivot budget (50·n·m + 10⁴ pivots; not
///   observed, kept so that no input can loop forever).
pub fn solve_uniform_transport(cost: MatRef<'_, f64>) -> Result<TransportPlan> {
    let (n, m) = cost.shape();
    if n == 0 || m == 0 {
        return Err(Error::Shape {
            array: "cost matrix".into(),
            reason: format!("{n}×{m}: both measures need at least one point"),
        });
    }
    let max_abs = max_abs_finite(cost, "cost matrix")?;
    // Scale so that max|c| ∈ [½, 1): the artificial arcs then cost 2 whatever the input's scale.
    let shift = if max_abs > 0.0 {
        exponent(max_abs) + 1
    } else {
        0
    };
    let cs: Vec<f64> = (0..n)
        .flat_map(|i| (0..m).map(move |j| (i, j)))
        .map(|(i, j)| scale_pow2(cost[(i, j)], -shift))
        .collect();
    let g = gcd(n, m);
    let (flow, pi) = network_simplex(&cs, n, m, m / g, n / g)?;

    let total_units = (n / g) * m;
    let f_total = total_units as f64;
    let mut plan = Vec::new();
    let mut weighted = 0.0;
    for i in 0..n {
        for j in 0..m {
            let units = flow[i * m + j];
            if units > 0 {
                plan.push((i, j, units as f64 / f_total));
                weighted += units as f64 * cost[(i, j)];
            }
        }
    }
    // Reduced cost of i→j is cᵢⱼ + πᵢ − π_{n+j}, so uᵢ = −πᵢ and vⱼ = π_{n+j}.
    Ok(TransportPlan {
        cost: weighted / f_total,
        plan,
        source_potentials: pi[..n].iter().map(|&p| scale_pow2(-p, shift)).collect(),
        sink_potentials: pi[n..n + m].iter().map(|&p| scale_pow2(p, shift)).collect(),
    })
}

const NONE: usize = usize::MAX;

/// The spanning tree of the network simplex, rooted at the artificial node, with child lists so that a
/// re-rooted subtree can be walked in time proportional to its size.
struct Tree {
    parent: Vec<usize>,
    /// Arc joining a node to its parent.
    pred_arc: Vec<usize>,
    depth: Vec<usize>,
    first_child: Vec<usize>,
    next_sib: Vec<usize>,
    prev_sib: Vec<usize>,
}

impl Tree {
    fn unlink(&mut self, x: usize) {
        let (p, prev, next) = (self.parent[x], self.prev_sib[x], self.next_sib[x]);
        if prev != NONE {
            self.next_sib[prev] = next;
        } else if p != NONE {
            self.first_child[p] = next;
        }
        if next != NONE {
            self.prev_sib[next] = prev;
        }
    }

    fn link(&mut self, x: usize, p: usize, arc: usize) {
        let first = self.first_child[p];
        self.prev_sib[x] = NONE;
        self.next_sib[x] = first;
        if first != NONE {
            self.prev_sib[first] = x;
        }
        self.first_child[p] = x;
        self.parent[x] = p;
        self.pred_arc[x] = arc;
    }
}

/// The network: sources 0..n, sinks n..n+m, root n+m. Arc e < n·m is source e/m → sink e%m; arc n·m + x
/// is the artificial arc x → root (x a source) or root → x (x a sink).
struct Network<'a> {
    cs: &'a [f64],
    n: usize,
    m: usize,
    art_cost: f64,
}

impl Network<'_> {
    fn tail(&self, e: usize) -> usize {
        let nm = self.n * self.m;
        if e < nm {
            e / self.m
        } else if e - nm < self.n {
            e - nm
        } else {
            self.n + self.m
        }
    }

    fn head(&self, e: usize) -> usize {
        let nm = self.n * self.m;
        if e < nm {
            self.n + e % self.m
        } else if e - nm < self.n {
            self.n + self.m
        } else {
            e - nm
        }
    }

    fn cost(&self, e: usize) -> f64 {
        self.cs.get(e).copied().unwrap_or(self.art_cost)
    }
}

/// Primal network simplex for the balanced transportation problem with every source supplying `supply`
/// and every sink demanding `demand` units (n·supply = m·demand). Returns the flows (row-major n×m) and
/// the node potentials π (sources, then sinks), with reduced costs c + π(tail) − π(head).
fn network_simplex(
    cs: &[f64],
    n: usize,
    m: usize,
    supply: usize,
    demand: usize,
) -> Result<(Vec<usize>, Vec<f64>)> {
    let nm = n * m;
    let root = n + m;
    let nodes = n + m + 1;
    // Costs are in [−1, 1), so a path through the root (cost 2·art_cost = 4) is never cheaper than a
    // real arc: at the optimum every artificial arc carries zero flow.
    let net = Network {
        cs,
        n,
        m,
        art_cost: 2.0,
    };
    let mut flow = vec![0usize; nm + n + m];
    let mut pi = vec![0.0f64; nodes];
    let mut tree = Tree {
        parent: vec![NONE; nodes],
        pred_arc: vec![NONE; nodes],
        depth: vec![0; nodes],
        first_child: vec![NONE; nodes],
        next_sib: vec![NONE; nodes],
        prev_sib: vec![NONE; nodes],
    };
    // Start: every node hangs from the root by its artificial arc, carrying its supply or demand (all
    // positive, so the tree is strongly feasible).
    for x in (0..n + m).rev() {
        tree.link(x, root, nm + x);
        tree.depth[x] = 1;
        if x < n {
            flow[nm + x] = supply;
            pi[x] = -net.art_cost;
        } else {
            flow[nm + x] = demand;
            pi[x] = net.art_cost;
        }
    }

    let block = ((nm as f64).sqrt().ceil() as usize).max(16).min(nm);
    let tol_factor = 8.0 * f64::EPSILON;
    let max_pivots = 50 * nm + 10_000;
    let mut next_arc = 0usize;
    let mut stack: Vec<usize> = Vec::new();
    let mut pivots = 0usize;
    loop {
        // Block pricing, scanning the real arcs cyclically from `next_arc`.
        let mut entering = NONE;
        let mut best = 0.0f64;
        let (mut i, mut j) = (next_arc / m, next_arc % m);
        let mut in_block = 0;
        for _ in 0..nm {
            let e = i * m + j;
            let c = cs[e];
            let (pu, pv) = (pi[i], pi[n + j]);
            let rc = c + pu - pv;
            if rc < best && -rc > tol_factor * (c.abs() + pu.abs() + pv.abs()) {
                best = rc;
                entering = e;
            }
            j += 1;
            if j == m {
                j = 0;
                i += 1;
                if i == n {
                    i = 0;
                }
            }
            in_block += 1;
            if in_block == block {
                if entering != NONE {
                    break;
                }
                in_block = 0;
            }
        }
        if entering == NONE {
            break;
        }
        next_arc = i * m + j;
        pivots += 1;
        if pivots > max_pivots {
            return Err(Error::Decomposition {
                what: "optimal transport (network simplex pivot budget)",
            });
        }

        // The cycle: entering arc p → q, then the tree path q → join → p.
        let (p, q) = (net.tail(entering), net.head(entering));
        let (mut a, mut b) = (p, q);
        while a != b {
            if tree.depth[a] >= tree.depth[b] {
                a = tree.parent[a];
            } else {
                b = tree.parent[b];
            }
        }
        let join = a;
        // Leaving arc: the last blocking arc met when walking the cycle in the entering arc's direction
        // from the join (join ⇝ p, p → q, q ⇝ join). Arcs against that direction lose flow and block.
        let mut delta = usize::MAX;
        let mut leave = NONE;
        let mut leave_on_p_side = true;
        let mut x = p;
        while x != join {
            let f = tree.pred_arc[x];
            if net.tail(f) == x && flow[f] < delta {
                delta = flow[f];
                leave = x;
            }
            x = tree.parent[x];
        }
        let mut x = q;
        while x != join {
            let f = tree.pred_arc[x];
            if net.head(f) == x && flow[f] <= delta {
                delta = flow[f];
                leave = x;
                leave_on_p_side = false;
            }
            x = tree.parent[x];
        }
        if leave == NONE {
            // Unreachable: the network has no directed cycle, so every cycle has a blocking arc.
            return Err(Error::Decomposition {
                what: "optimal transport (unbounded cycle)",
            });
        }
        if delta > 0 {
            flow[entering] += delta;
            for (start, toward_start) in [(p, true), (q, false)] {
                let mut x = start;
                while x != join {
                    let f = tree.pred_arc[x];
                    // On the p side the cycle runs parent → x; on the q side x → parent.
                    let along = if toward_start {
                        net.head(f) == x
                    } else {
                        net.tail(f) == x
                    };
                    if along {
                        flow[f] += delta;
                    } else {
                        flow[f] -= delta;
                    }
                    x = tree.parent[x];
                }
            }
        }

        // Re-hang the subtree cut off below the leaving arc from the entering arc.
        let (u_in, v_in) = if leave_on_p_side { (p, q) } else { (q, p) };
        let (mut child, mut new_parent, mut new_arc) = (u_in, v_in, entering);
        loop {
            let (old_parent, old_arc) = (tree.parent[child], tree.pred_arc[child]);
            tree.unlink(child);
            tree.link(child, new_parent, new_arc);
            if child == leave {
                break;
            }
            (new_parent, new_arc, child) = (child, old_arc, old_parent);
        }
        // Depths and potentials of the moved subtree, recomputed from its new parent (no drift).
        stack.clear();
        stack.push(u_in);
        while let Some(x) = stack.pop() {
            let par = tree.parent[x];
            let f = tree.pred_arc[x];
            tree.depth[x] = tree.depth[par] + 1;
            pi[x] = if net.tail(f) == x {
                pi[par] - net.cost(f)
            } else {
                pi[par] + net.cost(f)
            };
            let mut c = tree.first_child[x];
            while c != NONE {
                stack.push(c);
                c = tree.next_sib[c];
            }
        }
    }
    if flow[nm..].iter().any(|&f| f > 0) {
        // Unreachable for a balanced problem with these artificial costs.
        return Err(Error::Decomposition {
            what: "optimal transport (artificial flow left)",
        });
    }
    flow.truncate(nm);
    pi.truncate(n + m);
    Ok((flow, pi))
}

/// Largest |entry|, or the first non-finite entry as an error.
fn max_abs_finite(a: MatRef<'_, f64>, array: &str) -> Result<f64> {
    crate::linalg::check_finite(a, array)?;
    Ok((0..a.ncols()).fold(0.0f64, |m, j| {
        a.col(j).iter().fold(m, |m, x| m.max(x.abs()))
    }))
}

/// The power of two by which a matrix with largest entry `max_abs` is divided before solving (0 unless the
/// entries are large enough to threaten overflow of the potentials).
fn rescale_shift(max_abs: f64) -> i32 {
    if max_abs > 0.0 {
        let e = exponent(max_abs);
        if e > RESCALE_EXPONENT {
            return e + 1;
        }
    }
    0
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// e with 2^e ≤ x < 2^(e+1), for finite x > 0 (subnormals included).
pub(crate) fn exponent(x: f64) -> i32 {
    let biased = ((x.to_bits() >> 52) & 0x7ff) as i32;
    if biased == 0 {
        exponent(x * pow2(64)) - 64
    } else {
        biased - 1023
    }
}

/// 2^k for −1022 ≤ k ≤ 1023 (exact).
fn pow2(k: i32) -> f64 {
    f64::from_bits(((k + 1023) as u64) << 52)
}

/// x·2^k, exact unless the result overflows or is subnormal; applied in steps so that no intermediate
/// power of two leaves the normal range.
pub(crate) fn scale_pow2(mut x: f64, mut k: i32) -> f64 {
    while k != 0 {
        let step = k.clamp(-1000, 1000);
        x *= pow2(step);
        k -= step;
    }
    x
}
