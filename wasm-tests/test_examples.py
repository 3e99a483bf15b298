"""What ships in examples/ and filter-config/ works: every Envoy config passes `envoy --mode
validate` (which also runs the filter's configuration check), the demo config inlines the shipped
default configuration, and that default blocks what the README's demo says it blocks."""

from __future__ import annotations

import json

import httpx
import pytest
import yaml

import harness

EXAMPLES = sorted((harness.ROOT / "examples").glob("*.yaml"))
DEFAULT_CONFIG = harness.ROOT / "filter-config" / "config.json"


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_passes_envoy_validate(example):
    result = harness.envoy_validate(example)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK" in result.stdout


def test_demo_config_inlines_the_shipped_default():
    envoy = yaml.safe_load((harness.ROOT / "examples" / "envoy.yaml").read_text())
    [listener] = envoy["static_resources"]["listeners"]
    hcm = listener["filter_chains"][0]["filters"][0]["typed_config"]
    [wasm] = [f for f in hcm["http_filters"] if f["name"] == "envoy.filters.http.wasm"]
    inline = json.loads(wasm["typed_config"]["config"]["configuration"]["value"])
    assert inline == json.loads(DEFAULT_CONFIG.read_text())


def test_default_config_carries_the_shipped_policy_files_unchanged():
    policies = json.loads(DEFAULT_CONFIG.read_text())["policies"]
    files = ["http-egress", "mcp-gateway", "llm-guard"]
    shipped = [json.loads((DEFAULT_CONFIG.parent / "policies" / f"{name}.json").read_text()) for name in files]
    assert policies == shipped


def test_default_config_blocks_the_demo_request_and_allows_the_other(envoy_with, upstream):
    envoy = envoy_with(DEFAULT_CONFIG.read_text(), upstream)
    assert httpx.get(envoy.url("/v1/status")).status_code == 200
    blocked = httpx.post(envoy.url("/v1/../admin/users"), content=b'{"role":"root"}')
    assert blocked.status_code == 403
    assert [r.path for r in upstream.requests] == ["/v1/status"]
    assert [line["decision"] for line in envoy.wait_for_audit(2)] == ["allow", "deny"]
