# Cadence: the two commands a fresh machine needs are `make run` and `make test`.
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
PIP   := $(VENV)/bin/pip
CADENCE := $(VENV)/bin/cadence
APT_PACKAGES := fluidsynth fluid-soundfont-gm opus-tools redis-server chromium postgresql
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

CORPUS_SOURCES := ../shared/data/nottingham/midi music21:bach music21:essenFolksong \
	music21:airdsAirs music21:oneills1850 music21:miscFolk music21:ryansMammoth \
	music21:monteverdi music21:palestrina

.PHONY: run test test-slow reliability screens setup system-deps lint bench model corpus clean

# The main job on the embedded defaults: a 10-minute sleep session with the shipped model.
run: setup
	$(CADENCE) session --goal sleep --minutes 10 --out out/

test: setup
	$(PY) -m pytest -m "not slow and not reliability" -q

test-slow: setup
	$(PY) -m pytest -m slow -q

# Fuzzing, crash safety and load (docs/reliability.md); minutes, not seconds.
reliability: setup
	$(PY) -m pytest -m reliability -q tests/reliability

# One PNG per page and viewport (1280 px, 390 px) of the therapist's and patient's flows.
screens: setup
	$(PY) scripts/screens.py --out out/screens

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/mypy src/cadence/cli.py
	$(VENV)/bin/mypy src/cadence/web src/cadence/commands/web.py
	$(VENV)/bin/mypy src/cadence/clinic src/cadence/commands/clinic.py

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

# The shipped models, reproducibly: ingest the corpora (cached in data/corpus), train the LSTM
# and the Transformer, and copy their best checkpoints into src/cadence/assets/models/.
corpus: setup
	$(CADENCE) ingest $(CORPUS_SOURCES) --out data/corpus

model: corpus
	$(CADENCE) train --config configs/shipped-lstm.toml --data data/corpus --out runs/lstm
	$(PY) scripts/ship_model.py runs/lstm lstm --data data/corpus
	$(CADENCE) train --config configs/shipped-transformer.toml --data data/corpus --out runs/transformer
	$(CADENCE) train --config configs/shipped-transformer-stage2.toml --data data/corpus --out runs/transformer2
	$(PY) scripts/ship_model.py runs/transformer2 transformer --data data/corpus

# Every benchmark side by side in one process: ratios in out/bench.json and docs/benchmarks.md.
bench: setup
	$(CADENCE) bench --json out/bench.json
	$(PY) benchmarks/session.py --json out/bench_session.json

clean:
	rm -rf $(VENV) out
