# frontdesk — see README.md. Every target works with Go alone.
GO        ?= go
BIN       ?= bin
PORT      ?= 8080
UPSTREAM_PORT ?= 9000
ADMIN_PORT ?= 9901
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)

.PHONY: build run chat chat-cluster test test-short vet lint fuzz bench-micro clean

build: ## build bin/frontdesk, the demo upstream and the example function
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/frontdesk ./cmd/frontdesk
	$(GO) build -o $(BIN)/demo-upstream ./examples/upstream
	CGO_ENABLED=0 $(GO) build -tags lambda.norpc -o examples/functions/hello/bootstrap ./examples/functions/hello

run: build ## serve examples/quickstart.yaml with the demo upstream, and print what to try
	@PORT=$(PORT) UPSTREAM_PORT=$(UPSTREAM_PORT) ADMIN_PORT=$(ADMIN_PORT) BIN=$(BIN) sh scripts/run.sh

chat: build ## the WebSocket chat example: open http://127.0.0.1:9100/ in two browser tabs
	$(GO) build -o $(BIN)/chat ./examples/chat
	@$(BIN)/chat -listen 127.0.0.1:9100 -connections http://127.0.0.1:$(PORT)/prod/@connections -ws ws://127.0.0.1:$(PORT)/prod & \
	 CHAT=$$!; trap 'kill $$CHAT 2>/dev/null' EXIT INT TERM; \
	 PORT=$(PORT) $(BIN)/frontdesk serve -c examples/chat/frontdesk.yaml

PORT2      ?= 8081
REDIS_PORT ?= 6390

chat-cluster: build ## the chat on two instances sharing redis-server: open the two URLs it prints in two tabs
	$(GO) build -o $(BIN)/chat ./examples/chat
	@command -v redis-server >/dev/null || { echo "chat-cluster needs redis-server (apt-get install redis-server)"; exit 1; }
	@mkdir -p $(BIN)/redis-chat; \
	 redis-server --port $(REDIS_PORT) --bind 127.0.0.1 --dir $(BIN)/redis-chat --appendonly yes --save '' --loglevel warning & REDIS=$$!; \
	 $(BIN)/chat -listen 127.0.0.1:9100 -connections http://127.0.0.1:$(PORT)/prod/@connections -ws ws://127.0.0.1:$(PORT)/prod & CHAT=$$!; \
	 PORT=$(PORT) REDIS_PORT=$(REDIS_PORT) $(BIN)/frontdesk serve -c examples/chat/frontdesk-cluster.yaml & FD1=$$!; \
	 PORT=$(PORT2) REDIS_PORT=$(REDIS_PORT) $(BIN)/frontdesk serve -c examples/chat/frontdesk-cluster.yaml & FD2=$$!; \
	 trap 'kill $$FD1 $$FD2 $$CHAT 2>/dev/null; wait $$FD1 $$FD2; kill $$REDIS 2>/dev/null' EXIT INT TERM; \
	 echo "open http://127.0.0.1:9100/?ws=ws://127.0.0.1:$(PORT)/prod and http://127.0.0.1:9100/?ws=ws://127.0.0.1:$(PORT2)/prod"; \
	 wait $$FD1 $$FD2

test: ## all tests, with the race detector (the CI command), then without it the zero-allocation tests, the WebSocket memory bound and the benchmarks' allocation budget
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 12m ./...
	@# The race detector allocates, so the tests that assert 0 allocs/op
	@# skip under it; they run here without it.
	$(GO) test -count=1 -timeout 5m -run 'Alloc' ./...
	@# The idle WebSocket connection's memory bound, at 1,000 connections
	@# (make bench-ws measures 10,000 through the real gateway).
	FRONTDESK_WS_LOAD=1 FRONTDESK_WS_LOAD_CONNS=1000 FRONTDESK_WS_LOAD_POSTS=2000 \
	  $(GO) test -count=1 -timeout 2m -run '^TestLoadManyConnections$$' ./wsbridge/
	@# make bench-check's allocation part: every hot-path micro-benchmark,
	@# 1000 iterations each, at 0 allocs/op unless excluded in bench/budget.go.
	$(GO) run ./bench/cmd/frontdesk-bench check -micro -benchtime 1000x -out=

