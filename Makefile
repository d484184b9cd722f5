# Everything sets itself up: `make run` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False

.PHONY: setup run index test test-fast lint browser bench calibrate clean

setup: $(STAMP)

# torch is pinned first (its CPU wheel), so installing the project never makes
# pip pick another torch build with gigabytes of CUDA packages.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

run: setup
	$(PY) app.py

index: setup
	$(PY) -m qa index

# Debian's Chromium for the browser tests (Playwright cannot download browsers here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# Every tier (tests/unit, tests/integration, tests/system): the README's and CI's command.
test: setup browser lint
	$(PY) -m pytest

# The unit tier alone: no model, no server, no browser; well under a minute.
test-fast: setup
	$(PY) -m pytest tests/unit -q

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Every benchmark, one after the other (about an hour on 2 cores); each writes its
# section of docs/BENCHMARKS.md. Run them alone: other work skews the timings.
SQUAD ?= ../shared/squad
bench: setup
	$(PY) benchmarks/ask_latency.py --rounds 3 --write docs/BENCHMARKS.md
	$(PY) benchmarks/load_test.py --clients 50 --seconds 60 --write docs/BENCHMARKS.md
	$(PY) benchmarks/reader_latency.py --squad $(SQUAD)/dev-v1.1.json --write docs/BENCHMARKS.md
	$(PY) benchmarks/eval_table.py --squad $(SQUAD)/dev-v1.1.json --squad-limit 1000 --write docs/BENCHMARKS.md
	$(PY) benchmarks/peers/run.py --data tests/data/seed_dev.jsonl --write docs/BENCHMARKS.md
	$(PY) benchmarks/peers/run.py --data $(SQUAD)/dev-v1.1.json --limit 200 --write docs/BENCHMARKS.md
	$(PY) benchmarks/scale.py --squad $(SQUAD) --write docs/BENCHMARKS.md
	$(PY) benchmarks/updates.py --squad $(SQUAD) --write docs/BENCHMARKS.md
	$(PY) benchmarks/bm25_latency.py --squad $(SQUAD) --write docs/BENCHMARKS.md
	$(PY) benchmarks/extraction.py --rounds 5 --folder 1000 --write docs/BENCHMARKS.md
	$(PY) benchmarks/login_latency.py --rounds 3 --write docs/BENCHMARKS.md
	$(PY) benchmarks/refresh_path.py --squad $(SQUAD) --files 1000 4000 10000 --write docs/BENCHMARKS.md
	$(PY) benchmarks/answer_boundaries.py --squad $(SQUAD)/dev-v1.1.json --limit 2000 --write docs/BENCHMARKS.md

# Refit the answer ranker and calibrator on SQuAD 2.0 dev (about 15 minutes on 2
# cores; the readings are kept in .fit/ and a refit from them takes a minute and a half).
calibrate: setup
	$(PY) -m training.calibrator --squad $(SQUAD)/dev-v2.0.json --check $(SQUAD)/dev-v1.1.json --every 2 \
	  --precision 0.8 --answerable-share 0.8 --cache .fit/readings.pkl --report .fit/report.json

clean:
	rm -rf $(VENV) index test-artifacts
