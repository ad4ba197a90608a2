# make demo — run the platform locally; make test — run the whole test suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test test-postgres test-tools lint bench clean mutation

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
test: $(STAMP) test-tools
	$(PY) -m pytest $(PYTEST_ARGS)

# Debian's chromium (the real-browser test) and redis-server (the Redis-outage tests): installed here
# when missing (needs root or sudo).
test-tools:
	@bash scripts/install-test-tools

# mypy's Django plugin loads the settings: give it throwaway keys.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	READ_DOT_ENV=false DEBUG=true VAR_DIR=$$(mktemp -d) \
	FIELD_ENCRYPTION_KEY=$$($(PY) -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())') \
	$(VENV)/bin/mypy membership graphfns project emulator

# Would a test notice a broken security check? Mutation testing of the sign-in, API-key and pass-through
# code (docs/mutation.md): CPU-heavy, never part of `make test`. MUTATION_ARGS: e.g. --module membership/flows.py
mutation: $(STAMP)
	nice -n 15 $(PY) scripts/mutation.py $(MUTATION_ARGS)

bench: $(STAMP)
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) var .pytest_cache

# Production processes (docs/operations.md): the settings come from the environment or .env
# (SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL, REDIS_URL, FIELD_ENCRYPTION_KEY, DEBUG unset).
.PHONY: serve worker beat
serve: $(STAMP)
	$(PY) manage.py check --deploy --fail-level ERROR
	$(VENV)/bin/gunicorn -c python:project.gunicorn_conf project.wsgi

worker: $(STAMP)
	$(VENV)/bin/celery -A project worker -l INFO

beat: $(STAMP)
	$(VENV)/bin/celery -A project beat -l INFO
