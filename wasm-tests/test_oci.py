"""The OCI image the mesh pulls: `make push` into a real registry (Debian's docker-registry on
loopback), pulled back with skopeo, `plugin.wasm` extracted the way Istio's agent does, byte-equal to
the build, and working in a real Envoy. Two builds of the same source give the same digest."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import time
import urllib.request
from pathlib import Path

import httpx
import pytest

import harness

IMAGE_SUMMARY = harness.ROOT / "target" / "oci" / "image.json"
DEFAULT_CONFIG = harness.ROOT / "filter-config" / "config.json"
REPOSITORY = "authensor/authensor-filter"

# Media types Istio's agent tells apart (pkg/wasm/imagefetcher.go).
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
WASM_LAYER = "application/vnd.module.wasm.content.layer.v1+wasm"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def make(*args: str, cwd: Path = harness.ROOT) -> subprocess.CompletedProcess:
    """Run a Makefile target as a user would (cargo builds into the checkout's own target/)."""
    env = {k: v for k, v in os.environ.items() if k != "CARGO_TARGET_DIR"}
    result = subprocess.run(["make", "-s", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"make {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


def wasm_from_tar_gz(blob: bytes) -> bytes:
    """Istio's compat extraction: gunzip, walk the tar, the first entry whose base name is plugin.wasm."""
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(blob)), mode="r:") as tar:
        for member in tar:
            if Path(member.name).name == "plugin.wasm":
                return tar.extractfile(member).read()
    raise AssertionError("plugin.wasm not found in the layer")


def istio_extract(manifest: dict, blob) -> bytes:
    """What Istio's agent does with a pulled image manifest: Docker manifests and the OCI compat
    variant take the last layer as tar+gzip holding plugin.wasm; otherwise the OCI artifact variant
    has exactly two layers, one of them the raw module. The result must start with the wasm magic."""
    layers = manifest["layers"]
    assert layers, "an image needs at least one layer"
    last = layers[-1]
    if manifest.get("mediaType") == DOCKER_MANIFEST:
        assert last["mediaType"] == DOCKER_LAYER
        module = wasm_from_tar_gz(blob(last))
    elif last["mediaType"] == OCI_LAYER:
        module = wasm_from_tar_gz(blob(last))
    else:
        assert len(layers) == 2, f"the Wasm artifact variant has 2 layers, not {len(layers)}"
        [wasm_layer] = [layer for layer in layers if layer["mediaType"] == WASM_LAYER]
        module = blob(wasm_layer)
    assert module[:4] == b"\0asm", "not a WebAssembly module"
    return module


class Registry:
    """Debian's docker-registry on a loopback port, storing into a temporary directory."""

    def __init__(self, workdir: Path):
        self.port = harness.free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.config = workdir / "registry.yml"
        # JSON is YAML: the registry reads this as its configuration file.
        self.config.write_text(
            json.dumps(
                {
                    "version": 0.1,
                    "log": {"level": "warn", "accesslog": {"disabled": True}},
                    "storage": {"filesystem": {"rootdirectory": str(workdir / "storage")}},
                    "http": {"addr": self.host},
                }
            )
        )
        self.log_path = workdir / "registry.log"

    def __enter__(self) -> "Registry":
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [shutil.which("docker-registry"), "serve", str(self.config)], stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"docker-registry exited:\n{self.log_path.read_text()}"
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"http://{self.host}/v2/", timeout=2) as r:
                    if r.status == 200:
                        return self
            time.sleep(0.05)
        self.__exit__()
        raise AssertionError(f"docker-registry did not answer /v2/:\n{self.log_path.read_text()}")

    def __exit__(self, *exc) -> None:
        harness.stop_process(self.proc)
        self.log.close()

    def manifest(self, repository: str, reference: str) -> tuple[bytes, str]:
        """The manifest bytes as a client like Istio's agent receives them, and the served digest."""
        accept = ", ".join([OCI_MANIFEST, DOCKER_MANIFEST])
        request = urllib.request.Request(
            f"http://{self.host}/v2/{repository}/manifests/{reference}", headers={"Accept": accept}
        )
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.read(), r.headers["Docker-Content-Digest"]


