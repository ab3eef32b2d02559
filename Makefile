# `make run` and `make test` set up everything on a machine that has Python 3.11.

PYTHON ?= python3
VENV ?= .venv
HOST ?= 127.0.0.1
PORT ?= 8000
# gunicorn's rule of thumb: two workers per core, plus one.
WORKERS ?= $(shell $(PYTHON) -c "import os; print(2 * os.cpu_count() + 1)")

BIN := $(VENV)/bin
OIDC_PROVIDER := tests/oidc_provider

.PHONY: run serve test lint format install install-test clean

# Development: DEBUG on, SQLite unless DATABASE_URL says otherwise.
run: export DEBUG ?= 1
run: export GATEHOUSE_ISSUER ?= http://$(HOST):$(PORT)/
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py bootstrap
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

# Production: gunicorn with the settings of the environment (see .env.example).
# The access log leaves out query strings, which could carry secrets.
serve: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py bootstrap
	$(BIN)/gunicorn project.wsgi --bind $(HOST):$(PORT) --workers $(WORKERS) \
		--access-logfile - --access-logformat '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(L)ss'

test: install-test
	$(BIN)/pytest

lint: install-test
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

format: install-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(OIDC_PROVIDER)/node_modules/.installed | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

# The OpenID provider that the single sign-on tests sign in at.
$(OIDC_PROVIDER)/node_modules/.installed: $(OIDC_PROVIDER)/package-lock.json
	npm ci --prefix $(OIDC_PROVIDER) --no-audit --no-fund --loglevel=error
	touch $@

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles $(OIDC_PROVIDER)/node_modules
