#!/usr/bin/env python3
"""Cross-check dynsim against the upstream Python package `dsa-metric` 2.0.2 (`import DSA`).

Run with the upstream virtualenv's interpreter (never in CI):

    /work/upstream-venv/bin/python tools/crosscheck/crosscheck.py \
        [--out tests/data/crosscheck] [--dynsim target/release/dynsim]

It generates small seeded noisy linear systems with numpy, writes them as .npy into the fixtures
directory, runs upstream (as a library) and dynsim (the CLI, via subprocess) on the same files, and
writes `expected.json` (upstream's recorded values, the parameters and the tolerances, read by the
CI test `tests/it/crosscheck.rs`, which needs no Python) and a human-readable `report.md`.

Stages (spec/conformance.md, "Cross-check against dsa-metric 2.0.2"; `--stages` picks a subset):
  embedding:            upstream's float32 Hankel matrices (`DMD(...).compute_hankel()`), written as
                        fixtures; checked here against the spec's formula, against dynsim by the CI test;
  operator:             singular values of H, eigenvalues and singular values of A_v (upstream's `DMD`);
  reduced_rank:         upstream's `DMD(..., reduced_rank_reg=True)` (p x p) vs `dynsim fit --reduced-rank`
                        (r x r): rank, non-zero eigenvalues, singular values of the compression to span(W_r);
  wasserstein:          upstream's `DSA(..., score_method='wasserstein')` self-pairwise matrices
                        (equal ranks, then per-system unequal ranks) vs `dynsim pairwise --score wasserstein`;
  wasserstein_zero_pad: upstream's matrix path `SimilarityTransformDist(score_method='wasserstein')` on
                        operators of different sizes vs `--unequal zero-pad`; and upstream's `DSA` asked for
                        'angular' on different sizes (it returns the zero-padded W2^2);
  pavf:                 upstream's `DSA(x, y, score_method=S)`, S = 'angular' then 'euclidean' (Adam on a
                        Cayley map, default 1500 steps, lr 5e-3) vs `dynsim compare --score S`; dynsim must
                        not be worse;
  pavf_large:           the same (angular) on operators of size 8 to 12;
  dsa_matrix:           a full angular self-pairwise `DSA([...])` matrix vs `dynsim pairwise`, per entry.

This file only *calls* upstream; no upstream code is copied into dynsim.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from DSA import DSA as UpstreamDSA
from DSA.dmd import DMD as UpstreamDMD
from DSA.simdist import SimilarityTransformDist as UpstreamSimDist

try:
    from importlib.metadata import version as _pkg_version

    UPSTREAM_VERSION = _pkg_version("dsa-metric")
except Exception:  # pragma: no cover
    UPSTREAM_VERSION = "unknown"

REPO = Path(__file__).resolve().parents[2]
SEED = 20261129
TORCH_SEED = 0

# Tolerances and their reasons (also written into expected.json).
TOL_OPERATOR = 1e-4
TOL_OPERATOR_REASON = (
    "upstream computes in float32 (its Hankel buffer is float32), dynsim in float64: agreement to "
    "about 1e-4 relative is expected. Hankel singular values: per value, |s_dynsim - s_up| <= tol * s_up. "
    "Eigenvalues and singular values of A_v: relative to the largest modulus of the set "
    "(|x_dynsim - x_up| <= tol * max|x_up|), because a single small eigenvalue has no meaningful "
    "relative precision in float32. Eigenvalues are paired greedily (nearest unused, upstream's "
    "largest-modulus first); A_v itself is compared only through these similarity invariants."
)
TOL_WASSERSTEIN = 1e-4
TOL_WASSERSTEIN_REASON = (
    "absolute: W2^2 is in squared eigenvalue units and the spectra lie in the unit disc, so 1e-4 "
    "absolute is a relative error of at most ~1e-4 of the scale of the score; a relative tolerance is "
    "meaningless for entries that are ~0 (orthogonally rotated readouts, true value 0). The difference "
    "comes only from float32 eigenvalues upstream (first-order error 2*W2*|d lambda|)."
)
STAGES = ["embedding", "operator", "reduced_rank", "wasserstein", "wasserstein_zero_pad", "pavf",
          "pavf_large", "dsa_matrix"]

TOL_EMBEDDING_REASON = (
    "float32 rounding: upstream's Hankel buffer is float32 (the data are float64 until they are "
    "copied into it), dynsim's is float64 and copies the values exactly. So upstream's entry must equal "
    "dynsim's rounded to float32 (round to nearest even), exactly: |h_dynsim - h_up| <= 2^-24 |h_dynsim|."
)
TOL_RRR = 1e-4
TOL_RRR_REASON = (
    "float32 upstream, as for the operator stage; relative to the largest modulus of the set. Upstream's "
    "reduced-rank operator is p x p (B W_r W_r^T, row-vector convention), dynsim's is r x r "
    "(W_r^T B^T W_r, spec/operator.md section 5): they share the r non-zero eigenvalues (upstream's other "
    "p - r are 0), and dynsim's is orthogonally similar to the compression W_r^T A_up^T W_r of "
    "upstream's operator to span(W_r), whose singular values are computed in float64 from upstream's "
    "float32 A_v and eigenvectors W. Only cases where the rank cut is a clear gap of the projector's "
    "eigenvalues (rho_r - rho_{r+1} >= 1e-2 rho_1) are compared: at a tie W_r is not determined."
)
TOL_RRR_GAP = 1e-2
TOL_PAVF = 1e-4
TOL_PAVF_REASON = (
    "upper bound: upstream's PAVF (Adam on a Cayley map, random start, no convergence test) returns an "
    "upper bound on the true minimum angle, never reference digits; dynsim's certified optimiser must "
    "be at least as good: dynsim <= upstream + 1e-4 (float32 slack)."
)

# ---------------------------------------------------------------------------------------------------
# Data


def random_orthogonal(rng: np.random.Generator, n: int, det: float | None = None) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    q = q * np.sign(np.diag(r))
    if det is not None and np.sign(np.linalg.det(q)) != np.sign(det):
        q[:, 0] = -q[:, 0]
    return q


def block_operator(rng: np.random.Generator, eigs: list) -> np.ndarray:
    """A real matrix Q blockdiag(...) Q^T with the given eigenvalues (complex ones as conjugate pairs)."""
    blocks = []
    for e in eigs:
        if isinstance(e, complex):
            a, b = e.real, e.imag
            blocks.append(np.array([[a, -b], [b, a]]))
        else:
            blocks.append(np.array([[e]]))
    n = sum(b.shape[0] for b in blocks)
    m = np.zeros((n, n))
    i = 0
    for b in blocks:
        k = b.shape[0]
        m[i : i + k, i : i + k] = b
        i += k
    q = random_orthogonal(rng, n)
    return q @ m @ q.T


def simulate(rng, a, trials=3, steps=100, noise=0.05):
    n = a.shape[0]
    x = np.zeros((trials, steps, n))
    for k in range(trials):
        x[k, 0] = rng.standard_normal(n)
        for t in range(1, steps):
            x[k, t] = a @ x[k, t - 1] + noise * rng.standard_normal(n)
    return x


def make_datasets(rng: np.random.Generator) -> dict:
    """Five small systems: (3 trials, 100 steps, 3 or 4 features), float64."""
    specs = {}
    a_rot3 = block_operator(rng, [0.9 * np.exp(1j * np.pi / 8), 0.6])
    a_damp3 = block_operator(rng, [0.95, 0.5, -0.4])
    a_osc4 = block_operator(rng, [0.85 * np.exp(1j * np.pi / 5), 0.7 * np.exp(1j * np.pi / 3)])
    rot3 = simulate(rng, a_rot3)
    damp3 = simulate(rng, a_damp3)
    osc4 = simulate(rng, a_osc4)
    m3 = random_orthogonal(rng, 3, det=-1.0)
    m4 = random_orthogonal(rng, 4, det=+1.0)
    specs["rot3"] = (rot3, "x_{t+1} = A x_t + 0.05 e_t, eig(A) = {0.9 e^{+-i pi/8}, 0.6}")
    specs["rot3_readout"] = (rot3 @ m3, "rot3's data times a random orthogonal 3x3 M (det -1)")
    specs["damp3"] = (damp3, "x_{t+1} = A x_t + 0.05 e_t, eig(A) = {0.95, 0.5, -0.4}")
    specs["osc4"] = (osc4, "x_{t+1} = A x_t + 0.05 e_t, eig(A) = {0.85 e^{+-i pi/5}, 0.7 e^{+-i pi/3}}")
    specs["osc4_readout"] = (osc4 @ m4, "osc4's data times a random orthogonal 4x4 M (det +1)")
    a_rag = block_operator(rng, [0.8 * np.exp(1j * np.pi / 6), -0.5])
    ragged = [simulate(rng, a_rag, trials=1, steps=t)[0] for t in (60, 90, 120)]
    specs["ragged3"] = (ragged, "ragged: trials of 60, 90, 120 steps (an .npz, one member per trial), "
                                "eig(A) = {0.8 e^{+-i pi/6}, -0.5}")
    return specs


def save_system(path_stem: Path, x) -> str:
    """Writes one system: an array as .npy, a list of trials (ragged) as .npz (members in order)."""
    if isinstance(x, list):
        np.savez(path_stem.with_suffix(".npz"), *[np.ascontiguousarray(t, dtype=np.float64) for t in x])
        return path_stem.name + ".npz"
    np.save(path_stem.with_suffix(".npy"), np.ascontiguousarray(x, dtype=np.float64))
    return path_stem.name + ".npy"


def load_system(path: Path):
    """The system as upstream takes it: an array, or a list of (T_i, N) trials for an .npz."""
    if path.suffix == ".npz":
        with np.load(path) as z:
            return [z[k] for k in z.files]
    return np.load(path)


# ---------------------------------------------------------------------------------------------------
# dynsim (CLI)


def run_dynsim(dynsim: str, args: list) -> dict | None:
    out = subprocess.run([dynsim, *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout) if out.stdout.strip() else None


def fit_args(n_delays: int, rank: int | None) -> list:
    a = ["--n-delays", str(n_delays)]
    if rank is not None:
        a += ["--rank", str(rank)]
    return a


# ---------------------------------------------------------------------------------------------------
# Comparison helpers (the CI test implements the same rules in Rust)


def pair_greedy(up: np.ndarray, dyn: np.ndarray) -> np.ndarray:
    """For each upstream eigenvalue (largest modulus first), the nearest unused dynsim eigenvalue;
    returns dynsim's eigenvalues reordered to match `up` (complex arrays of equal length)."""
    order = np.argsort(-np.abs(up), kind="stable")
    used = np.zeros(len(dyn), dtype=bool)
    out = np.empty_like(dyn)
    for i in order:
        d = np.abs(dyn - up[i])
        d[used] = np.inf
        j = int(np.argmin(d))
        used[j] = True
        out[i] = dyn[j]
    return out


