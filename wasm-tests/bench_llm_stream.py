"""Streaming benchmark: a streamed chat completion of N server-sent events (default 1,000), each its
own HTTP chunk, through the same Envoy with and without the filter (and, as a floor, the filter on a path it
does not read as an LLM call). Runs the Envoys side by side and alternates requests between arms.

Reported per arm (medians over the runs):
- time to first chunk: request sent -> first event received;
- per-chunk transit: event sent by the upstream -> received by the client (wall clock, same host);
- per-token text delay: event sent -> its text fully received (the filter may hold a word that
  could still grow into a key or an address until the next event shows it does not).

Usage: .venv/bin/python wasm-tests/bench_llm_stream.py [--events 1000] [--runs 7] [--pause-ms 2]
The upstream runs in its own process (`... bench_llm_stream.py serve PORT EVENTS PAUSE_MS`).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

ALLOW_ALL = {"policies": [{"id": "all", "name": "all", "version": "1.0.0", "rules": [{"id": "allow", "effect": "allow"}]}]}


def serve(port: int, events: int, pause_s: float) -> None:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, *args):
            pass

        def do_POST(self):
            length = int(self.headers.get("content-length") or 0)
            if length:
                self.rfile.read(length)
            elif self.headers.get("transfer-encoding", "").lower() == "chunked":
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                    self.rfile.read(size + 2)
                    if size == 0:
                        break
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            for i in range(events + 2):
                if i == 0:
                    delta = {"role": "assistant", "content": ""}
                elif i <= events:
                    delta = {"content": f" w{i}"}
                else:
                    delta = {}
                chunk = {"id": "c", "object": "chat.completion.chunk", "model": "m", "sent_ns": time.time_ns(),
                         "choices": [{"index": 0, "delta": delta, "finish_reason": None if delta else "stop"}]}
                self._chunk(f"data: {json.dumps(chunk)}\n\n".encode())
                if pause_s and 0 < i < events:
                    time.sleep(pause_s)
            self._chunk(b"data: [DONE]\n\n")
            self._chunk(b"")

        def _chunk(self, data: bytes) -> None:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print("ready", flush=True)
    server.serve_forever()


def one_run(client: httpx.Client, url: str, events: int) -> tuple[float, list[float], list[float]]:
    """Returns (time to first chunk, per-event transit, per-token text delay), in milliseconds."""
    body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "count"}]}
    # Token k is " w{k}"; it has fully arrived once the text is as long as the first k tokens.
    full = [0]
    for k in range(1, events + 1):
        full.append(full[-1] + len(f" w{k}"))
    transit: list[float] = []
    text_delay: list[float] = []
    sent: list[int] = [0]  # sent_ns of the upstream event that carried token k (1:1, in order)
    received = 0
    arrived = 0
    start = time.time_ns()
    first = None
    with client.stream("POST", url, json=body) as r:
        assert r.status_code == 200, r.read()
        for line in r.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            now = time.time_ns()
            first = first or now
            v = json.loads(line[6:])
            if "sent_ns" not in v:  # the filter's flush of held text, just before the end
                received += sum(len(c.get("delta", {}).get("content") or "") for c in v.get("choices", []))
            else:
                transit.append((now - v["sent_ns"]) / 1e6)
            for c in v.get("choices", []) if "sent_ns" in v else []:
                delta = c.get("delta", {})
                if "content" in delta and "role" not in delta:
                    sent.append(v["sent_ns"])
                received += len(delta.get("content") or "")
            while arrived < events and received >= full[arrived + 1]:
                arrived += 1
                text_delay.append((now - sent[arrived]) / 1e6)
    assert arrived == events, "the stream arrived intact"
    return (first - start) / 1e6, transit, text_delay


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--pause-ms", type=float, default=2.0)
    args = ap.parse_args()
    port = harness.free_port()
    up = subprocess.Popen([sys.executable, __file__, "serve", str(port), str(args.events), str(args.pause_ms)],
                          stdout=subprocess.PIPE, text=True)
    try:
        assert up.stdout.readline().strip() == "ready"
        with harness.Envoy(harness.bootstrap([], port)) as bare, \
                harness.Envoy(harness.bootstrap([harness.wasm_filter(ALLOW_ALL)], port)) as filtered:
            # The third arm shows the floor: the filter on a path it does not read as an LLM call.
            arms = {"without filter": (bare, "/v1/chat/completions"),
                    "with filter": (filtered, "/v1/chat/completions"),
                    "filter, not LLM": (filtered, "/v1/other")}
            results = {name: ([], [], []) for name in arms}
            with httpx.Client(timeout=60) as client:
                for name, (envoy, path) in arms.items():  # warm-up
                    one_run(client, envoy.url(path), args.events)
                for _ in range(args.runs):
                    for name, (envoy, path) in arms.items():
                        ttfc, transit, delay = one_run(client, envoy.url(path), args.events)
                        results[name][0].append(ttfc)
                        results[name][1].append(statistics.median(transit))
                        results[name][2].append(statistics.median(delay))
            print(f"{args.events} events, {args.pause_ms} ms apart, {args.runs} runs per arm (medians)")
            print(f"{'arm':<23} {'first chunk ms':>15} {'transit ms/chunk':>17} {'text delay ms/token':>20}")
            for name, (ttfc, transit, delay) in results.items():
                print(f"{name:<23} {statistics.median(ttfc):>15.3f} {statistics.median(transit):>17.3f} "
                      f"{statistics.median(delay):>20.3f}")
            b = results["without filter"]
            for name in ("with filter", "filter, not LLM"):
                a = results[name]
                print(f"{'added, ' + name:<23} {statistics.median(a[0]) - statistics.median(b[0]):>15.3f} "
                      f"{statistics.median(a[1]) - statistics.median(b[1]):>17.3f} "
                      f"{statistics.median(a[2]) - statistics.median(b[2]):>20.3f}")
    finally:
        up.terminate()
        up.wait()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        serve(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]) / 1000)
    else:
        main()
