#!/usr/bin/env python3
"""Cross-check dynsim against the upstream Python package `dsa-metric` 2.0.2 (`import DSA`).

Run with the upstream virtualenv's interpreter (never in CI):

    /work/upstream-venv/bin/python tools/crosscheck/crosscheck.py \
        [--out tests/data/crosscheck] [--dynsim target/release/dynsim]

It generates small seeded noisy linear systems with numpy, writes them as .npy into the fixtures
directory, runs upstream (as a library) and dynsim (the CLI, via subprocess) on the same files, and
writes `expected.json` (upstream's recorded values, the parameters and the tolerances, read by the
CI test `tests/it/crosscheck.rs`, which needs no Python) and a human-readable `report.md`.

Stages (spec/conformance.md, "Cross-check against dsa-metric 2.0.2"):
  1. operator:    singular values of H, eigenvalues and singular values of A_v (upstream's `DMD`);
  2. wasserstein: upstream's `DSA(..., score_method='wasserstein')` self-pairwise matrices
                  (equal ranks, then per-system unequal ranks) vs `dynsim pairwise --score wasserstein`;
  3. pavf:        upstream's `DSA(x, y, score_method=S)`, S = 'angular' then 'euclidean' (Adam on a
                  Cayley map, default 1500 steps, lr 5e-3) vs `dynsim compare --score S`; dynsim must
                  not be worse.

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


def stage_pavf(fix: Path, dynsim: str, files: dict) -> list:
    n_delays, rank = 3, 4
    pairs = [
        ("rot3", "rot3_readout", 0.0),
        ("osc4", "osc4_readout", 0.0),
        ("rot3", "damp3", None),
        ("rot3", "osc4", None),
        ("damp3", "osc4", None),
        ("rot3_readout", "osc4_readout", None),
    ]
    cases = []
    for score in ["angular", "euclidean"]:
        for x, y, truth in pairs:
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
                    "case": f"{x}_vs_{y}" + ("" if score == "angular" else f"_{score}"),
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
            print(f"[pavf {score}] {x} vs {y}: upstream {float(up):.6f} ({t_up:.1f} s), dynsim {dyn:.6f}")
    return cases


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
    if doc.get("pavf"):
        out["pavf"] = {}
        for score in sorted({c["params"]["score"] for c in doc["pavf"]}):
            cs = [c for c in doc["pavf"] if c["params"]["score"] == score]
            gaps = [c["upstream"] - c["dynsim_at_recording"]["value"] for c in cs]
            out["pavf"][score] = {
                "pairs": len(gaps),
                "dynsim_lower_by_more_than_tolerance": sum(g > TOL_PAVF for g in gaps),
                "largest_improvement": max(gaps),
                "largest_excess_of_dynsim": max(0.0, -min(gaps)),
                "gaps_upstream_minus_dynsim": gaps,
            }
    return out


def write_report(path: Path, doc: dict) -> None:
    h = doc["header"]
    lines = [
        "# Cross-check report: dynsim vs dsa-metric " + h["upstream_version"],
        "",
        f"Generated {h['date']} by `{h['command']}` (torch {h['torch']}, numpy {h['numpy']}).",
        "Tolerances and their reasons: `expected.json`; the rules: spec/conformance.md.",
        "",
    ]
    if doc.get("operator"):
        lines += ["## 1. Operator", "",
                  "| case | rank | max rel err σ(H) (per value) | eig(A_v) (rel. to max) | σ(A_v) (rel. to max) |",
                  "|---|---|---|---|---|"]
        for c in doc["operator"]:
            e = c["dynsim_at_recording"]
            lines.append(f"| {c['case']} | {c['upstream']['rank']} | {e['hankel_singular_values_rel_each']:.2e} "
                         f"| {e['eigenvalues_rel_to_max']:.2e} | {e['operator_singular_values_rel_to_max']:.2e} |")
        lines.append("")
    if doc.get("wasserstein"):
        lines += ["## 2. Wasserstein (W₂², upstream's default score)", "",
                  "| case | ranks | max abs err | largest entry | dynsim `--unequal zero-pad` vs upstream |",
                  "|---|---|---|---|---|"]
        for c in doc["wasserstein"]:
            lines.append(f"| {c['case']} | {c['params']['ranks']} | {c['dynsim_at_recording']['max_abs_err']:.2e} "
                         f"| {np.max(c['upstream']):.4f} | {c['dynsim_at_recording']['zero_pad_max_abs_diff']:.2e} |")
        lines.append("")
    if doc.get("pavf"):
        lines += ["## 3. PAVF (angular, euclidean)", "",
                  "| pair | score | true value | upstream | dynsim | upstream − dynsim |",
                  "|---|---|---|---|---|---|"]
        for c in doc["pavf"]:
            e = c["dynsim_at_recording"]
            tv = "—" if c["true_value"] is None else f"{c['true_value']}"
            lines.append(f"| {c['case']} | {c['params']['score']} | {tv} | {c['upstream']:.6f} | {e['value']:.6f} "
                         f"| {e['upstream_minus_dynsim']:.2e} |")
        lines.append("")
    for score, sp in doc.get("summary", {}).get("pavf", {}).items():
        lines += [f"{score}: dynsim lower than upstream by more than {TOL_PAVF:g} on "
                  f"{sp['dynsim_lower_by_more_than_tolerance']} of {sp['pairs']} pairs "
                  f"(largest improvement {sp['largest_improvement']:.4f}); dynsim above upstream by at "
                  f"most {sp['largest_excess_of_dynsim']:.1e}.", ""]
    path.write_text("\n".join(lines))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(REPO / "tests" / "data" / "crosscheck"))
    ap.add_argument("--dynsim", default=str(REPO / "target" / "release" / "dynsim"))
    ap.add_argument("--stages", default="operator,wasserstein,pavf",
                    help="comma-separated subset of operator,wasserstein,pavf")
    args = ap.parse_args()
    stages = set(args.stages.split(","))
    torch.set_num_threads(1)

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
        },
        "datasets": datasets,
    }
    with tempfile.TemporaryDirectory() as tmpd:
        if "operator" in stages:
            doc["operator"] = stage_operator(fix, args.dynsim, files)
        if "wasserstein" in stages:
            doc["wasserstein"] = stage_wasserstein(fix, args.dynsim, files, Path(tmpd))
        if "pavf" in stages:
            doc["pavf"] = stage_pavf(fix, args.dynsim, files)

    doc["summary"] = summarize(doc)
    (fix / "expected.json").write_text(json.dumps(doc, indent=1) + "\n")
    write_report(fix / "report.md", doc)
    print(f"wrote {fix / 'expected.json'} and {fix / 'report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
