# The BIZi portal. `make help` lists the targets.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
ONLY ?=

.DEFAULT_GOAL := help

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt requirements-dev.txt requirements-client.txt requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check \
		-r requirements-dev.txt -c requirements.lock
	# --no-deps: the client's caps on pyarrow and requests would downgrade the portal's pins.
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps \
		-r requirements-client.txt
	touch $@

install: $(VENV)/.installed ## Create the virtual environment and install the pinned packages

run: install ## Migrate, load the demo, serve at http://127.0.0.1:8000 with a Celery worker and beat
	$(PY) manage.py migrate --noinput -v0
	$(PY) manage.py collectstatic --noinput -v0
	bin/run

test: install ## Lint, type-check, check migrations and run the whole suite under coverage
	bin/test

bench: install ## Run the benchmarks (ONLY=web|ledger|storage|… for one group)
	$(PY) -m bench $(ONLY)

lock: install ## Rewrite requirements.lock from what the venv has installed
	{ echo "# Every package the portal and its tests install, at the versions CI runs (pip freeze)."; \
	  echo "# Regenerate with: make lock"; $(PY) -m pip freeze --exclude-editable; } > requirements.lock

.PHONY: help install run test bench lock
