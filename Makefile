# The two commands: `make run` and `make test`. Nothing else is needed on a fresh clone.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
HOST ?= 127.0.0.1
WEB_CONCURRENCY ?= 1
export PORT HOST WEB_CONCURRENCY

.PHONY: run test install install-dev lint format check superuser bench browser node-deps audit deploy-check

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# Without REDIS_URL the processes share the Redis that the Procfile's `store` line starts
# (config/embedded_redis.py); with it, they use that one and no store is started.
RUN_PROCESSES := web worker beat$(if $(REDIS_URL),, store)

run: install
	mkdir -p var/media
	$(BIN)/python manage.py migrate --noinput
	@echo ""
	@echo "  OpenProvider is starting at http://$(HOST):$(PORT)/"
	@echo "  Sign in: create an account at http://$(HOST):$(PORT)/account/signup/"
	@echo "           (or an admin: DJANGO_SUPERUSER_PASSWORD=... $(BIN)/python manage.py createsuperuser --noinput --email you@example.com)"
	@echo "  $(RUN_PROCESSES) run together; press Ctrl+C to stop them."
	@echo ""
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start -f Procfile $(RUN_PROCESSES)

# Browser tests drive Debian's Chromium; install it when missing.
browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

# The Node client tests (tests/node: the Vercel AI SDK) run from the committed lockfile.
node-deps:
	@test -d tests/node/node_modules || (cd tests/node && npm ci --no-audit --no-fund)

test: install-dev browser node-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/mypy
	$(BIN)/lint-imports

# Supply chain and deployment: bandit over the app code (findings fixed or justified inline with
# `# nosec <id>`), `check --deploy` with production-shaped values, pip-audit (.ci/audit.py: fails
# on known vulnerabilities, says NOT PERFORMED when the vulnerability data is unreachable).
audit: install-dev deploy-check
	$(BIN)/bandit -r config accounts providers catalog gateway -ll -q
	$(BIN)/python .ci/audit.py

deploy-check: install
	DEBUG=false ALLOWED_HOSTS=openprovider.example.org \
	SECRET_KEY="$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
	OPENPROVIDER_ENCRYPTION_KEY="$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
	$(BIN)/python manage.py check --deploy --fail-level WARNING

format: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

check: lint test

bench: install-dev
	$(BIN)/python bench/run.py
