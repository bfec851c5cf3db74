# Every go command here uses one tag set (duckdb_arrow for duckdb-go's Arrow
# interface, nomsgpack to leave gin's unused MsgPack codec out), so the build
# cache is shared between build, vet, test and bench.
GOFLAGS := $(strip $(shell go env GOFLAGS | sed 's/-tags=[^ ]*//') -tags=duckdb_arrow,nomsgpack)
export GOFLAGS
export CGO_ENABLED := 1

.PHONY: demo test build lint bench bench-ingest clean hardening

## demo: the main job on the embedded default: fixtures -> ingest -> serve on :8080
demo: build
	./bin/medaudit demo

## test: the whole test suite (what CI runs)
test:
	./scripts/test.sh

build:
	go build -o bin/medaudit ./cmd/medaudit

lint:
	@test -z "$$(gofmt -l .)" || { gofmt -l .; echo "gofmt needed"; exit 1; }
	go vet ./...

## bench: Go micro-benchmarks, then ingest vs DuckDB's own readers
bench: build
	go test -run '^$$' -bench . -benchtime 5x ./...
	./bin/medaudit bench ingest --persons 50000

## hardening: kill loop, load run and fuzzers, then one table (HARDENING=short for CI's version)
hardening:
	./scripts/hardening.sh

clean:
	rm -rf bin
