# Two commands matter: `make run` (embedded default) and `make test`. See README.md.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint migrate seed venv clean serve serve-deps system-deps check-alerts bench bench-quick audit soak scale-test fuzz

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

migrate: venv
	$(BIN)/python manage.py migrate --noinput

seed: migrate
	$(BIN)/python manage.py seed_demo

# Embedded default: SQLite, in-process cache, in-memory channel layer, eager Celery;
# one ASGI process (daphne's runserver) serves HTTP and websockets.
run: seed
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

# Runs on PostgreSQL + Redis when DATABASE_URL / REDIS_URL are set, else on SQLite
# with the service-only tests skipped (the reason is printed).
test: venv
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The scale topology on one machine (README, "Scale-out on one machine"): tests/scale start their
# own PostgreSQL primary + streaming replica in temporary directories and run every scenario, the
# long ones (marker scale_full) included; `make test` runs the fast subset. Needs DATABASE_URL and
# REDIS_URL like `make test`; PostgreSQL 15's binaries in PG_BIN (default /usr/lib/postgresql/15/bin).
scale-test: venv
	SCALE_FULL=1 $(BIN)/python -m pytest tests/scale $(PYTEST_ARGS)

# System packages (Debian), each installed only when missing. serve-deps: nginx, the one origin
# of the production topology. system-deps: those plus Debian's chromium for the browser tests
# (tests/live; Playwright drives /usr/bin/chromium, it never downloads a browser of its own),
# wrk, the benchmark's load generator, and Debian's prometheus (promtool checks and unit-tests
# the alert rules; the live alert test runs the server itself).
serve-deps:
	@command -v nginx >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light; }

system-deps: serve-deps
	@test -x /usr/bin/chromium || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }
	@command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
	@command -v promtool >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus; }

# The alert rules (deploy/prometheus/): valid, and each one's unit tests pass (docs/OPERATIONS.md).
# `make test` runs the same through tests/ops/test_alert_rules.py.
check-alerts:
	@command -v promtool >/dev/null || { echo "promtool is missing: run make system-deps"; exit 2; }
	promtool check rules deploy/prometheus/alerts.yml
	promtool check config --syntax-only deploy/prometheus/prometheus.yml
	promtool test rules deploy/prometheus/tests/*.yml

# The production topology on one machine against PostgreSQL and Redis (REDIS_URL or REDIS_SENTINELS) from the environment:
# nginx :8000 -> granian WSGI workers :8001 (REST) and two daphne ASGI processes :8002/:8003
# (websockets), a Celery worker and beat. Ctrl-C stops everything. Other ports: SERVE_PORT,
# SERVE_WEB_PORT, SERVE_WS1_PORT, SERVE_WS2_PORT. Every process writes its Prometheus series into
# PROMETHEUS_MULTIPROC_DIR (var/prometheus-<port>/, emptied at each start) and /metrics merges them.
PROMETHEUS_MULTIPROC_DIR ?= $(CURDIR)/var/prometheus-$(or $(SERVE_PORT),8000)
serve: venv serve-deps
	@test -n "$$DATABASE_URL" && test -n "$$REDIS_URL$$REDIS_SENTINELS" || { echo "make serve needs DATABASE_URL and REDIS_URL (or REDIS_SENTINELS)"; exit 2; }
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput -v0
	mkdir -p "$(PROMETHEUS_MULTIPROC_DIR)" && find "$(PROMETHEUS_MULTIPROC_DIR)" -maxdepth 1 -name '*.db' -delete
	PROMETHEUS_MULTIPROC_DIR="$(PROMETHEUS_MULTIPROC_DIR)" PATH="$(abspath $(BIN)):$$PATH" $(BIN)/honcho --app-root . --procfile deploy/Procfile start

# Known vulnerabilities in the pinned runtime requirements. Needs a vulnerability database
# (PyPI's JSON API or OSV) on the network; --strict fails when a package could not be audited,
# so an offline run fails loudly instead of passing empty. Not part of CI (docs/RELIABILITY.md).
audit: venv
	$(BIN)/pip-audit --requirement requirements.txt --no-deps --disable-pip --strict --progress-spinner off

# The long bank workload (10 minutes, a fault every 45 s) on a scratch database next to
# DATABASE_URL's; the short version runs in `make test` (tests/reliability/). docs/RELIABILITY.md.
# Then waves of websocket clients that never read against one daphne (needs REDIS_URL too).
soak: venv system-deps
	@test -n "$$DATABASE_URL" || { echo "make soak needs DATABASE_URL (PostgreSQL)"; exit 2; }
	$(BIN)/python -m reliability.soak --minutes $${SOAK_MINUTES:-10}
	WS_SOAK=1 $(BIN)/python -m pytest tests/messaging/test_ws_daphne.py -k waves -q -p no:cacheprovider

# Schemathesis, every phase for every role (`make test` leaves out the coverage phase for the
# tutor's and staff's tokens): needs DATABASE_URL and REDIS_URL like `make test`.
fuzz: venv
	RELIABILITY_FUZZ_FULL=1 $(BIN)/python -m pytest tests/reliability/test_fuzz.py -q -p no:cacheprovider

lint: venv
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .ruff_cache

# Benchmarks (PostgreSQL on 127.0.0.1:5432 as postgres, redis-server, nginx, wrk and pgbench on PATH):
# every goal of docs/benchmarks/README.md measured in one run; scratch databases wm_bench_*.
bench: venv system-deps
	$(BIN)/python -m bench.run --scale medium

# The quick run reports under var/ so it never replaces the committed medium report.
bench-quick: venv system-deps
	$(BIN)/python -m bench.run --scale small --out var/bench/report-small
