# Every target installs what it needs into .venv itself (Python from PYTHON).
PYTHON ?= /usr/bin/python3
VENV := .venv
PYTEST_ARGS ?=

.PHONY: all venv build dist demo test test-container test-pythons soak bench bench-window mutants mutants-security clean

all: build

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

# dist/init.pyz for the python:* images (/usr/local/bin/python3), dist/init-usr-bin.pyz
# for a distribution's packaged Python (/usr/bin/python3); the same bytecode in both.
build: venv
	PYTHON=$(PYTHON) ./build.sh
	PYTHON=$(PYTHON) ./build.sh --python /usr/bin/python3 --output dist/init-usr-bin.pyz

# dist/: both archives, the wheel and the sdist (init.pyz inside as data) and
# SHA256SUMS; the same source and Pythons give the same bytes (dist.sh says how).
dist: venv
	PYTHON=$(PYTHON) ./dist.sh

# Build init.pyz and run it as PID 1 of a new PID namespace on a small demo.
demo: build
	PYTHON=$(PYTHON) ./demo.sh

test: venv
	$(VENV)/bin/python -m pytest --ignore=tests/container $(PYTEST_ARGS)

# The core tests with init.pyz on each CPython 3.8 to 3.13 found here.
test-pythons: venv
	tests/pythons.sh $(PYTEST_ARGS)

# Every images/ recipe run by the engines users run it in: Docker (a daemon of its
# own), docker-compose, podman and podman kube play, all installed from Debian.
# One group at a time (the first one installs the engines and makes the Debian
# root, musl compiles a CPython), each with its run time; fails if one failed.
CONTAINER_GROUPS := docker kube wheel distroless musl podman
test-container: venv
	@failed=; for group in $(CONTAINER_GROUPS); do \
	  began=$$(date +%s); \
	  $(VENV)/bin/python -m pytest tests/container/test_$$group.py $(PYTEST_ARGS) || failed="$$failed $$group"; \
	  echo "container group $$group: $$(( $$(date +%s) - began )) s"; \
	done; \
	if [ -n "$$failed" ]; then echo "container groups failed:$$failed"; exit 1; fi

# The storm tests at full size: 100,000 signals, 10,000 orphans, 60 s of fork churn.
soak: venv
	INITAPP_SOAK=1 $(VENV)/bin/python -m pytest -s -p no:cacheprovider tests/test_reliability.py -k "storm or orphans or churn" $(PYTEST_ARGS)

# Deliberate breaks of initapp, one documented property at a time, each against the
# tests that must catch it (tests/mutants/mutations.py); fails if one survives.
# MUTANTS_ARGS: e.g. --group stop, or mutation names.
MUTANTS_ARGS ?=
mutants: venv
	$(VENV)/bin/python tests/mutants/run.py $(MUTANTS_ARGS)

# The SECURITY.md rows only: the subset CI runs.
mutants-security: venv
	$(VENV)/bin/python tests/mutants/run.py --group security

# initapp against tini, dumb-init and catatonit (installed from Debian if missing),
# and on every CPython the build covers; 5 rounds, 7-9 minutes on 2 cores. A target
# holds when two full runs of the same archive meet it: run it twice, the machine
# otherwise idle (docs/performance.md says how it measures).
bench: venv
	$(VENV)/bin/python bench/run.py

# The start-up window: from exec to every signal blocked, against its floors.
bench-window: venv
	$(VENV)/bin/python bench/window.py

clean:
	rm -rf dist build .pytest_cache initapp.egg-info
