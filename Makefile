# pyplay: `make run` installs what is missing and starts the service (and the IDE if web/
# exists); `make test` installs and runs the whole suite. Everything here is idempotent:
# a second run only checks stamps and package lists.

SHELL := /bin/bash
.DEFAULT_GOAL := install
MAKEFLAGS += --no-print-directory

PYTHON3 ?= $(shell command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
SANDBOX := build/sandbox
ifndef PYTHON310_PREFIX
PYTHON310_PREFIX := $(shell bash scripts/find_python310.sh 2>/dev/null)
endif
# The source Python's binary: rebuilding it (or switching prefix) rebuilds the sandbox copy.
PY310_BIN := $(if $(PYTHON310_PREFIX),$(PYTHON310_PREFIX)/bin/python3.10)
BUILDER := scripts/build_sandbox_env.sh scripts/find_python310.sh

export DEBIAN_FRONTEND := noninteractive
export PYTHON310_PREFIX

.PHONY: install apt venv sandbox-env sandbox-pyc run test fidelity lint bench clean containers containers-stop

install: apt venv sandbox-env

apt:
	@bash scripts/install_apt.sh

venv: $(VENV)/.installed

$(VENV)/.installed: setup.cfg pyproject.toml | apt
	@[ -x $(PY) ] || $(PYTHON3) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --no-input -e '.[test]'
	@touch $@

sandbox-env: $(SANDBOX)/.python.stamp $(SANDBOX)/.env.stamp $(SANDBOX)/.rootfs.stamp sandbox-pyc

$(SANDBOX)/.python.stamp: $(BUILDER) $(PY310_BIN) | apt
	bash scripts/build_sandbox_env.sh python $(SANDBOX) $(PYTHON310_PREFIX)
	@touch $@

$(SANDBOX)/.env.stamp: $(SANDBOX)/.python.stamp $(BUILDER) scripts/sandbox-requirements.txt scripts/mpl_font_cache.py
	bash scripts/build_sandbox_env.sh env $(SANDBOX) $(PYTHON310_PREFIX)
	@touch $@

# The host's library cache, alternatives links, font cache and timidity config are copied in;
# a change to any of them (new packages) needs a fresh copy.
HOST_STATE := $(wildcard /etc/ld.so.cache /etc/alternatives /var/cache/fontconfig /etc/timidity)
$(SANDBOX)/.rootfs.stamp: $(BUILDER) $(HOST_STATE) | apt
	bash scripts/build_sandbox_env.sh rootfs $(SANDBOX)
	@touch $@

# The agent package is mounted read-only; compile it once here so sandboxes need not.
sandbox-pyc: $(SANDBOX)/.python.stamp
	@$(SANDBOX)/python/bin/python3.10 -I -m compileall -q sandbox

run: install
	bash scripts/run.sh

test: install
	bash scripts/test.sh

# The real-program corpus and the sandbox's packages alone (also part of `make test`).
fidelity: install
	$(PY) -m pytest tests/fidelity -q

# The packages mypy checks: those of this list that exist (app/ and common/ are on their way).
TYPED_PACKAGES := $(wildcard scheduler proxy sandbox app common)

# ruff over the whole tree (its exclusions are in pyproject.toml), then mypy; both always run.
lint: venv
	@status=0; \
	echo "--- ruff check ."; $(VENV)/bin/ruff check . || status=1; \
	echo "--- mypy $(TYPED_PACKAGES)"; $(VENV)/bin/mypy $(TYPED_PACKAGES) || status=1; \
	exit $$status

bench: install
	bash scripts/bench.sh

# The private Docker engine (runsc registered) and the images, as make test and make bench
# start and build them (scripts/docker/); containers-stop stops that engine.
CONTAINERS_STATE := build/containers/engine
containers: install
	@bash scripts/docker/with_engine.sh true
	@bash scripts/docker/engine.sh start $(CONTAINERS_STATE)

containers-stop:
	bash scripts/docker/engine.sh stop $(CONTAINERS_STATE)

clean: containers-stop
	rm -rf build $(VENV)

# The IDE (web/) brings its own targets: web-serve for `make run`, web-test for `make test`.
-include web/web.mk
