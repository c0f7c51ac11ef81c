# Two commands on a fresh machine: `make run` starts the app, `make test` runs every test.
# Each creates the virtual environment .venv on first use (and again when the requirements change):
# `make run` installs requirements.txt (the runtime, no TensorFlow); `make test` installs
# requirements-dev.txt, which includes requirements-train.txt (TensorFlow) and requirements.txt.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test audit campaign clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.run-deps: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.test-deps: requirements.txt requirements-train.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.run-deps

# MALLOC_ARENA_MAX=2: glibc gives each allocating thread its own malloc arena, and the video threads'
# frame buffers fragment them; over a 10-minute live session the server's memory crept up 19 MB without
# it and stayed in an 8 MB band with it (tools/live_soak.py, README).
run: $(VENV)/.run-deps
	MALLOC_ARENA_MAX=2 $(BIN)/streamlit run serve.py

test: $(VENV)/.test-deps
	$(BIN)/python -m pytest

# Known vulnerabilities in the pinned dependencies (PyPI's advisory data); see SECURITY.md.
audit: $(VENV)/.test-deps
	$(BIN)/pip-audit --progress-spinner off

# The long model-training campaign: starts it, or resumes it after its last finished epoch, in the
# background at the lowest priority, then the queue's next runs one after another; state under
# ~/.cache/fer/campaign/ (tools/campaign.py status|plot), and on a replaced machine from the run's bank in
# models/campaign/ (tools/campaign.py bank, committed at the end of each session).
campaign: $(VENV)/.test-deps
	$(BIN)/python tools/campaign.py start

clean:
	rm -rf $(VENV) .pytest_cache