def rel_to_max(up: np.ndarray, dyn: np.ndarray) -> float:
    return float(np.max(np.abs(dyn - up)) / np.max(np.abs(up)))


def rel_each(up: np.ndarray, dyn: np.ndarray) -> float:
    return float(np.max(np.abs(dyn - up) / np.abs(up)))


def c2list(z) -> list:
    return [[float(v.real), float(v.imag)] for v in np.asarray(z)]


# ---------------------------------------------------------------------------------------------------
# Stages


# Upstream DMD keyword -> dynsim CLI option (None values are left out).
CLI_OPTION = {
    "n_delays": "--n-delays",
    "delay_interval": "--delay-interval",
    "rank": "--rank",
    "rank_thresh": "--rank-thresh",
    "rank_explained_variance": "--rank-explained-variance",
    "lamb": "--lambda",
    "steps_ahead": "--steps-ahead",
}


def operator_settings() -> list:
    """(case suffix, upstream DMD keyword arguments); unspecified keys keep both programs' defaults
    (delay_interval 1, full rank, lamb 1e-8, steps_ahead 1)."""
    base = [
        ("d1_full", {"n_delays": 1}),
        ("d3_full", {"n_delays": 3}),
        ("d3_r4", {"n_delays": 3, "rank": 4}),
    ]
    extra = [  # other options, on one dataset each
        ("d3_tau2_r5", {"n_delays": 3, "delay_interval": 2, "rank": 5}),
        ("d2_k2_full", {"n_delays": 2, "steps_ahead": 2}),
        ("d3_lamb0.1_r6", {"n_delays": 3, "rank": 6, "lamb": 0.1}),
        ("d3_ev0.95", {"n_delays": 3, "rank_explained_variance": 0.95}),
        ("d3_thresh1", {"n_delays": 3, "rank_thresh": 1.0}),
    ]
    return [(n, s, kw) for n in ["rot3", "damp3", "osc4"] for s, kw in base] + [
        ("osc4", *extra[0]), ("rot3", *extra[1]), ("damp3", *extra[2]),
        ("osc4", *extra[3]), ("rot3", *extra[4]),
        ("ragged3", "d1_full", {"n_delays": 1}),
        ("ragged3", "d3_k2_r4", {"n_delays": 3, "steps_ahead": 2, "rank": 4}),
    ]


