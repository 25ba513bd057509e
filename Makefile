# The two commands: `make run` and `make test`. Both set everything up themselves.
SHELL := /bin/bash
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
# The chat sockets' server (uvicorn, the Procfile's `ws`): pages tell the widget to connect here.
CHAT_WS_PORT ?= 8001

export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)

.PHONY: run test fuzz install lint migrations-check services-check browser-check clean

$(UV):
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

install: $(UV)
	$(UV) sync --frozen --quiet

## make run: embedded mode (SQLite, filesystem Celery transport); web + worker + beat.
# Links in e-mails point at the port this serves, unless SITE_URL says otherwise.
run: export SITE_URL ?= http://127.0.0.1:$(PORT)
run: export CHAT_WS_PORT := $(CHAT_WS_PORT)
run: export CHAT_WS_ORIGIN ?= ws://127.0.0.1:$(CHAT_WS_PORT)
run: install
	$(PY) manage.py migrate --noinput
	@if [ ! -f var/.demo-seeded ]; then $(PY) manage.py seed_demo && touch var/.demo-seeded; fi
	DJANGO_DEBUG=true $(PY) manage.py collectstatic --noinput --verbosity 0
	@echo ""
	@echo "  Desk:        http://127.0.0.1:$(PORT)/desk/"
	@echo "  Help center: http://127.0.0.1:$(PORT)/help/"
	@echo "  API docs:    http://127.0.0.1:$(PORT)/api/v1/docs/"
	@echo "  Admin:       http://127.0.0.1:$(PORT)/admin/"
	@echo "  Chat socket: ws://127.0.0.1:$(CHAT_WS_PORT)/ws/ (uvicorn)"
	@$(PY) -c "from core.demo import DEMO_LOGINS, DEMO_PASSWORD; \
	print('  Demo logins (password: ' + DEMO_PASSWORD + '):'); \
	[print(f'    {r:<13} {e}') for e, r in DEMO_LOGINS]" 2>/dev/null || true
	@echo ""
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" DJANGO_DEBUG=true $(VENV)/bin/honcho start -f Procfile -p $(PORT)

## make test: ruff, migrations check and the whole suite against PostgreSQL and Redis.
test: install services-check browser-check lint migrations-check
	DJANGO_SETTINGS_MODULE=config.settings.test $(VENV)/bin/pytest -n 2 --dist loadgroup -q

## make fuzz: the API fuzzer at length (every phase, 100 cases per operation and role).
fuzz: install services-check
	FUZZ_PHASES=examples,coverage,fuzzing FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-100} \
		DJANGO_SETTINGS_MODULE=config.settings.test $(VENV)/bin/pytest -n 2 -q \
		tests/core/test_api_fuzz.py

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports  # the import direction of DESIGN §1 (contracts in pyproject.toml)

migrations-check:
	DJANGO_SETTINGS_MODULE=config.settings.test $(PY) manage.py makemigrations --check --dry-run

# The browser tests drive Debian's Chromium (Playwright cannot download its own browser here).
browser-check:
	@command -v chromium >/dev/null || { \
		echo "Installing Chromium for the browser tests (apt-get)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	} || { echo "error: Chromium is needed for the browser tests: apt-get install chromium" >&2; exit 1; }

services-check:
	DJANGO_SETTINGS_MODULE=config.settings.test $(PY) -m config.check_services

clean:
	rm -rf var $(VENV) $(TOOLS)
