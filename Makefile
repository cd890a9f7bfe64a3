# The README's two commands: `make plan` (offline plan of the default stack) and `make test`.
STACK ?= dev
BASE ?= HEAD
PY := .venv/bin/python
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: deps plan-deps plan test lint lab diff bench clean guard-mutants mutation

# The real tools of the tests and the lab (some are daemons Debian starts: for a test machine).
deps:
	@bash tools/install-deps test

# What the plan runs and nothing more: safe on an admin's workstation.
plan-deps:
	@bash tools/install-deps plan

plan: plan-deps
	@$(PY) -m tools.plan $(STACK)

test: deps engine
	@$(PY) -m pytest -q tests

# ruff alone (`make test` runs it too, in tests/test_lint.py).
lint: deps
	@.venv/bin/ruff check .

# The failover lab, both timing profiles (lab/profiles.py); PROFILE=lab or PROFILE=prod runs one.
lab: deps
	@$(PY) -m lab.run $(if $(PROFILE),--profile $(PROFILE))

# The plan of STACK in the working tree against BASE (a git ref), or against another stack (OTHER=...).
diff: plan-deps
	@$(PY) -m tools.diff --stack $(STACK) $(if $(OTHER),--other $(OTHER),--base $(BASE))

bench: plan-deps
	@$(PY) -m tools.bench

# Each safety guard of the host scripts (and each complete set) flipped in turn: its fast tests must fail.
guard-mutants: deps
	@$(PY) -m tools.guard_mutants

# mutmut on components/ with the fast suite (setup.cfg); long: run it on a machine with time to spare.
mutation: deps
	@rm -rf mutants
	@.venv/bin/mutmut run --max-children 2; .venv/bin/mutmut results

clean:
	rm -rf build .venv

# The Pulumi engine built from Go modules into .tools/bin (tools/build-engine), and the real
# `pulumi preview --diff` of STACK on a local file backend under build/state (tools/preview).
.PHONY: engine preview
engine:
	@bash tools/build-engine

preview: plan-deps engine
	@bash tools/preview $(STACK) $(PREVIEW_ARGS)