def stage_operator(fix: Path, dynsim: str, files: dict) -> list:
    cases = []
    for name, suffix, kw in operator_settings():
        case = f"{name}_{suffix}"
        data = load_system(fix / files[name])
        dmd = UpstreamDMD(data, **kw)  # lamb defaults to 1e-8 (as dynsim)
        dmd.fit()
        a_v = dmd.A_v.detach().clone()
        up_s = dmd.S.detach().double().numpy()
        up_eig = torch.linalg.eig(a_v).eigenvalues.numpy().astype(np.complex128)
        up_sv = torch.linalg.svdvals(a_v).double().numpy()
        up_rank = int(a_v.shape[0])

        cli = [a for k, v in kw.items() for a in (CLI_OPTION[k], str(v))]
        js = run_dynsim(dynsim, ["fit", str(fix / files[name]), *cli])
        dyn_s = np.array(js["singular_values"], dtype=float)
        dyn_eig = np.array([complex(re, im) for re, im in js["eigenvalues"]])
        dyn_sv = np.linalg.svd(np.array(js["operator"], dtype=float), compute_uv=False)
        assert js["rank"] == up_rank, (case, js["rank"], up_rank)
        err = {
            "hankel_singular_values_rel_each": rel_each(up_s, dyn_s),
            "eigenvalues_rel_to_max": rel_to_max(up_eig, pair_greedy(up_eig, dyn_eig)),
            "operator_singular_values_rel_to_max": rel_to_max(up_sv, dyn_sv),
        }
        params = {
            "n_delays": kw.get("n_delays", 1),
            "delay_interval": kw.get("delay_interval", 1),
            "rank": kw.get("rank"),
            "rank_thresh": kw.get("rank_thresh"),
            "rank_explained_variance": kw.get("rank_explained_variance"),
            "lambda": kw.get("lamb", 1e-8),
            "steps_ahead": kw.get("steps_ahead", 1),
        }
        cases.append(
            {
                "case": case,
                "data": files[name],
                "params": params,
                "upstream_call": f"DSA.dmd.DMD(data, {', '.join(f'{k}={v!r}' for k, v in kw.items())}).fit()",
                "dynsim_command": " ".join(["dynsim", "fit", files[name], *cli]),
                "upstream": {
                    "rank": up_rank,
                    "hankel_singular_values": up_s.tolist(),
                    "eigenvalues": c2list(up_eig),
                    "operator_singular_values": up_sv.tolist(),
                },
                "tolerance": {"kind": "relative", "value": TOL_OPERATOR, "reason": TOL_OPERATOR_REASON},
                "dynsim_at_recording": err,
            }
        )
        print(f"[operator] {case} (rank {up_rank}): " + ", ".join(f"{k}={v:.2e}" for k, v in err.items()))
    return cases


def spec_embedding(x: np.ndarray, n_delays: int, tau: int) -> np.ndarray:
    """spec/embedding.md section 2 in numpy, float64: row t, block d is x[t + (D-1-d) tau]."""
    rows = x.shape[0] - (n_delays - 1) * tau
    return np.concatenate(
        [x[(n_delays - 1 - d) * tau : (n_delays - 1 - d) * tau + rows] for d in range(n_delays)], axis=1)


def stage_embedding(fix: Path, files: dict) -> list:
    """Upstream's Hankel matrix (`DMD(...).compute_hankel()`, i.e. `embed_signal_torch` per array or
    per ragged trial) is written as a float32 fixture; the CI test embeds the same data with
    `dynsim::embedding` and requires upstream's entries to equal dynsim's rounded to float32. Here it is
    checked against the spec's formula (numpy), which must give the same values after rounding."""
    cases = []
    for name, n_delays, tau in [("rot3", 3, 1), ("osc4", 2, 3), ("ragged3", 3, 2)]:
        case = f"{name}_d{n_delays}_tau{tau}"
        data = load_system(fix / files[name])
        dmd = UpstreamDMD(data, n_delays=n_delays, delay_interval=tau)
        dmd.compute_hankel()
        if isinstance(dmd.H, list):
            trials = [h.numpy() for h in dmd.H]
            xs = data
        else:
            trials = list(dmd.H.numpy())
            xs = list(data)
        assert all(h.dtype == np.float32 for h in trials), case
        spec = [spec_embedding(np.asarray(x, dtype=np.float64), n_delays, tau) for x in xs]
        exact = all(np.array_equal(h, s.astype(np.float32)) for h, s in zip(trials, spec))
        rel = max(float(np.max(np.abs(h.astype(np.float64) - s) / np.abs(s))) for h, s in zip(trials, spec))
        assert exact, f"{case}: upstream's embedding is not the spec's layout rounded to float32"
        stem = fix / f"embedding_{case}"
        if isinstance(dmd.H, list):
            np.savez(stem.with_suffix(".npz"), *trials)
            out = stem.name + ".npz"
        else:
            np.save(stem.with_suffix(".npy"), np.stack(trials))
            out = stem.name + ".npy"
        cases.append(
            {
                "case": case,
                "data": files[name],
                "params": {"n_delays": n_delays, "delay_interval": tau},
                "upstream_call": f"d = DSA.dmd.DMD(data, n_delays={n_delays}, delay_interval={tau}); "
                                 "d.compute_hankel(); d.H",
                "upstream_file": out,
                "upstream_shape": [list(h.shape) for h in trials],
                "upstream_dtype": "float32",
                "tolerance": {"kind": "float32_rounding", "value": 2.0 ** -24, "reason": TOL_EMBEDDING_REASON},
                "checked_at_recording": {
                    "equals_spec_formula_rounded_to_float32": exact,
                    "max_rel_rounding_vs_float64": rel,
                    "dynsim": "checked by tests/it/crosscheck.rs (the CLI does not print the Hankel matrix)",
                },
            }
        )
        print(f"[embedding] {case}: {sum(h.shape[0] for h in trials)} rows x {trials[0].shape[1]} columns, "
              f"= spec formula in float32: {exact}, max rel rounding {rel:.2e}")
    return cases


def rrr_settings() -> list:
    """(dataset, case suffix, upstream DMD keyword arguments) for reduced-rank regression."""
    return [
        ("rot3", "d3_r4", {"n_delays": 3, "rank": 4}),
        ("damp3", "d3_r3", {"n_delays": 3, "rank": 3}),
        ("osc4", "d3_r6", {"n_delays": 3, "rank": 6}),
        ("osc4", "d3_full", {"n_delays": 3}),
        ("damp3", "d3_lamb0.1_r5", {"n_delays": 3, "rank": 5, "lamb": 0.1}),
        ("rot3", "d3_thresh0.5", {"n_delays": 3, "rank_thresh": 0.5}),
        ("osc4", "d3_ev0.95", {"n_delays": 3, "rank_explained_variance": 0.95}),
        ("ragged3", "d2_r3", {"n_delays": 2, "rank": 3}),
        # The rank cuts a cluster of projector eigenvalues equal to 1 (to float32): W_r is not
        # determined by the data, so the two programs may pick different subspaces (documented).
        ("osc4", "d3_r4", {"n_delays": 3, "rank": 4}),
    ]


