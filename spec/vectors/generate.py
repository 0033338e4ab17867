"""Generate dynsim's conformance vectors (spec/conformance.md, "Conformance vectors").

Usage (from the repository root, after `cargo build`):

    /work/upstream-venv/bin/python spec/vectors/generate.py [--dynsim target/debug/dynsim]

numpy only. Every input is drawn from numpy.random.default_rng(SEED); every expected value is computed
here, independently of dynsim's code, from a closed form, an invariance, or a plain numpy
re-implementation of the spec (explicit index loops for the embedding, numpy's dense SVD for the
operator, brute force over permutations for Wasserstein). The one exception is the reference value of
the random PAVF pairs (no closed form exists): dynsim's alignment C is taken from `dynsim align`, and
the value it achieves, ||A^ - C B^ C^T||, is recomputed here from C (so the reference is a value
achieved by an orthogonal C, verified independently), together with an independent lower bound.

Writes spec/vectors/manifest.json and the input files under spec/vectors/data/.
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import math
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np

SEED = 20261130
HERE = Path(__file__).resolve().parent
DATA = HERE / "data"

# Tolerances (spec/conformance.md, "Tolerances"). `abs` + `rel` * scale, scale = max |expected|.
TOL = {
    "exact": {"abs": 0.0, "rel": 0.0},
    "hankel32": {"abs": 0.0, "rel": 1e-7},
    "sigma": {"abs": 0.0, "rel": 1e-10},
    "eig": {"abs": 0.0, "rel": 1e-8},
    "opsv": {"abs": 0.0, "rel": 1e-9},
    "f32": {"abs": 0.0, "rel": 1e-4},
    "pavf": {"abs": 1e-9, "rel": 0.0},
    "pavf32": {"abs": 1e-4, "rel": 0.0},
    "wass": {"abs": 1e-12, "rel": 1e-12},
    "wass32": {"abs": 1e-6, "rel": 1e-6},
    "zero": {"abs": 1e-8, "rel": 0.0},
    "zero32": {"abs": 1e-4, "rel": 0.0},
    "pipe": {"abs": 1e-8, "rel": 1e-8},
}

rng = np.random.default_rng(SEED)
vectors: list[dict] = []


def rel(path: Path) -> str:
    return str(path.relative_to(HERE))


def save(name: str, arr) -> str:
    p = DATA / name
    np.save(p, np.ascontiguousarray(np.asarray(arr, dtype=np.float64)))
    return rel(p)


def save_ragged(name: str, trials) -> str:
    """Like np.savez(p, *trials) (members arr_0.npy, arr_1.npy, ... in order, stored), but with a fixed
    timestamp so that a rerun writes the same bytes."""
    p = DATA / name
    with zipfile.ZipFile(p, "w", compression=zipfile.ZIP_STORED) as z:
        for i, t in enumerate(trials):
            buf = io.BytesIO()
            np.save(buf, np.ascontiguousarray(t, dtype=np.float64))
            z.writestr(zipfile.ZipInfo(f"arr_{i}.npy", date_time=(1980, 1, 1, 0, 0, 0)), buf.getvalue())
    return rel(p)


def check(output, compare, expected, tol=None, tol32=None):
    c = {"output": output, "compare": compare, "expected": expected}
    if tol is not None:
        c["tolerance"] = tol
    if tol32 is not None:
        c["tolerance_float32"] = tol32
    return c


def add(vid, stage, inputs, checks, why, optional=False):
    v = {"id": vid, "stage": stage, "inputs": inputs, "checks": checks, "why": why}
    if optional:
        v["optional"] = True
    vectors.append(v)


# ---------------------------------------------------------------- systems


def haar(n, det=None):
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    q = q * np.sign(np.diag(r))
    if det is not None and np.sign(np.linalg.det(q)) != det:
        q[:, 0] = -q[:, 0]
    return q


def blocks(eigs):
    """Real block-diagonal matrix with the given eigenvalues (complex ones given once, +imag)."""
    parts = []
    for z in eigs:
        if abs(z.imag) > 0:
            parts.append(np.array([[z.real, -z.imag], [z.imag, z.real]]))
        else:
            parts.append(np.array([[z.real]]))
    n = sum(p.shape[0] for p in parts)
    a = np.zeros((n, n))
    i = 0
    for p in parts:
        k = p.shape[0]
        a[i:i + k, i:i + k] = p
        i += k
    return a


def simulate(a, lengths, noise):
    n = a.shape[0]
    trials = []
    for t_len in lengths:
        x = np.zeros((t_len, n))
        x[0] = rng.standard_normal(n)
        for t in range(t_len - 1):
            x[t + 1] = a @ x[t] + noise * rng.standard_normal(n)
        trials.append(x)
    return trials


def full_spectrum(eigs):
    out = []
    for z in eigs:
        out.append(complex(z))
        if abs(z.imag) > 0:
            out.append(complex(z).conjugate())
    return out


# ---------------------------------------------------------------- independent reference implementation


def embed(trials, d, tau):
    """spec/embedding.md §2 by explicit loops: H_i[t, d*N + f] = x_i[t + (D-1-d) tau][f]."""
    rows, offsets = [], [0]
    for x in trials:
        t_len, n = x.shape
        tp = t_len - (d - 1) * tau
        for t in range(tp):
            row = np.empty(n * d)
            for blk in range(d):
                for f in range(n):
                    row[blk * n + f] = x[t + (d - 1 - blk) * tau][f]
            rows.append(row)
        offsets.append(offsets[-1] + tp)
    return np.array(rows), offsets


def rank_rule(s, rule, m_rows):
    kind = rule.get("kind", "full")
    p = len(s)
    if kind == "full":
        return p
    if kind == "fixed":
        return rule["rank"]
    if kind == "threshold":
        return max(1, int(np.sum(s > rule["threshold"])))
    if kind == "explained_variance":
        c = np.cumsum(s**2) / np.sum(s**2)
        return min(p, int(np.searchsorted(c, rule["fraction"])) + 1)
    if kind == "auto":
        beta = p / m_rows
        omega = 0.56 * beta**3 - 0.95 * beta**2 + 1.82 * beta + 1.43
        return max(1, int(np.sum(s > omega * np.median(s))))
    raise ValueError(kind)


def fit(trials, d=1, tau=1, rule=None, lam=1e-8, k=1, rrr=False):
    """spec/operator.md §2-5 with numpy's dense SVD (no QR, no sign convention: invariants only)."""
    h, offsets = embed(trials, d, tau)
    u, s, _ = np.linalg.svd(h, full_matrices=False)  # H = u diag(s) vt: u holds the whitened coords
    r = rank_rule(s, rule or {}, h.shape[0]) if not rrr else len(s)
    vm, vp = [], []
    for i in range(len(offsets) - 1):
        v = u[offsets[i]:offsets[i + 1], :r]
        vm.append(v[:-k])
        vp.append(v[k:])
    vm, vp = np.vstack(vm), np.vstack(vp)
    b = np.linalg.solve(vm.T @ vm + lam * np.eye(r), vm.T @ vp)
    a_v = b.T
    if rrr:
        # §5: P = V₊ᵀV₋ (V₋ᵀV₋ + λI)⁻¹ V₋ᵀV₊, eigenvectors W (descending), rule applied to ρ as upstream
        # applies it (threshold: ρ > θ; explained variance on ρ²); A_v = W_rᵀ Bᵀ W_r.
        pm = (vm.T @ vp).T @ b
        rho, w = np.linalg.eigh((pm + pm.T) / 2)
        rho, w = rho[::-1], w[:, ::-1]
        r = rank_rule(rho, rule or {}, h.shape[0])
        a_v = w[:, :r].T @ b.T @ w[:, :r]
    return {"rank": r, "sigma": s, "a_v": a_v, "eig": np.linalg.eigvals(a_v),
            "opsv": np.linalg.svd(a_v, compute_uv=False)}