test-short: ## quick tests without the race detector
	$(GO) test -short -count=1 ./...

lint: vet ## go vet and staticcheck (installed on demand from the module proxy)
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

vet:
	$(GO) vet ./...

# Packages with a benchmark or a fuzz target in their tests, found anew on
# each run so a new one is never left out.
BENCH_PKGS = $(shell $(GO) list $$(grep -rl --include='*_test.go' '^func Benchmark' . | xargs -n1 dirname | sort -u))
FUZZ_DIRS  = $(shell grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u)
FUZZTIME  ?= 5s
BENCH_COUNT ?= 5

fuzz: ## every fuzz target for FUZZTIME (5s) each; make test runs their seed corpora only
	@set -e; for dir in $(FUZZ_DIRS); do \
	  for target in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go | sed 's/^func //'); do \
	    echo "$(GO) test -run '^$$' -fuzz '^$$target\$$' -fuzztime $(FUZZTIME) $$dir/"; \
	    $(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) $$dir/; \
	  done; \
	done

bench-micro: ## micro-benchmarks of every package that has some, benchstat-comparable, into bench-micro.txt
	$(GO) test -run '^$$' -bench . -benchmem -count $(BENCH_COUNT) $(BENCH_PKGS) | tee bench-micro.txt

clean:
	rm -rf $(BIN) bench-micro.txt

.PHONY: attack

attack: ## the attack suite at full size (docs/security.md); prints its table, also kept in $(BIN)/attack-report.md
	@mkdir -p $(BIN); rm -f $(BIN)/attack-report.md
	@FRONTDESK_ATTACK=soak FRONTDESK_ATTACK_REPORT=$(CURDIR)/$(BIN)/attack-report.md $(GO) test -count=1 -timeout 10m ./test/attack/; \
	 st=$$?; echo; cat $(BIN)/attack-report.md 2>/dev/null; exit $$st

.PHONY: cluster-soak

CLUSTER_SOAK_TESTS = ^TestCluster(ThrottleAcrossThreeInstancesAdmitsBurstPlusRateTimesT|QuotaExactAcrossThreeInstancesAndRestarts|SurvivesRedisStoppedDuringLoad|AnswersWhileRedisIsSlowBehindALatencyProxy|ConnectionsOfAKilledInstanceAnswerGoneWithinTheTTL)$$

cluster-soak: ## cluster mode at full length with redis-server (docs/cluster.md); prints its table, also kept in $(BIN)/cluster-soak.md
	@command -v redis-server >/dev/null || { echo "cluster-soak needs redis-server (apt-get install redis-server)"; exit 1; }
	@mkdir -p $(BIN); printf '| test | figure | measured | bound |\n|---|---|---|---|\n' > $(BIN)/cluster-soak.md
	@FRONTDESK_CLUSTER=soak FRONTDESK_CLUSTER_REPORT=$(CURDIR)/$(BIN)/cluster-soak.md $(GO) test -count=1 -timeout 10m -v -run '$(CLUSTER_SOAK_TESTS)' ./server/; \
	 st=$$?; echo; cat $(BIN)/cluster-soak.md; exit $$st

.PHONY: bench bench-ws bench-check

BENCH_FLAGS ?=

bench: ## macro suite vs nginx (nginx, wrk, taskset used when installed); results in bench/results/
	$(GO) run ./bench/cmd/frontdesk-bench $(BENCH_FLAGS)

bench-ws: build ## WebSocket load: 10,000 idle connections (RSS per connection) and @connections POSTs/s
	$(GO) run ./bench/cmd/frontdesk-wsload $(BENCH_WS_FLAGS)

bench-check: ## check bench/results/results.json and the hot-path micro-benchmarks against the budget
	$(GO) run ./bench/cmd/frontdesk-bench check
