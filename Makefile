# make demo — run the platform locally; make test — run the whole test suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test test-postgres lint bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

.env: | $(STAMP)
	$(PY) scripts/write_env.py .env

demo: $(STAMP) .env
	$(PY) scripts/demo.py

# The whole suite. DATABASE_URL / REDIS_URL from the environment select PostgreSQL and Redis
# (CI sets them); without them it runs on SQLite with the file cache and no server.
test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

bench: $(STAMP)
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) var .pytest_cache
