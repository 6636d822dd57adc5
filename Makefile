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
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt requirements-bench.txt | sha1sum | cut -c1-12)
# Where `make run` keeps its data (the same default as config.py).
INSTANCE ?= $(or $(KINERJA_INSTANCE_DIR),instance)

.PHONY: help install catalogues translations run reset-demo test test-fast test-pg bench lint format docs clean

help:
	@echo "make run        - set up and start web, worker and scheduler with demo data"
	@echo "make reset-demo - delete make run's local data (asks; FORCE=1 skips the question);"
	@echo "                  the next make run loads a fresh demo"
	@echo "make test       - set up and run every test, $(TEST_WORKERS) in parallel (SQLite + embedded Redis by default)"
	@echo "make test-fast  - the tests without the slow, faults and browser ones (under a minute)"
	@echo "make bench      - run the benchmarks in bench/"
	@echo "make translations - extract the UI's strings and update the .po catalogues (id, en)"
	@echo "make lint       - ruff check, format check and the import-linter layer contracts"

$(STAMP): requirements.txt requirements-dev.txt requirements-bench.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@# -qq: pip prints errors only, not its own warnings (e.g. about index locations in the
	@# machine's pip configuration); a failed install still fails with its error.
	$(PY) -m pip install -qq --disable-pip-version-check -r requirements-dev.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

# The compiled message catalogues (.mo) are built, not committed: every target that runs the app
# compiles them from the .po files first (a second or less).
catalogues: install
	@$(VENV)/bin/pybabel -q compile -d workflow_app/translations

# For translators: collect every string (UI, service and guard messages, state-machine labels)
# into messages.pot and merge it into each language's .po; then translate and commit the .po.
translations: install
	PYTHONPATH=. $(VENV)/bin/pybabel -q extract -F babel.cfg --no-location --sort-output \
	  --project Kinerja --version 2026.1 --copyright-holder "Kinerja" -o workflow_app/translations/messages.pot .
	$(VENV)/bin/pybabel -q update -N --no-wrap --ignore-obsolete -i workflow_app/translations/messages.pot -d workflow_app/translations
	$(VENV)/bin/pybabel -q compile -d workflow_app/translations

run: catalogues
	$(PY) -m workflow_app.dev.runner

# Deletes the SQLite database, Redis data, mail, audit checkpoints and demo logins of `make run`
# (stop it first); the next `make run` migrates an empty database and loads a fresh demo.
reset-demo:
	@echo "This deletes make run's local data in $(INSTANCE)/: the SQLite database, Redis data,"
	@echo "mail, audit checkpoints and demo logins. Stop make run first."
	@if [ -n "$$DATABASE_URL" ]; then echo "DATABASE_URL is set: that database is not touched" \
	  "(empty it with: $(VENV)/bin/flask --app wsgi demo load --force)."; fi
	@if [ "$(FORCE)" != "1" ]; then \
	  printf 'Delete it? [y/N] '; read answer; \
	  case "$$answer" in y|Y|yes|ya) ;; *) echo "Nothing deleted."; exit 0;; esac; \
	fi; \
	rm -rf "$(INSTANCE)/kinerja.db" "$(INSTANCE)/kinerja.db-journal" "$(INSTANCE)/kinerja.db-wal" \
	  "$(INSTANCE)/kinerja.db-shm" "$(INSTANCE)/redis" "$(INSTANCE)/mail" \
	  "$(INSTANCE)/audit-checkpoints.jsonl" "$(INSTANCE)/demo-logins.json" && \
	echo "Deleted. The next 'make run' loads a fresh demo."

test: catalogues
	$(PY) -m pytest $(XDIST) $(PYTEST_ARGS)

test-fast: catalogues
	$(PY) -m pytest $(XDIST) $(FAST) $(PYTEST_ARGS)

bench: catalogues
	$(PY) -m bench.run $(BENCH_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	PYTHONPATH=. $(VENV)/bin/lint-imports

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

docs: install
	$(VENV)/bin/flask --app wsgi docs state-machines
	$(VENV)/bin/flask --app wsgi docs notifications

clean:
	rm -rf $(VENV) instance .pytest_cache .hypothesis
