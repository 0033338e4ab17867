"""Worked example: run the conformance vectors through upstream `dsa-metric` 2.0.2 and write a
candidate file for `dynsim verify` (spec/conformance.md, "Conformance vectors").

Usage (from the repository root):

    /work/upstream-venv/bin/python spec/vectors/run_upstream.py --out upstream_candidate.json
    dynsim verify --vectors spec/vectors --candidate upstream_candidate.json

A port author copies this file and replaces the `upstream_*` functions with calls into their own
implementation. The steps are the same for every port:
  1. read spec/vectors/manifest.json;
  2. for each vector, load its input files with numpy (paths relative to spec/vectors/) and read its
     parameters from `inputs`;
  3. compute the outputs the vector's stage defines (the `output` names of its checks);
  4. write one entry per vector id under `results` in a candidate file (format dynsim-candidate,
     version 1), declaring the implementation's precision (float64 or float32);
  5. run `dynsim verify --vectors spec/vectors --candidate FILE`.
Vectors marked `optional` (dynsim extensions such as W₂, W₁, zero-padding, rank_auto) may be left out.

Upstream computes in float32, so this script declares precision "float32" and the verifier applies
each check's `tolerance_float32`. Upstream's PAVF has no seed of its own: torch.manual_seed(0) is set
before each pair, and one torch thread is used, so a rerun reproduces the file.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import sys
from pathlib import Path

import numpy as np
import torch

import DSA
from DSA.dmd import DMD
from DSA.simdist import SimilarityTransformDist

HERE = Path(__file__).resolve().parent


def load_data(name: str):
    """A (T, N) or (K, T, N) .npy, or a .npz with one (T_i, N) member per trial (archive order)."""
    path = HERE / name
    if path.suffix == ".npz":
        with np.load(path) as z:
            return [z[k] for k in z.files]
    return np.load(path)


def trials(data):
    if isinstance(data, list):
        return data
    return [data] if data.ndim == 2 else list(data)


def upstream_embedding(inp):
    rows = []
    for x in trials(load_data(inp["data"])):
        h = DSA.embed_signal_torch(torch.from_numpy(x), inp["n_delays"], inp["delay_interval"])
        rows.append(h.detach().double().numpy())
    return {"hankel": np.vstack(rows).tolist()}


def dmd_kwargs(inp):
    if inp.get("regression", "principal_component") != "principal_component":
        return None  # upstream's reduced-rank operator is p × p (spec/operator.md §5): not comparable
    kw = {"n_delays": inp["n_delays"], "delay_interval": inp["delay_interval"],
          "lamb": inp["lambda"], "steps_ahead": inp["steps_ahead"]}
    rule = inp["rank"]
    if rule["kind"] == "fixed":
        kw["rank"] = rule["rank"]
    elif rule["kind"] == "threshold":
        kw["rank_thresh"] = rule["threshold"]
    elif rule["kind"] == "explained_variance":
        kw["rank_explained_variance"] = rule["fraction"]
    elif rule["kind"] != "full":
        return None  # rank_auto: a dynsim extension, not in upstream
    return kw


def upstream_operator(inp):
    kw = dmd_kwargs(inp)
    if kw is None:
        return None
    dmd = DMD(load_data(inp["data"]), **kw)
    dmd.fit()
    a_v = dmd.A_v.detach().clone()
    eig = torch.linalg.eig(a_v).eigenvalues.numpy().astype(np.complex128)
    return {
        "rank": int(a_v.shape[0]),
        "singular_values": dmd.S.detach().double().numpy().tolist(),
        "eigenvalues": [[float(z.real), float(z.imag)] for z in eig],
        "operator_singular_values": torch.linalg.svdvals(a_v).double().numpy().tolist(),
    }


def upstream_pavf(inp):
    out = {}
    for score in ("angular", "euclidean"):
        # The DSA class's settings (1500 Adam steps, lr 5e-3); same seed for both scores.
        torch.manual_seed(0)
        a, b = np.load(HERE / inp["a"]), np.load(HERE / inp["b"])
        dist = SimilarityTransformDist(iters=1500, lr=5e-3, score_method=score)
        out[score] = float(dist.fit_score(a, b))
    return out


def upstream_wasserstein(inp):
    if inp["score"] != "wasserstein" or inp["unequal"] != "transport":
        return None  # W₂, W₁ and zero-padding of given spectra: not offered by upstream
    a, b = np.load(HERE / inp["a"]), np.load(HERE / inp["b"])
    za, zb = a[:, 0] + 1j * a[:, 1], b[:, 0] + 1j * b[:, 1]
    dist = SimilarityTransformDist(score_method="wasserstein")
    return {"value": float(dist.fit_score(za, zb))}


def upstream_pipeline(inp):
    kw = dmd_kwargs(inp)
    if kw is None or inp["score"] not in ("angular", "euclidean", "wasserstein"):
        return None
    torch.manual_seed(0)
    value = DSA.DSA(load_data(inp["x"]), load_data(inp["y"]), score_method=inp["score"], **kw).fit_score()
    return {"value": float(np.asarray(value).reshape(-1)[0])}


STAGES = {
    "embedding": upstream_embedding,
    "operator": upstream_operator,
    "pavf": upstream_pavf,
    "wasserstein": upstream_wasserstein,
    "pipeline": upstream_pipeline,
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vectors", default=str(HERE), help="suite directory (default: this one)")
    ap.add_argument("--out", required=True, help="candidate file to write")
    args = ap.parse_args()
    torch.set_num_threads(1)
    manifest = json.loads((Path(args.vectors) / "manifest.json").read_text())
    assert manifest["format"] == "dynsim-vectors" and manifest["version"] == 1
    results = {}
    for v in manifest["vectors"]:
        try:
            out = STAGES[v["stage"]](v["inputs"])
        except Exception as e:  # an upstream failure leaves the entry out (reported as missing)
            print(f"{v['id']}: upstream raised {type(e).__name__}: {e}", file=sys.stderr)
            out = None
        if out is None:
            print(f"{v['id']}: left out", file=sys.stderr)
            continue
        results[v["id"]] = out
        print(f"{v['id']}: done", file=sys.stderr)
    candidate = {
        "format": "dynsim-candidate",
        "version": 1,
        "implementation": {"name": "dsa-metric", "version": importlib.metadata.version("dsa-metric"), "precision": "float32"},
        "results": results,
    }
    Path(args.out).write_text(json.dumps(candidate, indent=1) + "\n")


if __name__ == "__main__":
    main()
