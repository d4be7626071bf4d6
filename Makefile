# Reelvault. The two commands a user needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TOOLS := .venv-tools

.PHONY: run test lint bench clean-var

## make run: install, start embedded PostgreSQL/Redis if no URLs are set, migrate, seed, run web+worker+beat.
run: $(VENV)/.installed
	$(PY) -m reelvault.launcher run

## make test: the whole test suite (against DATABASE_URL/REDIS_URL when set, else the embedded services).
test: $(VENV)/.dev-installed $(TOOLS)/.installed
	$(VENV)/bin/pytest $(PYTEST_ARGS)

## make lint: ruff, mypy, import layering (import-linter), migrations check.
lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports --no-cache
	$(PY) manage.py makemigrations --check --dry-run

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements-dev.txt $(VENV)/.installed
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# The ASC MHL reference tool pins Click 8.1, which Celery cannot share: its own venv.
$(TOOLS)/.installed:
	test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check ascmhl==1.2
	touch $@

clean-var:
	rm -rf var/
