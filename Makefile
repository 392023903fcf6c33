# The two commands of the README's quick start:
#   make demo   creates .venv, installs lurelens, scans the bundled example lure and prints the report
#   make test   installs test dependencies and the headless browser, then runs the whole suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.lurelens-installed
TEST_STAMP := $(VENV)/.lurelens-test-installed

.PHONY: demo test auth-tests install browser dovecot postgres postfix bench eval clean lint

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "lurelens needs Python 3.11 or newer")'
	@# Debian's python3 ships venv separately: install it when we can (root), else say how.
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv && $(PYTHON) -m venv $(VENV); \
	  else echo "python3 -m venv failed: run 'sudo apt-get install python3-venv' and try again"; exit 1; fi; }
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -q -e .
	@touch $@

install: $(STAMP)

demo: $(STAMP)
	@# The example is a lure, so scan exits 1 ("suspicious or worse"); that is the expected result.
	$(BIN)/lurelens scan examples/apt31-style-lure.eml; test $$? -le 1

$(TEST_STAMP): $(BIN)/python pyproject.toml
	@# lurelens[pst] (libpff-python) builds from source where PyPI has no wheel: compiler and headers first.
	bash scripts/install-pst.sh build-deps $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test,render,auth,hunt,milter,serve,fit,campaigns,report,pst]'
	@touch $@

browser:
	bash scripts/install-browser.sh

dovecot:
	bash scripts/install-dovecot.sh

postgres:
	bash scripts/install-postgres.sh

# ruff and mypy on src/ (mypy's settings are in pyproject.toml)
lint: $(TEST_STAMP)
	$(BIN)/ruff check src
	$(BIN)/mypy

postfix:
	bash scripts/install-postfix.sh

test: $(TEST_STAMP) browser dovecot postgres postfix lint
	bash scripts/install-knot.sh
	bash scripts/install-rspamc.sh
	bash scripts/install-pst.sh sample $(VENV)/test-data/pst
	LURELENS_REQUIRE_BROWSER=1 LURELENS_REQUIRE_SERVICES=1 $(BIN)/python -m pytest -q -p no:cacheprovider

# The authentication tests alone (a real Knot DNS server, Perl Mail::DKIM/Mail::SPF cross-checks).
auth-tests: $(TEST_STAMP)
	bash scripts/install-knot.sh
	LURELENS_REQUIRE_SERVICES=1 $(BIN)/python -m pytest -q -p no:cacheprovider tests/test_auth_verify.py tests/test_auth_unit.py tests/test_auth_crosscheck.py

eval: $(STAMP)
	$(BIN)/python bench/eval.py

bench: $(STAMP)
	$(BIN)/python bench/throughput.py

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache
