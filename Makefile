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
test: check $(if $(filter true,$(CI)),tiers) ## Every check, then every test (CI=true: all tiers)
	$(BIN)/pytest -q

tiers: docker-images ## Set up the Docker, Prometheus, pawnote and browser tiers (install what is missing)
	.ci/setup-prometheus.sh
	.ci/setup-node.sh
	scripts/browser.sh

unit: $(STAMP) ## Unit tests only (nothing needed)
	$(BIN)/pytest -q tests/unit

faults: $(STAMP) ## Fault injection: SIGKILL the controller at every fault point and at random moments
	$(BIN)/pytest -q -s tests/faults

fuzz: $(STAMP) ## Fuzz (Hypothesis) through the real edges, PRONOTE_DC_FUZZ_SECONDS a target
	$(BIN)/pytest -q -s tests/fuzz

bench: $(STAMP) ## Benchmarks, each beside its baseline measured in the same run
	$(BIN)/python -m bench.provision_local
	$(BIN)/python -m bench.session_path
	$(BIN)/python -m bench.metrics_exposition
	$(BIN)/python -m bench.school_year
	$(BIN)/python -m bench.synthetic_school
	$(BIN)/python -m bench.pronote_net_logins
	$(BIN)/python -m bench.student_morning
	$(BIN)/python -m bench.pronote_net_reads
	$(BIN)/python -m bench.messaging
	$(BIN)/python -m bench.base_upload
	$(BIN)/python -m bench.school_startup --no-docker
	$(BIN)/python -m bench.console_web
	$(BIN)/python -m bench.idle_fleet

.PHONY: help install demo down reset protos check test tiers unit faults fuzz bench docker-images \
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
