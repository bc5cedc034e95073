# Two commands do all the set-up on a fresh machine:
#   make run   - create .venv, install, and optimise the embedded default task
#   make test  - create .venv, install with test extras, run ruff, mypy and the test suite
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch 2.13.0 first: its CPU build is the one this project pins; an unpinned torch pulls a CUDA build.
TORCH_SPEC ?= torch==2.13.0

.PHONY: install install-dev run test lint bench clean

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

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/mypy n2ce_bbo

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
