"""MCP end-to-end plumbing: the test MCP server (mcp_server.py, official Python SDK) in its own
process, Envoy with the filter in front of it, and the SDK's Streamable HTTP client as the agent.

- `McpServer`: starts the server in JSON or SSE response mode on a kernel-chosen loopback port,
  waits until it answers (polling, no sleeps), reads its call and request logs, stops it.
- `McpStack`: the server plus Envoy+filter; `stack.run(agent)` runs `agent(session)` with an
  initialised `ClientSession` connected through Envoy; `stack.post(...)` sends raw JSON-RPC.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import selectors
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import httpx
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

import harness

SERVER_SCRIPT = Path(__file__).resolve().parent / "mcp_server.py"
MODES = ("json", "sse")
ACCEPT = "application/json, text/event-stream"
TIMEOUT_S = 20.0


class McpServer:
    """The test MCP server process. Use as a context manager."""

    def __init__(self, mode: str):
        self.mode = mode
        self.dir = Path(tempfile.mkdtemp(prefix=f"authensor-mcp-{mode}-"))
        self.proc: subprocess.Popen | None = None
        self.port = 0

    def __enter__(self) -> "McpServer":
        self.stderr = open(self.dir / "server.log", "wb")
        self.proc = subprocess.Popen(
            [sys.executable, str(SERVER_SCRIPT), "--mode", self.mode, "--log-dir", str(self.dir)],
            stdout=subprocess.PIPE,
            stderr=self.stderr,
        )
        try:
            self.port = self._read_port()
            self._wait_healthy()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        if self.proc:
            harness.stop_process(self.proc)
        self.stderr.close()

    def _read_port(self) -> int:
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            if sel.select(timeout=deadline - time.monotonic()):
                line = self.proc.stdout.readline().decode()
                if line.startswith("PORT "):
                    return int(line.split()[1])
                if not line:
                    break
        raise RuntimeError(f"MCP server did not report its port:\n{self.log()}")

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"MCP server exited:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/control/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"MCP server not ready:\n{self.log()}")

    def log(self) -> str:
        return (self.dir / "server.log").read_text(errors="replace")

    def _lines(self, name: str) -> list[dict]:
        path = self.dir / name
        return [json.loads(l) for l in path.read_text().splitlines() if l.strip()] if path.exists() else []

    def calls(self) -> list[dict]:
        """Every tool call the server executed: `{"tool", "arguments"}`."""
        return self._lines("calls.jsonl")

    def tools_called(self) -> list[str]:
        return [c["tool"] for c in self.calls()]

    def request_bodies(self) -> list[str]:
        """Every MCP HTTP request body the server received, in order."""
        return [r["body"] for r in self._lines("requests.jsonl")]

    def rug_pull(self) -> None:
        """Change the `get_weather` tool's definition (directly, not through Envoy)."""
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/control/rug-pull", method="POST", data=b"")
        with urllib.request.urlopen(req, timeout=5):
            pass


class McpStack:
    """The MCP server behind Envoy+filter, and ways to talk to it as an agent."""

    def __init__(self, server: McpServer, envoy: harness.Envoy):
        self.server, self.envoy, self.mode = server, envoy, server.mode
        self.url = envoy.url("/mcp")

    def run(self, agent):
        """Run `await agent(session)` with an initialised ClientSession through Envoy."""

        async def main():
            async with streamable_http_client(self.url) as (read, write, _):
                async with ClientSession(read, write) as session:
                    await asyncio.wait_for(session.initialize(), TIMEOUT_S)
                    return await asyncio.wait_for(agent(session), TIMEOUT_S)

        return asyncio.run(main())

    def session_id(self) -> str:
        """Initialise a session with a raw POST and return its `Mcp-Session-Id`."""
        init = {
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "raw-test-client", "version": "1"},
            },
        }
        r = self.post(json.dumps(init))
        assert r.status_code == 200, r.text
        sid = r.headers["mcp-session-id"]
        note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        assert self.post(json.dumps(note), sid).status_code == 202
        return sid

    def post(self, body: str | bytes, session_id: str | None = None) -> httpx.Response:
        """A raw JSON-RPC POST through Envoy, as an agent that does not use the SDK would send it."""
        headers = {"content-type": "application/json", "accept": ACCEPT}
        if session_id:
            headers["mcp-session-id"] = session_id
            headers["mcp-protocol-version"] = "2025-06-18"
        return httpx.post(self.url, content=body, headers=headers, timeout=TIMEOUT_S)


def messages_in(response: httpx.Response) -> list[dict]:
    """The JSON-RPC messages of an answer, whether JSON (object or batch) or SSE events."""
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        out = []
        for block in response.text.replace("\r\n", "\n").split("\n\n"):
            data = "\n".join(l[5:].lstrip(" ") for l in block.split("\n") if l.startswith("data:"))
            if data:
                parsed = json.loads(data)
                out.extend(parsed if isinstance(parsed, list) else [parsed])
        return out
    parsed = response.json()
    return parsed if isinstance(parsed, list) else [parsed]


@contextlib.contextmanager
def mcp_stack(mode: str, plugin_config) -> McpStack:
    """Start the MCP server (`mode` json or sse) and Envoy with the filter configured by
    `plugin_config` in front of it; stop both on exit."""
    with McpServer(mode) as server:
        config = harness.bootstrap([harness.wasm_filter(plugin_config)], server.port)
        with harness.Envoy(config) as envoy:
            yield McpStack(server, envoy)
