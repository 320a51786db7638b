# lifeline's build and test entry points. `make test` installs what the
# tests need and is missing, then runs every test.

GO        ?= go
GOBIN     := $(shell $(GO) env GOPATH)/bin
VERSITYGW := $(GOBIN)/versitygw

.PHONY: test deps lint build bench fuzz-short soak bench-load bench-status

build:
	$(GO) build -o lifeline ./cmd/lifeline

deps:
	@if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then \
		echo "installing redis-server"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq redis-server redis-tools >/dev/null; \
	fi
	@if ! command -v chromium >/dev/null; then \
		echo "installing chromium"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq chromium >/dev/null; \
	fi
	@if [ ! -x "$(VERSITYGW)" ]; then \
		echo "installing versitygw"; \
		$(GO) install github.com/versity/versitygw/cmd/versitygw@v1.8.0; \
	fi

lint:
	$(GO) vet ./...
	@test -z "$$(gofmt -l .)" || { gofmt -l .; echo "gofmt: files above need formatting"; exit 1; }

test: deps lint
	PATH="$(GOBIN):$$PATH" $(GO) test -count=1 -timeout 30m ./...
	$(MAKE) fuzz-short

# FUZZ_TARGETS lists every fuzz target as package:name. fuzz-short runs
# each one for FUZZTIME, one at a time; a crash it finds is saved under
# the package's testdata/fuzz, which every later `go test` runs.
FUZZTIME ?= 5s
FUZZ_TARGETS := \
	./internal/codec:FuzzDecoder \
	./internal/seal:FuzzOpen \
	./internal/repo:FuzzDecodeManifest \
	./internal/config:FuzzParse \
	./internal/status/condition:FuzzParse \
	./internal/source/bolt:FuzzKeyRoundTrip \
	./internal/source/bolt:FuzzDecodeKey \
	./internal/source/httpsnap:FuzzSnapshotBody \
	./internal/source/cfkv:FuzzAPIResponse

fuzz-short:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$name in $$pkg for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) \
			$$pkg || exit 1; \
	done

# soak runs the crash tests with 200 killed processes per command.
soak: deps
	PATH="$(GOBIN):$$PATH" $(GO) test -count=1 -timeout 6h -v \
		-run '^TestCrash$$' ./cmd/lifeline -crash.runs 200

bench: deps
	PATH="$(GOBIN):$$PATH" $(GO) run ./bench/redis -keys 1000000

# bench-load measures a backup and a restore under redis-benchmark load.
bench-load: deps
	$(GO) run ./bench/load

bench-status:
	$(GO) run ./bench/status
