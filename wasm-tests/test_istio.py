"""The Istio manifests (`istio/`): every overlay renders with `kubectl kustomize`, its WasmPlugin
satisfies the CRD's OpenAPI schema (strictly: unknown fields are errors, as with kubectl's strict
field validation), pins the built image, guards the agent's outbound traffic and fails closed; its
pluginConfig is exactly the agent's plain JSON files and is accepted by the plugin, both by
`authensor config check` and in a real Envoy configured the way istiod configures it; the
ServiceEntry/DestinationRule pairs make the sidecar originate TLS to the external API."""

from __future__ import annotations

import copy
import importlib.util
import json
import shutil
import subprocess
from pathlib import Path

import httpx
import jsonschema
import pytest
import yaml

import harness

ROOT = harness.ROOT
CRD = ROOT.parent / "shared" / "istio" / "wasmplugin-crd.yaml"
AGENTS = sorted(p.stem for p in (ROOT / "filter-config" / "agents").glob("*.json"))
OVERLAYS = sorted(p.parent.name for p in (ROOT / "istio" / "overlays").glob("*/kustomization.yaml"))
IMAGE_SUMMARY = ROOT / "target" / "oci" / "image.json"
CLI = ROOT / "target" / "release" / "authensor"
NETWORKING_VERSIONS = {"networking.istio.io/v1", "networking.istio.io/v1beta1", "networking.istio.io/v1alpha3"}
SERVICE_ENTRY_PROTOCOLS = {"HTTP", "HTTPS", "GRPC", "HTTP2", "MONGO", "TCP", "TLS"}


