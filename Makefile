# The commands the README documents. `make` alone lists them.

GO ?= go

.DEFAULT_GOAL := help
.PHONY: help demo demo-pg test test-pgbouncer bench bench-quick bench-go fmt vet lint release-check

help: ## List the targets with what each does
	@echo "Targets:"
	@awk 'BEGIN { FS = ":.*## " } /^[a-zA-Z_-]+:.*## / { printf "  %-14s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

# The CLI and demo are a nested module (cmd/pgsession/go.mod): run from there.
demo: ## Run the two-node demo web app on 127.0.0.1:8080 and :8081 (memory; set DATABASE_URL for PostgreSQL)
	cd cmd/pgsession && $(GO) run . demo

demo-pg: ## Run the demo on PostgreSQL: DATABASE_URL, else the local test database
	cd cmd/pgsession && DATABASE_URL="$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}" $(GO) run . demo

test: ## Full suite: services, gofmt, go vet, go test -race, short fuzz pass
	bash scripts/test.sh

# test-pgbouncer: the pools go through PgBouncer in transaction mode (started
# by scripts/pgbouncer.sh), the listeners straight to PostgreSQL. The pgx mode
# cache_describe prepares no named statement: PgBouncer before 1.21 cannot
# carry those between transactions. Left out: TestConsistencyUnderFaults
# starts private PostgreSQL clusters (nothing goes through PgBouncer) and
# TestFaultChildWriter is its helper process; ExampleNew shows the plain
# set-up, whose listener would LISTEN through the pooler. Tests that cannot
# work behind PgBouncer skip themselves (PGSESSION_TEST_PGBOUNCER).
PGBOUNCER_URL ?= postgres://postgres@127.0.0.1:6432/test?sslmode=disable&default_query_exec_mode=cache_describe
PGBOUNCER_LISTENER_URL ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable
PGBOUNCER_SKIP = ^(TestConsistencyUnderFaults|TestFaultChildWriter|ExampleNew)$$

test-pgbouncer: ## Root and affinity PostgreSQL tests with the pools through PgBouncer (transaction mode)
	PGSESSION_TEST_DATABASE_URL= PGSESSION_TEST_PGBOUNCER=1 bash scripts/services.sh
	PGSESSION_TEST_PGBOUNCER=1 PGSESSION_TEST_DATABASE_URL='$(PGBOUNCER_URL)' \
		PGSESSION_TEST_LISTENER_URL='$(PGBOUNCER_LISTENER_URL)' \
		$(GO) test -race -count=1 -timeout 5m -skip '$(PGBOUNCER_SKIP)' . ./affinity

# The benchmark command is a nested module (bench/go.mod): run from there.
bench: ## Run the benchmark command in full (a few minutes) and write docs/BENCHMARKS.md and docs/bench.svg
	bash scripts/services.sh
	cd bench && $(GO) run . -out ../docs

bench-quick: ## Run the benchmark command briefly (seconds); prints the tables, writes nothing
	cd bench && $(GO) run . -quick

bench-go: ## Run the go test benchmarks once (needs PostgreSQL and Redis)
	bash scripts/services.sh
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./...

fmt: ## Format every Go file in place with gofmt
	gofmt -w .

# Every module of the repository: the root and the nested ones (each
# directory holding a go.mod), found afresh so a new module is never missed.
# Each must be listed in go.work (go work use DIR): inside the workspace, the
# go command refuses a module it does not list.
MODULES = $(shell find . -name go.mod -not -path './.git/*' -exec dirname {} \; | sort)

# staticcheck's default checks (bugs, simplifications, unused code), pinned
# so every machine and CI judge the code alike; go run fetches it through the
# module proxy on first use.
STATICCHECK = honnef.co/go/tools/cmd/staticcheck@v0.8.2

vet: ## Run go vet on every package of every module
	@set -e; for m in $(MODULES); do echo "go vet: $$m"; (cd $$m && $(GO) vet ./...); done

lint: ## Run staticcheck on every package of every module
	@set -e; for m in $(MODULES); do echo "staticcheck: $$m"; (cd $$m && $(GO) run $(STATICCHECK) ./...); done

release-check: ## Build, vet and test every module against the versions of ours it requires, workspace off (RELEASING.md)
	bash scripts/services.sh
	bash scripts/release-check.sh