def stage_reduced_rank(fix: Path, dynsim: str, files: dict) -> list:
    cases = []
    for name, suffix, kw in rrr_settings():
        case = f"{name}_rrr_{suffix}"
        data = load_system(fix / files[name])
        dmd = UpstreamDMD(data, reduced_rank_reg=True, **kw)
        dmd.fit()
        a_up32 = dmd.A_v.detach().clone()
        p = int(a_up32.shape[0])
        r = int(dmd.rank)
        rho = dmd.proj_mat_S.detach().double().numpy()
        w = dmd.proj_mat_V.detach().double().numpy()
        a_up = a_up32.double().numpy()
        eig_all = torch.linalg.eig(a_up32).eigenvalues.numpy().astype(np.complex128)
        order = np.argsort(-np.abs(eig_all), kind="stable")
        eig_nz, eig_zero = eig_all[order[:r]], eig_all[order[r:]]
        # Column-vector form of upstream's operator: M = A_up^T; its compression to span(W_r), and the
        # block that maps span(W_perp) into span(W_r) (absent from dynsim's r x r operator).
        wr, wp = w[:, :r], w[:, r:]
        comp = wr.T @ a_up.T @ wr
        comp_sv = np.linalg.svd(comp, compute_uv=False)
        up_sv = np.linalg.svd(a_up, compute_uv=False)
        extra = float(np.linalg.norm(wr.T @ a_up.T @ wp) / np.linalg.norm(a_up)) if r < p else 0.0
        # At r = p there is no cut (W_r spans everything): always determined.
        gap = float((rho[r - 1] - rho[r]) / rho[0]) if r < p else None
        compared = gap is None or gap >= TOL_RRR_GAP

        cli = [a for k, v in kw.items() for a in (CLI_OPTION[k], str(v))] + ["--reduced-rank"]
        js = run_dynsim(dynsim, ["fit", str(fix / files[name]), *cli])
        dyn_eig = np.array([complex(re, im) for re, im in js["eigenvalues"]])
        dyn_op = np.array(js["operator"], dtype=float)
        dyn_sv = np.linalg.svd(dyn_op, compute_uv=False)
        err = {
            "rank_equal": js["rank"] == r,
            "eigenvalues_rel_to_max": rel_to_max(eig_nz, pair_greedy(eig_nz, dyn_eig))
            if len(dyn_eig) == r else None,
            "compression_singular_values_rel_to_max": rel_to_max(comp_sv, dyn_sv) if len(dyn_sv) == r else None,
            # What differs beyond the spectrum (information): dynsim's singular values, padded with
            # zeros to p, against those of upstream's p x p operator.
            "singular_values_vs_upstream_p_by_p_rel_to_max": rel_to_max(
                up_sv, np.concatenate([dyn_sv, np.zeros(p - len(dyn_sv))])),
        }
        if compared:
            assert err["rank_equal"], (case, js["rank"], r)
            assert err["eigenvalues_rel_to_max"] <= TOL_RRR, (case, err)
            assert err["compression_singular_values_rel_to_max"] <= TOL_RRR, (case, err)
        assert np.max(np.abs(eig_zero), initial=0.0) <= TOL_RRR * np.max(np.abs(eig_nz)), case
        params = {
            "n_delays": kw.get("n_delays", 1),
            "rank": kw.get("rank"),
            "rank_thresh": kw.get("rank_thresh"),
            "rank_explained_variance": kw.get("rank_explained_variance"),
            "lambda": kw.get("lamb", 1e-8),
            "regression": "reduced_rank",
        }
        tol = ({"kind": "relative", "value": TOL_RRR, "reason": TOL_RRR_REASON} if compared else
               {"kind": "rank_only", "value": TOL_RRR,
                "reason": f"the rank cut falls in a cluster of tied projector eigenvalues (rho_r - rho_(r+1) "
                          f"= {gap:.1e} rho_1 < {TOL_RRR_GAP:g}): span(W_r) is not determined, only the "
                          "rank is compared"})
        cases.append(
            {
                "case": case,
                "data": files[name],
                "params": params,
                "upstream_call": "DSA.dmd.DMD(data, reduced_rank_reg=True, "
                                 f"{', '.join(f'{k}={v!r}' for k, v in kw.items())}).fit()",
                "dynsim_command": " ".join(["dynsim", "fit", files[name], *cli]),
                "upstream": {
                    "rank": r,
                    "operator_shape": [p, p],
                    "projector_eigenvalues": rho.tolist(),
                    "rank_gap_rel": gap,
                    "eigenvalues_nonzero": c2list(eig_nz),
                    "eigenvalues_zero_max_modulus": float(np.max(np.abs(eig_zero), initial=0.0)),
                    "compression_singular_values": comp_sv.tolist(),
                    "operator_singular_values": up_sv.tolist(),
                    "extra_block_rel_norm": extra,
                },
                "tolerance": tol,
                "dynsim_at_recording": err,
            }
        )
        print(f"[reduced_rank] {case} (rank {r}, p {p}, gap {gap if gap is None else f'{gap:.1e}'}"
              f"{'' if compared else ', not compared'}): "
              + ", ".join(f"{k}={v:.2e}" if isinstance(v, float) else f"{k}={v}" for k, v in err.items())
              + f", extra block {extra:.3f}")
    return cases


def stage_wasserstein(fix: Path, dynsim: str, files: dict, tmp: Path) -> list:
    names = ["rot3", "rot3_readout", "damp3", "osc4", "osc4_readout"]
    data = [np.load(fix / files[n]) for n in names]
    cases = []
    for case, n_delays, ranks in [
        ("equal_ranks_d3_r4", 3, [4, 4, 4, 4, 4]),
        ("unequal_ranks_d3", 3, [3, 4, 5, 6, 4]),
    ]:
        t0 = time.time()
        up = UpstreamDSA(
            data, score_method="wasserstein", n_delays=n_delays, rank=list(ranks)
        ).fit_score()
        t_up = time.time() - t0
        up = np.asarray(up, dtype=float)
        models = []
        for n, r in zip(names, ranks):
            m = tmp / f"{case}_{n}.json"
            run_dynsim(dynsim, ["fit", str(fix / files[n]), *fit_args(n_delays, r), "--save", str(m)])
            models.append(str(m))
        out = tmp / f"{case}.npy"
        run_dynsim(dynsim, ["pairwise", *models, "--score", "wasserstein", "--output", str(out)])
        dyn = np.load(out)
        err = float(np.max(np.abs(dyn - up)))
        # The other convention for unequal sizes (zero-padding, upstream's matrix code path): shows
        # which one upstream's DSA class uses (it must differ from upstream when the ranks differ).
        out_zp = tmp / f"{case}_zero_pad.npy"
        run_dynsim(dynsim, ["pairwise", *models, "--score", "wasserstein", "--unequal", "zero-pad",
                            "--output", str(out_zp)])
        err_zp = float(np.max(np.abs(np.load(out_zp) - up)))
        cases.append(
            {
                "case": case,
                "data": [files[n] for n in names],
                "params": {"n_delays": n_delays, "ranks": ranks, "lambda": 1e-8,
                           "score": "wasserstein", "unequal": "transport"},
                "upstream": up.tolist(),
                "upstream_seconds": t_up,
                "tolerance": {"kind": "absolute", "value": TOL_WASSERSTEIN, "reason": TOL_WASSERSTEIN_REASON},
                "dynsim_at_recording": {"max_abs_err": err, "zero_pad_max_abs_diff": err_zp,
                                        "matrix": dyn.tolist()},
            }
        )
        print(f"[wasserstein] {case}: max |dynsim - upstream| = {err:.2e} "
              f"(dynsim --unequal zero-pad: {err_zp:.2e})")
    return cases


PAVF_PAIRS = [  # (x, y, n_delays, rank, true value); stage 3
    ("rot3", "rot3_readout", 3, 4, 0.0),
    ("osc4", "osc4_readout", 3, 4, 0.0),
    ("rot3", "damp3", 3, 4, None),
    ("rot3", "osc4", 3, 4, None),
    ("damp3", "osc4", 3, 4, None),
    ("rot3_readout", "osc4_readout", 3, 4, None),
]
PAVF_LARGE_PAIRS = [  # stage 3b: operators of size 8 to 12 (upstream: 5-10 s per pair)
    ("osc4", "osc4_readout", 3, 12, 0.0),
    ("rot3", "rot3_readout", 4, 10, 0.0),
    ("rot3", "damp3", 4, 10, None),
    ("damp3", "osc4", 4, 8, None),
    ("rot3", "osc4", 4, 12, None),
]


