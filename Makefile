# Amtsassist — developer targets. The README's two commands are `make run`
# and `make test`; .ci/run calls `make test`.

GO      ?= go
DATA    ?= ../shared/data
FUZZTIME ?= 60s

.PHONY: run test test-ollama build bench bench-retrieval bench-pdf bench-ingest bench-memo bench-triage fuzz clean

## run: start the service on the embedded index with the bundled demo corpus
run:
	$(GO) run ./cmd/assistd --demo

## build: build bin/assistd and bin/assist
build:
	$(GO) build -o bin/ ./cmd/...

## test: build the real Ollama test server (first time: ~5 min), then run every test
test: test-ollama
	$(GO) vet ./...
	$(GO) test -count=1 ./...

test-ollama:
	bash deploy/ollama/install-test-server.sh >/dev/null

## bench: all benchmark suites on ../shared/data (installs pdftotext for the comparison)
bench: bench-retrieval bench-pdf bench-ingest bench-memo bench-triage

bench-retrieval:
	$(GO) run ./cmd/assist bench retrieval --data $(DATA)

bench-pdf:
	command -v pdftotext >/dev/null || (apt-get update && apt-get install -y poppler-utils) || true
	$(GO) run ./cmd/assist bench pdf --data $(DATA)

bench-ingest:
	$(GO) run ./cmd/assist bench ingest --data $(DATA)

## bench-memo: the memo service's own overhead per memo (model time excluded), p50/p95, on the federal laws
bench-memo:
	$(GO) test -run '^$$' -bench Overhead -benchtime 40x ./assist/memo/draft

bench-triage:
	$(GO) run ./cmd/assist bench triage --data $(DATA)

## fuzz: run each fuzz target for $(FUZZTIME)
fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzExtract -fuzztime=$(FUZZTIME) ./ingest/pdf
	$(GO) test -run='^$$' -fuzz=FuzzLoad -fuzztime=$(FUZZTIME) ./ingest/lawxml
	$(GO) test -run='^$$' -fuzz=FuzzLoadCSV -fuzztime=$(FUZZTIME) ./ingest/tickets

clean:
	rm -rf bin