def eig_list(z):
    z = sorted(np.asarray(z, dtype=complex), key=lambda w: (-abs(w), -w.real, -w.imag))
    return [[float(w.real), float(w.imag)] for w in z]


def eig_condition(a):
    """Largest eigenvalue condition number 1/|y^H x| (unit left/right eigenvectors)."""
    w, vr = np.linalg.eig(a)
    vl = np.linalg.inv(vr).conj().T
    c = 0.0
    for i in range(len(w)):
        x = vr[:, i] / np.linalg.norm(vr[:, i])
        y = vl[:, i] / np.linalg.norm(vl[:, i])
        c = max(c, 1.0 / abs(np.vdot(y, x)))
    return c


def operator_checks(ref, expected_eigs=None):
    return [
        check("rank", "exact", ref["rank"]),
        check("singular_values", "sorted", [float(x) for x in ref["sigma"]], TOL["sigma"], TOL["f32"]),
        check("eigenvalues", "multiset", eig_list(ref["eig"] if expected_eigs is None else expected_eigs),
              TOL["eig"], TOL["f32"]),
        check("operator_singular_values", "sorted", [float(x) for x in ref["opsv"]], TOL["opsv"], TOL["f32"]),
    ]


# ---------------------------------------------------------------- stage: embedding


def gen_embedding():
    x = rng.standard_normal((6, 2))
    f = save("embed_single.npy", x)
    h, _ = embed([x], 1, 1)
    assert np.array_equal(h, x)
    add("embedding/single_trial_d1", "embedding", {"data": f, "n_delays": 1, "delay_interval": 1},
        [check("hankel", "elementwise", h.tolist(), TOL["exact"], TOL["hankel32"])],
        "D = 1 is the identity: H = x (spec/embedding.md §2). Exact: the embedding copies values.")

    xs = rng.standard_normal((2, 9, 2))
    f = save("embed_trials.npy", xs)
    h, _ = embed(list(xs), 3, 2)
    add("embedding/two_trials_d3_tau2", "embedding", {"data": f, "n_delays": 3, "delay_interval": 2},
        [check("hankel", "elementwise", h.tolist(), TOL["exact"], TOL["hankel32"])],
        "Index formula H_i[t, d·N + f] = x_i[t + (D−1−d)τ][f] (block 0 newest; upstream's layout), "
        "evaluated by explicit loops in generate.py; T' = 9 − 4 = 5 rows per trial, trials stacked "
        "without crossing. Exact.")

    trials = [rng.standard_normal((t, 3)) for t in (7, 10, 8)]
    f = save_ragged("embed_ragged.npz", trials)
    h, _ = embed(trials, 2, 3)
    add("embedding/ragged_d2_tau3", "embedding", {"data": f, "n_delays": 2, "delay_interval": 3},
        [check("hankel", "elementwise", h.tolist(), TOL["exact"], TOL["hankel32"])],
        "Ragged trials (7, 10, 8 steps; one .npz member per trial, archive order): the same index "
        "formula per trial, rows stacked in trial order (4 + 7 + 5 = 16 rows). Exact.")