def stage_pavf(fix: Path, dynsim: str, files: dict, pairs: list, scores: list, suffix_size: bool) -> list:
    cases = []
    for score in scores:
        for x, y, n_delays, rank, truth in pairs:
            torch.manual_seed(TORCH_SEED)
            t0 = time.time()
            up = UpstreamDSA(
                np.load(fix / files[x]), np.load(fix / files[y]),
                score_method=score, n_delays=n_delays, rank=rank,
            ).fit_score()
            t_up = time.time() - t0
            js = run_dynsim(
                dynsim,
                ["compare", str(fix / files[x]), str(fix / files[y]), *fit_args(n_delays, rank),
                 "--score", score],
            )
            dyn = float(js["distance"])
            cases.append(
                {
                    "case": f"{x}_vs_{y}" + (f"_d{n_delays}_r{rank}" if suffix_size else "")
                            + ("" if score == "angular" else f"_{score}"),
                    "x": files[x],
                    "y": files[y],
                    "params": {"n_delays": n_delays, "rank": rank, "lambda": 1e-8, "score": score,
                               "upstream_iters": 1500, "upstream_lr": 5e-3, "torch_seed": TORCH_SEED},
                    "upstream_call": f"torch.manual_seed({TORCH_SEED}); DSA.DSA(x, y, score_method={score!r}, "
                                     f"n_delays={n_delays}, rank={rank}).fit_score()",
                    "dynsim_command": f"dynsim compare {files[x]} {files[y]} --n-delays {n_delays} "
                                      f"--rank {rank} --score {score}",
                    "true_value": truth,
                    "upstream": float(up),
                    "upstream_seconds": t_up,
                    "tolerance": {"kind": "upper_bound", "value": TOL_PAVF, "reason": TOL_PAVF_REASON},
                    "dynsim_at_recording": {"value": dyn, "lower_bound": js.get("lower_bound"),
                                            "upstream_minus_dynsim": float(up) - dyn},
                }
            )
            print(f"[pavf {score}] {x} vs {y} (D {n_delays}, rank {rank}): upstream {float(up):.6f} ({t_up:.1f} s), dynsim {dyn:.6f}")
    return cases


def stage_wasserstein_zero_pad(fix: Path, dynsim: str, files: dict, tmp: Path) -> list:
    """Upstream's matrix path: `SimilarityTransformDist(score_method='wasserstein').fit_score(A, B)` on
    the fitted A_v (float32 tensors) of different sizes pads the shorter eigenvalue list with zeros
    (`_get_wasserstein_vars`); dynsim: `pairwise --score wasserstein --unequal zero-pad`. All ordered
    pairs are computed upstream (both orders, and the diagonal)."""
    names = ["rot3", "rot3_readout", "damp3", "osc4", "osc4_readout"]
    cases = []
    for case, n_delays, ranks in [
        ("zero_pad_d3", 3, [3, 4, 5, 6, 4]),
        ("zero_pad_d4", 4, [2, 8, 5, 12, 6]),
    ]:
        t0 = time.time()
        ops = []
        for n, r in zip(names, ranks):
            dmd = UpstreamDMD(np.load(fix / files[n]), n_delays=n_delays, rank=r, lamb=1e-8)
            dmd.fit()
            ops.append(dmd.A_v.detach().clone())
        sd = UpstreamSimDist(score_method="wasserstein")
        up = np.array([[float(sd.fit_score(a, b)) for b in ops] for a in ops])
        t_up = time.time() - t0
        models = []
        for n, r in zip(names, ranks):
            m = tmp / f"{case}_{n}.json"
            run_dynsim(dynsim, ["fit", str(fix / files[n]), *fit_args(n_delays, r), "--save", str(m)])
            models.append(str(m))
        out = tmp / f"{case}.npy"
        run_dynsim(dynsim, ["pairwise", *models, "--score", "wasserstein", "--unequal", "zero-pad",
                            "--output", str(out)])
        dyn = np.load(out)
        err = float(np.max(np.abs(dyn - up)))
        out_tr = tmp / f"{case}_transport.npy"
        run_dynsim(dynsim, ["pairwise", *models, "--score", "wasserstein", "--output", str(out_tr)])
        err_tr = float(np.max(np.abs(np.load(out_tr) - up)))
        assert err <= TOL_WASSERSTEIN, (case, err)
        cases.append(
            {
                "case": case,
                "data": [files[n] for n in names],
                "params": {"n_delays": n_delays, "ranks": ranks, "lambda": 1e-8,
                           "score": "wasserstein", "unequal": "zero_pad"},
                "upstream_call": "A_i = DSA.dmd.DMD(x_i, n_delays=..., rank=r_i, lamb=1e-8).fit().A_v; "
                                 "DSA.simdist.SimilarityTransformDist(score_method='wasserstein')"
                                 ".fit_score(A_i, A_j) for all i, j",
                "upstream": up.tolist(),
                "upstream_seconds": t_up,
                "tolerance": {"kind": "absolute", "value": TOL_WASSERSTEIN, "reason": TOL_WASSERSTEIN_REASON},
                "dynsim_at_recording": {"max_abs_err": err, "transport_max_abs_diff": err_tr,
                                        "matrix": dyn.tolist()},
            }
        )
        print(f"[wasserstein zero-pad] {case}: max |dynsim - upstream| = {err:.2e} "
              f"(dynsim default transport: {err_tr:.2e})")

    # A PAVF score on operators of different sizes: upstream's `DSA` class passes the two matrices to
    # the same path, which warns and returns the zero-padded W2^2 under the name 'angular'.
    x, y, n_delays, ranks = "rot3", "damp3", 3, [3, 5]
    torch.manual_seed(TORCH_SEED)
    import warnings
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        up = np.asarray(UpstreamDSA([np.load(fix / files[x]), np.load(fix / files[y])],
                                    score_method="angular", n_delays=n_delays, rank=ranks).fit_score())
    warned = any("wasserstein" in str(w.message) for w in caught)
    models = []
    for n, r in zip([x, y], ranks):
        m = tmp / f"fallback_{n}.json"
        run_dynsim(dynsim, ["fit", str(fix / files[n]), *fit_args(n_delays, r), "--save", str(m)])
        models.append(m)
    zp = run_dynsim(dynsim, ["compare", *map(str, models), "--score", "wasserstein", "--unequal", "zero-pad"])
    ang = run_dynsim(dynsim, ["compare", *map(str, models), "--score", "angular"])
    err = abs(float(zp["distance"]) - float(up[1, 0]))
    assert err <= TOL_WASSERSTEIN, err
    cases.append(
        {
            "case": f"{x}_vs_{y}_angular_unequal_falls_back",
            "data": [files[x], files[y]],
            "params": {"n_delays": n_delays, "ranks": ranks, "lambda": 1e-8,
                       "score": "wasserstein", "unequal": "zero_pad", "upstream_score_method": "angular"},
            "upstream_call": f"DSA.DSA([x, y], score_method='angular', n_delays={n_delays}, "
                             f"rank={ranks}).fit_score()[1, 0]",
            "upstream": float(up[1, 0]),
            "upstream_warned_fallback_to_wasserstein": warned,
            "tolerance": {"kind": "absolute", "value": TOL_WASSERSTEIN, "reason": TOL_WASSERSTEIN_REASON},
            "dynsim_at_recording": {"zero_pad_wasserstein": float(zp["distance"]), "abs_err": err,
                                    "angular_zero_padded_operators": float(ang["distance"])},
        }
    )
    print(f"[wasserstein zero-pad] upstream DSA angular on ranks {ranks}: {float(up[1, 0]):.6f} "
          f"(a W2^2; dynsim zero-pad W2^2 {float(zp['distance']):.6f}; dynsim's angle on the zero-padded "
          f"operators {float(ang['distance']):.6f})")
    return cases


