# Pulse — two commands do everything on a fresh machine with Python >= 3.11 and make:
#   make run    install, initialise the database if needed, serve on http://127.0.0.1:8000
#               (make run HOST=0.0.0.0 PORT=8080: another address or port, passed to pulse serve --host --port)
#   make test   install with the test tools and run the whole test suite, on SQLite and on PostgreSQL (.ci/test; the
#               PostgreSQL server is installed from Debian's packages and started by .ci/postgres when missing)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DB     ?= $(or $(PULSE_DB),data/pulse.db)
HOST   ?=
PORT   ?=

.PHONY: run test bench install install-dev clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --disable-pip-version-check -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --disable-pip-version-check -q -e '.[dev]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	@test -f "$(DB)" || $(BIN)/pulse --db "$(DB)" init
	$(BIN)/pulse --db "$(DB)" serve $(if $(HOST),--host "$(HOST)") $(if $(PORT),--port "$(PORT)")

test: install-dev
	.ci/test $(ARGS)

bench: install-dev
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .pytest_cache
