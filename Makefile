# passmint: two commands do all the set-up on a fresh machine.
#   make demo   seeds a demo tenant (test PKI, loyalty template, passes) and serves it
#   make test   runs lint, types, import contracts and the test suite
PYTHON ?= python3
VENV := .venv
UV_VERSION := 0.13.9
BIN := $(VENV)/bin
STAMP := $(VENV)/.synced

.PHONY: demo test lint bench lock clean

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q uv==$(UV_VERSION)

$(STAMP): requirements.lock pyproject.toml | $(BIN)/uv
	$(BIN)/uv pip sync -q --python $(BIN)/python --require-hashes requirements.lock
	$(BIN)/uv pip install -q --python $(BIN)/python --no-deps -e .
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/passmint demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest -n auto -p no:cacheprovider

bench: $(STAMP)
	$(BIN)/python -m bench.apple_sign
	$(BIN)/python -m bench.google_render
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python -m bench.webservice
	$(BIN)/python -m bench.push_fanout --from-template --workers 2
	$(BIN)/python -m bench.push_fanout
	$(BIN)/python -m bench.redemptions
	$(BIN)/python -m bench.codegen
	$(BIN)/python -m bench.activities

# Re-pin after editing pyproject.toml dependencies.
lock: | $(BIN)/uv
	$(BIN)/uv pip compile pyproject.toml --group dev --generate-hashes --universal \
		--python-version 3.11 -o requirements.lock -q

clean:
	rm -rf $(VENV) demo-out
