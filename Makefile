# Galvani's build and test targets. `make test` is the full suite CI runs.
GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
FUZZTIME  ?= 30s
PKGS      := ./...

.DEFAULT_GOAL := help

.PHONY: help build dev fmt vet deps test-deps test-short test fuzz soak oracle bench

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

build: ## Build ./galvani
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o galvani ./cmd/galvani

dev: build ## Run galvani dev (private Postgres + demo data)
	./galvani dev

fmt: ## Fail if any Go file is not gofmt-formatted
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet: ## go vet
	$(GO) vet $(PKGS)

deps: ## Fail if go.mod/go.sum are not tidy
	$(GO) mod tidy -diff

test-deps: ## Install what the tests need (Postgres, Node.js, the npm clients)
	./scripts/install-test-deps.sh

test-short: ## Unit tests only: no Postgres, no subprocesses
	$(GO) test -short -count=1 $(PKGS)

test: test-deps fmt vet ## Everything: race-enabled tests on real Postgres and the official npm client
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

fuzz: ## Run every fuzz target for FUZZTIME each
	@for pkg in $$($(GO) list $(PKGS)); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
			echo "== $$pkg $$f"; $(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

soak: ## Long runs, not part of make test: 100 kill -9 restarts under load; a 1M-row transaction within 256 MiB RSS
	GALVANI_CRASH_KILLS=100 $(GO) test -race -count=1 -timeout 60m -run 'TestCrashRecovery' -v ./e2e/
	GALVANI_E2E_NORACE=1 GALVANI_LARGE_TXN_ROWS=1000000 GALVANI_MAX_RSS_MIB=256 $(GO) test -count=1 -timeout 30m -run 'TestLargeTransaction' -v ./e2e/

bench: ## Benchmarks next to baselines measured in the same run, printed as ratios; BENCH_SCALE=0.1 for a quick run
	@command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || { apt-get update && apt-get install -y nginx-light; } || echo "bench: nginx is unavailable; the fan-out benchmark will report an error"
	$(GO) run ./bench/cmd/galvani-bench -micro

oracle: ## The where-clause differential oracle at 100,000 cases (make test runs 2,000); SEED=n replays a run
	$(GO) test -count=1 -timeout 60m -run TestWhereOracle ./internal/oracle/ -oracle.cases=100000 $(if $(SEED),-seed=$(SEED))
