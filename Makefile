# The commands the README documents. `make` alone lists them.

GO ?= go

.DEFAULT_GOAL := help
.PHONY: help demo demo-pg test bench fmt vet

help: ## List the targets with what each does
	@echo "Targets:"
	@awk 'BEGIN { FS = ":.*## " } /^[a-zA-Z_-]+:.*## / { printf "  %-8s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

# The CLI and demo are a nested module (cmd/pgsession/go.mod): run from there.
demo: ## Run the two-node demo web app on 127.0.0.1:8080 and :8081 (memory; set DATABASE_URL for PostgreSQL)
	cd cmd/pgsession && $(GO) run . demo

demo-pg: ## Run the demo on PostgreSQL: DATABASE_URL, else the local test database
	cd cmd/pgsession && DATABASE_URL="$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}" $(GO) run . demo

test: ## Full suite: services, gofmt, go vet, go test -race, short fuzz pass
	bash scripts/test.sh

bench: ## Run the benchmarks once (needs PostgreSQL and Redis)
	bash scripts/services.sh
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./...

fmt: ## Format every Go file in place with gofmt
	gofmt -w .

vet: ## Run go vet on every package
	$(GO) vet ./...