@pytest.fixture(scope="module")
def oci_tools():
    """skopeo and docker-registry from Debian; `make oci-tools` installs them when missing."""
    try:
        make("oci-tools")
    except AssertionError:
        if os.geteuid() != 0:
            pytest.skip("skopeo/docker-registry are missing and apt-get needs root")
        raise


@pytest.fixture(scope="module")
def registry(oci_tools, tmp_path_factory):
    with Registry(tmp_path_factory.mktemp("registry")) as reg:
        yield reg


def pull_layout(registry: Registry, tag: str, dest: Path) -> tuple[dict, str, callable]:
    """skopeo pulls the image into an OCI layout; returns its manifest, digest and a blob reader."""
    subprocess.run(
        [
            "skopeo", "copy", "--quiet", "--preserve-digests", "--src-tls-verify=false",
            f"docker://{registry.host}/{REPOSITORY}:{tag}", f"oci:{dest}:{tag}",
        ],
        check=True,
        timeout=120,
    )
    index = json.loads((dest / "index.json").read_text())
    [descriptor] = [m for m in index["manifests"] if m["annotations"]["org.opencontainers.image.ref.name"] == tag]

    def blob(desc: dict) -> bytes:
        data = (dest / "blobs" / "sha256" / desc["digest"].split(":", 1)[1]).read_bytes()
        assert sha256(data) == desc["digest"] and len(data) == desc["size"]
        return data

    return json.loads(blob(descriptor)), descriptor["digest"], blob


@pytest.mark.parametrize("variant", ["compat", "oci"])
def test_pushed_image_pulls_back_to_the_built_module_and_it_filters(registry, upstream, tmp_path, variant):
    make("push", f"REGISTRY={registry.host}/authensor", f"IMAGE_VARIANT={variant}")
    summary = json.loads(IMAGE_SUMMARY.read_text())
    built = summary["variants"][variant]

    # What the registry serves is what we built: the digest a WasmPlugin pins with `sha256`.
    served, served_digest = registry.manifest(REPOSITORY, summary["tag"])
    assert sha256(served) == served_digest == built["digest"]

    manifest, pulled_digest, blob = pull_layout(registry, summary["tag"], tmp_path / "pulled")
    assert pulled_digest == built["digest"]
    if variant == "compat":
        assert len(manifest["layers"]) == 1 and manifest["layers"][0]["mediaType"] == OCI_LAYER
        assert manifest["annotations"]["module.wasm.image/variant"] == "compat"
    module = istio_extract(manifest, blob)
    assert hashlib.sha256(module).hexdigest() == summary["wasm"]["sha256"]
    assert module == harness.WASM.read_bytes()

    plugin = tmp_path / "plugin.wasm"
    plugin.write_bytes(module)
    config = harness.bootstrap([harness.wasm_filter(DEFAULT_CONFIG.read_text(), wasm=plugin)], upstream.port)
    with harness.Envoy(config) as envoy:
        assert httpx.get(envoy.url("/v1/status")).status_code == 200
        denied = httpx.post(envoy.url("/v1/../admin/users"), content=b'{"role":"root"}')
        assert denied.status_code == 403
        assert denied.json()["error"]["type"] == "policy_denied"
        assert [r.path for r in upstream.requests] == ["/v1/status"]
        assert [line["decision"] for line in envoy.wait_for_audit(2)] == ["allow", "deny"]


def source_files() -> list[str]:
    """The checkout's source: tracked files plus new ones not ignored (build outputs are ignored)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=harness.ROOT, capture_output=True, check=True,
    ).stdout.decode()
    return [f for f in listed.split("\0") if f and (harness.ROOT / f).is_file()]


def test_two_builds_of_the_same_source_give_the_same_digest(tmp_path):
    """A second checkout at another path, built from scratch with its own target/, gives the same
    module and the same image digests."""
    copy = tmp_path / "elsewhere"
    for name in source_files():
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(harness.ROOT / name, copy / name)
    make("image")
    make("image", cwd=copy)
    first = json.loads(IMAGE_SUMMARY.read_text())
    second = json.loads((copy / "target" / "oci" / "image.json").read_text())
    assert second["wasm"]["sha256"] == first["wasm"]["sha256"]
    for variant in ("compat", "oci"):
        assert second["variants"][variant]["digest"] == first["variants"][variant]["digest"]
