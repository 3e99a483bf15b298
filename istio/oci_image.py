#!/usr/bin/env python3
"""Packs the filter's .wasm as OCI images in the forms Istio's agent pulls, reproducibly.

Two variants, each written as its own OCI image layout (a directory skopeo reads as `oci:DIR:TAG`):

- `compat` (the default, Istio's most compatible form): a standard OCI image with exactly one
  `application/vnd.oci.image.layer.v1.tar+gzip` layer holding `plugin.wasm`, annotated
  `module.wasm.image/variant=compat`. Istio's agent takes the last layer, gunzips it and reads the
  first tar entry named `plugin.wasm`.
- `oci`: the Wasm OCI artifact form, two layers: `runtime-config.json`
  (`application/vnd.module.wasm.config.v1+json`) and the raw module
  (`application/vnd.module.wasm.content.layer.v1+wasm`).

Reproducible: the bytes depend only on the .wasm and the image name, not on the tag or the time.
No timestamps (tar mtime 0, gzip header mtime 0, no `created` in the image config), fixed owner
and mode, canonical JSON (sorted keys, no whitespace). The same source therefore gives the same manifest digest, which is what
Istio's `WasmPlugin.spec.sha256` pins.

Writes `<out>/<variant>/` (the layouts) and `<out>/image.json` (digests and sizes, read by
`render_manifests.py` and the tests). Standard library only, so `make image` needs no venv.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import shutil
import sys
import tarfile
from pathlib import Path

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_TAR_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
WASM_CONFIG = "application/vnd.module.wasm.config.v1+json"
WASM_LAYER = "application/vnd.module.wasm.content.layer.v1+wasm"
VARIANTS = ("compat", "oci")
DEFAULT_VARIANT = "compat"
PLUGIN_FILE = "plugin.wasm"
ROOT_ID = "authensor"


def canonical_json(value) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def plugin_tar(wasm: bytes) -> bytes:
    """A tar with the single regular file `plugin.wasm`: mode 0644, owner 0:0, mtime 0."""
    info = tarfile.TarInfo(PLUGIN_FILE)
    info.size = len(wasm)
    info.mode = 0o644
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        tar.addfile(info, io.BytesIO(wasm))
    return buf.getvalue()


class Layout:
    """An OCI image layout directory being written: content-addressed blobs plus index.json."""

    def __init__(self, path: Path):
        self.path = path
        if path.exists():
            shutil.rmtree(path)
        (path / "blobs" / "sha256").mkdir(parents=True)
        (path / "oci-layout").write_bytes(canonical_json({"imageLayoutVersion": "1.0.0"}))

    def blob(self, media_type: str, data: bytes, annotations: dict | None = None) -> dict:
        """Store `data`; return its descriptor."""
        digest = sha256_digest(data)
        (self.path / "blobs" / "sha256" / digest.split(":", 1)[1]).write_bytes(data)
        descriptor = {"mediaType": media_type, "digest": digest, "size": len(data)}
        if annotations:
            descriptor["annotations"] = annotations
        return descriptor

    def finish(self, manifest: dict, tag: str) -> dict:
        """Store the manifest, point index.json at it under `tag`; return its descriptor."""
        descriptor = self.blob(OCI_MANIFEST, canonical_json(manifest))
        index = {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [{**descriptor, "annotations": {"org.opencontainers.image.ref.name": tag}}],
        }
        (self.path / "index.json").write_bytes(canonical_json(index))
        return descriptor


def manifest_annotations(name: str, variant: str) -> dict:
    """No version or date: the digest is a function of the module alone, whatever the tag."""
    annotations = {"org.opencontainers.image.title": name}
    if variant == "compat":
        annotations["module.wasm.image/variant"] = "compat"
    return annotations


def write_compat(layout: Layout, wasm: bytes, name: str, tag: str) -> tuple[dict, dict]:
    tar = plugin_tar(wasm)
    layer = layout.blob(OCI_LAYER_TAR_GZIP, gzip.compress(tar, compresslevel=9, mtime=0))
    config = layout.blob(
        OCI_CONFIG,
        canonical_json(
            {
                "architecture": "wasm",
                "os": "wasip1",
                "config": {},
                "rootfs": {"type": "layers", "diff_ids": [sha256_digest(tar)]},
            }
        ),
    )
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config,
        "layers": [layer],
        "annotations": manifest_annotations(name, "compat"),
    }
    return layout.finish(manifest, tag), manifest


def write_oci(layout: Layout, wasm: bytes, name: str, tag: str) -> tuple[dict, dict]:
    runtime = canonical_json(
        {"type": "envoy_proxy", "abiVersions": ["proxy_abi_version_0_2_1"], "config": {"root_ids": [ROOT_ID]}}
    )
    config = layout.blob(WASM_CONFIG, runtime)
    layers = [
        layout.blob(WASM_CONFIG, runtime, {"org.opencontainers.image.title": "runtime-config.json"}),
        layout.blob(WASM_LAYER, wasm, {"org.opencontainers.image.title": PLUGIN_FILE}),
    ]
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config,
        "layers": layers,
        "annotations": manifest_annotations(name, "oci"),
    }
    return layout.finish(manifest, tag), manifest


WRITERS = {"compat": write_compat, "oci": write_oci}


def build(wasm_path: Path, out: Path, name: str, tag: str) -> dict:
    """Write both variants under `out`; return the summary also written to `out/image.json`."""
    wasm = wasm_path.read_bytes()
    if wasm[:4] != b"\0asm":
        raise SystemExit(f"{wasm_path}: not a WebAssembly module")
    summary = {
        "name": name,
        "tag": tag,
        "default_variant": DEFAULT_VARIANT,
        "wasm": {"path": str(wasm_path), "sha256": hashlib.sha256(wasm).hexdigest(), "bytes": len(wasm)},
        "variants": {},
    }
    for variant in VARIANTS:
        layout = Layout(out / variant)
        descriptor, manifest = WRITERS[variant](layout, wasm, name, tag)
        blobs = [manifest["config"], *manifest["layers"]]
        unique = {b["digest"]: b["size"] for b in blobs}
        summary["variants"][variant] = {
            "layout": str(layout.path),
            "digest": descriptor["digest"],
            "manifest_bytes": descriptor["size"],
            "image_bytes": descriptor["size"] + sum(unique.values()),
            "layer_bytes": [layer["size"] for layer in manifest["layers"]],
        }
    (out / "image.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wasm", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--tag", required=True)
    args = parser.parse_args(argv)
    summary = build(args.wasm, args.out, args.name, args.tag)
    for variant, v in summary["variants"].items():
        default = " (default)" if variant == DEFAULT_VARIANT else ""
        print(
            f"image {variant}{default}: {v['digest']}  {v['image_bytes']} bytes  "
            f"oci:{v['layout']}:{summary['tag']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
