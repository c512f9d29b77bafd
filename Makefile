# Two commands: `make run` (set up, seed the demo, start the server) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Who you are in the demo chat (see README: the demo's people and their archetypes).
REP ?= marcus.reed@demo.example

.PHONY: run test test-fast bench mutation setup chat lint clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(BIN)/coach db upgrade
	$(BIN)/coach demo
	$(BIN)/coach nudges --rep $(REP) --as-of tomorrow
	@# the demo asks for Teams' anonymous local mode (the Agents Playground) unless Teams credentials are set
	TEAMS_ANONYMOUS=$${TEAMS_ANONYMOUS:-$$([ -n "$$CONNECTIONS__SERVICE_CONNECTION__SETTINGS__CLIENTID" ] && echo false || echo true)} \
		$(BIN)/coach serve --chat-hint $(REP)

chat: $(STAMP)
	$(BIN)/coach db upgrade
	$(BIN)/coach demo
	$(BIN)/coach chat --as $(REP)

test: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q

# The unit layer alone (the domain and the engine on in-memory fakes): seconds, no database.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit tests/domain

# Benchmarks at S, M and L (PostgreSQL from BENCH_DATABASE_URL, default the local test database):
# BENCHMARKS.md. The organisations are generated once and kept (data/bench/, schemas bench_*).
# BENCH_ARGS="--sizes S,M" for a shorter run.
bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

# Mutation testing of the credit rules (nudges, trust, ledger, metrics) with their fast tests:
# about a minute; the mutants live in mutants/ (docs/coaching-model.md has the last figures).
mutation: $(STAMP)
	$(BIN)/mutmut run
	$(BIN)/mutmut results

clean:
	rm -rf $(VENV) data .pytest_cache .hypothesis mutants
