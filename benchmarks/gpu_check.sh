#!/usr/bin/env bash
# The first minutes on a CUDA machine, prepared: the CUDA tests, the GPU rows of the throughput and cost scripts,
# and one Design-Bench cell (TFBind8, n2ce, seed 0) on the GPU. Every step has its own time limit; together they
# stay under 8 minutes. Everything goes to benchmarks/results/gpu/ (gpu_check.md: command, machine, date, and
# each step's status, time and files).
#
# Usage (from anywhere; it works in the repository it lives in):
#   N2CE_BBO_DATA_DIR=/path/to/design_bench_data bash benchmarks/gpu_check.sh
#   bash benchmarks/gpu_check.sh --dry-run          # print the plan (the commands), run nothing
#   GPU_CHECK_DEVICE=cpu GPU_CHECK_OUT=/tmp/g bash benchmarks/gpu_check.sh   # rehearse the script on a CPU
#
# Environment:
#   PY                 the Python with torch (default: .venv/bin/python when it exists, else python3). The
#                      repository need not be installed: it is put on PYTHONPATH.
#   N2CE_BBO_DATA_DIR  Design-Bench data folder: tfbind8/ for the cell, tfbind10/ for the cost rows. Without it
#                      those two steps are recorded as skipped.
#   GPU_CHECK_OUT      output folder (default benchmarks/results/gpu).
#   GPU_CHECK_DEVICE   cuda (default) or cpu (a rehearsal of the script; its numbers mean nothing).
# Packages missing on the machine (for example cma) can travel as wheels in .whl/: every .whl/*.whl is installed
# into a temporary folder first (no network needed).
#
# On this project's lent GPU machine, from the repository root (the data folder does not travel; copy the few
# files it needs into an ignored folder and carry it):
#   echo /.gpu_data/ >> .git/info/exclude; mkdir -p .gpu_data/tfbind8 .gpu_data/tfbind10
#   cp $N2CE_BBO_DATA_DIR/tfbind8/tf_bind_8.npz .gpu_data/tfbind8/; cp $N2CE_BBO_DATA_DIR/tfbind10/*.npz .gpu_data/tfbind10/
#   run(command="N2CE_BBO_DATA_DIR=.gpu_data PY=python3 bash benchmarks/gpu_check.sh; tar czf $OUT/gpu.tgz benchmarks/results/gpu",
#       carry=[".gpu_data", ".whl"], timeout_s=540)
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
REPO=$PWD
DRY=0
if [[ "${1:-}" == "--dry-run" ]]; then DRY=1; elif [[ $# -gt 0 ]]; then echo "usage: $0 [--dry-run]" >&2; exit 2; fi
if [[ -z "${PY:-}" ]]; then
  if [[ -x .venv/bin/python ]]; then PY=.venv/bin/python; else PY=python3; fi
fi
DEVICE=${GPU_CHECK_DEVICE:-cuda}
OUT=${GPU_CHECK_OUT:-benchmarks/results/gpu}
DATA=${N2CE_BBO_DATA_DIR:-}
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
if [[ "$DEVICE" == cuda ]]; then MARK="cuda"; else MARK="not cuda"; fi

# name | time limit (s) | command.  Limits sum to 450 s; with the checks before them the script ends within 8 min.
STEPS=(
  "cuda_tests|90|$PY -m pytest -q -rs -p no:cacheprovider -m '$MARK' tests/test_cuda.py --junitxml $OUT/cuda_tests.xml"
  "sampler_throughput|45|$PY benchmarks/sampler_throughput.py --device $DEVICE --chains 1000 10000 100000 1000000 --repeats 3 --out $OUT/sampler_throughput"
  "prior_cost|60|$PY benchmarks/prior_cost.py --device $DEVICE --repeats 20 --warmup 5 --out $OUT/prior_cost"
  "cost_scaling|105|$PY benchmarks/cost_scaling.py --device $DEVICE --rows 1000 10000 100000 1000000 --budgets 128 512 --max-steps 100 --propose-epochs 1 --out $OUT/cost_scaling"
  "design_bench_cell|150|$PY -m n2ce_bbo.cli optimize --task TFBind8-Exact-v0 --method n2ce --seed 0 --device $DEVICE --quiet --out $OUT/tfbind8_n2ce_seed0"
)
# the data each step needs under N2CE_BBO_DATA_DIR (empty: none)
needs_data() {
  case "$1" in
    cost_scaling) echo tfbind10 ;;
    design_bench_cell) echo tfbind8 ;;
    *) echo "" ;;
  esac
}

