# Two commands matter: `make run` (embedded default) and `make test`. See README.md.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint migrate seed venv clean

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

lint: venv
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .ruff_cache
