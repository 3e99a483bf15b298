"""Fixtures for the end-to-end suite: the built .wasm in a real Envoy, with real upstreams.
Every process a test starts is stopped when the test ends."""

from __future__ import annotations

import contextlib

import pytest

import harness
import mcp_harness


@pytest.fixture(scope="session", autouse=True)
def built_wasm():
    if not harness.WASM.exists():
        pytest.exit(f"{harness.WASM} is missing: run `make build` (make e2e does it)", returncode=2)
    return harness.WASM


@pytest.fixture
def upstream():
    with harness.RecordingUpstream() as up:
        yield up


@pytest.fixture
def envoy_with():
    """Start Envoy with the filter configured by `plugin_config` in front of `upstream`."""
    with contextlib.ExitStack() as stack:

        def start(plugin_config, upstream, **bootstrap_args) -> harness.Envoy:
            config = harness.bootstrap([harness.wasm_filter(plugin_config)], upstream.port, **bootstrap_args)
            return stack.enter_context(harness.Envoy(config))

        yield start


@pytest.fixture
def mcp_gateway():
    """Start the test MCP server (mode `json` or `sse`) behind Envoy with the filter configured by
    `plugin_config`; returns an `mcp_harness.McpStack`."""
    with contextlib.ExitStack() as stack:

        def start(mode: str, plugin_config) -> mcp_harness.McpStack:
            return stack.enter_context(mcp_harness.mcp_stack(mode, plugin_config))

        yield start
