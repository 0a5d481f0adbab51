GO ?= go
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)

.PHONY: build test test-short vet demo bench clean deps

deps:
	./scripts/deps.sh

build:
	$(GO) build -ldflags "-X github.com/hako-dev/hako/internal/cli.Version=$(VERSION)" -o bin/hako ./cmd/hako

vet:
	$(GO) vet ./...

test-short:
	$(GO) test -short ./...

# The full suite: needs root (real containers). CI runs exactly this.
test: deps build vet
	$(GO) test -count=1 -timeout 15m ./...

demo: deps build
	./demo/demo.sh

bench: deps build
	./bench/bench.sh

clean:
	rm -rf bin
