# lifeline's build and test entry points. `make test` installs what the
# tests need and is missing, then runs every test.

GO        ?= go
GOBIN     := $(shell $(GO) env GOPATH)/bin
VERSITYGW := $(GOBIN)/versitygw

.PHONY: test deps lint build bench bench-status

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

bench: deps
	PATH="$(GOBIN):$$PATH" $(GO) run ./bench/redis -keys 1000000

bench-status:
	$(GO) run ./bench/status