def stage_dsa_matrix(fix: Path, dynsim: str, files: dict, tmp: Path) -> list:
    """A full self-pairwise angular `DSA(...)` matrix vs `dynsim pairwise --score angular`
    (one-sided per entry, as stage 3)."""
    names = ["rot3", "rot3_readout", "damp3", "osc4"]
    n_delays, rank = 3, 6
    torch.manual_seed(TORCH_SEED)
    t0 = time.time()
    up = np.asarray(UpstreamDSA([np.load(fix / files[n]) for n in names], score_method="angular",
                                n_delays=n_delays, rank=rank).fit_score(), dtype=float)
    t_up = time.time() - t0
    out = tmp / "dsa_matrix.npy"
    run_dynsim(dynsim, ["pairwise", *[str(fix / files[n]) for n in names], *fit_args(n_delays, rank),
                        "--score", "angular", "--output", str(out)])
    dyn = np.load(out)
    truth = [[0.0 if (i == j or {names[i], names[j]} == {"rot3", "rot3_readout"}) else None
              for j in range(len(names))] for i in range(len(names))]
    gaps = (up - dyn).tolist()
    assert np.all(dyn <= up + TOL_PAVF), (up, dyn)
    case = {
        "case": "angular_4x4_d3_r6",
        "data": [files[n] for n in names],
        "params": {"n_delays": n_delays, "rank": rank, "lambda": 1e-8, "score": "angular",
                   "upstream_iters": 1500, "upstream_lr": 5e-3, "torch_seed": TORCH_SEED},
        "upstream_call": f"torch.manual_seed({TORCH_SEED}); DSA.DSA([rot3, rot3_readout, damp3, osc4], "
                         f"score_method='angular', n_delays={n_delays}, rank={rank}).fit_score()",
        "dynsim_command": f"dynsim pairwise {' '.join(files[n] for n in names)} --n-delays {n_delays} "
                          f"--rank {rank} --score angular --output D.npy",
        "true_value": truth,
        "upstream": up.tolist(),
        "upstream_seconds": t_up,
        "tolerance": {"kind": "upper_bound", "value": TOL_PAVF, "reason": TOL_PAVF_REASON},
        "dynsim_at_recording": {"matrix": dyn.tolist(), "upstream_minus_dynsim": gaps},
    }
    print(f"[dsa matrix] upstream ({t_up:.1f} s):\n{np.array2string(up, precision=6)}\n"
          f"dynsim:\n{np.array2string(dyn, precision=6)}")
    return [case]


# ---------------------------------------------------------------------------------------------------
# Report


def summarize(doc: dict) -> dict:
    out = {}
    if doc.get("operator"):
        ops = [c["dynsim_at_recording"] for c in doc["operator"]]
        out["operator_worst"] = {k: max(e[k] for e in ops) for k in ops[0]}
    if doc.get("wasserstein"):
        out["wasserstein_worst_abs_err"] = max(
            c["dynsim_at_recording"]["max_abs_err"] for c in doc["wasserstein"])
    def gap_summary(gaps: list) -> dict:
        return {
            "pairs": len(gaps),
            "dynsim_lower_by_more_than_tolerance": sum(g > TOL_PAVF for g in gaps),
            "largest_improvement": max(gaps),
            "largest_excess_of_dynsim": max(0.0, -min(gaps)),
            "gaps_upstream_minus_dynsim": gaps,
        }

    for stage in ["pavf", "pavf_large"]:
        if doc.get(stage):
            out[stage] = {}
            for score in sorted({c["params"]["score"] for c in doc[stage]}):
                cs = [c for c in doc[stage] if c["params"]["score"] == score]
                out[stage][score] = gap_summary([c["upstream"] - c["dynsim_at_recording"]["value"] for c in cs])
    if doc.get("embedding"):
        out["embedding_max_rel_rounding"] = max(
            c["checked_at_recording"]["max_rel_rounding_vs_float64"] for c in doc["embedding"])
    if doc.get("reduced_rank"):
        cmp = [c["dynsim_at_recording"] for c in doc["reduced_rank"] if c["tolerance"]["kind"] == "relative"]
        out["reduced_rank_worst"] = {
            k: max(e[k] for e in cmp)
            for k in ["eigenvalues_rel_to_max", "compression_singular_values_rel_to_max",
                      "singular_values_vs_upstream_p_by_p_rel_to_max"]}
        out["reduced_rank_compared"] = len(cmp)
        out["reduced_rank_cases"] = len(doc["reduced_rank"])
    if doc.get("wasserstein_zero_pad"):
        out["wasserstein_zero_pad_worst_abs_err"] = max(
            c["dynsim_at_recording"].get("max_abs_err", c["dynsim_at_recording"].get("abs_err"))
            for c in doc["wasserstein_zero_pad"])
    if doc.get("dsa_matrix"):
        gaps = [g for c in doc["dsa_matrix"]
                for i, row in enumerate(c["dynsim_at_recording"]["upstream_minus_dynsim"])
                for j, g in enumerate(row) if j < i]  # off-diagonal, each unordered pair once
        out["dsa_matrix"] = gap_summary(gaps)
    return out


def pavf_table(title: str, cases: list) -> list:
    lines = [title, "",
             "| pair | D | rank | score | true value | upstream | dynsim | upstream − dynsim |",
             "|---|---|---|---|---|---|---|---|"]
    for c in cases:
        e = c["dynsim_at_recording"]
        tv = "—" if c["true_value"] is None else f"{c['true_value']}"
        lines.append(f"| {c['case']} | {c['params']['n_delays']} | {c['params']['rank']} | {c['params']['score']} "
                     f"| {tv} | {c['upstream']:.6f} | {e['value']:.6f} | {e['upstream_minus_dynsim']:.2e} |")
    return lines + [""]


def gap_sentence(what: str, sp: dict) -> str:
    return (f"{what}: dynsim lower than upstream by more than {TOL_PAVF:g} on "
            f"{sp['dynsim_lower_by_more_than_tolerance']} of {sp['pairs']} pairs "
            f"(largest improvement {sp['largest_improvement']:.4f}); dynsim above upstream by at "
            f"most {sp['largest_excess_of_dynsim']:.1e}.")


