# Each target sets itself up on a fresh machine: it makes .venv on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint typecheck unit bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[cli,dev]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/postqued campaign run examples/campaign.csv --sandbox --report campaign-report.json

test: lint typecheck unit

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(BIN)/.installed
	$(BIN)/mypy --strict postqued_async

unit: $(BIN)/.installed
	$(BIN)/python -X dev -m pytest -q

bench: $(BIN)/.installed
	$(BIN)/python benchmarks/limits.py
	$(BIN)/python benchmarks/overhead.py
	$(BIN)/python benchmarks/upload_memory.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
