# Two commands do all the set-up on a fresh machine:
#   make run   - create .venv, install, and optimise the embedded default task
#   make test  - create .venv, install with test extras, run ruff, mypy and the whole test suite (what CI runs)
#   make test-fast - ruff and the fast lane: every module's unit tests on tiny inputs (no Ray, no end-to-end runs)
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch 2.13.0 first: its CPU build is the one this project pins; an unpinned torch pulls a CUDA build.
TORCH_SPEC ?= torch==2.13.0

.PHONY: install install-dev run test test-fast lint bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q "$(TORCH_SPEC)"
	$(BIN)/pip install -q -e ".[dev]"
	touch $@

install install-dev: $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/n2ce-bbo optimize --task Branin-Exact-v0 --method n2ce --budget 128 --seed 0 --out runs/quickstart

test: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/mypy n2ce_bbo
	$(BIN)/python -m pytest -q

# the inner loop: tests marked slow (end-to-end runs, notebooks) or ray (they start Ray) are left to `make test`
test-fast: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -m "not slow and not ray"

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/mypy n2ce_bbo

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
