# Every target installs what it needs into .venv itself (Python from PYTHON).
PYTHON ?= /usr/bin/python3
VENV := .venv
PYTEST_ARGS ?=

.PHONY: all venv build demo test bench clean

all: build

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

build: venv
	PYTHON=$(PYTHON) ./build.sh

# Build init.pyz and run it as PID 1 of a new PID namespace on a small demo.
demo: build
	PYTHON=$(PYTHON) ./demo.sh

test: venv
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

# initapp against tini, dumb-init and catatonit (installed from Debian if missing).
bench: venv
	$(VENV)/bin/python bench/run.py

clean:
	rm -rf dist build .pytest_cache initapp.egg-info