def write_report(path: Path, doc: dict) -> None:
    h = doc["header"]
    summ = doc.get("summary", {})
    lines = [
        "# Cross-check report: dynsim vs dsa-metric " + h["upstream_version"],
        "",
        f"Generated {h['date']} by `{h['command']}` (torch {h['torch']}, numpy {h['numpy']}; "
        f"script run time {h.get('script_seconds', float('nan')):.0f} s).",
        "Tolerances and their reasons: `expected.json`; the rules: spec/conformance.md.",
        "",
    ]
    if doc.get("embedding"):
        lines += ["## 0. Delay embedding", "",
                  "Upstream's Hankel matrix (float32) is stored as a fixture; it equals the spec's layout "
                  "(spec/embedding.md §2) rounded to float32, and the CI test requires dynsim's float64 "
                  "embedding rounded to float32 to equal it exactly.", "",
                  "| case | fixture | shape (per trial) | = spec formula in float32 | max rel. rounding |",
                  "|---|---|---|---|---|"]
        for c in doc["embedding"]:
            e = c["checked_at_recording"]
            shapes = sorted({tuple(x) for x in c["upstream_shape"]})
            lines.append(f"| {c['case']} | `{c['upstream_file']}` | {len(c['upstream_shape'])} × "
                         f"{', '.join(str(list(x)) for x in shapes)} | {e['equals_spec_formula_rounded_to_float32']} "
                         f"| {e['max_rel_rounding_vs_float64']:.2e} |")
        lines.append("")
    if doc.get("operator"):
        lines += ["## 1. Operator", "",
                  "| case | rank | max rel err σ(H) (per value) | eig(A_v) (rel. to max) | σ(A_v) (rel. to max) |",
                  "|---|---|---|---|---|"]
        for c in doc["operator"]:
            e = c["dynsim_at_recording"]
            lines.append(f"| {c['case']} | {c['upstream']['rank']} | {e['hankel_singular_values_rel_each']:.2e} "
                         f"| {e['eigenvalues_rel_to_max']:.2e} | {e['operator_singular_values_rel_to_max']:.2e} |")
        lines.append("")
    if doc.get("reduced_rank"):
        lines += ["## 1b. Reduced-rank regression", "",
                  "Upstream's operator is p × p (B W_r W_rᵀ), dynsim's r × r (W_rᵀ Bᵀ W_r). Compared: the rank, "
                  "the r non-zero eigenvalues, and σ of the compression W_rᵀ A_upᵀ W_r of upstream's operator. "
                  "Not equal by design: σ of upstream's p × p operator (it has the extra block W_rᵀ A_upᵀ W_⊥, "
                  "whose share of ‖A_up‖_F is given).", "",
                  "| case | p | rank | (ρ_r − ρ_r+1)/ρ_1 | eig, non-zero (rel. to max) | σ(compression) (rel. to max) "
                  "| max \|λ\| of upstream's p − r others | σ(dynsim) vs σ(upstream p × p) | extra block ‖·‖/‖A_up‖ |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for c in doc["reduced_rank"]:
            e, u = c["dynsim_at_recording"], c["upstream"]
            note = "" if c["tolerance"]["kind"] == "relative" else " (not compared: tie)"
            gap = "— (r = p)" if u["rank_gap_rel"] is None else f"{u['rank_gap_rel']:.1e}"
            lines.append(f"| {c['case']}{note} | {u['operator_shape'][0]} | {u['rank']} | {gap} "
                         f"| {e['eigenvalues_rel_to_max']:.2e} | {e['compression_singular_values_rel_to_max']:.2e} "
                         f"| {u['eigenvalues_zero_max_modulus']:.1e} "
                         f"| {e['singular_values_vs_upstream_p_by_p_rel_to_max']:.3f} | {u['extra_block_rel_norm']:.3f} |")
        lines.append("")
        for c in doc["reduced_rank"]:
            if c["tolerance"]["kind"] != "relative":
                e, u = c["dynsim_at_recording"], c["upstream"]
                lines += [f"`{c['case']}` is not a disagreement about the method: the rank cut falls between "
                          f"projector eigenvalues ρ_{u['rank']} = {u['projector_eigenvalues'][u['rank'] - 1]:.7f} and "
                          f"ρ_{u['rank'] + 1} = {u['projector_eigenvalues'][u['rank']]:.7f} (upstream, float32), "
                          "equal to rounding, so span(W_r) is any r-dimensional subspace of their common "
                          "eigenspace and each program picks one (eigenvalues then differ by "
                          f"{e['eigenvalues_rel_to_max']:.2f} of the spectral radius). Only the rank is checked.", ""]
        extras = [c["upstream"]["extra_block_rel_norm"] for c in doc["reduced_rank"]
                  if c["upstream"]["rank"] < c["upstream"]["operator_shape"][0]]
        lines += ["The last two columns are the difference beyond the spectrum (spec/operator.md §5): upstream's "
                  "operator also maps span(W_⊥) into span(W_r), a block whose Frobenius norm is "
                  f"{min(extras):.2f}–{max(extras):.2f} of ‖A_up‖_F in these cases (r < p), so any score "
                  "that sees more than eigenvalues (PAVF) differs between the two programs' reduced-rank operators. "
                  "At r = p both are the OLS operator and agree entirely.", ""]
    if doc.get("wasserstein"):
        lines += ["## 2. Wasserstein (W₂², upstream's default score)", "",
                  "| case | ranks | max abs err | largest entry | dynsim `--unequal zero-pad` vs upstream |",
                  "|---|---|---|---|---|"]
        for c in doc["wasserstein"]:
            lines.append(f"| {c['case']} | {c['params']['ranks']} | {c['dynsim_at_recording']['max_abs_err']:.2e} "
                         f"| {np.max(c['upstream']):.4f} | {c['dynsim_at_recording']['zero_pad_max_abs_diff']:.2e} |")
        lines.append("")
    if doc.get("wasserstein_zero_pad"):
        lines += ["## 2b. Wasserstein, upstream's matrix path (zero-padding)", "",
                  "| case | ranks | upstream | max abs err (dynsim `--unequal zero-pad`) | dynsim default `transport` vs upstream |",
                  "|---|---|---|---|---|"]
        for c in doc["wasserstein_zero_pad"]:
            e = c["dynsim_at_recording"]
            if "max_abs_err" in e:
                lines.append(f"| {c['case']} | {c['params']['ranks']} | matrix, largest {np.max(c['upstream']):.4f} "
                             f"| {e['max_abs_err']:.2e} | {e['transport_max_abs_diff']:.2e} |")
            else:
                lines.append(f"| {c['case']} | {c['params']['ranks']} | {c['upstream']:.6f} (asked for "
                             f"'angular') | {e['abs_err']:.2e} | dynsim's angle on the zero-padded operators: "
                             f"{e['angular_zero_padded_operators']:.6f} |")
        lines += ["", "Upstream's `DSA(..., score_method='angular')` on operators of different sizes warns and "
                  "returns the zero-padded W₂² of the eigenvalues under the name 'angular' (a different score, in "
                  "different units); dynsim's `angular` zero-pads the operators and returns the PAVF angle "
                  "(spec/alignment.md §1.2). The CI test checks that upstream's number is dynsim's zero-padded "
                  "W₂².", ""]
    if doc.get("pavf"):
        lines += pavf_table("## 3. PAVF (angular, euclidean)", doc["pavf"])
    for score, sp in summ.get("pavf", {}).items():
        lines += [gap_sentence(score, sp), ""]
    if doc.get("pavf_large"):
        lines += pavf_table("## 3b. PAVF at sizes 8–12 (angular)", doc["pavf_large"])
    for score, sp in summ.get("pavf_large", {}).items():
        lines += [gap_sentence(score, sp), ""]
    if doc.get("pavf_large"):
        zeros = [c for c in doc["pavf_large"] if c["true_value"] == 0.0]
        if zeros:
            lines += ["Upstream is wrong on the rotated-readout pairs (true value 0, upstream.md §8.7): "
                      + ", ".join(f"{c['upstream']:.4f} rad at size {c['params']['rank']}" for c in zeros)
                      + f"; dynsim ≤ {max(c['dynsim_at_recording']['value'] for c in zeros):.1e}. The optimum is a "
                      "diagonal ±1 similarity (sign flips of singular vectors), out of reach of upstream's Cayley "
                      "chart around the identity (upstream.md §4).", ""]
    if doc.get("dsa_matrix"):
        for c in doc["dsa_matrix"]:
            names = [f.rsplit(".", 1)[0] for f in c["data"]]
            up, dyn = c["upstream"], c["dynsim_at_recording"]["matrix"]
            lines += [f"## 4. Full `DSA(...)` matrix ({c['case']}: angular, self-pairwise)", "",
                      "Each entry: upstream / dynsim.", "",
                      "| | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
            for i, n in enumerate(names):
                lines.append(f"| {n} | " + " | ".join(f"{up[i][j]:.6f} / {dyn[i][j]:.2e}" if up[i][j] < 1e-3
                                                     or dyn[i][j] < 1e-3 else f"{up[i][j]:.6f} / {dyn[i][j]:.6f}"
                                                     for j in range(len(names))) + " |")
            lines.append("")
        row_gap = 0.0
        for c in doc["dsa_matrix"]:
            up, truth = np.array(c["upstream"]), c["true_value"]
            n = len(truth)
            for i in range(n):
                for j in range(i):
                    if truth[i][j] == 0.0:  # rows i and j should be equal away from columns i and j
                        rest = [k for k in range(n) if k not in (i, j)]
                        row_gap = max(row_gap, float(np.max(np.abs(up[i, rest] - up[j, rest]), initial=0.0)))
        lines += [gap_sentence("off-diagonal entries", summ["dsa_matrix"]), "",
                  "Upstream is wrong on the rotated-readout entry (true value 0) and, as a consequence, not "
                  "invariant to the readout: the rows of a system and of its rotated readout must be equal "
                  "(upstream.md §8.7), and dynsim's are; upstream's differ wherever its optimiser stopped short "
                  f"(by up to {row_gap:.4f} rad here).", ""]
    path.write_text("\n".join(lines))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(REPO / "tests" / "data" / "crosscheck"))
    ap.add_argument("--dynsim", default=str(REPO / "target" / "release" / "dynsim"))
    ap.add_argument("--stages", default=",".join(STAGES),
                    help="comma-separated subset of " + ",".join(STAGES))
    ap.add_argument("--report-only", action="store_true",
                    help="rewrite report.md from the existing expected.json (runs nothing)")
    args = ap.parse_args()
    if args.report_only:
        doc = json.loads((Path(args.out) / "expected.json").read_text())
        write_report(Path(args.out) / "report.md", doc)
        print(f"wrote {Path(args.out) / 'report.md'}")
        return 0
    stages = set(args.stages.split(","))
    unknown = stages - set(STAGES)
    if unknown:
        ap.error(f"unknown stages {sorted(unknown)}")
    torch.set_num_threads(1)
    t_start = time.time()

    fix = Path(args.out)
    fix.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    files, datasets = {}, {}
    for name, (x, desc) in make_datasets(rng).items():
        f = save_system(fix / name, x)
        files[name] = f
        shape = [list(t.shape) for t in x] if isinstance(x, list) else list(x.shape)
        datasets[name] = {"file": f, "shape": shape, "dtype": "float64", "description": desc}

    argv = [sys.executable, os.path.relpath(Path(__file__).resolve(), REPO), *sys.argv[1:]]
    doc = {
        "header": {
            "upstream_version": UPSTREAM_VERSION,
            "upstream_package": "dsa-metric (import DSA), called as a library",
            "torch": torch.__version__,
            "numpy": np.__version__,
            "python": sys.version.split()[0],
            "command": " ".join(shlex.quote(a) for a in argv),
            "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "numpy_seed": SEED,
            "torch_seed": TORCH_SEED,
            "torch_threads": 1,
        },
        "tolerances": {
            "operator": {"kind": "relative", "value": TOL_OPERATOR, "reason": TOL_OPERATOR_REASON},
            "wasserstein": {"kind": "absolute", "value": TOL_WASSERSTEIN, "reason": TOL_WASSERSTEIN_REASON},
            "pavf": {"kind": "upper_bound", "value": TOL_PAVF, "reason": TOL_PAVF_REASON},
            "embedding": {"kind": "float32_rounding", "value": 2.0 ** -24, "reason": TOL_EMBEDDING_REASON},
            "reduced_rank": {"kind": "relative", "value": TOL_RRR, "reason": TOL_RRR_REASON},
            "wasserstein_zero_pad": {"kind": "absolute", "value": TOL_WASSERSTEIN,
                                     "reason": TOL_WASSERSTEIN_REASON},
            "pavf_large": {"kind": "upper_bound", "value": TOL_PAVF, "reason": TOL_PAVF_REASON},
            "dsa_matrix": {"kind": "upper_bound", "value": TOL_PAVF,
                           "reason": TOL_PAVF_REASON + " Per entry of the matrix."},
        },
        "datasets": datasets,
    }
    with tempfile.TemporaryDirectory() as tmpd:
        tmp = Path(tmpd)
        if "embedding" in stages:
            doc["embedding"] = stage_embedding(fix, files)
        if "operator" in stages:
            doc["operator"] = stage_operator(fix, args.dynsim, files)
        if "reduced_rank" in stages:
            doc["reduced_rank"] = stage_reduced_rank(fix, args.dynsim, files)
        if "wasserstein" in stages:
            doc["wasserstein"] = stage_wasserstein(fix, args.dynsim, files, tmp)
        if "wasserstein_zero_pad" in stages:
            doc["wasserstein_zero_pad"] = stage_wasserstein_zero_pad(fix, args.dynsim, files, tmp)
        if "pavf" in stages:
            doc["pavf"] = stage_pavf(fix, args.dynsim, files, PAVF_PAIRS, ["angular", "euclidean"], False)
        if "pavf_large" in stages:
            doc["pavf_large"] = stage_pavf(fix, args.dynsim, files, PAVF_LARGE_PAIRS, ["angular"], True)
        if "dsa_matrix" in stages:
            doc["dsa_matrix"] = stage_dsa_matrix(fix, args.dynsim, files, tmp)

    doc["header"]["script_seconds"] = round(time.time() - t_start, 1)

    doc["summary"] = summarize(doc)
    (fix / "expected.json").write_text(json.dumps(doc, indent=1) + "\n")
    write_report(fix / "report.md", doc)
    print(f"wrote {fix / 'expected.json'} and {fix / 'report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
