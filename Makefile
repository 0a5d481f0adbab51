GO ?= go
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)

.PHONY: build test test-short vet demo bench clean

build:
	$(GO) build -ldflags "-X github.com/hako-dev/hako/internal/cli.Version=$(VERSION)" -o bin/hako ./cmd/hako

vet:
	$(GO) vet ./...

test-short:
	$(GO) test -short ./...

test: build vet
	$(GO) test -count=1 ./...

demo: build
	./demo/demo.sh

bench: build
	./bench/bench.sh

clean:
	rm -rf bin
