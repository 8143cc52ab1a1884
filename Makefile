# Tsunagari — everything a developer or CI runs goes through these targets.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000
# The local settings unless the caller chose others.
export DJANGO_SETTINGS_MODULE ?= config.settings.local

.PHONY: help venv run migrate seed test worker lint format chromium clean

help:
	@echo "make run     - venv, install, migrate, demo data, serve http://$(HOST):$(PORT)"
	@echo "make test    - the test suite (SQLite + eager tasks unless DATABASE_URL/REDIS_URL are set)"
	@echo "make worker  - Celery worker + beat against REDIS_URL"
	@echo "make lint    - ruff, and the import chain of the apps (import-linter)"
	@echo "make prod-smoke - production settings under gunicorn on a throw-away database, checked over HTTP"
	@echo "make faults  - worker SIGKILL, PostgreSQL restart, Redis stopped: checked (restarts the services; root)"
	@echo "make load-test - 200 members browsing + 50 registering at once for 60 s; req/s, p95, errors"

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

venv: $(STAMP)

migrate: venv
	$(BIN)/python manage.py migrate --noinput

seed: migrate
	$(BIN)/python manage.py seed_demo

# Links in mails point at the address actually served on, unless SITE_URL is set.
run: seed
	SITE_URL="$${SITE_URL:-http://$(HOST):$(PORT)}" $(BIN)/python manage.py runserver $(HOST):$(PORT)

test: venv
	DJANGO_SETTINGS_MODULE=config.settings.test $(BIN)/python -m pytest $(PYTEST_ARGS)

worker: venv
	@test -n "$$REDIS_URL" || (echo "REDIS_URL を設定してください（例: redis://127.0.0.1:6379/0）" && exit 1)
	$(BIN)/celery -A config worker --beat --loglevel=INFO

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Debian's Chromium for the browser tests (CI runs this; needs root).
# Debian's packages the tests need: Chromium (the journeys), the Japanese font
# and Pango/Cairo (the annual report's PDF and its charts, committee/report_files.py).
SYSTEM_PACKAGES := chromium fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0 libcairo2

chromium:
	dpkg -s $(SYSTEM_PACKAGES) >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PACKAGES))

clean:
	rm -rf $(VENV) test-artifacts .pytest_cache .ruff_cache

# Every page at national scale (bench/run.py, docs/benchmarks.md): SQLite by
# default, PostgreSQL with DATABASE_URL; e.g. BENCH_ARGS="--small" (CI's scale).
# bench-compare: per page the two runs' p95, e.g. A=bench/results/x.json B=….
.PHONY: bench bench-compare
bench: venv
	$(BIN)/python bench/run.py $(BENCH_ARGS)

bench-compare: venv
	$(BIN)/python bench/compare.py $(A) $(B)

# The production settings served for real and checked over HTTP, plus a backup
# and restore (ops/prod_smoke.py, docs/operations.md). Needs PostgreSQL on
# 127.0.0.1:5432 (user postgres, trust) and Redis on 127.0.0.1:6379 (db 13).
.PHONY: prod-smoke
prod-smoke: venv
	$(BIN)/python ops/prod_smoke.py

# Faults made for real (ops/faults.py, docs/operations.md): a worker killed
# mid-batch, PostgreSQL restarted under registrations, Redis stopped. Restarts
# this machine's PostgreSQL and Redis (root); both run again when it ends.
# The load test (ops/load_test.py): gunicorn + PostgreSQL + Redis, 60 s.
.PHONY: faults load-test
faults: venv
	$(BIN)/python ops/faults.py

load-test: venv
	$(BIN)/python ops/load_test.py $(LOAD_ARGS)