# ---------------------------------------------------------------- stage: operator


SYS = {}


def gen_systems():
    q3 = haar(3)
    a_rot = q3 @ blocks([0.9 * np.exp(1j * np.pi / 8), 0.6]) @ q3.T
    SYS["rot3"] = (a_rot, simulate(a_rot, [60, 60, 60], 0.05))
    q3b = haar(3)
    a_damp = q3b @ blocks([0.95, 0.5, -0.4]) @ q3b.T
    SYS["damp3"] = (a_damp, simulate(a_damp, [60, 60, 60], 0.05))
    q4 = haar(4)
    a_osc = q4 @ blocks([0.85 * np.exp(1j * np.pi / 5), 0.7 * np.exp(1j * np.pi / 3)]) @ q4.T
    SYS["osc4"] = (a_osc, simulate(a_osc, [80, 80], 0.05))
    q3c = haar(3)
    a_rag = q3c @ blocks([0.8 * np.exp(1j * np.pi / 6), -0.5]) @ q3c.T
    SYS["ragged3"] = (a_rag, simulate(a_rag, [40, 55, 70], 0.05))


def gen_operator():
    files = {
        "rot3": save("rot3.npy", np.stack(SYS["rot3"][1])),
        "damp3": save("damp3.npy", np.stack(SYS["damp3"][1])),
        "osc4": save("osc4.npy", np.stack(SYS["osc4"][1])),
        "ragged3": save_ragged("ragged3.npz", SYS["ragged3"][1]),
    }
    SYS["files"] = files

    # Noiseless planted system: eigenvalues of A_v = eigenvalues of A exactly (upstream.md §8.8).
    planted = [0.9 * np.exp(1j * np.pi / 6), 0.5]
    q = haar(3)
    a = q @ blocks(planted) @ q.T
    noiseless = simulate(a, [40, 40], 0.0)
    f = save("noiseless3.npy", np.stack(noiseless))
    ref = fit(noiseless, lam=0.0)
    spec = full_spectrum(planted)
    err = max(min(abs(z - w) for w in ref["eig"]) for z in spec)
    assert err < 1e-10, err
    add("operator/noiseless_planted_d1_full", "operator",
        {"data": f, "n_delays": 1, "delay_interval": 1, "rank": {"kind": "full"}, "lambda": 0.0,
         "steps_ahead": 1},
        operator_checks(ref, expected_eigs=spec),
        "Noise-free x_{t+1} = A x_t with A = Q·blocks·Qᵀ, planted eig(A) = 0.9e^{±iπ/6}, 0.5; D = 1, full "
        "rank, λ = 0: with H = V S Uᵀ, V₊ = V₋ S Uᵀ Aᵀ U S⁻¹, so A_v = S⁻¹ Uᵀ A U S, a similarity of A, "
        "and eig(A_v) = eig(A) (closed form; "
        f"numpy's dense-SVD reimplementation agrees to {err:.1e}). σ(H), σ(A_v): numpy reimplementation.")
    ref2 = fit(noiseless, lam=0.0, k=2)
    spec2 = [z * z for z in spec]
    add("operator/noiseless_planted_k2", "operator",
        {"data": f, "n_delays": 1, "delay_interval": 1, "rank": {"kind": "full"}, "lambda": 0.0,
         "steps_ahead": 2},
        operator_checks(ref2, expected_eigs=spec2),
        "Same noise-free data with steps_ahead = 2: v_{t+2} = A_v² v_t, so eig(A_v) = eig(A)² exactly "
        "(closed form; transition pairs within each trial).")

    cases = [
        ("operator/rot3_d1_full", "rot3", 1, 1, {"kind": "full"}, 1e-8, 1, False),
        ("operator/osc4_d3_full", "osc4", 3, 1, {"kind": "full"}, 1e-8, 1, False),
        ("operator/osc4_d3_rank4", "osc4", 3, 1, {"kind": "fixed", "rank": 4}, 1e-8, 1, False),
        ("operator/osc4_d3_tau2_rank5", "osc4", 3, 2, {"kind": "fixed", "rank": 5}, 1e-8, 1, False),
        ("operator/damp3_d3_rank6_ridge", "damp3", 3, 1, {"kind": "fixed", "rank": 6}, 0.1, 1, False),
        ("operator/rot3_d2_k2", "rot3", 2, 1, {"kind": "full"}, 1e-8, 2, False),
        ("operator/ragged3_d1_full", "ragged3", 1, 1, {"kind": "full"}, 1e-8, 1, False),
        ("operator/ragged3_d3_k2_rank4", "ragged3", 3, 1, {"kind": "fixed", "rank": 4}, 1e-8, 2, False),
    ]
    # Threshold and explained-variance rules with the parameter placed far from a tie.
    s = fit(SYS["osc4"][1], d=3)["sigma"]
    gaps = [(s[i] / s[i + 1], i) for i in range(2, len(s) - 2)]
    _, i = max(gaps)
    theta = float(math.sqrt(s[i] * s[i + 1]))
    cases.append(("operator/osc4_d3_rank_thresh", "osc4", 3, 1, {"kind": "threshold", "threshold": theta},
                  1e-8, 1, False))
    c = np.cumsum(s**2) / np.sum(s**2)
    frac = float((c[4] + c[5]) / 2)
    cases.append(("operator/osc4_d3_explained_variance", "osc4", 3, 1,
                  {"kind": "explained_variance", "fraction": frac}, 1e-8, 1, False))
    cases.append(("operator/rot3_d4_rank_auto", "rot3", 4, 1, {"kind": "auto"}, 1e-8, 1, True))
    cases.append(("operator/osc4_d2_reduced_rank4", "osc4", 2, 1, {"kind": "fixed", "rank": 4}, 1e-8, 1, True))

    why_extra = {
        "operator/osc4_d3_rank_thresh": f"rank_thresh θ = {theta:.6g}, the geometric mean of σ_{i + 1} and "
        f"σ_{i + 2} = {s[i]:.6g}, {s[i + 1]:.6g} (the widest gap), so r = {i + 1} is far from a tie even in float32.",
        "operator/osc4_d3_explained_variance": f"rank_explained_variance q = {frac:.6g}, midway between the "
        f"cumulative ratios {c[4]:.6g} (r = 5) and {c[5]:.6g} (r = 6): r = 6, far from a tie.",
        "operator/osc4_d2_reduced_rank4": "Reduced-rank regression (spec/operator.md §5) at rank 4: "
        "A_v = W_rᵀ Bᵀ W_r, the compression of upstream's p × p operator to span(W_r) (same non-zero "
        "eigenvalues, different singular values), hence optional.",
        "operator/rot3_d4_rank_auto": "Gavish–Donoho rule (dynsim's rank_auto, spec/operator.md §3.5; not in "
        "upstream, hence optional).",
        "operator/damp3_d3_rank6_ridge": "Ridge λ = 0.1 (large enough to change every eigenvalue by ≫ the "
        "tolerance).",
        "operator/ragged3_d3_k2_rank4": "Ragged trials (40, 55, 70 steps) with steps_ahead = 2: transition "
        "pairs within each trial only.",
        "operator/ragged3_d1_full": "Ragged trials: transition pairs within each trial only.",
        "operator/osc4_d3_tau2_rank5": "delay_interval = 2.",
        "operator/rot3_d2_k2": "steps_ahead = 2.",
    }
    for vid, sysname, d, tau, rule, lam, k, optional in cases:
        rrr = "reduced_rank" in vid
        ref = fit(SYS[sysname][1], d=d, tau=tau, rule=rule, lam=lam, k=k, rrr=rrr)
        kappa = eig_condition(ref["a_v"])
        inputs = {"data": files[sysname], "n_delays": d, "delay_interval": tau, "rank": rule, "lambda": lam,
                  "steps_ahead": k}
        if rrr:
            inputs["regression"] = "reduced_rank"
        add(vid, "operator", inputs,
            operator_checks(ref),
            "Independent reimplementation of spec/operator.md §2–4 in generate.py (numpy's dense SVD of "
            "H, rank rule on σ, ridge solve on the first r whitened coordinates within trials). A_v is "
            "compared through similarity invariants only (its singular vectors' signs are arbitrary): "
            f"rank, σ(H), eig(A_v) (largest eigenvalue condition number {kappa:.2g}), σ(A_v). "
            + why_extra.get(vid, ""),
            optional=optional)


