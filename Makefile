# Kinerja — `make run` starts everything; `make test` runs the tests.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
PY     := $(VENV)/bin/python
# pytest-xdist workers; each has a database and a Redis db of its own (tests/conftest.py).
# worksteal: an idle worker takes queued tests from a busy one, so a few long tests do not leave one
# worker running alone at the end.
TEST_WORKERS ?= 2
XDIST  = -n $(TEST_WORKERS) --dist worksteal
FAST   := -m "not slow and not faults and not browser"
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)

.PHONY: help install run test test-fast test-pg bench lint format docs clean

help:
	@echo "make run    - set up and start web, worker and scheduler with demo data"
	@echo "make test   - set up and run every test, $(TEST_WORKERS) in parallel (SQLite + embedded Redis by default)"
	@echo "make test-fast - the tests without the slow, faults and browser ones (under a minute)"
	@echo "make bench  - run the benchmarks in bench/"
	@echo "make lint   - ruff check and format check"

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

run: install
	$(PY) -m workflow_app.runner

test: install
	$(PY) -m pytest $(XDIST) $(PYTEST_ARGS)

test-fast: install
	$(PY) -m pytest $(XDIST) $(FAST) $(PYTEST_ARGS)

bench: install
	$(PY) -m bench.run $(BENCH_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

docs: install
	$(VENV)/bin/flask --app wsgi docs state-machines
	$(VENV)/bin/flask --app wsgi docs notifications

clean:
	rm -rf $(VENV) instance .pytest_cache .hypothesis
