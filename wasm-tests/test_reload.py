"""Configuration reload under traffic, through Envoy's file-based dynamic configuration (ECDS,
examples/envoy-dynamic.yaml and examples/dynamic/authensor-filter.yaml): while mixed agent
traffic runs (wasm-tests/load_harness.py), a new policy is published by an atomic rename, then
a configuration the filter rejects, then a file Envoy cannot parse. No request is dropped, every
request is decided by the old policy or the new one, the rejected versions leave the new one
serving, and each rejection is reported by Envoy and by the filter."""

from __future__ import annotations

import copy
import json
import os
import time
from pathlib import Path

import httpx
import yaml

import harness
import load_harness

EXAMPLE = harness.ROOT / "examples" / "envoy-dynamic.yaml"
RESOURCE = harness.ROOT / "examples" / "dynamic" / "authensor-filter.yaml"
ECDS_STATS = "extension_config_discovery.http_filter.authensor."
REQUESTS = 12_000


def dynamic_bootstrap(config_dir: Path, upstream_port: int) -> dict:
    """examples/envoy-dynamic.yaml on kernel-chosen ports, watching `config_dir`."""
    boot = yaml.safe_load(EXAMPLE.read_text())
    boot["admin"]["address"]["socket_address"]["port_value"] = 0
    [listener] = boot["static_resources"]["listeners"]
    listener["address"]["socket_address"]["port_value"] = 0
    hcm = listener["filter_chains"][0]["filters"][0]["typed_config"]
    source = hcm["http_filters"][0]["config_discovery"]["config_source"]["path_config_source"]
    source["path"] = str(config_dir / "authensor-filter.yaml")
    source["watched_directory"]["path"] = str(config_dir)
    [cluster] = boot["static_resources"]["clusters"]
    cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]["socket_address"]["port_value"] = upstream_port
    return load_harness.keep_request_ids(boot)


def publish(config_dir: Path, plugin_config: dict | str | None = None, raw: str | None = None) -> None:
    """Replace the served configuration by a rename: examples/dynamic/authensor-filter.yaml with
    the built module and, if given, `plugin_config` as the filter's configuration (or `raw` text)."""
    if raw is None:
        resource = yaml.safe_load(RESOURCE.read_text())
        wasm = resource["resources"][0]["typed_config"]["config"]
        wasm["vm_config"]["code"]["local"]["filename"] = str(harness.WASM)
        if plugin_config is not None:
            value = plugin_config if isinstance(plugin_config, str) else json.dumps(plugin_config)
            wasm["configuration"]["value"] = value
        raw = json.dumps(resource)
    staged = config_dir / ".next.yaml"
    staged.write_text(raw)
    os.replace(staged, config_dir / "authensor-filter.yaml")


def ecds(envoy: harness.Envoy, name: str) -> int:
    for line in envoy.admin_get(f"/stats?filter={ECDS_STATS}{name}$").splitlines():
        return int(line.rpartition(": ")[2])
    return 0


def wait_for(envoy: harness.Envoy, stat: str, at_least: int) -> None:
    """Envoy applies (or refuses) a published file asynchronously; wait until it has."""
    deadline = time.monotonic() + 15
    while ecds(envoy, stat) < at_least:
        assert time.monotonic() < deadline, f"{stat} stayed below {at_least}\n{envoy.log()[-3000:]}"
        time.sleep(0.05)




def error_reloads(envoy: harness.Envoy) -> int:
    """The filter's `authensor_config_reloads_total{result="error"}`."""
    for line in envoy.admin_get("/stats?filter=authensor_config_reloads_total").splitlines():
        name, _, value = line.partition(": ")
        if "result=.=error;.;" in name:
            return int(value)
    return 0


def test_the_shipped_dynamic_example_serves_its_policy(tmp_path, upstream):
    publish(tmp_path)
    with harness.Envoy(dynamic_bootstrap(tmp_path, upstream.port)) as envoy:
        assert httpx.get(envoy.url("/v1/status")).status_code == 200
        assert httpx.get(envoy.url("/admin/users")).status_code == 403
        assert [(a["decision"], a["rule"]) for a in envoy.wait_for_audit(2)] == [
            ("allow", None),
            ("deny", "deny-admin-paths"),
        ]


def test_policy_changes_under_load_without_dropping_or_undecided_requests(tmp_path):
    old = load_harness.load_config()
    new = copy.deepcopy(old)
    [egress] = [p for p in new["policies"] if p["id"] == "http-egress"]
    egress["rules"] = [r for r in egress["rules"] if r["id"] != "deny-admin-paths"]
    # A typo the filter's strict parser refuses, naming the JSON path.
    rejected_by_filter = {("polices" if key == "policies" else key): value for key, value in new.items()}
    case_list = load_harness.cases()
    publish(tmp_path, old)
    marks = {}

    with load_harness.Upstream() as up, harness.Envoy(dynamic_bootstrap(tmp_path, up.port)) as envoy:
        steps = [
            (0.25, "new", lambda: (publish(tmp_path, new), wait_for(envoy, "update_success", 2))),
            (0.50, "rejected_by_filter", lambda: (publish(tmp_path, rejected_by_filter), wait_for(envoy, "update_rejected", 1))),
            (0.75, "unparsable", lambda: (publish(tmp_path, raw="resources: [ {"), wait_for(envoy, "update_failure", 1))),
        ]

        def on_progress(answered: int) -> None:
            while steps and answered >= steps[0][0] * REQUESTS:
                _, name, act = steps.pop(0)
                marks[name] = answered
                act()

        summary = load_harness.send(envoy, case_list, REQUESTS, 8, 300, on_progress)
        by_id = load_harness.audit_by_request(envoy, REQUESTS)
        after = httpx.get(envoy.url("/admin/users"))
        log = envoy.log()
        counters = {name: ecds(envoy, name) for name in ("update_success", "update_rejected", "update_failure")}
        filter_errors = error_reloads(envoy)
        chains = load_harness.verify_chains(envoy.log_path)

    assert list(marks) == ["new", "rejected_by_filter", "unparsable"]
    assert (summary["answered"], summary["errors"]) == (REQUESTS, 0), "no request dropped"
    assert all(int(status) < 500 for f in summary["files"] for status in f)
    assert sorted(len(lines) for lines in by_id.values()) == [1] * REQUESTS
    assert chains["ok"] and chains["lines"] == REQUESTS + 1
    by_policy = {"old": [], "new": []}
    for i in range(REQUESTS):
        [line] = by_id[f"{load_harness.ID_PREFIX}-{i}"]
        case = case_list[i % len(case_list)]
        if case.name != "http_admin":
            assert line["decision"] == case.decision, (i, case.name, line)
            continue
        decided = (line["decision"], line["rule"], line["status"])
        assert decided in {("deny", "deny-admin-paths", 403), ("allow", "allow-reads", 200)}, (i, line)
        by_policy["old" if decided[0] == "deny" else "new"].append(i)
    assert by_policy["old"] and by_policy["new"], "both policies decided some requests"
    assert max(by_policy["old"]) < marks["rejected_by_filter"], "the rejected versions left the new policy serving"
    assert after.status_code == 200
    # Envoy counts the configuration the filter refused as rejected, the unparsable file as a failure.
    assert counters == {"update_success": 2, "update_rejected": 1, "update_failure": 1}
    assert filter_errors == 1
    assert log.count("Filesystem config update rejected: Unable to create Wasm plugin authensor") == 1
    assert log.count("Filesystem config update failure") == 1
    assert "authensor-filter: invalid configuration: polices: unknown field" in log