# ---------------------------------------------------------------- stage: PAVF


def unit(a):
    return a / np.linalg.norm(a)


def angle(d):
    return 2.0 * math.asin(min(1.0, d / 2.0))


def lower_bound(a, b):
    """spec/alignment.md §6: max(Mirsky, split bound), normalised units."""
    a, b = unit(a), unit(b)
    mirsky = np.linalg.norm(np.linalg.svd(a, compute_uv=False) - np.linalg.svd(b, compute_uv=False))
    sa, sb = (a + a.T) / 2, (b + b.T) / 2
    ka, kb = (a - a.T) / 2, (b - b.T) / 2
    split = math.sqrt(np.sum((np.linalg.eigvalsh(sa) - np.linalg.eigvalsh(sb)) ** 2)
                      + np.sum((np.linalg.svd(ka, compute_uv=False) - np.linalg.svd(kb, compute_uv=False)) ** 2))
    return max(mirsky, split)


def pavf_two_sided(vid, a, b, d, why, tol=None, tol32=None):
    fa, fb = save(vid.split("/")[1] + "_a.npy", a), save(vid.split("/")[1] + "_b.npy", b)
    tol = tol or TOL["pavf"]
    tol32 = tol32 or TOL["pavf32"]
    add(vid, "pavf", {"a": fa, "b": fb},
        [check("angular", "scalar", angle(d), tol, tol32),
         check("euclidean", "scalar", float(d), tol, tol32)], why)