def kustomize(overlay: str) -> list[dict]:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl (with its built-in kustomize) is needed to render istio/overlays"
    result = subprocess.run(
        [kubectl, "kustomize", str(ROOT / "istio" / "overlays" / overlay)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, f"kubectl kustomize {overlay} failed (run `make istio-manifests`?):\n{result.stderr}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict]]:
    return {overlay: kustomize(overlay) for overlay in OVERLAYS}


def only(docs: list[dict], kind: str) -> dict:
    [doc] = [d for d in docs if d["kind"] == kind]
    return doc


def of_kind(docs: list[dict], kind: str) -> list[dict]:
    return [d for d in docs if d["kind"] == kind]


def strict(schema):
    """The schema with unknown fields rejected wherever the CRD does not preserve them."""
    if isinstance(schema, dict):
        out = {k: strict(v) for k, v in schema.items()}
        if "properties" in out and not out.get("x-kubernetes-preserve-unknown-fields"):
            out.setdefault("additionalProperties", False)
        return out
    if isinstance(schema, list):
        return [strict(v) for v in schema]
    return schema


@pytest.fixture(scope="module")
def crd_validators() -> dict[str, jsonschema.Validator]:
    """apiVersion -> validator, one per version the CRD serves."""
    crd = yaml.safe_load(CRD.read_text())
    group = crd["spec"]["group"]
    return {
        f"{group}/{v['name']}": jsonschema.Draft7Validator(strict(v["schema"]["openAPIV3Schema"]))
        for v in crd["spec"]["versions"]
        if v.get("served")
    }


def crd_errors(validators: dict[str, jsonschema.Validator], doc: dict) -> list[str]:
    """Schema errors plus the CRD's CEL rules (x-kubernetes-validations), checked by hand."""
    validator = validators.get(doc.get("apiVersion"))
    if validator is None:
        return [f"apiVersion {doc.get('apiVersion')} is not served by the CRD"]
    body = {k: v for k, v in doc.items() if k not in ("apiVersion", "kind", "metadata")}
    errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(body)]
    spec = doc.get("spec", {})
    if sum(k in spec for k in ("selector", "targetRef", "targetRefs")) > 1:
        errors.append("spec: only one of targetRefs or selector can be set")
    for key, value in spec.get("selector", {}).get("matchLabels", {}).items():
        if not key or "*" in key or "*" in str(value):
            errors.append(f"spec.selector.matchLabels: no wildcards or empty keys ({key!r}: {value!r})")
    url = str(spec.get("url", ""))
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme not in ("", "http", "https", "oci", "file"):
        errors.append(f"spec.url: scheme {scheme!r} not one of http, https, file, oci")
    if doc.get("kind") != "WasmPlugin" or not doc.get("metadata", {}).get("name"):
        errors.append("kind WasmPlugin with metadata.name expected")
    return errors


def istiod_filter(wasmplugin: dict, wasm: Path) -> dict:
    """The Envoy HTTP filter istiod generates for a WasmPlugin: root_id from pluginName, fail_open
    from failStrategy, pluginConfig as a JSON StringValue, and no allow_on_headers_stop_iteration
    (the WasmPlugin API has no such field)."""
    spec = wasmplugin["spec"]
    name = f"{wasmplugin['metadata']['namespace']}.{wasmplugin['metadata']['name']}"
    entry = harness.wasm_filter(json.dumps(spec["pluginConfig"]), wasm=wasm, name=name)
    config = entry["typed_config"]["config"]
    config["root_id"] = spec["pluginName"]
    config["fail_open"] = spec["failStrategy"] == "FAIL_OPEN"
    del config["allow_on_headers_stop_iteration"]
    return entry


def included(agent_file: Path, files: list[str]) -> list:
    items = []
    for name in files:
        content = json.loads((agent_file.parent / name).read_text())
        items.extend(content if isinstance(content, list) else [content])
    return items


def test_every_agent_has_an_overlay_and_every_overlay_an_agent():
    assert len(AGENTS) >= 2
    assert AGENTS == OVERLAYS


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_wasmplugin_satisfies_the_crd_schema(rendered, crd_validators, overlay):
    wasmplugin = only(rendered[overlay], "WasmPlugin")
    assert crd_errors(crd_validators, wasmplugin) == []


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (lambda s: s.update(failStrategy="FAIL_CLOSED"), "FAIL_CLOSED"),
        (lambda s: s.update(failstrategy="FAIL_OPEN"), "failstrategy"),
        (lambda s: s.update(sha256=s["sha256"].upper()), "sha256"),
        (lambda s: s.update(match=[{"mode": "OUTBOUND"}]), "OUTBOUND"),
        (lambda s: s.update(targetRef={"kind": "Gateway", "name": "g"}), "only one of"),
        (lambda s: s["selector"]["matchLabels"].update({"app": "*"}), "wildcard"),
        (lambda s: s.pop("url"), "url"),
    ],
    ids=["enum", "unknown-field", "sha256-pattern", "match-mode", "selector-and-targetRef", "wildcard", "no-url"],
)
def test_schema_check_rejects_broken_wasmplugins(rendered, crd_validators, mutate, expected):
    wasmplugin = copy.deepcopy(only(rendered[OVERLAYS[0]], "WasmPlugin"))
    mutate(wasmplugin["spec"])
    errors = crd_errors(crd_validators, wasmplugin)
    assert any(expected in e for e in errors), errors


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_wasmplugin_pins_the_built_image_and_guards_outbound_traffic_closed(rendered, overlay):
    summary = json.loads(IMAGE_SUMMARY.read_text())
    digest = summary["variants"][summary["default_variant"]]["digest"]
    spec = only(rendered[overlay], "WasmPlugin")["spec"]
    assert spec["url"].startswith("oci://")
    assert spec["url"].endswith(f"/{summary['name']}:{summary['tag']}")
    assert spec["sha256"] == digest.removeprefix("sha256:")
    assert spec["phase"] == "AUTHZ"
    assert spec["failStrategy"] == "FAIL_CLOSE"
    assert spec["match"] == [{"mode": "CLIENT"}]
    assert spec["selector"]["matchLabels"]
    assert spec["pluginConfig"]["body"]["hold_headers"] is False


