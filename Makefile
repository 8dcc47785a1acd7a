# Flotilla — see README.md. `make test` is what CI runs (.ci/run).
SHELL := /bin/bash
export PATH := $(PATH):/usr/local/go/bin:$(shell go env GOPATH 2>/dev/null)/bin

GO          ?= go
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT      ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS     := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
STATICCHECK_VERSION := v0.8.2
STATICCHECK := $(shell go env GOPATH 2>/dev/null)/bin/staticcheck
# Integration tests share one swarm; the deadline covers the whole suite.
TEST_FLAGS  ?= -count=1 -timeout 20m

.PHONY: all build lint test test-short test-multinode swarm-up swarm-down test-deps demo bench-deploy bench-idle bench-scale clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/flotilla ./cmd/flotilla

swarm-up:
	scripts/swarm-up

# swarm-down: removes the multi-node test swarms (scripts/swarm-up --nodes),
# which the multi-node tests bring up and leave running.
swarm-down:
	scripts/swarm-down

test-deps:
	scripts/test-deps

$(STATICCHECK):
	$(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

lint: $(STATICCHECK)
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

# test: the engine and swarm first (installing them on a fresh Debian machine),
# then lint, then every test including the integration tests on the real swarm.
test: swarm-up test-deps lint
	$(GO) test $(TEST_FLAGS) ./...

# test-multinode: only the tests on swarms of several nodes (part of test).
test-multinode: swarm-up
	$(GO) test $(TEST_FLAGS) ./internal/multinode/

# test-short: the pure tests only; needs no engine.
test-short:
	$(GO) test -short -count=1 ./...

demo: build
	scripts/demo

# bench-deploy: 30 services from empty, Flotilla against docker stack deploy.
bench-deploy: build
	scripts/bench-deploy

# bench-idle: CPU and memory of an operator watching 20 unchanged environments.
bench-idle: build
	scripts/bench-idle

# bench-scale: one operator, 200 environments × 20 services on one swarm: first
# sync, idle CPU, engine calls and memory per minute, webhook → apply start.
bench-scale: build
	scripts/bench-scale

clean:
	rm -rf bin