def closed_2x2(a, b):
    def parts(x):
        x = unit(x)
        return ((x[0, 0] + x[1, 1]) / 2, (x[1, 0] - x[0, 1]) / 2,
                math.hypot((x[0, 0] - x[1, 1]) / 2, (x[0, 1] + x[1, 0]) / 2))
    aa, ba, sa = parts(a)
    ab, bb, sb = parts(b)
    return math.sqrt(2 * (aa - ab) ** 2 + 2 * min(abs(ba - bb), abs(ba + bb)) ** 2 + 2 * (sa - sb) ** 2)


def brute_2x2(a, b):
    a, b = unit(a), unit(b)
    best = 9.0
    for phi in np.linspace(0, 2 * np.pi, 20001):
        r = np.array([[np.cos(phi), -np.sin(phi)], [np.sin(phi), np.cos(phi)]])
        for c in (r, r @ np.diag([1.0, -1.0])):
            best = min(best, np.linalg.norm(a - c @ b @ c.T))
    return best


def gen_pavf(dynsim):
    x, y = rng.standard_normal((5, 5)), rng.standard_normal((5, 5))
    a, b = x + x.T, y + y.T
    d = float(np.linalg.norm(np.linalg.eigvalsh(unit(a)) - np.linalg.eigvalsh(unit(b))))
    pavf_two_sided("pavf/symmetric_5", a, b, d,
                   "Symmetric pair: d̂ = ‖λ↑(Â) − λ↑(B̂)‖₂ exactly (Hoffman–Wielandt; spec/alignment.md §7.1), "
                   "θ = 2 asin(d̂/2).")

    while True:
        a, b = rng.standard_normal((2, 2)), rng.standard_normal((2, 2))
        ba, bb = (a[1, 0] - a[0, 1]), (b[1, 0] - b[0, 1])
        if ba * bb < 0 and min(abs(ba), abs(bb)) > 0.3:
            break
    d = closed_2x2(a, b)
    assert abs(d - brute_2x2(a, b)) < 1e-6
    pavf_two_sided("pavf/two_by_two_reflection", a, b, d,
                   "n = 2 closed form (spec/alignment.md §7.2): d̂² = 2(α_A−α_B)² + 2 min(|β_A−β_B|, "
                   "|β_A+β_B|)² + 2(s_A−s_B)²; here β_A, β_B have opposite signs, so the optimum is a "
                   "reflection (det C = −1). Checked in generate.py against a 20001-angle grid over both "
                   "components of O(2).")
    while True:
        a, b = rng.standard_normal((2, 2)), rng.standard_normal((2, 2))
        ba, bb = (a[1, 0] - a[0, 1]), (b[1, 0] - b[0, 1])
        if ba * bb > 0 and min(abs(ba), abs(bb)) > 0.3:
            break
    d = closed_2x2(a, b)
    assert abs(d - brute_2x2(a, b)) < 1e-6
    pavf_two_sided("pavf/two_by_two_rotation", a, b, d,
                   "n = 2 closed form (spec/alignment.md §7.2), rotation branch (β_A, β_B of the same "
                   "sign). Checked against a 20001-angle grid over O(2).")

    j = np.array([[0.0, -1.0], [1.0, 0.0]])
    pavf_two_sided("pavf/j_vs_jt", j, j.T, 0.0,
                   "J and Jᵀ = −J: distance 0, reached only by a reflection (C = diag(1, −1) gives C J Cᵀ = "
                   "−J). A solver restricted to rotations reports 2 (θ = π).")

    a = rng.standard_normal((6, 6))
    q = haar(6, det=-1)
    pavf_two_sided("pavf/haar_conjugate_6", a, q @ a @ q.T, 0.0,
                   "B = Q A Qᵀ with Q Haar-random, det Q = −1: distance exactly 0 (upstream.md §8.2).",
                   TOL["zero"], TOL["zero32"])
    a = rng.standard_normal((8, 8))
    perm = rng.permutation(8)
    p = np.zeros((8, 8))
    p[np.arange(8), perm] = rng.choice([-1.0, 1.0], 8)
    pavf_two_sided("pavf/signed_permutation_8", a, p @ a @ p.T, 0.0,
                   "B = P A Pᵀ with P a random signed permutation: distance exactly 0.",
                   TOL["zero"], TOL["zero32"])
    a = rng.standard_normal((5, 5))
    s = np.diag([1.0, -1.0, -1.0, 1.0, -1.0])
    pavf_two_sided("pavf/sign_flip_5", a, s @ a @ s, 0.0,
                   "B = S A S with S = diag(1, −1, −1, 1, −1): distance exactly 0. This is the optimum "
                   "between a DSA operator and the same system fitted with other singular-vector signs "
                   "(a rotation by π in two planes, unreachable from a Cayley chart around I).",
                   TOL["zero"], TOL["zero32"])

    for n in (4, 6):
        a, b = rng.standard_normal((n, n)), rng.standard_normal((n, n))
        name = f"random_{n}"
        fa, fb = save(name + "_a.npy", a), save(name + "_b.npy", b)
        out = subprocess.run([dynsim, "align", str(HERE / fa), str(HERE / fb)], check=True,
                             capture_output=True, text=True).stdout
        c = np.array(json.loads(out)["c"])
        assert np.max(np.abs(c.T @ c - np.eye(n))) < 1e-12
        fc = save(name + "_c.npy", c)
        d = float(np.linalg.norm(unit(a) - c @ unit(b) @ c.T))
        lb = lower_bound(a, b)
        assert lb <= d
        add(f"pavf/{name}", "pavf", {"a": fa, "b": fb, "reference_c": fc},
            [check("angular", "at_most", angle(d), TOL["pavf"], TOL["pavf32"]),
             check("angular", "at_least", angle(lb), TOL["pavf"], TOL["pavf32"]),
             check("euclidean", "at_most", d, TOL["pavf"], TOL["pavf32"]),
             check("euclidean", "at_least", lb, TOL["pavf"], TOL["pavf32"])],
            "Unrelated random pair: no closed form. Upper check: the reference is the value "
            f"‖Â − C B̂ Cᵀ‖ = {d:.12g} achieved by the orthogonal C in `reference_c` (dynsim's certified "
            "multistart result, recomputed from C by generate.py), so a port must reach it (or lower). "
            f"Lower check: d̂ ≥ {lb:.12g}, the larger of Mirsky's and the symmetric/skew split bound "
            "(spec/alignment.md §6), computed by generate.py; no C can go below it.")


