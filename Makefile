# passmint: two commands do all the set-up on a fresh machine.
#   make demo   seeds a demo tenant (test PKI, loyalty program, cards) and serves it
#   make test   runs lint, types, import contracts and the test suite
PYTHON ?= python3
VENV := .venv
UV_VERSION := 0.13.9
BIN := $(VENV)/bin
STAMP := $(VENV)/.synced
# The admin app's front-end libraries, pinned in package-lock.json, built into an ignored folder.
VENDOR := src/passmint/admin/static/vendor
VENDOR_STAMP := $(VENDOR)/.built
# The Python versions pyproject.toml's requires-python admits (>=3.11,<3.14).
PY_MIN := 3.11
PY_MAX := 3.13
PY_OK = import sys; sys.exit(0 if (3, 11) <= sys.version_info[:2] <= (3, 13) else 1)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo install test lint bench lock clean check-python check-npm fuzz screenshots messages

# Refuses an unsupported interpreter before anything is installed, and throws away a .venv
# that a failed or older install left behind (wrong Python, or no working interpreter).
check-python:
	@$(PYTHON) -c '$(PY_OK)' 2>/dev/null || { \
	  echo "passmint needs Python $(PY_MIN) to $(PY_MAX); '$(PYTHON)' is $$($(PYTHON) --version 2>&1 || echo missing)."; \
	  echo "Install one (e.g. python3.12) and run: make PYTHON=python3.12 $(MAKECMDGOALS)"; \
	  exit 1; }
	@if [ -d $(VENV) ] && ! $(BIN)/python -c '$(PY_OK)' 2>/dev/null; then \
	  echo "$(VENV) is broken or uses another Python: rebuilding it"; rm -rf $(VENV); fi

$(BIN)/uv: | check-python
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q uv==$(UV_VERSION) || { rm -rf $(VENV); exit 1; }

# Bytecode is compiled once here: where PYTHONDONTWRITEBYTECODE is set (as in CI), every
# process (each CLI command, server and test worker) would otherwise compile its imports
# from source again, about 0.7 s of CPU each.
$(STAMP): requirements.lock pyproject.toml | check-python $(BIN)/uv
	$(BIN)/uv pip sync -q --compile-bytecode --python $(BIN)/python --require-hashes requirements.lock
	$(BIN)/uv pip install -q --python $(BIN)/python --no-deps -e .
	$(BIN)/python -m compileall -q -j 0 src
	touch $(STAMP)

check-npm:
	@command -v npm >/dev/null || { \
	  echo "passmint's admin app needs Node.js and npm to install its pinned front-end libraries."; \
	  echo "Install them (Debian: apt-get install nodejs npm) and run make again."; \
	  exit 1; }

$(VENDOR_STAMP): package.json package-lock.json | check-npm
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)
	cp node_modules/htmx.org/dist/htmx.min.js node_modules/sortablejs/Sortable.min.js $(VENDOR)/
	touch $(VENDOR_STAMP)

install: $(STAMP) $(VENDOR_STAMP)

demo: $(STAMP) $(VENDOR_STAMP)
	$(BIN)/passmint demo --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint $(VENDOR_STAMP)
	$(BIN)/pytest -n auto -p no:cacheprovider

bench: $(STAMP)
	$(BIN)/python -m bench.apple_sign
	$(BIN)/python -m bench.google_render
	$(BIN)/python -m bench.preview --check
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python -m bench.webservice
	$(BIN)/python -m bench.push_fanout --from-template --workers 2
	$(BIN)/python -m bench.push_fanout
	$(BIN)/python -m bench.redemptions
	$(BIN)/python -m bench.codegen
	$(BIN)/python -m bench.activities
	$(BIN)/python -m bench.cards
	$(BIN)/python -m bench.hostile --check
	$(BIN)/python -m bench.images --check

# A PNG of every screen (tests/ui/screens.py) at desktop and phone width in ./screenshots/,
# taken in Debian's chromium against a fresh server with the demo's data.
screenshots: $(STAMP) $(VENDOR_STAMP)
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)
	$(BIN)/python -m tests.ui.screenshots

# Re-pin after editing pyproject.toml dependencies.
lock: | $(BIN)/uv
	$(BIN)/uv pip compile pyproject.toml --group dev --generate-hashes --universal \
		--python-version 3.11 -o requirements.lock -q

clean:
	rm -rf $(VENV) demo-out node_modules $(VENDOR)

# OpenAPI fuzzing of the production topology (two web processes, a worker, PostgreSQL and
# Redis on 127.0.0.1): 200 cases per operation, over 10,000 in all; CI runs 25 per operation.
fuzz: $(STAMP)
	PASSMINT_TEST_POSTGRES_URL=$${PASSMINT_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/postgres} \
	PASSMINT_TEST_REDIS_URL=$${PASSMINT_TEST_REDIS_URL:-redis://127.0.0.1:6379/15} \
	PASSMINT_FUZZ_EXAMPLES=$${PASSMINT_FUZZ_EXAMPLES:-200} PASSMINT_FUZZ_MIN_CASES=10000 \
	$(BIN)/pytest -p no:cacheprovider -q -s tests/fuzz

# Re-extract the admin app's texts and merge them into every catalog (then translate the
# new entries in src/passmint/admin/locale/<lang>/LC_MESSAGES/messages.po).
LOCALES := src/passmint/admin/locale
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg --no-location --sort-output -k _ -k gettext -k ngettext:1,2 \
		--project passmint -o $(LOCALES)/messages.pot .
	for lang in ru fi nl ar; do \
	  if [ -f $(LOCALES)/$$lang/LC_MESSAGES/messages.po ]; then \
	    $(BIN)/pybabel update --no-fuzzy-matching --ignore-obsolete -i $(LOCALES)/messages.pot -d $(LOCALES) -l $$lang; \
	  else $(BIN)/pybabel init -i $(LOCALES)/messages.pot -d $(LOCALES) -l $$lang; fi; \
	done
