# pronote-dc — `make help` lists the targets.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_SCHOOLS ?= 5

.DEFAULT_GOAL := help

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ## Create .venv and install pronote-dc with its dev tools

demo: $(STAMP) ## Run the data-center with $(DEMO_SCHOOLS) demo schools (Ctrl-C stops the controller)
	$(BIN)/pronote-dc up --demo $(DEMO_SCHOOLS)

down: $(STAMP) ## Stop the controller and every school server
	$(BIN)/pronote-dc down

reset: $(STAMP) ## Stop everything and delete the state directory: the next demo starts afresh
	$(BIN)/pronote-dc down --purge

protos: $(STAMP) ## Regenerate the protobuf and gRPC modules from protos/*.proto
	$(BIN)/python -m protos.generate

check: $(STAMP) ## Lint, format check, types, import contracts (layers, no circle), fresh generated code
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m protos.generate --check

# With CI=true the Docker, Prometheus, pawnote and browser tiers must run, so `make test` sets them up
# first. The Docker tier's clean-up removes EVERY pronote-dc container, network and volume on the
# engine (its labels, not its own run): do not run it beside a Docker fleet you want to keep.
# Two passes: what acts on the whole machine (one browser, the Docker engine's clean-up, the
# fault tier's and the fuzz tier's time budgets, the kernel's one ksmd that page merging
# drives) one test at a time; then every other test on two pytest-xdist workers, a test file
# each (each test its own loopback pool and ports), which halves their ~24 min on a slow
# 2-core host. A new test directory or file joins the second pass unless it is listed here.
WHOLE_MACHINE_TIERS := tests/browser tests/contract tests/docker tests/faults tests/fuzz \
	tests/integration/test_page_merging.py
# The second pass runs even if the first failed, so one run reports every failure; then
# `make test` fails with the first failing pass's status.
test: check $(if $(filter true,$(CI)),tiers) ## Every check, then every test (CI=true: all tiers and bench-short)
	@status=0; \
	set -x; \
	$(BIN)/pytest -q $(WHOLE_MACHINE_TIERS) || status=$$?; \
	$(BIN)/pytest -q -n 2 --dist loadfile $(addprefix --ignore=,$(WHOLE_MACHINE_TIERS)) \
		|| { rc=$$?; [ $$status -ne 0 ] || status=$$rc; }; \
	exit $$status
ifeq ($(CI),true)
	$(MAKE) bench-short
endif

tiers: docker-images ## Set up the Docker, Prometheus, pawnote and browser tiers (install what is missing)
	.ci/setup-prometheus.sh
	.ci/setup-node.sh
	scripts/browser.sh

unit: $(STAMP) ## Unit tests only (nothing needed)
	$(BIN)/pytest -q tests/unit

# `make test` runs the fault tier at its defaults (60 injections or 300 s); this target runs more.
PRONOTE_DC_FAULT_INJECTIONS ?= 200
PRONOTE_DC_FAULT_BUDGET_SECONDS ?= 600
faults: $(STAMP) ## Fault injection: SIGKILL the controller at every fault point, then at random moments (200)
	PRONOTE_DC_FAULT_INJECTIONS=$(PRONOTE_DC_FAULT_INJECTIONS) \
	PRONOTE_DC_FAULT_BUDGET_SECONDS=$(PRONOTE_DC_FAULT_BUDGET_SECONDS) $(BIN)/pytest -q -s tests/faults

fuzz: $(STAMP) ## Fuzz (Hypothesis) through the real edges, PRONOTE_DC_FUZZ_SECONDS a target
	$(BIN)/pytest -q -s tests/fuzz

# The list of benchmarks is bench/suite.py's BENCHMARKS; BENCH_FLAGS adds e.g. `--docker`,
# `--only school_year` or `--lock /tmp/pronote-dc-big.lock` (a shared machine's lock, per benchmark).
BENCH_FLAGS ?=
bench: $(STAMP) ## Every benchmark to its end, each beside its same-run baseline (~25 min)
	$(BIN)/python -m bench.suite $(BENCH_FLAGS)

# In CI (called by `make test` with CI=true) the Docker one too: `tiers` built its image.
bench-short: $(STAMP) ## Every benchmark at small sizes (~4 min): a broken one fails the run
	$(BIN)/python -m bench.suite --short $(if $(filter true,$(CI)),--docker) $(BENCH_FLAGS)

.PHONY: help install demo down reset protos check test tiers unit faults fuzz bench bench-short docker-images \
	bench-docker swarm-lab swarm-lab-down bench-swarm

docker-images: $(STAMP) ## Docker engine (installed/started if missing) and the offline-built agent image
	scripts/docker-engine.sh && PYTHON=$(BIN)/python scripts/docker-images.sh
bench-docker: docker-images ## 100 schools as containers beside 100 raw `docker run` of the same image
	$(BIN)/python -m bench.provision_docker
LAB_NODES ?= 3
swarm-lab: docker-images ## A Docker Swarm lab of Docker-in-Docker nodes (LAB_NODES=3; pronote-dc lab up)
	$(BIN)/pronote-dc lab up --nodes $(LAB_NODES)
swarm-lab-down: $(STAMP) ## Remove the Swarm lab: its nodes, volumes, bridge and routes (by label)
	$(BIN)/pronote-dc lab down
bench-swarm: docker-images ## 100 schools on a 3-node Swarm lab beside raw `docker service create`; failover
	$(BIN)/python -m bench.provision_swarm
