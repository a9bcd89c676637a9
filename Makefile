# Every target sets itself up: a virtual environment in .venv with the pinned versions
# of requirements.lock. Only Python 3.11+ and make are needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements.lock | cksum | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint token schema clean

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
	@echo "Never Log: GraphiQL at http://$(HOST):$(PORT)/graphql (database: $${NEVERLOG_DATABASE_URL:-neverlog.db})"
	@echo "Get a token to try it, in another terminal:"
	@echo "    make token            (or: $(BIN)/neverlog create-account 'My Company' --admin-email you@yourcompany.com)"
	@echo "then in GraphiQL's Headers tab:  {\"Authorization\": \"Bearer <token>\"}"
	@echo ""
	$(BIN)/neverlog serve --host $(HOST) --port $(PORT)

token: $(STAMP)
	@$(BIN)/neverlog create-account "$${ACCOUNT:-Demo Company}" --admin-email "$${EMAIL:-admin@demo-company.com}"

test: $(STAMP)
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy api schema tenancy policy persistence

# The committed SDL (tests/test_schema_file.py fails when it is out of date).
schema: $(STAMP)
	$(BIN)/neverlog export-schema > schema/schema.graphql.tmp
	mv schema/schema.graphql.tmp schema/schema.graphql

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
