"""Sweep proposal-time settings of a method on development tasks: one fit per (task, seed), every variant proposes.

Settings that act only when proposing (the ``propose`` section and the ``filters`` every method's proposals pass)
do not change the trained surrogate, so one fit per (task, seed) serves every variant. Each cell is fitted once
with the method's settings (its defaults unless ``--config`` says otherwise) through the run path the benchmark
uses (:meth:`n2ce_bbo.workflow.model.FittedModel.fit`); then each variant proposes ``--budget`` designs through
:meth:`FittedModel.propose` (``config={"propose": ...}``, ``filters={...}``: the same ``run_proposer`` and filters
as a real run), and only then does the oracle score the batch (evaluation only). One JSON line per
(task, seed, variant) goes to ``--log``; ``--resume`` skips the lines already there (a cell whose variants are all
logged is not refitted). At the end a table: mean p100 and p50 per variant over the cells, and per cell the
difference to the variant named ``default``.

Variants: a YAML/JSON mapping ``name: {propose: {...}, design_model: {...}, filters: {...}, kinds: [...]}``
(``design_model``: only the ascent's ``ascent_starts`` / ``ascent_steps`` / ``ascent_lr`` / ``ascent_share``, which
act when proposing; ``kinds`` optional: the design kinds, ``tokens`` / ``continuous``, the variant is run on; e.g.
``filters.min_hamming`` only acts on token designs; ``refit_design_model`` optional: settings of the latent-EBM method's
design model, ``n_members`` / ``regressor`` ..., with which only that ensemble is refitted on the cell's rows before
the variant proposes: the surrogate's fit does not read them (the rehearsal fits an ensemble only when
``design_model.weights`` lists some β > 0, refused here), and the ensemble is seeded by itself, so this is the
full fit with those settings; a variant ``refit_design_model: {}`` must reproduce ``default``'s batch;
``score_weight`` optional: the weight ``w`` of the in-distribution score forced for this variant in place of the
one the fit's rehearsal chose, which the latent chains do not read). The built-in set (:data:`VARIANTS`) is the
one of benchmarks/results/dev/propose_defaults_2026-12-05.md.

Sampler cache (``--cache-sampler``, on by default): the latent chains depend on the seed, ``y*`` and the sampler's
own settings only, so a variant that changes none of them would re-run the same chains; the cache hands it the
first run's decoded designs (keyed by every ``propose`` key the chains read, ``y*`` and the seed). ``--verify-cache``
re-runs the first cell's ``default`` variant with the cache off and stops unless the batch is identical.

Only development tasks (``n2ce_bbo.tasks.dev``: the ``*Dev-*`` names) at seeds >= 100 are accepted: registered
task names (the reported tasks among them) and the reported seeds are refused.

Usage:
    OMP_NUM_THREADS=1 nice -n 5 .venv/bin/python benchmarks/propose_sweep.py run \
        --tasks PairFieldDev-4-16 EhrlichDev-8-16 --seeds 100 101 --log runs/propose_sweep/sweep.jsonl --resume
    .venv/bin/python benchmarks/propose_sweep.py table --log runs/propose_sweep/sweep.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import n2ce_bbo.methods.latent_ebm.method as latent_method  # noqa: E402
from n2ce_bbo.config import deep_merge, from_dict, to_dict  # noqa: E402
from n2ce_bbo.methods.base import ParallelSpec  # noqa: E402
from n2ce_bbo.methods.latent_ebm.design_model import fit_design_model  # noqa: E402
from n2ce_bbo.provenance import source_state  # noqa: E402
from n2ce_bbo.tasks.dev import DEV_TASK_PATTERNS, MIN_DEV_SEED, is_dev_task, make_dev_task  # noqa: E402
from n2ce_bbo.workflow.data import load_data  # noqa: E402
from n2ce_bbo.workflow.model import FittedModel  # noqa: E402
from n2ce_bbo.workflow.result import score_with_oracle  # noqa: E402

TOKENS, CONTINUOUS = "tokens", "continuous"

#: The built-in variants: the current default, then one setting changed at a time.
VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "ystar_0.25": {"propose": {"y_star_offset": 0.25}},
    "ystar_0.5": {"propose": {"y_star_offset": 0.5}},
    "ystar_2": {"propose": {"y_star_offset": 2.0}},
    "hamming_1": {"filters": {"min_hamming": 1}, "kinds": [TOKENS]},
    "hamming_2": {"filters": {"min_hamming": 2}, "kinds": [TOKENS]},
    "hamming_4": {"filters": {"min_hamming": 4}, "kinds": [TOKENS]},
    "distance_0": {"filters": {"min_distance": 0.0}, "kinds": [CONTINUOUS]},
    "distance_0.03": {"filters": {"min_distance": 0.03}, "kinds": [CONTINUOUS]},
    "refine_0": {"propose": {"refine_rounds": 0}},
    "refine_2x512": {"propose": {"refine_rounds": 2}},
    "refine_4x256": {"propose": {"refine_top": 256}},
    "explore_0": {"propose": {"explore_fraction": 0.0}},
    "explore_0.25": {"propose": {"explore_fraction": 0.25}},
    "explore_0.75": {"propose": {"explore_fraction": 0.75}},
}

#: The ``propose`` keys the latent chains read (with ``y*`` and the seed): what the sampler cache is keyed by.
CHAIN_KEYS = ("sampler", "n_chains", "chain_chunk", "init", "init_top_k", "init_noise", "snapshots", "value_weight",
              "prior_weight")


def _dev_name(name: str) -> str:
    if not is_dev_task(name):
        raise SystemExit(f"{name!r} is not a development task ({', '.join(DEV_TASK_PATTERNS)}); registered tasks, "
                         "the reported ones among them, are refused.")
    return name


class SamplerCache:
    """Memoises :func:`~n2ce_bbo.methods.latent_ebm.chains.sample_designs` per fitted surrogate (see the module
    docstring); ``hits`` / ``misses`` count its use."""

    def __init__(self, inner: Callable[..., Any]) -> None:
        self.inner, self.enabled, self.store, self.hits, self.misses = inner, True, {}, 0, 0

    def clear(self) -> None:
        self.store.clear()
        self.hits = self.misses = 0

    def __call__(self, surrogate: Any, data: Any, cfg: Any, *, seed: int, y_star: float, device: Any,
                 parallel: Any, bar: Any = None) -> Any:
        if not self.enabled:
            return self.inner(surrogate, data, cfg, seed=seed, y_star=y_star, device=device, parallel=parallel,
                              bar=bar)
        d = to_dict(cfg)
        key = (id(surrogate), int(seed), float(y_star), json.dumps({k: d[k] for k in CHAIN_KEYS}, sort_keys=True))
        if key not in self.store:
            self.misses += 1
            self.store[key] = self.inner(surrogate, data, cfg, seed=seed, y_star=y_star, device=device,
                                         parallel=parallel, bar=bar)
        else:
            self.hits += 1
        x, results = self.store[key]
        return x.copy(), results


def _feasible_share(task: Any, x: np.ndarray) -> float | None:
    """Ehrlich tasks: the share of ``x`` with no banned transition (their oracle's own check); else ``None``."""
    fn = getattr(getattr(task, "_oracle", None), "function", None)
    if fn is None or not hasattr(fn, "is_feasible") or not len(x):
        return None
    return float(np.mean(fn.is_feasible(x)))


def _read_log(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _refit_design_model(model: FittedModel, settings: dict[str, Any]) -> Any:
    """The latent-EBM method's design model refitted on the model's rows with ``settings`` merged into its
    ``design_model`` section (see the module docstring)."""
    method = model.method
    cfg = method.config.design_model
    if any(b > 0 for b in cfg.weights):
        raise SystemExit("refit_design_model needs design_model.weights [0]: with β > 0 the rehearsal reads the "
                         "ensemble too, so only a full fit changes it.")
    merged = from_dict(type(cfg), deep_merge(to_dict(cfg), settings), path="refit_design_model")
    return fit_design_model(method.data, merged, method.seed, method.device)


@contextmanager
def variant_model(model: FittedModel, spec: dict[str, Any]) -> Iterator[FittedModel]:
    """``model`` with a variant's ``refit_design_model`` and ``score_weight`` in force, restored on exit."""
    fitted, rehearsed = model.method.design_model, getattr(model.method, "rehearsal", None)
    if spec.get("score_weight") is not None and rehearsed is None:
        raise SystemExit(f"score_weight needs a latent-EBM method; {type(model.method).__name__} has no rehearsed "
                         "weight.")
    try:
        if "refit_design_model" in spec:
            model.method.design_model = _refit_design_model(model, dict(spec["refit_design_model"] or {}))
        if spec.get("score_weight") is not None:
            model.method.rehearsal = {**rehearsed, "weight": float(spec["score_weight"])}
        yield model
    finally:
        model.method.design_model = fitted
        if rehearsed is not None:
            model.method.rehearsal = rehearsed


def _variant_record(model: FittedModel, task: Any, seed: int, budget: int, spec: dict[str, Any]) -> dict[str, Any]:
    config = {k: spec[k] for k in ("propose", "design_model") if spec.get(k)} or None
    with variant_model(model, spec):
        result = model.propose(budget, seed=seed, config=config, filters=spec.get("filters") or None)
    result = score_with_oracle(result, task)
    info = result.info
    keys = ("n_unique_candidates", "n_refine_candidates", "n_fill_candidates", "n_explore_candidates",
            "n_designs_from_explore", "n_training_designs_in_top", "n_ascent_candidates", "n_ascent_designs_in_top",
            "score_weight", "search")
    return {
        "p100": round(float(result.p100), 6), "p50": round(float(result.p50), 6),
        "p100_raw": float(result.p100_raw), "p50_raw": float(result.p50_raw), "n": int(len(result.x)),
        "propose_s": round(float(result.propose_s), 2), "feasible_share": _feasible_share(task, result.x),
        "filters": info.get("filters"), **{k: info.get(k) for k in keys},
        "x_sha": hash_designs(result.x),
    }


def hash_designs(x: np.ndarray) -> str:
    import hashlib

    return hashlib.sha1(np.ascontiguousarray(x).tobytes()).hexdigest()[:16]


def cmd_run(args: argparse.Namespace) -> None:
    import torch

    torch.set_num_threads(args.threads)
    low = [s for s in args.seeds if s < MIN_DEV_SEED]
    if low:
        raise SystemExit(f"seeds {low} are below {MIN_DEV_SEED}: development seeds only.")
    tasks = [_dev_name(t) for t in args.tasks]
    variants = VARIANTS if args.variants is None else _load_variants(args.variants)
    if "default" not in variants:
        raise SystemExit("the variants must include one named 'default' (the reference of the table).")
    config = json.loads(args.config) if args.config else None
    log = Path(args.log)
    log.parent.mkdir(parents=True, exist_ok=True)
    done = {(r["task"], r["seed"], r["variant"]) for r in _read_log(log)} if args.resume else set()
    cache = SamplerCache(latent_method.sample_designs)
    cache.enabled = args.cache_sampler
    latent_method.sample_designs = cache  # the method module's own name: the proposal path itself is untouched
    src = source_state()
    verified = not args.verify_cache
    for name in tasks:
        for seed in args.seeds:
            task = make_dev_task(name, seed, None)
            kind = TOKENS if task.is_discrete else CONTINUOUS
            todo = [v for v, spec in variants.items()
                    if (name, seed, v) not in done and kind in spec.get("kinds", [TOKENS, CONTINUOUS])]
            if not todo:
                print(f"{name} seed {seed}: every variant logged, skipped", flush=True)
                continue
            source = load_data(task, run_seed=seed)
            t0 = time.perf_counter()
            model = FittedModel.fit(source, args.method, config, seed=seed, device="cpu",
                                    parallel=ParallelSpec(workers=0))
            fit_s = time.perf_counter() - t0
            cache.clear()
            print(f"{name} seed {seed}: fit {fit_s:.0f} s ({task.offline_data().n} rows, rehearsal weight "
                  f"{getattr(model.method, 'rehearsal', {}).get('weight')})", flush=True)
            for v in todo:
                t1 = time.perf_counter()
                rec = _variant_record(model, task, seed, args.budget, variants[v])
                rec.update(task=name, seed=seed, variant=v, spec=variants[v], kind=kind, method=args.method,
                           config=config, budget=args.budget, fit_s=round(fit_s, 1),
                           wall_s=round(time.perf_counter() - t1, 1), n_train=int(task.offline_data().n),
                           commit=src.get("commit"), dirty=src.get("dirty"), threads=args.threads,
                           sampler_cache=args.cache_sampler)
                with log.open("a") as fh:
                    fh.write(json.dumps(rec, default=str) + "\n")
                print(f"  {v:14s} p100 {rec['p100']:.4f}  p50 {rec['p50']:.4f}  n {rec['n']}  "
                      f"{rec['wall_s']:.1f} s", flush=True)
                if not verified and v == "default":
                    cache.enabled = False
                    again = _variant_record(model, task, seed, args.budget, variants[v])
                    cache.enabled = True
                    if again["x_sha"] != rec["x_sha"] or again["p100"] != rec["p100"]:
                        raise SystemExit("the sampler cache changed the batch: "
                                         f"{rec['x_sha']} vs {again['x_sha']} (uncached)")
                    print(f"  cache verified: the uncached default batch is identical ({again['x_sha']})",
                          flush=True)
                    verified = True
            print(f"  sampler cache: {cache.misses} runs, {cache.hits} reused", flush=True)
    print_table(_read_log(log), list(variants))


def _load_variants(path: str) -> dict[str, dict[str, Any]]:
    import yaml

    data = yaml.safe_load(Path(path).read_text())
    if not isinstance(data, dict):
        raise SystemExit(f"{path}: expected a mapping name -> {{propose: ..., filters: ...}}")
    return {str(k): dict(v or {}) for k, v in data.items()}


def print_table(rows: list[dict[str, Any]], order: list[str] | None = None) -> None:
    """Per variant: cells, mean p100 / p50, and the paired difference to ``default`` (mean, min, cells better /
    worse by more than 0.005); then per cell each variant's p100 / p50 difference to ``default``."""
    by = {(r["task"], r["seed"], r["variant"]): r for r in rows}
    cells = sorted({(r["task"], r["seed"]) for r in rows})
    names = order or []
    names = names + sorted({r["variant"] for r in rows} - set(names))
    names = [v for v in names if any((c[0], c[1], v) in by for c in cells)]
    print("\n| variant | cells | p100 | p50 | Δp100 vs default (mean, min, +/−) | Δp50 vs default (mean, min, +/−) |")
    print("|---|---|---|---|---|---|")
    for v in names:
        mine = [c for c in cells if (c[0], c[1], v) in by]
        p100 = [by[c[0], c[1], v]["p100"] for c in mine]
        p50 = [by[c[0], c[1], v]["p50"] for c in mine]
        paired = [c for c in mine if (c[0], c[1], "default") in by]
        d100 = np.array([by[c[0], c[1], v]["p100"] - by[c[0], c[1], "default"]["p100"] for c in paired])
        d50 = np.array([by[c[0], c[1], v]["p50"] - by[c[0], c[1], "default"]["p50"] for c in paired])

        def _d(d: np.ndarray) -> str:
            if not len(d):
                return "-"
            return f"{d.mean():+.4f}, {d.min():+.4f}, {int((d > 0.005).sum())}/{int((d < -0.005).sum())}"

        print(f"| {v} | {len(mine)} | {np.mean(p100):.4f} | {np.mean(p50):.4f} | {_d(d100)} | {_d(d50)} |")
    print("\nPer cell: default p100 / p50, then each variant's difference (p100 / p50) to default.\n")
    head = [v for v in names if v != "default"]
    print("| cell | default | " + " | ".join(head) + " |")
    print("|---|---|" + "---|" * len(head))
    for c in cells:
        base = by.get((c[0], c[1], "default"))
        if base is None:
            continue
        parts = []
        for v in head:
            r = by.get((c[0], c[1], v))
            parts.append("" if r is None else f"{r['p100'] - base['p100']:+.3f} / {r['p50'] - base['p50']:+.3f}")
        print(f"| {c[0]} s{c[1]} | {base['p100']:.3f} / {base['p50']:.3f} | " + " | ".join(parts) + " |")


def cmd_table(args: argparse.Namespace) -> None:
    print_table(_read_log(Path(args.log)), list(VARIANTS))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    run = sub.add_parser("run", help="fit each (task, seed) once and propose with every variant")
    run.add_argument("--tasks", nargs="+", required=True, help="development task names (e.g. PairFieldDev-4-16)")
    run.add_argument("--seeds", type=int, nargs="+", default=[MIN_DEV_SEED, MIN_DEV_SEED + 1],
                     help=f"development seeds (>= {MIN_DEV_SEED})")
    run.add_argument("--variants", default=None, help="YAML file name -> {propose, filters, kinds} (default: built in)")
    run.add_argument("--method", default="n2ce")
    run.add_argument("--config", default=None, help="fit settings as JSON (default: the method's defaults)")
    run.add_argument("--budget", type=int, default=128)
    run.add_argument("--log", required=True, help="JSON lines, one per (task, seed, variant)")
    run.add_argument("--resume", action="store_true", help="skip the (task, seed, variant) lines already logged")
    run.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "1")))
    run.add_argument("--no-cache-sampler", dest="cache_sampler", action="store_false",
                     help="re-run the latent chains for every variant")
    run.add_argument("--verify-cache", action="store_true",
                     help="check once that the cached chains give the uncached batch")
    run.set_defaults(func=cmd_run)
    table = sub.add_parser("table", help="print the table of a log")
    table.add_argument("--log", required=True)
    table.set_defaults(func=cmd_table)
    args = ap.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
