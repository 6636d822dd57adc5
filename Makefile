# Kinerja — `make run` starts everything; `make test` runs the tests.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)

.PHONY: help install run test test-pg bench lint format docs clean

help:
	@echo "make run    - set up and start web, worker and scheduler with demo data"
	@echo "make test   - set up and run the tests (SQLite + embedded Redis by default)"
	@echo "make bench  - run the benchmarks in bench/"
	@echo "make lint   - ruff check and format check"

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

run: install
	$(PY) -m workflow_app.dev.runner

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

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
