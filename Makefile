# Two commands on a fresh machine: `make run` starts the app, `make test` runs every test.
# Each creates the virtual environment .venv on first use (and again when the requirements change).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test audit clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.run-deps: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.test-deps: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.run-deps

run: $(VENV)/.run-deps
	$(BIN)/streamlit run app.py

test: $(VENV)/.test-deps
	$(BIN)/python -m pytest

# Known vulnerabilities in the pinned dependencies (PyPI's advisory data); see SECURITY.md.
audit: $(VENV)/.test-deps
	$(BIN)/pip-audit --progress-spinner off

clean:
	rm -rf $(VENV) .pytest_cache
