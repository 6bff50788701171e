# vidgate: every entry point of the project. The environment is .venv, built from uv.lock;
# `make setup` (run by every other target) installs uv first when the machine lacks it.
.DEFAULT_GOAL := help
SHELL := /bin/bash
UV = $(shell cat .venv/.uv-cmd 2>/dev/null || echo uv)
RUN = $(UV) run --locked --quiet
# Compiled bytecode is kept in .pycache/ (git-ignored), outside the source folders, even where the
# environment sets PYTHONDONTWRITEBYTECODE: without it every interpreter the targets start (pytest
# rewrites the asserts of every plugin's modules too, and the tests start CLI, mock, codegen and
# pytest processes) compiles all it imports again, seconds of CPU each.
unexport PYTHONDONTWRITEBYTECODE
export PYTHONPYCACHEPREFIX := $(CURDIR)/.pycache
# pytest-xdist processes for the suites: 2, the cores CI has (tests/conftest.py says which tests
# share one); PYTEST_WORKERS=0 runs them in one process
PYTEST_WORKERS ?= 2
XDIST = -n $(PYTEST_WORKERS)

.PHONY: help setup demo generate docs docs-site check lint-specs test test-slow test-fast test-unit test-contract test-docs test-live lint-outside release mutate mutate-quick soak crash hostile scale bench downstream clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

.venv/.uv-cmd: pyproject.toml uv.lock scripts/bootstrap.sh
	@uv_cmd=$$(bash scripts/bootstrap.sh) && echo "$$uv_cmd" > .venv/.uv-cmd

setup: .venv/.uv-cmd ## Install uv if missing and build .venv from uv.lock

demo: setup ## The end-to-end demo: every model of both gateways on the embedded mock gateway
	@$(RUN) vidgate demo --out demo-output

generate: setup ## Regenerate everything derived: generated/ and docs/rules.md from specs/, the sync client src/vidgate/client.py from aio.py
	@$(RUN) python scripts/generate.py
	@$(RUN) python scripts/unasync.py

docs: setup ## Rewrite only the rules-per-model page docs/rules.md (make generate does it too)
	@$(RUN) python scripts/rules_table.py

docs-site: setup ## Build the docs site into site/ (mkdocs build --strict: any warning fails)
	@NO_MKDOCS_2_WARNING=1 $(RUN) mkdocs build --strict --site-dir site

release: setup ## Version a spec change: bump versions, draft CHANGELOG.md (FROM=git rev of the last release)
	@$(RUN) python scripts/release.py --from $(or $(FROM),$(error set FROM=GIT_REV, e.g. make release FROM=HEAD))

lint-specs: setup ## Lint specs/*.yaml (OpenAPI validity, sources, rules, modes, examples)
	@$(RUN) python scripts/lint_specs.py

lint-outside: setup ## openapi-generator, Spectral and Redocly on the specs (pinned, into .tools/; needs Java and Node)
	@UV="$(UV)" bash scripts/lint_outside.sh

check: setup lint-specs ## Lint specs, fail on stale/orphan generated files or a stale sync client, ruff + mypy, the layers (lint-imports)
	@$(RUN) python scripts/generate.py --check
	@$(RUN) python scripts/rules_table.py --check
	@$(RUN) python scripts/unasync.py --check
	@$(RUN) ruff check src scripts tests bench
	@$(RUN) ruff format --check src scripts tests bench
	@$(RUN) mypy
	@$(RUN) lint-imports --no-cache --no-logo
	@echo "check: all clean"

test: setup ## Every layer but live: unit, contract, docs (the minutes-long proofs: make test-slow)
	@$(RUN) pytest $(XDIST) -m "not live and not proof"

test-slow: setup ## The minutes-long end-to-end proofs (the release path of docs/spec-changes.md, a new model page); CI runs it after make test
	@$(RUN) pytest $(XDIST) -m proof

test-fast: setup ## The same without the slow (codegen, mypy) tests
	@$(RUN) pytest $(XDIST) -m "not live and not slow"

test-unit: setup ## Fast unit and property tests
	@$(RUN) pytest -m unit

test-contract: setup ## Generated code and the mock against the specs (schemathesis, respx)
	@$(RUN) pytest -m contract

test-docs: setup ## Documentation pages against the specs (VIDGATE_DOCS_DIR, default ../shared/seeds)
	@$(RUN) pytest -m docs

test-live: setup ## Real gateways: needs VIDGATE_LIVE=1 and IMINI_API_KEY / APIMART_API_KEY
	@$(RUN) pytest -m live -rs

mutate: setup ## Mutation check of the suite: every deliberate fault must turn it red (prints the score)
	@$(RUN) python scripts/mutate.py

mutate-quick: setup ## The small fault set CI runs
	@$(RUN) python scripts/mutate.py --quick

soak: setup ## 1,000 jobs per gateway through the mock with ~20 % faults; prints the figures
	@$(RUN) python scripts/soak.py --jobs 1000

crash: setup ## Kill `vidgate batch` 20 times at random and resume; prints the figures
	@$(RUN) python scripts/crash.py --jobs 200 --kills 20

downstream: setup ## The wheel as a downstream team gets it: fresh venv, mypy --strict, fixtures
	@$(RUN) python scripts/downstream.py

hostile: setup ## Hostile servers, bad bytes, fuzzed input, racing runs, a filling disk; prints the table
	@$(RUN) python scripts/hostile.py

scale: setup ## Workers on one PostgreSQL journal: 1,000 jobs, 2 of 4 workers killed, throughput, rate
	@$(RUN) python scripts/scale.py --jobs 1000

bench: setup ## Benchmarks against same-run baselines (prints a table, writes bench/results/latest.json)
	@$(RUN) python bench/run.py

clean: ## Remove the environment and caches
	rm -rf .venv .pycache .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
