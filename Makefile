# The README's two commands: `make plan` (offline plan of the default stack) and `make test`.
STACK ?= dev
BASE ?= HEAD
PY := .venv/bin/python
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: deps plan test lint lab diff bench clean

deps:
	@bash tools/install-deps

plan: deps
	@$(PY) -m tools.plan $(STACK)

test: deps
	@$(PY) -m pytest -q tests

# ruff alone (`make test` runs it too, in tests/test_lint.py).
lint: deps
	@.venv/bin/ruff check .

lab: deps
	@$(PY) -m lab.run

# The plan of STACK in the working tree against BASE (a git ref), or against another stack (OTHER=...).
diff: deps
	@$(PY) -m tools.diff --stack $(STACK) $(if $(OTHER),--other $(OTHER),--base $(BASE))

bench: deps
	@$(PY) -m tools.bench

clean:
	rm -rf build .venv
