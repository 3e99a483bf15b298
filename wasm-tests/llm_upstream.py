"""A scripted stand-in for the OpenAI (Chat Completions, Responses) and Anthropic (Messages) APIs,
for the end-to-end suite. Run as its own process (`python llm_upstream.py`): it binds a loopback
port chosen by the kernel (or the port given as its argument: `python llm_upstream.py 8081`),
prints `{"port": N}` as its first line, and serves until terminated.

- `POST .../chat/completions`, `POST .../v1/responses`, `POST .../v1/messages`: answers in the
  API's shape, as JSON or, when the request says `"stream": true`, as server-sent events written
  one event per HTTP chunk (a short pause between events stands for token generation, so that
  the proxy sees separate chunks). JSON answers are gzip-compressed when the request accepts gzip,
  as the real services do.
- What it answers is scripted by a keyword in the request (see `SCRIPTS`); without one it says
  `DEFAULT_REPLY`.
- Every request is recorded: `GET /__requests` returns them as JSON (method, path, headers,
  body as text); `GET /__health` answers 200 once it serves.

`LlmUpstream` starts and stops that process for a test and reads what it recorded.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from harness import read_request_body, stop_process

DEFAULT_REPLY = "Hello from the test upstream."
# A string in the shape of an AWS access key id. Made up here; not from any corpus.
SECRET = "AKIA" + "QZ7TW2LMPX4RNB6C"
# A string a test can configure as a canary token (must never leave the mesh).
CANARY = "authensor-canary-" + "7f3a9c1e5b"
DESTRUCTIVE_COMMAND = "rm -rf / --no-preserve-root"
EVENT_PAUSE_S = 0.03


def _split_secret() -> list[str]:
    half = len(SECRET) // 2
    return ["Here is the key: " + SECRET[:half], SECRET[half:] + " (keep it safe)."]


# keyword in the request -> (text pieces, tool call or None). `echo` repeats the last user text.
SCRIPTS = {
    "SCRIPT:split-secret": lambda req: (_split_secret(), None),
    "SCRIPT:canary": lambda req: (["Some harmless words first. ", "Then the canary: " + CANARY, " and more."], None),
    "SCRIPT:tool-rm": lambda req: (["I will clean up."], ("bash", {"command": DESTRUCTIVE_COMMAND})),
    "SCRIPT:tool-ls": lambda req: (["Listing."], ("bash", {"command": "ls -l"})),
    "SCRIPT:echo": lambda req: (_pieces(_last_user_text(req), 5), None),
}


def _pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _last_user_text(req: dict) -> str:
    """The text of the last user turn, in any of the three APIs."""
    if isinstance(req.get("input"), str):
        return req["input"]
    turns = req.get("messages") or req.get("input") or []
    for turn in reversed(turns):
        if isinstance(turn, dict) and turn.get("role") == "user":
            content = turn.get("content")
            if isinstance(content, str):
                return content
            return "".join(p.get("text", "") for p in content or [] if isinstance(p, dict))
    return ""


def script_for(raw: str, req: dict):
    for keyword, make in SCRIPTS.items():
        if keyword in raw:
            return make(req)
    return ([DEFAULT_REPLY], None)


# ---- answer shapes ---------------------------------------------------------------------------


def chat_json(model, text, tool):
    message = {"role": "assistant", "content": text}
    if tool:
        message["tool_calls"] = [
            {"id": "call_1", "type": "function", "function": {"name": tool[0], "arguments": json.dumps(tool[1])}}
        ]
    return {
        "id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()), "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": None,
                     "finish_reason": "tool_calls" if tool else "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def chat_events(model, pieces, tool):
    def chunk(delta, finish=None):
        return (None, {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": int(time.time()),
                       "model": model, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]})

    yield chunk({"role": "assistant", "content": ""})
    for p in pieces:
        yield chunk({"content": p})
    if tool:
        yield chunk({"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                                     "function": {"name": tool[0], "arguments": ""}}]})
        for a in _pieces(json.dumps(tool[1]), 7):
            yield chunk({"tool_calls": [{"index": 0, "function": {"arguments": a}}]})
    yield chunk({}, "tool_calls" if tool else "stop")
    yield (None, "[DONE]")


def responses_output(text, tool):
    out = [{"type": "message", "id": "msg_1", "status": "completed", "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": []}]}]
    if tool:
        out.append({"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": tool[0],
                    "arguments": json.dumps(tool[1]), "status": "completed"})
    return out


def responses_json(model, text, tool, status="completed", output=None):
    return {
        "id": "resp_test", "object": "response", "created_at": int(time.time()), "status": status,
        "model": model, "output": responses_output(text, tool) if output is None else output,
        "parallel_tool_calls": True, "tool_choice": "auto", "tools": [], "error": None,
        "incomplete_details": None, "instructions": None, "metadata": {},
        "usage": {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2,
                  "input_tokens_details": {"cached_tokens": 0}, "output_tokens_details": {"reasoning_tokens": 0}},
    }


def responses_events(model, pieces, tool):
    text = "".join(pieces)
    seq = iter(range(1_000_000))

    def ev(kind, **data):
        return (kind, {"type": kind, "sequence_number": next(seq), **data})

    message = responses_output(text, None)[0]
    part = message["content"][0]
    yield ev("response.created", response=responses_json(model, "", None, "in_progress", []))
    yield ev("response.output_item.added", output_index=0,
             item={**message, "status": "in_progress", "content": []})
    yield ev("response.content_part.added", item_id="msg_1", output_index=0, content_index=0,
             part={**part, "text": ""})
    for p in pieces:
        yield ev("response.output_text.delta", item_id="msg_1", output_index=0, content_index=0, delta=p, logprobs=[])
    yield ev("response.output_text.done", item_id="msg_1", output_index=0, content_index=0, text=text, logprobs=[])
    yield ev("response.content_part.done", item_id="msg_1", output_index=0, content_index=0, part=part)
    yield ev("response.output_item.done", output_index=0, item=message)
    if tool:
        call = responses_output("", tool)[1]
        yield ev("response.output_item.added", output_index=1, item={**call, "arguments": "", "status": "in_progress"})
        for a in _pieces(call["arguments"], 7):
            yield ev("response.function_call_arguments.delta", item_id="fc_1", output_index=1, delta=a)
        yield ev("response.function_call_arguments.done", item_id="fc_1", output_index=1, arguments=call["arguments"])
        yield ev("response.output_item.done", output_index=1, item=call)
    yield ev("response.completed", response=responses_json(model, text, tool))


def anthropic_json(model, text, tool):
    content = [{"type": "text", "text": text}]
    if tool:
        content.append({"type": "tool_use", "id": "toolu_1", "name": tool[0], "input": tool[1]})
    return {"id": "msg_test", "type": "message", "role": "assistant", "model": model, "content": content,
            "stop_reason": "tool_use" if tool else "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": 1, "output_tokens": 1}}


def anthropic_events(model, pieces, tool):
    def ev(kind, **data):
        return (kind, {"type": kind, **data})

    yield ev("message_start", message={**anthropic_json(model, "", None), "content": [], "stop_reason": None})
    yield ev("content_block_start", index=0, content_block={"type": "text", "text": ""})
    yield ("ping", {"type": "ping"})
    for p in pieces:
        yield ev("content_block_delta", index=0, delta={"type": "text_delta", "text": p})
    yield ev("content_block_stop", index=0)
    if tool:
        yield ev("content_block_start", index=1,
                 content_block={"type": "tool_use", "id": "toolu_1", "name": tool[0], "input": {}})
        for a in _pieces(json.dumps(tool[1]), 7):
            yield ev("content_block_delta", index=1, delta={"type": "input_json_delta", "partial_json": a})
        yield ev("content_block_stop", index=1)
    yield ev("message_delta", delta={"stop_reason": "tool_use" if tool else "end_turn", "stop_sequence": None},
             usage={"output_tokens": 1})
    yield ev("message_stop")


APIS = [
    ("/chat/completions", chat_json, chat_events),
    ("/v1/responses", responses_json, responses_events),
    ("/v1/messages", anthropic_json, anthropic_events),
]


# ---- the server ------------------------------------------------------------------------------


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    recorded: list[dict] = []
    lock = threading.Lock()

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path == "/__health":
            return self._send_json(200, {"ok": True})
        if self.path == "/__requests":
            with self.lock:
                return self._send_json(200, list(self.recorded))
        return self._send_json(404, {"error": {"message": "not found", "type": "not_found"}})

    def do_POST(self):
        raw = self._read_body()
        if self.headers.get("content-encoding", "").lower() == "gzip":
            raw = gzip.decompress(raw)
        with self.lock:
            self.recorded.append({
                "method": "POST", "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": raw.decode("utf-8", errors="replace"),
            })
        path = self.path.split("?")[0].rstrip("/")
        api = next((a for a in APIS if path.endswith(a[0])), None)
        if api is None:
            return self._send_json(404, {"error": {"message": f"no API at {path}", "type": "not_found"}})
        try:
            req = json.loads(raw)
        except ValueError:
            return self._send_json(400, {"error": {"message": "body is not JSON", "type": "invalid_request_error"}})
        pieces, tool = script_for(raw.decode("utf-8", errors="replace"), req)
        model = req.get("model") or "test-model"
        if req.get("stream"):
            return self._send_events(api[2](model, pieces, tool))
        return self._send_json(200, api[1](model, "".join(pieces), tool))

    def _read_body(self) -> bytes:
        return read_request_body(self)

    def _send_json(self, status: int, payload) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        if "gzip" in self.headers.get("accept-encoding", "") and self.command == "POST":
            body = gzip.compress(body)
            self.send_header("content-encoding", "gzip")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _send_events(self, events) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        for i, (name, data) in enumerate(events):
            if i:
                time.sleep(EVENT_PAUSE_S)
            text = data if isinstance(data, str) else json.dumps(data)
            frame = (f"event: {name}\n" if name else "") + f"data: {text}\n\n"
            self._chunk(frame.encode())
        self._chunk(b"")

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


def serve(port: int = 0) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    print(json.dumps({"port": server.server_address[1]}), flush=True)
    server.serve_forever()


# ---- the process, for tests ------------------------------------------------------------------


class LlmUpstream:
    """Runs the server above in its own process; ready when `/__health` answers."""

    def __init__(self, ready_timeout: float = 15.0):
        self.ready_timeout = ready_timeout
        self.proc: subprocess.Popen | None = None
        self.port = 0

    def __enter__(self) -> "LlmUpstream":
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve())],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        first = self.proc.stdout.readline()
        if not first:
            self.__exit__()
            raise RuntimeError(f"llm upstream did not start: {self.proc.stderr.read()}")
        self.port = json.loads(first)["port"]
        deadline = time.monotonic() + self.ready_timeout
        while True:
            try:
                self._get("/__health")
                return self
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.__exit__()
                    raise RuntimeError("llm upstream never became ready")
                time.sleep(0.02)

    def __exit__(self, *exc) -> None:
        if self.proc:
            stop_process(self.proc)
        if self.proc:
            for stream in (self.proc.stdout, self.proc.stderr):
                stream.close()

    def requests(self) -> list[dict]:
        """Every request received so far, oldest first."""
        return json.loads(self._get("/__requests"))

    def bodies(self) -> list[dict]:
        return [json.loads(r["body"]) for r in self.requests()]

    def _get(self, path: str) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as r:
            return r.read().decode()


if __name__ == "__main__":
    serve(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
