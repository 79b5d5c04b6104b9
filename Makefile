# Cadence: the two commands a fresh machine needs are `make run` and `make test`.
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
PIP   := $(VENV)/bin/pip
CADENCE := $(VENV)/bin/cadence
APT_PACKAGES := fluidsynth fluid-soundfont-gm
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test test-slow setup system-deps lint bench model clean

run: setup
	$(CADENCE) ingest music21:airdsAirs --out out/dataset

test: setup
	$(PY) -m pytest -m "not slow" -q

test-slow: setup
	$(PY) -m pytest -m slow -q

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/mypy src/cadence/cli.py

setup: system-deps $(VENV)/.installed

# apt only when a package is missing, so a second run is quick and needs no network.
system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

# torch first, pinned to the CPU build on disk; then the project (its torch range accepts 2.13.0).
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e '.[dev,web]'
	touch $@

clean:
	rm -rf $(VENV) out
