# ringcast: `make run` starts a dev node, `make test` runs every test.
SHELL    := /bin/bash
.SHELLFLAGS := -o pipefail -c
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: run build test test-short test-drain test-race-procs test-hosts bench-hosts lint bench chaos clean fuzz

## run: one node with every role on 127.0.0.1:8080, data in ./data; prints a dev token
run:
	$(GO) run -ldflags "$(LDFLAGS)" . serve --dev

## build: the binary, in ./bin
build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/ringcast .

## test: vet, then every test with the race detector
test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 25m ./...

## test-drain: the issue's drain test at full size: a gateway with 2000 websocket clients drained over a 10 s window (no race detector: make test runs it with 400 under -race)
test-drain:
	$(GO) test -count=1 -v -run 'TestDrainSpreadsReconnects$$' -timeout 5m ./node -args -drain-clients 2000 2>&1 | grep -E 'drain_test|^(ok|FAIL|---|panic)'

## test-short: the same without the race detector (faster)
test-short:
	$(GO) test -count=1 -timeout 15m ./...

## lint: formatting, vet and staticcheck
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

## bench: Go benchmarks of the hot paths
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf bin data

## chaos: the long failure test: 12 SIGKILL/restart cycles of channel nodes, 4 SIGSTOP/SIGCONT cycles of a channel node and a gateway, then a rolling restart
chaos:
	$(GO) test -count=1 -v -run TestChaos -timeout 30m ./chaos -args -kills=12 -freezes=4 2>&1 | grep -E 'chaos_test|^(ok|FAIL|---)'

## test-hosts: five ringcast hosts and a PostgreSQL host as network namespaces on a bridge, through a cut, a split brain, a degraded gateway and SIGKILLs (root, iproute2, nftables, postgresql)
test-hosts:
	$(GO) test -count=1 -v -run 'TestHosts$$' -timeout 20m ./chaos -args -hosts 2>&1 | grep -E 'hosts_test|netlab|^(ok|FAIL|---|panic)|skipped'

## bench-hosts: fanout 1x1000 across 1, 2 and 4 gateway hosts (network namespaces): deliveries per CPU-second of all processes, p99
bench-hosts:
	$(GO) test -count=1 -v -run 'TestHostsFanout$$' -timeout 20m ./chaos -args -hosts 2>&1 | grep -E 'hosts_test|^(ok|FAIL|---|panic)|skipped'

## test-race-procs: the multi-process tests with race-detector binaries
test-race-procs:
	RINGCAST_RACE_BINARY=1 $(GO) test -race -count=1 -timeout 20m . ./chaos

FUZZTIME ?= 30s
## fuzz: every fuzz target (go test -fuzz), $(FUZZTIME) each; their seed corpora (testdata/) run in make test
fuzz:
	@set -e; for f in $$(git ls-files --cached --others --exclude-standard '*_test.go' | xargs grep -l '^func Fuzz'); do \
		d=./$$(dirname $$f); \
		for t in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$f); do \
			echo "== $$d $$t ($(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$d 2>&1 | tail -2; \
		done; \
	done
