# Jet: `make run` brings it up on the example config; `make test` runs every check.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEBIAN_PACKAGES := redis-server postgresql freeradius freeradius-utils poppler-utils slapd ldap-utils systemd
# Test files spread over 4 processes (most of the suite waits on subprocesses and sockets);
# each process starts its own redis-server and PostgreSQL databases.
PYTEST_ARGS ?= -n 4 --dist loadfile

.PHONY: run test lint typecheck pytest venv system-deps services bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# Debian packages the tests and `make run` use; installed only when missing.
system-deps:
	@missing=$$(for p in $(DEBIAN_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:" $$missing; \
	  if [ "$$(id -u)" != 0 ]; then SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

# PostgreSQL on 127.0.0.1:5432 for the store tests (started if installed but down).
services: system-deps
	@scripts/ensure-postgres

lint: venv
	$(BIN)/ruff check .

typecheck: venv
	$(BIN)/mypy protocols rating quota jetd

pytest: venv services
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck pytest

run: venv system-deps
	scripts/run-dev

bench: venv system-deps
	@for b in bench/*/run.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) var build *.egg-info .mypy_cache .pytest_cache .ruff_cache
