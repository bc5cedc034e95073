"""Ray scaling: a fixed batch of CPU-bound chunks (Langevin-like torch matmul loops) on 1 and 2 Ray workers.

Each chunk runs ``steps`` updates ``z <- z - s/2 * (z @ A) + sqrt(s) * noise`` on a ``[chains, d]`` batch with
one torch thread (``torch.set_num_threads(1)``), seeded by its index, so every configuration does identical
work. Wall time is measured from submission of the first chunk to the last result, with a warm Ray (workers
already started); the median of ``--repeats`` repeats is reported, 1 and 2 workers side by side in one run.

    .venv/bin/python benchmarks/ray_scaling.py            # writes benchmarks/results/ray_scaling.md and .json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def langevin_chunk(item: tuple[int, int, int, int]) -> float:
    """One chunk of work: ``steps`` Langevin-like updates of ``[chains, d]`` with a fixed seed; returns a checksum."""
    import torch

    index, chains, d, steps = item
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(1000 + index)
    a = torch.randn(d, d, generator=gen) / d**0.5
    a = a @ a.T / d + torch.eye(d)
    z = torch.randn(chains, d, generator=gen)
    s = 0.01
    for _ in range(steps):
        z = z - 0.5 * s * (z @ a) + s**0.5 * torch.randn(chains, d, generator=gen)
    return float(z.square().mean())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chunks", type=int, default=8)
    parser.add_argument("--chains", type=int, default=256)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--out", default=str(RESULTS / "ray_scaling.md"))
    args = parser.parse_args(argv)

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import ray.cloudpickle

    from n2ce_bbo.parallel import parallel_map, ray_init, ray_shutdown

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    items = [(i, args.chains, args.dim, args.steps) for i in range(args.chunks)]
    load_before = os.getloadavg()
    ray_init(num_cpus=os.cpu_count())
    try:
        # warm-up: start the worker processes and import torch in them
        parallel_map(langevin_chunk, [(i, 8, 8, 2) for i in range(max(args.workers) * 2)], workers=max(args.workers))
        reference = parallel_map(langevin_chunk, items, workers=0)
        times: dict[int, list[float]] = {w: [] for w in args.workers}
        seq_times: list[float] = []
        for _ in range(args.repeats):  # interleave the configurations so load changes hit all alike
            t0 = time.perf_counter()
            parallel_map(langevin_chunk, items, workers=0)
            seq_times.append(time.perf_counter() - t0)
            for w in args.workers:
                t0 = time.perf_counter()
                out = parallel_map(langevin_chunk, items, workers=w)
                times[w].append(time.perf_counter() - t0)
                assert out == reference, "parallel results differ from the sequential ones"
    finally:
        ray_shutdown()
    load_after = os.getloadavg()

    med = {w: statistics.median(v) for w, v in times.items()}
    base = med[min(args.workers)]
    rows = [{"config": "sequential (workers=0, no Ray)", "median_s": statistics.median(seq_times),
             "runs_s": seq_times, "speedup_vs_1_worker": base / statistics.median(seq_times)}]
    rows += [{"config": f"Ray, {w} worker{'s' if w > 1 else ''}", "median_s": med[w], "runs_s": times[w],
              "speedup_vs_1_worker": base / med[w]} for w in args.workers]
    uname = subprocess.run(["uname", "-a"], capture_output=True, text=True).stdout.strip()
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    command = "python benchmarks/ray_scaling.py " + " ".join(argv if argv is not None else sys.argv[1:])
    lines = [
        "# Ray scaling of CPU-bound chunks", "",
        f"- command: `{command.strip()}`",
        f"- work: {args.chunks} chunks x {args.steps} Langevin-like steps on [{args.chains}, {args.dim}] "
        "(torch, 1 thread per task); results checked identical to the sequential run",
        f"- machine: `{uname}`; {os.cpu_count()} cores; Python {platform.python_version()}",
        f"- date: {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}",
        f"- load average (1, 5, 15 min) before: {load_before[0]:.2f}, {load_before[1]:.2f}, {load_before[2]:.2f}; "
        f"after: {load_after[0]:.2f}, {load_after[1]:.2f}, {load_after[2]:.2f} (`{uptime}`)",
        f"- median of {args.repeats} repeats, configurations interleaved in one run", "",
        "| configuration | median wall s | runs (s) | speed-up vs 1 worker |", "|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['config']} | {r['median_s']:.2f} | {', '.join(f'{t:.2f}' for t in r['runs_s'])} | "
                     f"{r['speedup_vs_1_worker']:.2f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    out.with_suffix(".json").write_text(json.dumps({"rows": rows, "args": vars(args), "uname": uname,
                                                     "load_before": load_before, "load_after": load_after}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
