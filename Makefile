# The README's two commands: `make plan` (offline plan of the default stack) and `make test`.
STACK ?= dev
PY := .venv/bin/python
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: deps plan test lab diff bench clean

deps:
	@bash tools/install-deps

plan: deps
	@$(PY) -m tools.plan $(STACK)

test: deps
	@$(PY) -m pytest -q tests

lab: deps
	@$(PY) -m lab.run

clean:
	rm -rf build .venv
