# The commands the README documents. `make` alone lists them.

GO ?= go

.DEFAULT_GOAL := help
.PHONY: help demo test bench fmt vet

help: ## List the targets with what each does
	@echo "Targets:"
	@awk 'BEGIN { FS = ":.*## " } /^[a-zA-Z_-]+:.*## / { printf "  %-6s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

demo: ## Run the quickstart on the in-memory backend (set DATABASE_URL for PostgreSQL)
	$(GO) run ./examples/quickstart

test: ## Full suite: services, gofmt, go vet, go test -race, short fuzz pass
	bash scripts/test.sh

bench: ## Run the benchmarks once (needs PostgreSQL and Redis)
	bash scripts/services.sh
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./...

fmt: ## Format every Go file in place with gofmt
	gofmt -w .

vet: ## Run go vet on every package
	$(GO) vet ./...