def test_agents_differ_in_workloads_principal_and_policy(rendered):
    specs = [only(rendered[o], "WasmPlugin")["spec"] for o in OVERLAYS]
    namespaces = [only(rendered[o], "Namespace")["metadata"]["name"] for o in OVERLAYS]
    assert len({json.dumps(s["selector"], sort_keys=True) for s in specs}) == len(OVERLAYS)
    assert len({s["pluginConfig"]["agent"]["principal"] for s in specs}) == len(OVERLAYS)
    assert len({json.dumps(s["pluginConfig"], sort_keys=True) for s in specs}) == len(OVERLAYS)
    assert len(set(namespaces)) == len(OVERLAYS)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_plugin_config_is_the_agent_file_and_its_listed_files(rendered, overlay):
    agent_file = ROOT / "filter-config" / "agents" / f"{overlay}.json"
    agent = json.loads(agent_file.read_text())
    config = only(rendered[overlay], "WasmPlugin")["spec"]["pluginConfig"]
    for field, value in agent.get("config", {}).items():
        assert config[field] == ({**value, "hold_headers": False} if field == "body" else value), field
    for field, files in agent.get("include", {}).items():
        assert config[field] == included(agent_file, files), field
    assert set(config) == {*agent.get("config", {}), *agent.get("include", {}), "body"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_plugin_config_is_accepted_by_the_plugin(rendered, tmp_path, overlay):
    wasmplugin = only(rendered[overlay], "WasmPlugin")
    config_file = tmp_path / f"{overlay}.json"
    config_file.write_text(json.dumps(wasmplugin["spec"]["pluginConfig"]))
    check = subprocess.run([str(CLI), "config", "check", str(config_file)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr

    bootstrap = tmp_path / "envoy.json"
    bootstrap.write_text(json.dumps(harness.bootstrap([istiod_filter(wasmplugin, harness.WASM)], upstream_port=1)))
    result = harness.envoy_validate(bootstrap)
    assert result.returncode == 0, result.stdout + result.stderr


def test_envoy_validate_rejects_a_plugin_config_the_plugin_refuses(rendered, tmp_path):
    wasmplugin = copy.deepcopy(only(rendered[OVERLAYS[0]], "WasmPlugin"))
    wasmplugin["spec"]["pluginConfig"]["body"]["max_bytes"] = 0
    bootstrap = tmp_path / "envoy.json"
    bootstrap.write_text(json.dumps(harness.bootstrap([istiod_filter(wasmplugin, harness.WASM)], upstream_port=1)))
    result = harness.envoy_validate(bootstrap)
    assert result.returncode != 0
    assert "invalid configuration: body.max_bytes" in result.stdout + result.stderr


def test_istio_shaped_filter_denies_a_body_without_holding_headers(upstream):
    """Under Istio the headers go ahead (hold_headers false): a denied body still never reaches the
    upstream, and a clean one arrives whole."""
    wasmplugin = {
        "metadata": {"namespace": "test", "name": "authensor-filter"},
        "spec": {
            "pluginName": "authensor",
            "failStrategy": "FAIL_CLOSE",
            "pluginConfig": {
                "body": {"hold_headers": False},
                "policies": [
                    {
                        "id": "p",
                        "name": "p",
                        "version": "1.0.0",
                        "rules": [
                            {
                                "id": "no-marker",
                                "effect": "deny",
                                "condition": {"field": "action.parameters.note", "operator": "contains", "value": "FORBIDDEN-MARKER"},
                            },
                            {"id": "rest", "effect": "allow"},
                        ],
                    }
                ],
            },
        },
    }
    config = harness.bootstrap([istiod_filter(wasmplugin, harness.WASM)], upstream.port)
    with harness.Envoy(config) as envoy, httpx.Client(timeout=10) as client:
        marked = json.dumps({"note": "x" * 5000 + "FORBIDDEN-MARKER" + "y" * 5000}).encode()
        denied = client.post(envoy.url("/v1/chat"), content=marked)
        assert denied.status_code == 403, (denied.status_code, denied.text)
        assert denied.json()["error"]["rule"] == "no-marker"
        clean = json.dumps({"note": "z" * 20000}).encode()
        assert client.post(envoy.url("/v1/chat"), content=clean).status_code == 200
        assert all(b"FORBIDDEN-MARKER" not in r.body for r in upstream.requests)
        assert [r.body for r in upstream.requests if r.body] == [clean]
        assert [line["decision"] for line in envoy.wait_for_audit(2)] == ["deny", "allow"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_resource_is_namespaced_to_the_agent(rendered, overlay):
    docs = rendered[overlay]
    namespace = only(docs, "Namespace")
    assert namespace["apiVersion"] == "v1"
    assert namespace["metadata"]["labels"]["istio-injection"] == "enabled"
    for doc in docs:
        assert doc.get("apiVersion") and doc.get("kind") and doc["metadata"].get("name"), doc
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == namespace["metadata"]["name"], doc["metadata"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_sidecar_originates_tls_to_each_external_api(rendered, overlay):
    docs = rendered[overlay]
    entries, rules = of_kind(docs, "ServiceEntry"), of_kind(docs, "DestinationRule")
    assert entries, "an agent reaches at least one external API"
    hosts = set()
    for entry in entries:
        assert entry["apiVersion"] in NETWORKING_VERSIONS
        spec = entry["spec"]
        assert spec["location"] == "MESH_EXTERNAL"
        assert spec["resolution"] in {"NONE", "STATIC", "DNS", "DNS_ROUND_ROBIN"}
        assert spec["exportTo"] == ["."]
        assert spec["hosts"] and all(h and "*" not in h for h in spec["hosts"])
        for port in spec["ports"]:
            assert set(port) <= {"number", "name", "protocol", "targetPort"}
            assert 1 <= port["number"] <= 65535 and port["name"] and port["protocol"] in SERVICE_ENTRY_PROTOCOLS
            # Only plain HTTP from the agent: TLS from the agent would be opaque to the filter.
            assert (port["protocol"], port["targetPort"]) == ("HTTP", 443), port
            for host in spec["hosts"]:
                hosts.add(host)
                [rule] = [r for r in rules if r["spec"]["host"] == host]
                assert rule["apiVersion"] in NETWORKING_VERSIONS
                settings = rule["spec"]["trafficPolicy"]["portLevelSettings"]
                [setting] = [p for p in settings if p["port"]["number"] == port["number"]]
                tls = setting["tls"]
                assert tls["mode"] == "SIMPLE" and tls["sni"] == host and host in tls["subjectAltNames"]
    assert {r["spec"]["host"] for r in rules} == hosts


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_agent_namespace_only_reaches_registered_hosts(rendered, overlay):
    sidecar = only(rendered[overlay], "Sidecar")
    assert sidecar["apiVersion"] in NETWORKING_VERSIONS
    assert sidecar["spec"]["outboundTrafficPolicy"]["mode"] == "REGISTRY_ONLY"
    assert "workloadSelector" not in sidecar["spec"]


@pytest.fixture
def renderer(tmp_path, monkeypatch):
    """istio/render_manifests.py working on a scratch copy of filter-config/agents and istio/."""
    spec = importlib.util.spec_from_file_location("render_manifests", ROOT / "istio" / "render_manifests.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    shutil.copytree(ROOT / "filter-config", tmp_path / "filter-config")
    shutil.copytree(ROOT / "istio", tmp_path / "istio")
    monkeypatch.setattr(module, "ROOT", tmp_path)
    monkeypatch.setattr(module, "AGENTS_DIR", tmp_path / "filter-config" / "agents")
    monkeypatch.setattr(module, "ISTIO_DIR", tmp_path / "istio")
    monkeypatch.setattr(module, "RENDER_DIR", tmp_path / "target" / "istio")
    return module


def edit_agent(renderer, edit) -> Path:
    path = renderer.AGENTS_DIR / f"{AGENTS[0]}.json"
    agent = json.loads(path.read_text())
    edit(agent)
    path.write_text(json.dumps(agent))
    return path


DIGEST = "sha256:" + "ab" * 32


def test_renderer_refuses_hold_headers_under_istio(renderer):
    edit_agent(renderer, lambda a: a["config"].setdefault("body", {}).update(hold_headers=True))
    with pytest.raises(renderer.RenderError, match="allow_on_headers_stop_iteration"):
        renderer.render("r.example/authensor-filter:1", DIGEST, CLI)


def test_renderer_writes_nothing_when_the_plugin_rejects_a_config(renderer):
    generated = sorted(renderer.ISTIO_DIR.glob("**/*.generated.yaml"))
    before = {p: p.read_text() for p in generated}
    edit_agent(renderer, lambda a: a["config"].update(bodies={}))
    with pytest.raises(renderer.RenderError, match="bodies"):
        renderer.render("r.example/authensor-filter:1", DIGEST, CLI)
    assert {p: p.read_text() for p in sorted(renderer.ISTIO_DIR.glob("**/*.generated.yaml"))} == before


def test_renderer_requires_an_overlay_per_agent(renderer):
    (renderer.AGENTS_DIR / "orphan-agent.json").write_text('{"config": {}}')
    with pytest.raises(renderer.RenderError, match="orphan-agent"):
        renderer.render("r.example/authensor-filter:1", DIGEST, CLI)


def test_renderer_names_the_listed_file_that_the_plugin_rejects(renderer):
    broken = renderer.ROOT / "filter-config" / "broken-policy.json"
    broken.write_text(json.dumps({"id": "x", "name": "x", "version": "1.0.0", "rules": [{"id": "r", "effect": "maybe"}]}))
    agent = edit_agent(renderer, lambda a: a["include"]["policies"].append("../broken-policy.json"))
    position = len(json.loads(agent.read_text())["include"]["policies"]) - 1
    with pytest.raises(renderer.RenderError) as error:
        renderer.render("r.example/authensor-filter:1", DIGEST, CLI)
    assert f"policies[{position}].rules[0].effect" in str(error.value)
    assert "(from filter-config/broken-policy.json)" in str(error.value)
