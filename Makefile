# Care plan portal: development, test and serving tasks.
#
#   make setup         system packages, .venv, node_modules, static/vendor, .mo files
#   make run           setup + db, then the development server on 127.0.0.1:5000
#   make test          setup, i18n-check, lint, pytest on SQLite, then on PostgreSQL
#   make help          every target
#
# Every target is safe to repeat: work is only redone when its inputs change.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

VENV        := .venv
PY          := $(VENV)/bin/python
PIP         := $(PY) -m pip --disable-pip-version-check
PYBABEL     := $(VENV)/bin/pybabel
FLASK       := $(VENV)/bin/flask --app portal
PYTEST      := $(VENV)/bin/pytest
RUFF        := $(VENV)/bin/ruff

PIP_STAMP    := $(VENV)/.installed
NPM_STAMP    := node_modules/.installed
# The OpenID Connect provider the sign-in tests run on loopback (its own packages).
OIDC_STAMP   := tests/oidc/node_modules/.installed
ASSETS_STAMP := static/vendor/nhsuk/VERSION

PO_FILES := $(wildcard translations/*/LC_MESSAGES/messages.po)
MO_FILES := $(PO_FILES:.po=.mo)
LINT_DIRS := $(wildcard portal tests bench scripts)

# Development server and database.
PORTAL_ENV ?= development
HOST ?= 127.0.0.1
PORT ?= 5000

# Tests: pytest workers, extra pytest arguments, and the PostgreSQL server the
# second pass uses (the suite creates and drops its own databases through it).
PYTEST_WORKERS ?= 2
PYTEST_ARGS ?=
PG_HOST ?= 127.0.0.1
PG_PORT ?= 5432
PG_ADMIN_URL ?= postgresql+psycopg://postgres@$(PG_HOST):$(PG_PORT)/postgres

# Production serving with gunicorn.
SERVE_BIND ?= 127.0.0.1:8000

# Background jobs: Celery worker processes (beat runs inside `make worker`).
WORKER_CONCURRENCY ?= 2
# Bounces of notification emails: the SMTP receiver the mail server hands them to.
BOUNCE_HOST ?= 127.0.0.1
BOUNCE_PORT ?= 8025
BOUNCE_BIND := $(BOUNCE_HOST):$(BOUNCE_PORT)

# One step at a time, in the order given, even under `make -j`.
.NOTPARALLEL:

.PHONY: help setup system db run test test-sqlite test-postgres lint \
        i18n-extract i18n-update i18n-init i18n-compile i18n-check \
        bench serve worker bounce-server error-pages clean

help:
	@echo "Targets:"
	@echo "  setup         install system packages, .venv, node_modules, vendor assets; compile translations"
	@echo "  db            apply migrations and load demo data (instance/ SQLite by default)"
	@echo "  run           setup + db, then the development server on http://$(HOST):$(PORT)"
	@echo "  test          setup, i18n-check, lint, pytest on SQLite, then on PostgreSQL if it answers"
	@echo "  lint          ruff check"
	@echo "  i18n-extract  regenerate translations/messages.pot from portal/ and templates/"
	@echo "  i18n-update   merge messages.pot into every translations/<locale>/LC_MESSAGES/messages.po"
	@echo "  i18n-init     start a new locale: make i18n-init LOCALE=cy"
	@echo "  i18n-compile  compile every messages.po to messages.mo, with statistics"
	@echo "  i18n-check    fail if the catalogues are out of date or incomplete"
	@echo "  bench         install the bench extras and run the benchmarks"
	@echo "  serve         serve with gunicorn on $(SERVE_BIND) (production settings)"
	@echo "  worker        Celery worker and scheduler for background jobs (needs REDIS_URL)"
	@echo "  bounce-server receive bounced notification emails on $(BOUNCE_BIND) (needs PORTAL_MAIL_BOUNCE_ADDRESS)"
	@echo "  error-pages   write the front server's timeout page in every language (deploy/error-pages)"
	@echo "  clean         remove install stamps, node_modules, static/vendor and .mo files"

# --------------------------------------------------------------------------- #
# Setup
# --------------------------------------------------------------------------- #

setup: system $(PIP_STAMP) $(ASSETS_STAMP) $(OIDC_STAMP) $(MO_FILES)

system:
	@bash scripts/bootstrap-system.sh

$(PY):
	python3 -m venv $(VENV)

# pip is quick when everything is already installed; the stamp only records
# that pyproject.toml has not changed since.
$(PIP_STAMP): pyproject.toml | $(PY)
	$(PIP) install --quiet -e '.[test]'
	@touch $@

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(OIDC_STAMP): tests/oidc/package.json tests/oidc/package-lock.json
	npm ci --prefix tests/oidc --no-audit --no-fund --loglevel=error
	@touch $@

$(ASSETS_STAMP): $(NPM_STAMP) scripts/copy-assets.sh
	@bash scripts/copy-assets.sh

translations/%/LC_MESSAGES/messages.mo: translations/%/LC_MESSAGES/messages.po | $(PIP_STAMP)
	@$(PYBABEL) -q compile -d translations -l $*

# --------------------------------------------------------------------------- #
# Database and development server
# --------------------------------------------------------------------------- #

db: setup
	@mkdir -p instance
	PORTAL_ENV=$(PORTAL_ENV) $(FLASK) db upgrade
	PORTAL_ENV=$(PORTAL_ENV) $(FLASK) demo-data

run: setup db
	PORTAL_ENV=$(PORTAL_ENV) $(FLASK) run --host $(HOST) --port $(PORT)

# --------------------------------------------------------------------------- #
# Tests and checks
# --------------------------------------------------------------------------- #

# Prerequisites run in the order listed (see .NOTPARALLEL below).
test: setup i18n-check lint test-sqlite test-postgres

test-sqlite: setup
	@$(PY) -c 'import redis; redis.Redis(socket_connect_timeout=2).ping()' >/dev/null 2>&1 \
	    && echo "== Redis answers on 127.0.0.1:6379: the queue tests run a real Celery worker" \
	    || echo "== Redis is not answering on 127.0.0.1:6379: the queue tests are skipped"
	@echo "== pytest (SQLite)"
	$(PYTEST) -n $(PYTEST_WORKERS) -p no:cacheprovider $(PYTEST_ARGS)

# Runs when PostgreSQL answers on $(PG_HOST):$(PG_PORT); says so and succeeds
# when it does not. Browser tests and rendering-only checks (marker `rendering`) run on
# SQLite only: the database makes no difference to them.
test-postgres: setup
	@if command -v pg_isready >/dev/null 2>&1; then \
	    pg_isready -q -h $(PG_HOST) -p $(PG_PORT) -t 5; \
	else \
	    $(PY) -c 'import sys, psycopg; psycopg.connect(sys.argv[1], connect_timeout=5).close()' \
	        '$(subst postgresql+psycopg:,postgresql:,$(PG_ADMIN_URL))' >/dev/null 2>&1; \
	fi \
	|| { echo "== PostgreSQL is not answering on $(PG_HOST):$(PG_PORT): skipping the PostgreSQL pass"; exit 0; }; \
	echo "== pytest (PostgreSQL on $(PG_HOST):$(PG_PORT))"; \
	PORTAL_TEST_DATABASE='$(PG_ADMIN_URL)' \
	    $(PYTEST) -n $(PYTEST_WORKERS) -p no:cacheprovider -m "not browser and not rendering" $(PYTEST_ARGS)

lint: $(PIP_STAMP)
ifneq ($(strip $(LINT_DIRS)),)
	$(RUFF) check $(LINT_DIRS)
else
	@echo "lint: nothing to check yet"
endif

# --------------------------------------------------------------------------- #
# Translations
# --------------------------------------------------------------------------- #

i18n-extract: $(PIP_STAMP)
	$(PY) scripts/check_translations.py --extract

i18n-update: $(PIP_STAMP)
ifneq ($(strip $(PO_FILES)),)
	$(PYBABEL) update -i translations/messages.pot -d translations \
	    --no-fuzzy-matching --ignore-obsolete
else
	@echo "i18n-update: no locale yet (start one with: make i18n-init LOCALE=cy)"
endif

i18n-init: $(PIP_STAMP)
	@test -n "$(LOCALE)" || { echo "usage: make i18n-init LOCALE=<code>, e.g. LOCALE=cy"; exit 2; }
	$(PYBABEL) init -i translations/messages.pot -d translations -l $(LOCALE)

i18n-compile: $(PIP_STAMP)
ifneq ($(strip $(PO_FILES)),)
	$(PYBABEL) compile -d translations --statistics
else
	@echo "i18n-compile: no locale yet"
endif

i18n-check: $(PIP_STAMP)
	$(PY) scripts/check_translations.py

# --------------------------------------------------------------------------- #
# Benchmarks and serving
# --------------------------------------------------------------------------- #

bench: setup
	@BOOTSTRAP_BENCH=1 bash scripts/bootstrap-system.sh
	$(PIP) install --quiet -e '.[bench]'
	$(PY) -m bench $(BENCH_ARGS)

# The page nginx serves when a worker times out (deploy/nginx/portal.conf); run after a
# translation changes and commit the result (tests/test_error_pages.py checks it is current).
error-pages: $(PIP_STAMP) $(MO_FILES)
	PORTAL_ENV=development $(FLASK) error-pages

serve: setup
	$(VENV)/bin/gunicorn --config gunicorn.conf.py --bind $(SERVE_BIND)

# One worker with the scheduler (beat) inside it; with several worker machines, run
# beat on one only (see README, Background jobs).
worker: setup
	@mkdir -p instance
	$(VENV)/bin/celery -A portal.worker worker --beat \
	    --concurrency $(WORKER_CONCURRENCY) --schedule instance/celerybeat-schedule --loglevel INFO

# Bounces reported after delivery, handed over by the mail server (see README, Bounces).
bounce-server: setup
	$(FLASK) bounce-server --host $(BOUNCE_HOST) --port $(BOUNCE_PORT)

# --------------------------------------------------------------------------- #

clean:
	rm -f $(PIP_STAMP)
	rm -rf node_modules static/vendor tests/oidc/node_modules
	find translations -name '*.mo' -type f -delete 2>/dev/null || true
