# Two commands for a fresh machine with only python3: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PACKAGES := api core logistics safety_plans solvers network delivery fixtures

.PHONY: demo test install lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	# An editable install compiles nothing, and where PYTHONDONTWRITEBYTECODE is set (as on
	# our CI machines) nothing is ever cached: every CLI command, server and solver child
	# would compile the project's ~300 modules again (a third of a second of CPU each time;
	# issue 14). Compiled here as a wheel install would; a later edit only makes its module's
	# file stale, which Python notices by its timestamp and compiles in memory.
	$(BIN)/python -m compileall -q -j 0 $(PACKAGES) >/dev/null
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/homeward demo

test: $(STAMP)
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis
