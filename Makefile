# Two commands: `make run` (set up, seed the demo, start the server) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
LOCK := requirements.lock
# Who you are in the demo chat (see README: the demo's people and their archetypes).
REP ?= marcus.reed@demo.example

.PHONY: run test test-fast bench mutation setup chat lint clean lock audit

# Every package comes from the lock (requirements.lock): one version each, checked against its
# hashes, wheels only; then the coach itself, built with the lock's setuptools, and pip's check
# that the lock holds everything pyproject.toml asks for (docs/dependencies.md).
# pip itself goes first, at the lock's version and hashes: a current pip installs the rest in
# about half the time the one a venv starts with does.
define install_lock
	$(PYTHON) -m venv $(VENV)
	awk '/^pip==/ {p=1; print; next} p && /^    / {print; next} p {exit}' $(LOCK) > $(VENV)/pip.lock
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps --only-binary :all: -r $(VENV)/pip.lock
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps --only-binary :all: -r $(LOCK)
endef

$(STAMP): pyproject.toml $(LOCK)
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	$(install_lock)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@$(BIN)/python -m pip check >/dev/null || { $(BIN)/python -m pip check; \
		echo "$(LOCK) does not hold what pyproject.toml asks for: run make lock"; exit 1; }
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

# The suite in one worker per core, at most four (pytest-xdist; each test has its own database,
# so they share nothing): on two cores it takes about half the time of one. TEST_WORKERS=0 runs
# it in one process.
TEST_WORKERS ?= auto
test: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q --numprocesses $(TEST_WORKERS) --maxprocesses 4

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

# The lock, resolved again from pyproject.toml's ranges for every platform and Python 3.11 on,
# with hashes: after changing a range, keeping every other version; UPGRADE=1 moves every
# package to the newest its range allows (docs/dependencies.md).
lock: $(BIN)/uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --group build --universal --python-version 3.11 \
		--generate-hashes --custom-compile-command "make lock" --quiet $(if $(UPGRADE),--upgrade) -o $(LOCK)

# uv from the lock as it stands, even when pyproject.toml has moved on (make lock catches up).
$(BIN)/uv:
	$(install_lock)

# The lock's packages against the published vulnerabilities (pip-audit); says so and passes when
# the vulnerability service cannot be reached. Known ones: .ci/audit-acknowledged.toml.
audit: $(STAMP)
	$(BIN)/python .ci/audit.py $(LOCK)

clean:
	rm -rf $(VENV) data .pytest_cache .hypothesis mutants
