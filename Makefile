# Every target sets itself up: a virtual environment in .venv with the pinned versions
# of requirements.lock. Only Python 3.11+ and make are needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements.lock | cksum | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test test-all lint token schema clean fuzz bench graphiql

install: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed; set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

run: $(STAMP)
	@echo ""
	@echo "Never Log: GraphiQL at http://$(HOST):$(PORT)/graphql, the settings page at http://$(HOST):$(PORT)/"
	@echo "(database: $${NEVERLOG_DATABASE_URL:-neverlog.db})"
	@echo "Get a token to try it, in another terminal:"
	@echo "    make token            (or: $(BIN)/neverlog create-account 'My Company' --admin-email you@yourcompany.com)"
	@echo "then in GraphiQL's Headers tab:  {\"Authorization\": \"Bearer <token>\"}"
	@echo ""
	$(BIN)/neverlog serve --host $(HOST) --port $(PORT)

# Each run makes a new account: without ACCOUNT=..., one named after the time, so that two
# runs never make two accounts of the same name.
token: $(STAMP)
	@name="$${ACCOUNT:-Demo Company $$(date +%H%M%S)}"; \
	$(BIN)/neverlog create-account "$$name" --admin-email "$${EMAIL:-admin@demo-company.com}" && \
	echo "make token: made the account \"$$name\" and its super admin; each make token makes a new account (ACCOUNT=\"Name\" names it)" >&2

# make test: every test, with a modest number of examples in the property tests and the
# fuzzing (the short profile of tests/profiles.py), on every core (pytest-xdist: a worker
# per core, each with databases of its own; tests/conftest.py), in about two minutes on
# SQLite. make test-all: the same tests with each one's full number of examples (the long
# profile), what .ci/run runs on both databases, in one process as CI always has (the
# PostgreSQL pass then holds one pool). NEVERLOG_TEST_BACKENDS and NEVERLOG_TEST_DATABASE_URL
# choose the databases for both (docs/testing.md). TEST_WORKERS and TEST_ALL_WORKERS set
# their workers (make test TEST_WORKERS=0 runs in one process, as --pdb needs).
TEST_WORKERS ?= auto
TEST_ALL_WORKERS ?= 0
# Both write bytecode (into __pycache__/, which git ignores) where PYTHONDONTWRITEBYTECODE is
# set, as in many container images: without it each xdist worker compiled the project and
# pytest rewrote the asserts of every test module again (about 3 s of CPU a worker, every
# run), and each server process that the tests start compiled the project anew.
WITH_BYTECODE := env -u PYTHONDONTWRITEBYTECODE

test: $(STAMP)
	$(WITH_BYTECODE) $(BIN)/pytest -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

test-all: $(STAMP)
	NEVERLOG_TEST_PROFILE=long $(WITH_BYTECODE) $(BIN)/pytest -n $(TEST_ALL_WORKERS) --dist loadgroup $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy api schema tenancy policy persistence

# The committed SDL (tests/test_schema_file.py fails when it is out of date).
schema: $(STAMP)
	$(BIN)/neverlog export-schema > schema/schema.graphql.tmp
	mv schema/schema.graphql.tmp schema/schema.graphql

# The fuzzing of tests/api/test_fuzz.py, longer: EXAMPLES per operation (500; make test
# runs 8, make test-all 25), drawn from a new SEED each time (printed: make fuzz SEED=... runs it again).
# With NEVERLOG_TEST_DATABASE_URL set, on PostgreSQL too.
fuzz: $(STAMP)
	@seed=$${SEED:-$$(date +%s)}; echo "fuzzing with seed $$seed (make fuzz SEED=$$seed runs it again)"; \
	NEVERLOG_FUZZ_EXAMPLES=$${EXAMPLES:-500} NEVERLOG_FUZZ_SEED=$$seed NEVERLOG_FUZZ_VERBOSE=1 \
	$(BIN)/pytest tests/api/test_fuzz.py::test_no_input_makes_any_operation_fail_with_an_internal_error

# The benchmark (tests/bench, not part of make test): GraphQL against a bare Starlette
# baseline, 1 and 1,000 full accounts, the decision module alone, the write path; on a
# throwaway PostgreSQL database (NEVERLOG_BENCH_POSTGRES_URL names the server) and SQLite.
# About 20 minutes; the table lands in bench-results/. wrk is installed where it can be
# (Debian); without it a load generator of the benchmark's own stands in for both sides.
bench: $(STAMP)
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk) >/dev/null 2>&1 \
		|| echo "bench: wrk could not be installed; the benchmark's own load generator stands in"
	$(BIN)/python -m tests.bench.bench_main $(BENCH_ARGS)

# GraphiQL (graphiql/package.json pins it: 5.x, with @graphiql/plugin-explorer, React and the
# graphql-ws client), bundled at build time by esbuild into api/static/graphiql/ with the
# licences of every package in the bundle (LICENSES.txt) and their versions (VERSIONS): the
# service fetches nothing from another host. Needs Node.js and npm; the bundle is committed.
graphiql:
	cd graphiql && npm ci --no-audit --no-fund && \
	rm -rf $(CURDIR)/api/static/graphiql && mkdir -p $(CURDIR)/api/static/graphiql && \
	node build.mjs $(CURDIR)/api/static/graphiql && \
	echo "GraphiQL $$(node -p 'require("graphiql/package.json").version') with the explorer is in api/static/graphiql/"

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
