# campaignbot — make targets. `make test` is the test command CI runs.
GO        ?= go
BIN       ?= bin/campaignbot
VERSION   ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X github.com/campaignbot/campaignbot/app.Version=$(VERSION)
STATICCHECK_VERSION ?= v0.8.2
PG_VERSION = $(shell ls /etc/postgresql 2>/dev/null | head -n1)

.PHONY: build demo test chart-test test-short lint services migrate run-server run-worker bench-ingest bench-execute bench-selection bench-publish bench-reconcile kube-bin clean

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/campaignbot

## demo: the whole life of a campaign against a fake GitHub, in one process (PostgreSQL and Redis: make services).
## `go run` shares the build cache of go build/go test; flags: make demo ARGS='--repos 100 --keep'
demo:
	$(GO) run ./cmd/campaignbot sandbox $(ARGS)

## test: every package, against the real PostgreSQL and Redis (make services first)
test:
	$(GO) test -count=1 -timeout 20m ./...
	$(MAKE) chart-test

## chart-test: render the Helm chart with Helm's packages, decode it strictly, lint it, check the
## Dockerfile (tools/chartcheck: a module of its own, so campaignbot's go.mod carries no Helm)
chart-test:
	cd tools/chartcheck && $(GO) test -count=1 -timeout 10m ./...

test-short:
	$(GO) test -count=1 -short ./...

lint:
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

## services: make sure PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) are up.
services:
	@bash deploy/services.sh

migrate: build
	$(BIN) migrate

run-server: build
	$(BIN) server --log-format=console

run-worker: build
	$(BIN) worker --log-format=console

## bench-ingest: webhook ingestion latency and throughput against the HMAC-only floor
bench-ingest: build
	$(GO) build -o bin/loadgen ./tests/load/ingest
	bash tests/load/ingest/run.sh

## bench-execute: 1,000 repositories, a one-line sed step, a real worker process with the local executor
bench-execute: build
	$(GO) run ./tests/load/execute --bin $(BIN)

## bench-selection: resolve 5,000 matching repositories on githubfake
bench-selection:
	$(GO) run ./tests/load/selection

## bench-publish: 1,000 pull requests on githubfake with GitHub's limits and a virtual clock
bench-publish:
	$(GO) run ./tests/load/publish

## bench-reconcile: refresh 5,000 open pull requests on githubfake with one sweep (at most 50 GraphQL requests)
bench-reconcile:
	$(GO) run ./tests/load/reconcile

## kube-bin: build (once, then cached) the kube-apiserver and etcd binaries tests/kube runs against
kube-bin:
	sh tools/kube/build.sh

clean:
	rm -rf bin
