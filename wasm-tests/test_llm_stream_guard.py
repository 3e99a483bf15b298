"""The filter's stream guard against the official SDKs, without Envoy: a streamed answer from the
scripted upstream is replayed through `authensor llm guard` (the same core code the filter runs,
with literal rules standing in for the scanner), and what comes out is handed to the `openai` and
`anthropic` SDKs' own stream accumulators. Shows that rewritten, synthesised and error events are
read as the providers' own: redactions and restored values arrive, blocks raise."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import anthropic
import httpx
import httpx2
import openai
import pytest

from llm_upstream import CANARY, SECRET, LlmUpstream

ROOT = Path(__file__).resolve().parent.parent
CLI = Path(os.environ.get("AUTHENSOR_CLI", ROOT / "target" / "release" / "authensor"))
APIS = ["chat", "responses", "messages"]
PATHS = {"chat": "/v1/chat/completions", "responses": "/v1/responses", "messages": "/v1/messages"}
BASH = {"type": "object", "properties": {"command": {"type": "string"}}}


@pytest.fixture(scope="module")
def upstream():
    if not CLI.exists():
        pytest.exit(f"{CLI} is missing: run `make build` (make e2e does it)", returncode=2)
    with LlmUpstream() as up:
        yield up


def request_body(api: str, prompt: str, tools: bool) -> dict:
    if api == "chat":
        body = {"model": "m", "messages": [{"role": "user", "content": prompt}]}
        if tools:
            body["tools"] = [{"type": "function", "function": {"name": "bash", "parameters": BASH}}]
    elif api == "responses":
        body = {"model": "m", "input": prompt}
        if tools:
            body["tools"] = [{"type": "function", "name": "bash", "parameters": BASH}]
    else:
        body = {"model": "m", "max_tokens": 64, "messages": [{"role": "user", "content": prompt}]}
        if tools:
            body["tools"] = [{"name": "bash", "input_schema": BASH}]
    return body


def guarded(upstream, api: str, prompt: str, *flags: str, tools: bool = False, chunk: int = 9) -> bytes:
    """The upstream's streamed answer to `prompt`, as the guard lets it through."""
    body = {**request_body(api, prompt, tools), "stream": True}
    raw = httpx.post(f"http://127.0.0.1:{upstream.port}{PATHS[api]}", json=body, timeout=20).content
    out = subprocess.run([str(CLI), "llm", "guard", "--api", api, "--chunk", str(chunk), *flags],
                         input=raw, capture_output=True, timeout=30, check=True)
    return out.stdout


def sdk_read(api: str, sse: bytes, prompt: str, tools: bool = False):
    """Let the SDK's stream helper consume `sse`; returns (final text, tool calls)."""
    reply = lambda request: httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=sse)
    http = httpx2.Client(transport=httpx2.MockTransport(reply))
    body = request_body(api, prompt, tools)
    if api == "messages":
        client = anthropic.Anthropic(base_url="http://upstream.test", api_key="k", http_client=http, max_retries=0)
        with client.messages.stream(**body) as s:
            final = s.get_final_message()
        calls = [(b.name, b.input) for b in final.content if b.type == "tool_use"]
        return "".join(b.text for b in final.content if b.type == "text"), calls
    client = openai.OpenAI(base_url="http://upstream.test/v1", api_key="k", http_client=http, max_retries=0)
    if api == "chat":
        with client.chat.completions.stream(**body) as s:
            msg = s.get_final_completion().choices[0].message
        calls = [(c.function.name, json.loads(c.function.arguments)) for c in msg.tool_calls or []]
        return msg.content or "", calls
    with client.responses.stream(**body) as s:
        final = s.get_final_response()
    calls = [(o.name, json.loads(o.arguments)) for o in final.output if o.type == "function_call"]
    return final.output_text, calls


@pytest.mark.parametrize("chunk", [5, 4096])
@pytest.mark.parametrize("api", APIS)
def test_a_secret_split_across_events_reaches_the_sdk_redacted(upstream, api, chunk):
    sse = guarded(upstream, api, "SCRIPT:split-secret", "--redact", SECRET, chunk=chunk)
    text, _ = sdk_read(api, sse, "SCRIPT:split-secret")
    assert text == "Here is the key: [REDACTED:literal] (keep it safe)."


@pytest.mark.parametrize("api", APIS)
def test_held_text_released_in_a_synthesised_event_is_read_by_the_sdk(upstream, api):
    # The answer ends with a prefix of a watched literal: held until its channel ends, then
    # released in a delta event the guard makes in the provider's format.
    prompt = "SCRIPT:echo the answer ends with AKIA"
    sse = guarded(upstream, api, prompt, "--redact", "AKIA-NEVER-SEEN")
    assert sse.count(b"AKIA") >= 1
    text, _ = sdk_read(api, sse, prompt)
    assert text == prompt


@pytest.mark.parametrize("api", APIS)
def test_a_masked_placeholder_split_across_events_is_restored(upstream, api):
    prompt = "SCRIPT:echo please write to [MASKED_EMAIL_1] soon"
    sse = guarded(upstream, api, prompt, "--mask", "email=jane.roe@acmemail.com")
    text, _ = sdk_read(api, sse, prompt)
    assert text == "SCRIPT:echo please write to jane.roe@acmemail.com soon"


@pytest.mark.parametrize("api", APIS)
def test_a_blocked_stream_raises_in_the_sdk(upstream, api):
    sse = guarded(upstream, api, "SCRIPT:canary", "--block", CANARY)
    assert CANARY.encode() not in sse
    errors = (anthropic.APIStatusError,) if api == "messages" else (openai.APIError,)
    with pytest.raises(errors) as raised:
        sdk_read(api, sse, "SCRIPT:canary")
    assert "authensor" in str(raised.value)


@pytest.mark.parametrize("api", APIS)
def test_a_destructive_streamed_tool_call_raises_and_a_harmless_one_arrives(upstream, api):
    sse = guarded(upstream, api, "SCRIPT:tool-rm", "--deny-tool-arg", "rm -rf", tools=True)
    errors = (anthropic.APIStatusError,) if api == "messages" else (openai.APIError,)
    with pytest.raises(errors):
        sdk_read(api, sse, "SCRIPT:tool-rm", tools=True)
    sse = guarded(upstream, api, "SCRIPT:tool-ls", "--deny-tool-arg", "rm -rf", tools=True)
    _, calls = sdk_read(api, sse, "SCRIPT:tool-ls", tools=True)
    assert calls == [("bash", {"command": "ls -l"})]