# ---------------------------------------------------------------- stage: Wasserstein


def brute_w(a, b, p):
    """(1/n) min over permutations of Σ |a_i − b_π(i)|^p (p = 2: W₂², p = 1: W₁); equal sizes."""
    n = len(a)
    best = math.inf
    for perm in itertools.permutations(range(n)):
        best = min(best, sum(abs(a[i] - b[perm[i]]) ** p for i in range(n)) / n)
    return best


def transport_w(a, b, p):
    """Uniform measures of sizes n, m: replicate both to lcm(n, m) points (Birkhoff–von Neumann)."""
    lcm = len(a) * len(b) // math.gcd(len(a), len(b))
    return brute_w([z for z in a for _ in range(lcm // len(a))],
                   [z for z in b for _ in range(lcm // len(b))], p)


def spectrum_file(name, z):
    return save(name, np.array([[w.real, w.imag] for w in z]))


def gen_wasserstein():
    def conj_set(k_pairs, k_real):
        out = []
        for _ in range(k_pairs):
            w = complex(rng.uniform(-1, 1), rng.uniform(0.05, 1))
            out += [w, w.conjugate()]
        out += [complex(rng.uniform(-1, 1), 0) for _ in range(k_real)]
        return out

    a, b = conj_set(2, 1), conj_set(1, 3)
    fa, fb = spectrum_file("wass_eq5_a.npy", a), spectrum_file("wass_eq5_b.npy", b)
    for score, p, optional in (("wasserstein", 2, False), ("wasserstein2", 2, True), ("wasserstein1", 1, True)):
        val = brute_w(a, b, p)
        if score == "wasserstein2":
            val = math.sqrt(val)
        add(f"wasserstein/equal5_{score}", "wasserstein", {"a": fa, "b": fb, "score": score, "unequal": "transport"},
            [check("value", "scalar", val, TOL["wass"], TOL["wass32"])],
            f"Equal sizes (5 and 5): {'W₂²' if score == 'wasserstein' else ('W₂' if p == 2 else 'W₁')} = "
            "minimum over all 120 permutations (Birkhoff–von Neumann), brute force in generate.py."
            + ("" if not optional else " dynsim extension (upstream has W₂² only): optional."),
            optional=optional)

    a, b = conj_set(0, 2), conj_set(1, 1)
    fa, fb = spectrum_file("wass_2v3_a.npy", a), spectrum_file("wass_2v3_b.npy", b)
    add("wasserstein/unequal_2_3_transport", "wasserstein", {"a": fa, "b": fb, "score": "wasserstein", "unequal": "transport"},
        [check("value", "scalar", transport_w(a, b, 2), TOL["wass"], TOL["wass32"])],
        "Sizes 2 and 3, transport between uniform measures (upstream's DSA class): each point replicated "
        "to lcm = 6 points, then the minimum over all 720 permutations (exact: an optimal coupling of "
        "the replicated uniform measures is a permutation).")
    pad_a = a + [0j]
    add("wasserstein/unequal_2_3_zero_pad", "wasserstein", {"a": fa, "b": fb, "score": "wasserstein", "unequal": "zero_pad"},
        [check("value", "scalar", brute_w(pad_a, b, 2), TOL["wass"], TOL["wass32"])],
        "Sizes 2 and 3, zero-padding convention (upstream's matrix path): a zero eigenvalue appended to "
        "the shorter spectrum, then brute force over 6 permutations. Optional (a dynsim option).",
        optional=True)

    fa, fb = spectrum_file("wass_worked_a.npy", [1 + 0j]), spectrum_file("wass_worked_b.npy", [0.2 + 0j, 0.4 + 0j])
    add("wasserstein/worked_example", "wasserstein", {"a": fa, "b": fb, "score": "wasserstein", "unequal": "transport"},
        [check("value", "scalar", 0.5, TOL["wass"], TOL["wass32"])],
        "{1} vs {0.2, 0.4} under transport: the point 1 sends ½ to each, W₂² = ½(0.64 + 0.36) = 0.5 "
        "(spec/alignment.md, worked example).")


# ---------------------------------------------------------------- stage: pipeline


def gen_pipeline():
    files = SYS["files"]
    rot = SYS["rot3"][1]
    m = haar(3, det=-1)
    f_ro = save("rot3_readout.npy", np.stack([x @ m for x in rot]))
    for score in ("angular", "euclidean", "wasserstein"):
        add(f"pipeline/rot3_orthogonal_readout_{score}", "pipeline",
            {"x": files["rot3"], "y": f_ro, "n_delays": 3, "delay_interval": 1,
             "rank": {"kind": "fixed", "rank": 4}, "lambda": 1e-8, "steps_ahead": 1, "score": score},
            [check("value", "scalar", 0.0, TOL["zero"], TOL["zero32"])],
            "y = x M with M orthogonal (det −1): the Hankel matrix becomes H (I_D ⊗ M), σ and V are "
            "unchanged up to singular-vector signs, so A_v changes by a diagonal ±1 similarity at any "
            "rank and every DSA score is exactly 0 (upstream.md §8.7).")
    osc = SYS["osc4"][1]
    m = rng.standard_normal((4, 4)) + 2 * np.eye(4)
    f_inv = save("osc4_invertible_readout.npy", np.stack([x @ m for x in osc]))
    add("pipeline/osc4_invertible_readout_full_angular", "pipeline",
        {"x": files["osc4"], "y": f_inv, "n_delays": 2, "delay_interval": 1, "rank": {"kind": "full"},
         "lambda": 1e-8, "steps_ahead": 1, "score": "angular"},
        [check("value", "scalar", 0.0, TOL["zero"], TOL["zero32"])],
        "y = x M with M invertible (not orthogonal), D = 2, full rank r = N·D: the whitened coordinates "
        "V span the same column space (H' = H (I ⊗ M)), so A_v is only orthogonally conjugated, with or "
        "without ridge (upstream.md §8.7): angular distance exactly 0.")
    fx, fy = files["rot3"], files["damp3"]
    ra = fit(SYS["rot3"][1], d=3, rule={"kind": "fixed", "rank": 4})
    rb = fit(SYS["damp3"][1], d=3, rule={"kind": "fixed", "rank": 4})
    add("pipeline/rot3_vs_damp3_wasserstein", "pipeline",
        {"x": fx, "y": fy, "n_delays": 3, "delay_interval": 1, "rank": {"kind": "fixed", "rank": 4},
         "lambda": 1e-8, "steps_ahead": 1, "score": "wasserstein"},
        [check("value", "scalar", brute_w(list(ra["eig"]), list(rb["eig"]), 2), TOL["pipe"], TOL["f32"])],
        "Two different systems, D = 3, rank 4, W₂² between the spectra of A_v: numpy reimplementation "
        "of the fit (as in the operator stage) and brute force over the 24 permutations.")


def gen_pipeline_pavf(dynsim):
    files = SYS["files"]
    ra = fit(SYS["rot3"][1], d=3, rule={"kind": "fixed", "rank": 4})
    rb = fit(SYS["damp3"][1], d=3, rule={"kind": "fixed", "rank": 4})
    fa, fb = save("pipe_rot3_av.npy", ra["a_v"]), save("pipe_damp3_av.npy", rb["a_v"])
    out = subprocess.run([dynsim, "align", str(HERE / fa), str(HERE / fb)], check=True,
                         capture_output=True, text=True).stdout
    c = np.array(json.loads(out)["c"])
    fc = save("pipe_rot3_vs_damp3_c.npy", c)
    d = float(np.linalg.norm(unit(ra["a_v"]) - c @ unit(rb["a_v"]) @ c.T))
    lb = lower_bound(ra["a_v"], rb["a_v"])
    assert lb <= d
    add("pipeline/rot3_vs_damp3_angular", "pipeline",
        {"x": files["rot3"], "y": files["damp3"], "n_delays": 3, "delay_interval": 1,
         "rank": {"kind": "fixed", "rank": 4}, "lambda": 1e-8, "steps_ahead": 1, "score": "angular",
         "reference_operators": [fa, fb], "reference_c": fc},
        [check("value", "at_most", angle(d), TOL["pavf"], TOL["zero32"]),
         check("value", "at_least", angle(lb), TOL["pavf"], TOL["zero32"])],
        "Two different systems, D = 3, rank 4, angular PAVF. The operators are fitted by generate.py's "
        "numpy reimplementation (`reference_operators`, with numpy's singular-vector signs; the score is "
        "invariant to them). Upper check: the angle achieved by the orthogonal C in `reference_c` "
        "(dynsim's certified multistart on those operators), recomputed by generate.py. Lower check: "
        "2 asin(L̂/2) with L̂ the larger of Mirsky's and the split bound (spec/alignment.md §6), "
        "which depend only on orthogonal invariants of the operators.")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dynsim", default="target/debug/dynsim",
                    help="dynsim binary (only for the reference C of the random PAVF pairs)")
    args = ap.parse_args()
    DATA.mkdir(exist_ok=True)
    for old in DATA.glob("*"):
        old.unlink()
    gen_embedding()
    gen_systems()
    gen_operator()
    gen_pavf(args.dynsim)
    gen_wasserstein()
    gen_pipeline()
    gen_pipeline_pavf(args.dynsim)
    manifest = {
        "format": "dynsim-vectors",
        "version": 1,
        "generator": {
            "script": "spec/vectors/generate.py",
            "command": f"{sys.executable} spec/vectors/generate.py --dynsim {args.dynsim}",
            "numpy": np.__version__,
            "python": sys.version.split()[0],
            "seed": SEED,
        },
        "tolerance_rule": "a check passes when its error ≤ abs + rel·scale, scale = max |expected| "
                          "(spec/conformance.md); `tolerance_float32` applies to candidates that "
                          "declare precision float32",
        "vectors": vectors,
    }
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    print(f"{len(vectors)} vectors written to {HERE / 'manifest.json'}")


if __name__ == "__main__":
    main()
