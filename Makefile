# ringcast: `make run` starts a dev node, `make test` runs every test.
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: run build test test-short lint bench chaos clean

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