if [[ $DRY == 1 ]]; then
  echo "gpu_check plan (device $DEVICE, output $OUT, data ${DATA:-unset}):"
  for s in "${STEPS[@]}"; do
    IFS='|' read -r name limit cmd <<<"$s"
    echo "# $name (limit ${limit} s)"
    echo "\$ ${cmd//\'/}"
  done
  exit 0
fi

mkdir -p "$OUT" || exit 1
if compgen -G ".whl/*.whl" >/dev/null; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --target /tmp/gpu_check_site .whl/*.whl \
    && export PYTHONPATH="$PYTHONPATH:/tmp/gpu_check_site"
fi
if ! "$PY" - "$DEVICE" <<'EOF'
import importlib.util
import sys

import torch

device = sys.argv[1]
if device == "cuda" and not torch.cuda.is_available():
    sys.exit("gpu_check: torch sees no CUDA device (torch.cuda.is_available() is False). This script is for a GPU "
             "machine; on a CPU, tests/test_cuda.py checks the same code, and GPU_CHECK_DEVICE=cpu rehearses the script.")
missing = [m for m in ("numpy", "yaml", "botorch", "sklearn", "matplotlib", "cma", "pytest")
           if importlib.util.find_spec(m) is None]
if missing:
    sys.exit(f"gpu_check: missing Python packages {missing}: install them, or put their wheels in .whl/ "
             "(pip download --no-deps NAME==VERSION -d .whl).")
EOF
then
  exit 3
fi

START=$(date +%s)
SUMMARY="$OUT/gpu_check.md"
{
  echo "# GPU check"
  echo
  echo "- command: \`$0 $*\` (PY=$PY, GPU_CHECK_DEVICE=$DEVICE, N2CE_BBO_DATA_DIR=${DATA:-unset})"
  echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "- machine: \`$(uname -a)\`; $(nproc 2>/dev/null || echo '?') CPU cores"
  echo "- commit: $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo 'unknown (no git here)')"
  "$PY" -c "import torch, platform; print(f'- python {platform.python_version()}, torch {torch.__version__}, CUDA {torch.version.cuda}, GPU: ' + (torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'none'))"
  echo
  echo '```'
  if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1
  else
    echo "nvidia-smi: not on this machine"
  fi
  echo '```'
  echo
  echo "| step | status | seconds | limit s | log |"
  echo "|---|---|---|---|---|"
} >"$SUMMARY"

FAILED=0
for s in "${STEPS[@]}"; do
  IFS='|' read -r name limit cmd <<<"$s"
  want=$(needs_data "$name")
  if [[ -n "$want" && ( -z "$DATA" || ! -d "$DATA/$want" ) ]]; then
    echo "| $name | skipped: no $want/ in N2CE_BBO_DATA_DIR | 0 | $limit | |" >>"$SUMMARY"
    echo "gpu_check: $name skipped (set N2CE_BBO_DATA_DIR to a folder holding $want/)"
    continue
  fi
  echo "gpu_check: $name (limit $limit s): $cmd"
  t0=$(date +%s)
  # eval keeps the quoted pytest marker one argument; every word of the command is ours, not user input
  eval "timeout --kill-after=10 $limit $cmd" >"$OUT/$name.log" 2>&1
  rc=$?
  dt=$(( $(date +%s) - t0 ))
  case $rc in
    0) status=ok ;;
    124|137) status="TIMED OUT"; FAILED=1 ;;
    *) status="FAILED (exit $rc)"; FAILED=1 ;;
  esac
  echo "| $name | $status | $dt | $limit | [$name.log]($name.log) |" >>"$SUMMARY"
  echo "gpu_check: $name: $status in $dt s"
done

TOTAL=$(( $(date +%s) - START ))
{
  echo
  echo "Total: $TOTAL s. Results: \`cuda_tests.xml\`, \`sampler_throughput.{md,json}\`, \`prior_cost.{md,json}\`,"
  echo "\`cost_scaling.{md,json}\`, \`tfbind8_n2ce_seed0/result.json\` (p100, p50, train_s, propose_s)."
} >>"$SUMMARY"
if [[ -f "$OUT/tfbind8_n2ce_seed0/result.json" ]]; then
  "$PY" - "$OUT/tfbind8_n2ce_seed0/result.json" >>"$SUMMARY" <<'EOF'
import json
import sys

r = json.load(open(sys.argv[1]))
print(f"\nTFBind8 n2ce seed 0 on {r['versions'].get('device', '?')}: p100 {r['p100']:.3f}, p50 {r['p50']:.3f}, "
      f"train {r['train_s']:.1f} s, propose {r['propose_s']:.1f} s.")
EOF
fi
cat "$SUMMARY"
exit $FAILED
