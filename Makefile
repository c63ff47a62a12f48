# Cycle 2021 tracker. `make run` starts the demo; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Development commands run with DEBUG on unless the environment says otherwise.
MANAGE := DEBUG=$${DEBUG:-1} $(BIN)/python manage.py
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# Links in e-mails and certificates' QR codes point at the server `make run` starts: SITE_URL
# follows HOST and PORT unless set (a server listening on every address is reached locally).
SITE_HOST := $(if $(filter 0.0.0.0 ::,$(HOST)),127.0.0.1,$(HOST))
WITH_SITE_URL := SITE_URL=$${SITE_URL:-http://$(SITE_HOST):$(PORT)}

.PHONY: help setup run demo migrate messages test test-faults test-slow test-sqlite typecheck lint format migrate-check check worker beat bench screenshots clean

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

# requirements.lock: what the application runs on (the image installs only this);
# requirements-dev.lock: the same pins plus the tools (tests, ruff, mypy). Both come from
# pyproject.toml with pip-compile (see README, "Dependencies").
$(STAMP): requirements.lock requirements-dev.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements-dev.lock
	@touch $(STAMP)

setup: $(STAMP) messages  ## Create the virtual environment and install from the dev lock file

messages: $(STAMP)  ## Compile the translation catalogues (fr, ar, en)
	@$(BIN)/python tools/compile_messages.py

migrate: setup  ## Apply database migrations
	$(MANAGE) migrate --no-input

demo: migrate  ## Load the demo data (idempotent) and print the demo accounts
	$(WITH_SITE_URL) $(MANAGE) seed_demo

run: demo  ## Set up, load demo data and serve on http://127.0.0.1:8000 (SQLite, tasks inline)
	$(WITH_SITE_URL) $(MANAGE) runserver $(HOST):$(PORT)

test: setup  ## Run the whole test suite (uses DATABASE_URL / REDIS_URL when set)
	$(BIN)/pytest

test-faults: setup  ## The fault runs: kills and a mail outage with production timings (~6 min; PostgreSQL, Redis)
	$(BIN)/pytest -m faults -s

test-slow: setup  ## The long checks (~8 min): the disclosure attack and retention on the demo data, every page at two sizes in three languages, demo certificates, more random data and worker kills
	$(BIN)/pytest -m slow

typecheck: setup  ## mypy with django-stubs (settings in pyproject.toml)
	DEBUG=$${DEBUG:-1} $(BIN)/mypy

lint: setup  ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup  ## Format the code with ruff
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

migrate-check: setup  ## Fail if models changed without a migration
	$(MANAGE) makemigrations --check --dry-run

check: setup  ## Django's system checks (deployment settings included)
	$(MANAGE) check

worker: setup  ## Run a Celery worker on both queues, the default and e-mail (needs REDIS_URL)
	$(BIN)/celery -A worker worker -Q celery,celery.email --loglevel=INFO

beat: setup  ## Run Celery beat (needs REDIS_URL)
	$(BIN)/celery -A worker beat --loglevel=INFO

bench: setup  ## Report benchmark on the national scale (needs DATABASE_URL on PostgreSQL; see README)
	$(BIN)/python -W ignore bench/report.py

bench-certificates: setup  ## Certificate rendering: our PDF vs a plain ReportLab page (ratio)
	$(BIN)/python bench/certificates.py

bench-reminders: setup  ## 10,000 reminders to a local SMTP sink vs Django sending the same
	$(BIN)/python bench/reminders.py

bench-pages: setup  ## Pages vs their API twins at national scale (PostgreSQL; see README)
	$(BIN)/python -W ignore bench/pages.py

screenshots: setup  ## Screenshots of the main pages (desktop, phone; fr, ar) into docs/screenshots/
	$(BIN)/python tools/screenshots.py

clean:  ## Remove the virtual environment and local data
	rm -rf $(VENV) var
