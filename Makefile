# stepgate — see README.md. Every target runs from a clean clone with Go installed.
GO      ?= go
PLUGIN  ?= ./plugin
OUT     ?= build/stepgate.wasm
CONFIG  ?= envoy/stepgate.json

.PHONY: all wasm test run report soak up down e2e e2e-envoy bench profile lint fuzz clean envoy-config

all: wasm

# Build a proxy-wasm plugin with standard Go (see plugin/sdkbridge/build.sh for why a script).
wasm:
	plugin/sdkbridge/build.sh $(PLUGIN) $(OUT)

# Build the filter, then run every test (unit, hostsim with the real .wasm, e2e on the dev gateway).
test: wasm
	$(GO) test -count=1 ./...

# Start the dev gateway (hostsim + the filter + a built-in mock provider) on 127.0.0.1:10000;
# the call records also go to build/calls.jsonl for `make report`.
# ARGS adds flags: make run ARGS='-access-log -workers 4'. The built binary replaces the recipe's
# shell (exec), so Ctrl-C, SIGTERM and SIGHUP (reload) reach the gateway itself.
# -preset stepgate is envoy/envoy.yaml's filter entry and routes (the binary's own defaults are a
# plain envoy.yaml's; docs/DEV-GATEWAY.md).
ARGS ?=
RUNFLAGS = -wasm $(OUT) -config $(CONFIG) -preset stepgate -mock -call-log build/calls.jsonl
run:
	@echo "make run: building $(OUT) (the filter; a first build takes a while) and build/stepgate-dev"
	@$(MAKE) --no-print-directory wasm >/dev/null
	@$(GO) build -o build/stepgate-dev ./hostsim/cmd/stepgate-dev
	@echo "make run: starting build/stepgate-dev $(RUNFLAGS) $(ARGS)"
	@exec build/stepgate-dev $(RUNFLAGS) $(ARGS)

# A bounded mixed load through the dev gateway, failing if its memory grows past the stated
# bounds (not part of `make test`; a run's figures are in docs/BENCHMARKS.md). ARGS as for run:
# make soak ARGS='-duration 5m -clients 16'.
soak: wasm
	@$(GO) build -o build/stepgate-soak ./hostsim/cmd/stepgate-soak
	@exec build/stepgate-soak -wasm $(OUT) -config $(CONFIG) $(ARGS)

# Turn the call records `make run` wrote into build/report.html and print the summary.
CALLS ?= build/calls.jsonl
report:
	$(GO) run ./hostsim/cmd/stepgate-report -o build/report.html $(CALLS)

# Envoy + the filter + mock providers + Redis/ratelimit + Prometheus (needs Docker with Compose
# v2). --wait returns once every service's health check passes, so `make e2e-envoy` can follow.
up:
	@docker compose version >/dev/null 2>&1 || { \
	  if command -v docker >/dev/null 2>&1; then \
	    echo "make up: 'docker compose' is missing: this docker has no Compose v2 plugin (install docker-compose-plugin, https://docs.docker.com/compose/install/)"; \
	  else \
	    echo "make up: docker is not installed; it needs Docker with the Compose v2 plugin (https://docs.docker.com/compose/install/), or try 'make run'"; \
	  fi; exit 1; }
	@$(MAKE) --no-print-directory wasm
	docker compose up --build -d --wait

down:
	docker compose down

# Copy envoy/stepgate.json into the plugin configuration that envoy/envoy.yaml embeds (run it after
# editing the JSON; `make test` checks that the two agree).
envoy-config:
	$(GO) test -count=1 -run '^TestEmbeddedPluginConfig$$' ./envoy -update

# End-to-end tests against the dev gateway they start themselves.
e2e: wasm
	$(GO) test -count=1 ./e2e/...

# The same suite against docker compose's Envoy (after `make up`).
e2e-envoy:
	STEPGATE_E2E_ADDR=http://127.0.0.1:10000 $(GO) test -count=1 ./e2e/...

# Benchmarks: native domain logic and per-request cost in hostsim; figures go to docs/BENCHMARKS.md.
bench: wasm
	$(GO) test -run='^$$' -bench=. -benchmem ./...

# Where a benchmark of ./plugin spends its time inside the VM, by guest function (Linux perf).
# wazero writes a perf map of the machine code it compiles when built with the perfmap tag; the
# module is built keeping its function names; a fresh compilation cache makes wazero compile (and
# map) it in the measured process. Only the VM's own samples are counted, as shares of them.
PROFBENCH ?= BenchmarkTranslate$$/1KB
PROFTIME ?= 50000x
PROFTOP ?= 40
profile:
	STEPGATE_LDFLAGS= plugin/sdkbridge/build.sh ./plugin build/stepgate-names.wasm
	$(GO) test -tags perfmap -c -o build/plugin-perfmap.test ./plugin/
	rm -rf build/profile-cache && cd plugin && GOCACHE=$$($(GO) env GOCACHE) XDG_CACHE_HOME=$(CURDIR)/build/profile-cache \
	  STEPGATE_TEST_WASM=$(CURDIR)/build/stepgate-names.wasm perf record -F 4999 -o $(CURDIR)/build/perf.data \
	  $(CURDIR)/build/plugin-perfmap.test -test.run '^$$' -test.bench '$(PROFBENCH)' -test.benchtime $(PROFTIME)
	@perf report -i build/perf.data --no-children --sort sym --stdio -g none 2>/dev/null | awk '\
	  match($$0, /\[[0-9]+\/[0-9]+\]\.[^ ]+/) { p = $$1; sub(/%/, "", p); f = substr($$0, RSTART, RLENGTH); \
	    sub(/^\[[0-9]+\/[0-9]+\]\./, "", f); sub(/:::::.*/, "", f); s[f] += p; t += p } \
	  END { printf "The VM'"'"'s code took %.1f%% of the process; by function, as shares of it:\n", t; \
	    for (f in s) printf "%6.2f%%  %s\n", 100 * s[f] / t, f }' >build/profile.txt
	@grep '^T' build/profile.txt; grep -v '^T' build/profile.txt | sort -rn | head -n $(PROFTOP)

# Short fuzz runs of every parser (FUZZTIME per target).
FUZZTIME ?= 10s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f"; $(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

# gofmt, go vet, a tidy go.mod, and a dev gateway binary that does not link the test framework.
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run go mod tidy"; exit 1; }
	@deps=$$($(GO) list -deps ./hostsim/cmd/stepgate-dev) || exit 1; \
	  if echo "$$deps" | grep -qx testing; then echo "hostsim/cmd/stepgate-dev links package testing: keep testing-based helpers in _test.go files"; exit 1; fi

clean:
	rm -rf build
