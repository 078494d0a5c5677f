# pullback — make test / make demo work on a fresh machine (they create .venv on first use).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-test
DEMO_STAMP := $(VENV)/.installed-demo
BENCH_STAMP := $(VENV)/.installed-bench
DOCS_STAMP := $(VENV)/.installed-docs

.PHONY: test demo bench bench-quick lint docs clean fuzz

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $@

$(DEMO_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[test,demo]"
	touch $@

$(BENCH_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[test,demo,bench]" || $(BIN)/python -m pip install -q -e ".[test,demo]"
	touch $@

$(DOCS_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[test,docs]"
	touch $@

test: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest tests

demo: $(DEMO_STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python examples/demo.py
	OMP_NUM_THREADS=1 $(BIN)/python examples/mlp_from_scratch.py --epochs 5
	OMP_NUM_THREADS=1 $(BIN)/python examples/newton_cg.py
	OMP_NUM_THREADS=1 $(BIN)/python examples/negbin_glm.py
	OMP_NUM_THREADS=1 $(BIN)/python examples/lotka_volterra_fit.py
	OMP_NUM_THREADS=1 $(BIN)/python examples/sparse_newton_pde.py
	OMP_NUM_THREADS=1 $(BIN)/python examples/sparse_trust_constr.py
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/python examples/seed_adjoint.py
	OMP_NUM_THREADS=1 $(BIN)/python examples/gp_regression.py

bench: $(BENCH_STAMP)
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/python -m benchmarks.run

bench-quick: $(BENCH_STAMP)
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/python -m benchmarks.run --quick

# The site (API reference from the docstrings, the guide pages) into site/; its examples run in `make test`.
docs: $(DOCS_STAMP)
	$(BIN)/mkdocs build --strict --site-dir site

# Differential fuzzing campaign: make fuzz N=5000 [START=0] [JAX_EVERY=10] (JAX is an optional oracle)
N ?= 5000
START ?= 0
JAX_EVERY ?= 10
fuzz: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python tests/fuzz/campaign.py --n $(N) --start $(START) --jax-every $(JAX_EVERY)

lint: | $(BIN)/python
	$(BIN)/python -m pip install -q ruff
	$(BIN)/ruff check src tests benchmarks examples

clean:
	rm -rf $(VENV) build site src/*.egg-info .pytest_cache
