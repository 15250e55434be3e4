# Two commands for a fresh machine: `make run` and `make test`. Both create .venv when it is missing.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-slow test-all eval bench lint

$(STAMP): pyproject.toml constraints.txt requirements-nlp.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q -c constraints.txt torch==2.13.0
	$(BIN)/pip install -q --require-hashes --no-deps -r requirements-nlp.txt
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/vendorban serve

# The fast set; the slow tests (real Chromium, `chroma run`, serve processes, ONNX export, fault
# suites) run with `make test-slow`, and CI runs both.
test: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q -m "not slow"

test-slow: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q -m slow

test-all: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q

eval: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/vendorban eval --split dev --gate

bench: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/ruff check .
