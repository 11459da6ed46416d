# The two commands a newcomer needs:  make run  (the product with demo data)  and  make test.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
# pytest processes for make test (pytest-xdist); each gets its own databases, SMTP and IMAP servers.
TEST_WORKERS ?= auto

.PHONY: run install install-test test lint services translations migration clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

## run: install, load demo data (once) and serve on http://127.0.0.1:5000
run: install
	$(BIN)/helpdesk demo
	$(BIN)/helpdesk serve --host $(HOST) --port $(PORT)

## test: install what the tests need (services included), check the architecture, lint, run every test
test: install-test services lint
	$(BIN)/python -m pytest -n $(TEST_WORKERS)

services:
	scripts/test-services.sh

lint: install-test
	$(BIN)/lint-imports
	$(BIN)/ruff check helpdesk tests bench
	scripts/translations.sh check

## translations: extract strings and update every catalogue (then translate and run again to compile)
translations: install-test
	scripts/translations.sh update

## migration: write a new migration from model changes, e.g. make migration m="add sla targets"
migration: install
	$(BIN)/flask --app 'helpdesk:create_app()' db migrate -d helpdesk/migrations -m "$(m)"

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
