# The two commands a newcomer needs:  make run  (the product with demo data)  and  make test.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
# pytest processes for make test (pytest-xdist); each gets its own databases, SMTP and IMAP servers.
TEST_WORKERS ?= auto

# The lock: every dependency at an exact version with its hashes (the app's, and the app's plus the tests'),
# written by pip-compile from the ranges in setup.cfg. Installs never resolve anything themselves, so a new
# release of a dependency changes nothing here until `make lock` takes it in.
LOCK      := requirements/main.txt
TEST_LOCK := requirements/test.txt
PIP       := $(BIN)/python -m pip --disable-pip-version-check
# pip-compile runs from a virtual environment of its own, so it never changes what the app runs on.
LOCK_VENV := .venv-lock
PIP_TOOLS := pip-tools==7.6.2
COMPILE   := $(LOCK_VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
             --all-build-deps --no-emit-index-url --no-emit-find-links $(if $(UPGRADE),--upgrade) \
             $(foreach package,$(UPGRADE_PACKAGE),--upgrade-package $(package))

.PHONY: run install install-test test lint services translations migration lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The locked set (hashes checked), then helpdesk itself without resolving anything: its dependencies are
# all in the lock, and the lock's setuptools builds it.
$(VENV)/.installed: $(BIN)/python $(LOCK) setup.cfg setup.py pyproject.toml
	$(PIP) install -q --require-hashes -r $(LOCK)
	$(PIP) install -q --no-deps --no-build-isolation -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed $(TEST_LOCK)
	$(PIP) install -q --require-hashes -r $(TEST_LOCK)
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

## run: install, load demo data (once) and serve on http://127.0.0.1:5000
run: install
	@$(BIN)/helpdesk serve --demo --host $(HOST) --port $(PORT)

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

## lock: pin what setup.cfg asks for in requirements/ (after adding a dependency or changing a range);
##       make lock UPGRADE=1 takes the newest releases the ranges allow, make lock UPGRADE_PACKAGE=babel
##       the newest of one (or several, space-separated). Then run make test.
lock: export CUSTOM_COMPILE_COMMAND = make lock
lock: $(LOCK_VENV)/bin/pip-compile
	$(COMPILE) --output-file $(LOCK) pyproject.toml
	$(COMPILE) --extra test --output-file $(TEST_LOCK) pyproject.toml

$(LOCK_VENV)/bin/pip-compile:
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/pip install -q --disable-pip-version-check $(PIP_TOOLS)

clean:
	rm -rf $(VENV) $(LOCK_VENV) build dist *.egg-info .pytest_cache .ruff_cache
