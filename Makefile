# Eventflow — the two commands that matter: `make acceptance` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

SWIFT ?= swift
RELEASE_BIN := .build/release/eventflow
PORT ?= 8080
DATA_DIR ?= ./data

.PHONY: help build build-release run test test-tools acceptance smoke bench bench-tools clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

build: ## Debug build of everything, tests included
	$(SWIFT) build --build-tests

build-release: ## Release build of the binaries
	$(SWIFT) build -c release

run: build-release ## Run the server on 127.0.0.1:$(PORT) with data in $(DATA_DIR)
	$(RELEASE_BIN) serve --port $(PORT) --data-dir $(DATA_DIR)

test-tools: ## Install what the tests need (promtool) when missing
	@scripts/ensure-tool.sh promtool prometheus

test: test-tools ## Unit and integration tests (real SQLite, real HTTP on loopback)
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

acceptance: smoke ## The acceptance run: start the system, check it end to end, print the verdict

smoke: build-release ## Smoke test against a freshly spawned server (or URL=http://… for a running one)
	@if [ -n "$(URL)" ]; then .build/release/smoke-test --url "$(URL)"; else .build/release/smoke-test --spawn; fi

bench-tools:
	@scripts/ensure-tool.sh wrk wrk
	@scripts/ensure-tool.sh nginx nginx

bench: bench-tools build-release ## Ingest (wrk, beside an nginx `return 202;` baseline) and delivery throughput
	scripts/bench-ingest.sh $(RELEASE_BIN)
	SERVE_ARGS="--target-batch 50" scripts/bench-delivery.sh $(RELEASE_BIN)
	EVENTS=20000 TARGET_ARGS="--rate 1000 --burst 200" SERVE_ARGS="--target-rate 1000 --target-burst 200" scripts/bench-delivery.sh $(RELEASE_BIN)

clean: ## Remove build output and local data
	rm -rf .build data results
