GO ?= go
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)

.PHONY: build test test-short vet demo bench clean deps

deps:
	./scripts/deps.sh

# Every binary is static: `hako exec` runs hako inside a container's mount
# namespace, where the host's ld.so and libc do not exist. hako and
# hako-image are pure Go (CGO_ENABLED=0: no glibc start-up in a process that
# starts for every container); hako-seccomp links libseccomp with cgo and
# static glibc. The tags keep os/user and net in pure Go.
TAGS = -tags osusergo,netgo
LDVERSION = -X github.com/hako-dev/hako/internal/cli/cliroot.Version=$(VERSION)

# Two binaries to install: hako (the runtime, lean: it starts for every
# container) and hako-image (pull, images, rmi, import, bundle), which hako
# execs for those verbs and finds next to itself. hako-seccomp, which
# compiles seccomp profiles with libseccomp for hako (the programs are
# cached in the state root), is built first, stripped, and embedded into
# hako (the tag hako_embed_seccomp, internal/seccomp/embedded/, gitignored,
# with its SHA-256 as the programs' cache key): hako runs it from a sealed
# memfd. bin/hako-seccomp is left for $HAKO_SECCOMP_BINARY and the tests.
# On amd64, hako's entry point is a stub that sets a coarse timer slack
# before the Go runtime starts its threads (internal/timerslack); elsewhere
# the slack is raised from main.
ENTRY = $(if $(filter amd64,$(shell $(GO) env GOARCH)),-E=github.com/hako-dev/hako/internal/timerslack.entry)
EMBED = internal/seccomp/embedded

build:
	CGO_ENABLED=1 $(GO) build $(TAGS) -ldflags "$(LDVERSION) -s -w -extldflags -static" -o bin/ ./cmd/hako-seccomp
	mkdir -p $(EMBED)
	cp bin/hako-seccomp $(EMBED)/hako-seccomp
	sha256sum bin/hako-seccomp | cut -c1-64 > $(EMBED)/hako-seccomp.sha256
	CGO_ENABLED=0 $(GO) build $(TAGS),hako_embed_seccomp -ldflags "$(LDVERSION) $(ENTRY)" -o bin/ ./cmd/hako
	CGO_ENABLED=0 $(GO) build $(TAGS) -ldflags "$(LDVERSION)" -o bin/ ./cmd/hako-image

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
	rm -rf bin $(EMBED)
