"""Benchmarks: suites, the resumable runner (one atomic file per cell), result store, reports and plots.

    from n2ce_bbo.benchmark import load_suite, run_suite, write_report
    run_dir = run_suite(load_suite("quick"), "runs/quick", workers=2)   # a shipped suite, or a YAML path
    summary_csv, summary_md = write_report(run_dir)          # also paired.csv
    export_run(run_dir, "benchmarks/results/quick")          # cells, suite, manifest and the report, recomputed
    join_runs([run_dir, "runs/quick_more_seeds"], "benchmarks/results/quick")  # two folders recorded as one table
"""

from __future__ import annotations

from n2ce_bbo.benchmark.export import export_run, join_runs
from n2ce_bbo.benchmark.paired import paired_differences
from n2ce_bbo.benchmark.report import summarize, write_report
from n2ce_bbo.benchmark.runner import run_cell, run_suite
from n2ce_bbo.benchmark.store import load_cells
from n2ce_bbo.benchmark.suite import (
    Cell,
    MethodSpec,
    SuiteConfig,
    TaskSpec,
    load_suite,
    resolve_suite,
    shipped_suites,
    suite_from_dict,
)

__all__ = [
    "Cell", "MethodSpec", "SuiteConfig", "TaskSpec", "load_suite", "resolve_suite", "shipped_suites",
    "suite_from_dict", "run_suite", "run_cell", "load_cells", "summarize", "write_report", "paired_differences",
    "export_run", "join_runs",
]
