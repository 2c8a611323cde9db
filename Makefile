# Clarion's commands. The README starts with `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: run address test bench lint format check-deploy clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.run-deps: $(BIN)/python requirements.txt
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-deps: $(VENV)/.run-deps requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

# Set up and run Clarion in the embedded mode: SQLite and Celery's filesystem broker
# under var/, demo data, and web + worker + beat together. Safe to run twice.
# The first command makes the development key that encrypts the push credentials,
# var/field-encryption.key (config/settings.py), and every later run reads the same
# one, so the data saved with it stays readable.
run: export DEBUG ?= 1
run: $(VENV)/.run-deps
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py createcachetable
	$(BIN)/python manage.py vapid_keys
	$(BIN)/python manage.py seed_demo
	@echo
	@$(MAKE) --no-print-directory address
	@echo
	$(BIN)/honcho start

# Where `make run`'s web process listens: gunicorn's own bind (config/gunicorn.py, from
# WEB_BIND), so what is printed is what is bound.
address:
	@echo "Clarion is starting at $$($(BIN)/python -m config.gunicorn) (log in with a demo login above; Ctrl-C stops it)"

# Set up and run the whole test suite. Uses DATABASE_URL and CELERY_BROKER_URL when
# set (CI: PostgreSQL and Redis), the embedded defaults when not.
test: $(VENV)/.dev-deps
	@bash scripts/ensure-chromium
	$(BIN)/pytest

# Every benchmark in bench/, or one: make bench B=send
bench: $(VENV)/.dev-deps
	@bash scripts/bench $(B)

# ruff, then the import contracts in pyproject.toml (apps import downward, no cycles inside one).
lint: $(VENV)/.dev-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(VENV)/.dev-deps
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Django's deployment checks with production-like settings.
check-deploy: $(VENV)/.run-deps
	DEBUG=0 SECRET_KEY=check-deploy-$$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n') \
	FIELD_ENCRYPTION_KEYS=$$($(BIN)/python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())') \
	PUBLIC_BASE_URL=https://clarion.example.com \
	$(BIN)/python manage.py check --deploy --fail-level WARNING

clean:
	rm -rf $(VENV) var
