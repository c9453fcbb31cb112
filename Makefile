# Eventflow — the two commands that matter: `make acceptance` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

SWIFT ?= swift
RELEASE_BIN := .build/release/eventflow
PORT ?= 8080
DATA_DIR ?= ./data

.PHONY: help build build-release run test test-tools postgres postgres-stop acceptance profiles fuzz smoke behaviour perf report-screenshot bench bench-check bench-thresholds bench-tools clean

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

test: test-tools ## Unit and integration tests (real SQLite, a throwaway PostgreSQL, real HTTP on loopback; temp files removed after)
	$(SWIFT) build --build-tests
	tmp=$$(mktemp -d -t eventflow-tests.XXXXXX) && trap 'rm -rf "$$tmp"' EXIT && TMPDIR="$$tmp" scripts/with-postgres.sh $(SWIFT) test --skip-build

POSTGRES_DIR ?= /tmp/eventflow-postgres

postgres: ## Start a throwaway PostgreSQL on a free loopback port in $(POSTGRES_DIR) and print its URL
	@scripts/postgres.sh start $(POSTGRES_DIR)

postgres-stop: ## Stop the PostgreSQL of `make postgres` and delete its directory
	@scripts/postgres.sh stop $(POSTGRES_DIR)

PROFILE ?= LoadProfiles/5x-peak.yaml
DURATION_SCALE ?= 1
REPORT_ONLY ?=
REQUIRE_ALL ?= 1

acceptance: build-release ## smoke, behaviour and performance ($(PROFILE)) against a spawned system; final verdict (REPORT_ONLY=figures kept out of it; a skipped scenario fails it unless REQUIRE_ALL=0)
	REPORT_ONLY="$(REPORT_ONLY)" REQUIRE_ALL="$(REQUIRE_ALL)" scripts/acceptance.sh .build/release $(PROFILE) $(DURATION_SCALE)

PROFILES_SCALE ?= 0.1

profiles: build-release ## Every shipped load profile against a spawned system, stages scaled by PROFILES_SCALE (default 0.1); fails if one fails
	REPORT_ONLY="$(REPORT_ONLY)" scripts/profiles.sh .build/release $(PROFILES_SCALE)

smoke: build-release ## Smoke test against a freshly spawned system (or URL=… TARGET_URL=… for a running one)
	@if [ -n "$(URL)" ]; then .build/release/smoke-test --url "$(URL)" $(if $(TARGET_URL),--target-url "$(TARGET_URL)"); else .build/release/smoke-test --spawn; fi

behaviour: build-release ## Behaviour scenarios against freshly spawned systems and a throwaway PostgreSQL (SCENARIO=name for one)
	scripts/with-postgres.sh bash -c '.build/release/behaviour-test --spawn --postgres-url "$$EVENTFLOW_TEST_POSTGRES_URL" $(if $(SCENARIO),--scenario $(SCENARIO))'

perf: build-release ## Performance test of PROFILE (default 5x peak) against a spawned system
	.build/release/performance-test --spawn --profile $(PROFILE) --duration-scale $(DURATION_SCALE)

FUZZ_SECONDS ?= 30

fuzz: ## libFuzzer over the JSON scanner, validators, text parsers and load profiles for FUZZ_SECONDS each (default 30); crashes kept in Fuzz/Regressions
	FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh

report-screenshot: ## Render the newest report.html with headless Chromium into report.png beside it
	@scripts/ensure-tool.sh chromium chromium
	@report=$$(ls -td results/*/report.html 2>/dev/null | head -1); \
	  [ -n "$$report" ] || { echo "no results/*/report.html yet: run make perf first" >&2; exit 2; }; \
	  chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1200,1500 \
	    --screenshot="$$(dirname $$report)/report.png" "file://$$PWD/$$report" && echo "$$(dirname $$report)/report.png"

bench-check: ## Micro-benchmarks of the hot paths; fails when one allocates more per operation than Thresholds/ records
	scripts/bench-check.sh

bench-thresholds: ## Record the micro-benchmarks' allocations per operation in Thresholds/ (commit the change)
	scripts/bench-check.sh update

bench-tools:
	@scripts/ensure-tool.sh wrk wrk
	@scripts/ensure-tool.sh nginx nginx

bench: bench-tools build-release ## Ingest (wrk beside nginx `return 202;`), idle CPU, delivery, the load generator itself, PostgreSQL beside SQLite
	scripts/bench-ingest.sh $(RELEASE_BIN)
	scripts/bench-idle.sh $(RELEASE_BIN)
	SERVE_ARGS="--target-batch 50" scripts/bench-delivery.sh $(RELEASE_BIN)
	EVENTS=20000 TARGET_ARGS="--rate 1000 --burst 200" SERVE_ARGS="--target-rate 1000 --target-burst 200" scripts/bench-delivery.sh $(RELEASE_BIN)
	scripts/bench-frames.sh $(RELEASE_BIN)
	scripts/bench-generator.sh .build/release
	scripts/bench-postgres.sh $(RELEASE_BIN)

clean: ## Remove build output and local data
	rm -rf .build data results
