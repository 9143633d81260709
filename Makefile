# One command per job. `make help` lists them. Everything installs itself into .venv.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Lambda runs python3.13; the venv and `sam build` use the same interpreter.
PYTHON ?= $(shell PYENV_VERSION=3.13.0 pyenv which python3.13 2>/dev/null || command -v python3.13 || command -v python3.12)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
REGION ?= us-east-1
export PATH := $(CURDIR)/$(BIN):$(PATH)
export PYTHONPATH := $(CURDIR)
export AWS_DEFAULT_REGION ?= $(REGION)
export SAM_CLI_TELEMETRY := 0

ASL := $(wildcard statemachines/*.asl.json)

help: ## List the commands
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*## "}{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): requirements-dev.txt shared/requirements.txt
	@test -n "$(PYTHON)" || { echo "python3.13 (or 3.12) not found"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@touch $@

setup: $(STAMP) ## Create .venv with everything run/test/lint/bench need

run: $(STAMP) ## Run the whole platform locally (API + Swagger UI on :3000, demo data)
	$(BIN)/python -m local_stack run

test: $(STAMP) lint ## Lint, then the whole test suite
	$(BIN)/python -m pytest -n 2 --dist loadfile -m "not stress"

unit: $(STAMP) ## Only the tests (no lint)
	$(BIN)/python -m pytest -n 2 --dist loadfile -m "not stress"

stress: $(STAMP) ## Heavier stress runs (10,000+ ledger transfers)
	$(BIN)/python -m pytest -m stress -p no:xdist -s

lint: $(STAMP) ## ruff, mypy, cfn-lint, sam validate --lint, statelint
	$(BIN)/ruff check .
	$(BIN)/mypy shared functions local_stack
	$(BIN)/cfn-lint template.yaml
	$(BIN)/sam validate --lint --region $(REGION) --template template.yaml
	$(if $(ASL),$(BIN)/statelint $(ASL),@echo "no ASL files yet")

build: $(STAMP) ## sam build (no Docker): functions + the shared layer
	$(BIN)/sam build --template template.yaml --parallel

bench: $(STAMP) ## Benchmarks, all or NAME=cold_start; each prints a ratio to its baseline
	$(BIN)/python -m bench $(NAME)

openapi: $(STAMP) ## Write docs/openapi.json (all functions, one document)
	$(BIN)/python -m local_stack openapi --out docs/openapi.json

deploy: build ## sam deploy --guided (needs AWS credentials)
	$(BIN)/sam deploy --guided

clean: ## Remove build output and caches (keeps .venv)
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache

.PHONY: help setup run test unit stress lint build bench openapi deploy clean
