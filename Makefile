GO ?= go
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)

.PHONY: build test test-short vet demo bench clean deps

deps:
	./scripts/deps.sh

# hako is linked statically: `hako exec` runs it inside a container's mount
# namespace, where the host's ld.so and libc do not exist. The tags keep
# os/user and net in pure Go so that static glibc has nothing to warn about.
STATIC = -tags osusergo,netgo -ldflags "-X github.com/hako-dev/hako/internal/cli/clibase.Version=$(VERSION) -extldflags -static"

# Two binaries: hako (the runtime, lean: it starts for every container) and
# hako-image (pull, images, rmi, import, bundle), which hako execs and finds
# next to itself, so both must be installed side by side.
build:
	$(GO) build $(STATIC) -o bin/ ./cmd/hako ./cmd/hako-image

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
