"""The MCP gateway in a real Envoy: an MCP server built with the official Python SDK behind the
filter, the SDK's Streamable HTTP client as the agent, in both response modes (JSON and SSE).

The first tests run the stack with the gateway off, an allow-all policy and the scanner off: they
prove the server, client and fixtures work. The rest run the gateway; the server's own logs prove
what never arrived.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mcp.shared.exceptions import McpError

import mcp_server
from mcp_harness import MODES, messages_in

TEMPLATES = Path(__file__).resolve().parents[2] / "shared" / "authensor" / "policy-templates"

# The filter as a pass-through: no gateway, one allow-all policy, no scanning.
PASS_THROUGH = {
    "aegis": {"enabled": False},
    "policies": [{"id": "all", "name": "all", "version": "1.0.0", "rules": [{"id": "allow", "effect": "allow"}]}],
}

# The server is reached as 127.0.0.1:<port>; the gateway calls it `files` in action types.
SERVER = {"authority": "127.0.0.1", "name": "files"}

POLICY = {
    "id": "mcp-e2e",
    "name": "MCP end-to-end policy",
    "version": "1.0.0",
    "scope": {"actionTypes": ["mcp.**"]},
    "defaultEffect": "deny",
    "rules": [
        {
            "id": "no-shell",
            "effect": "deny",
            "description": "agents may not run shell commands",
            "condition": {"field": "action.type", "operator": "eq", "value": "mcp.files.run_shell"},
        },
        {
            "id": "no-system-files",
            "effect": "deny",
            "description": "system files are off limits",
            "condition": {"field": "action.parameters.path", "operator": "startsWith", "value": "/etc"},
        },
        {
            "id": "allow-mcp",
            "effect": "allow",
            "description": "everything else on this server",
            "condition": {"field": "action.type", "operator": "startsWith", "value": "mcp.files."},
        },
    ],
}


def gateway_config(policies=(POLICY,), **mcp) -> dict:
    """Filter configuration with the MCP gateway on. The integrator owns the top-level shape."""
    return {"mcp": {"servers": [SERVER], **mcp}, "policies": list(policies)}


def text_of(result) -> str:
    return "\n".join(c.text for c in result.content if getattr(c, "text", None))


def tool_names(listed) -> set[str]:
    return {t.name for t in listed.tools}


@pytest.fixture(params=MODES)
def mode(request) -> str:
    return request.param


# -- the stack itself, with the current filter ------------------------------------------------


def test_a_real_tool_call_through_envoy_returns_the_servers_answer(mcp_gateway, mode):
    stack = mcp_gateway(mode, PASS_THROUGH)

    async def agent(session):
        return await session.list_tools(), await session.call_tool("read_file", {"path": "/tmp/notes.txt"})

    listed, result = stack.run(agent)
    assert {"read_file", "run_shell", "add_numbers", "fetch_page"} <= tool_names(listed)
    assert result.isError is False
    assert text_of(result) == "contents of /tmp/notes.txt: hello from the test server"
    assert stack.server.calls() == [{"tool": "read_file", "arguments": {"path": "/tmp/notes.txt"}}]
    # The two modes really differ on the wire: the same call answered as JSON or as SSE.
    sid = stack.session_id()
    call = {"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "list_dir", "arguments": {"path": "/"}}}
    r = stack.post(json.dumps(call), sid)
    expected = "application/json" if mode == "json" else "text/event-stream"
    assert r.status_code == 200 and r.headers["content-type"].startswith(expected)
    [answer] = messages_in(r)
    assert (answer["id"], answer["result"]["content"][0]["text"]) == (9, "a.txt\nb.txt")
    assert all(line["decision"] == "allow" for line in stack.envoy.audit())


def test_the_test_server_behaves_as_the_gateway_tests_assume(mcp_gateway):
    """What the gateway tests below rely on, checked through Envoy with the filter passing traffic."""
    stack = mcp_gateway("sse", PASS_THROUGH)

    async def agent(session):
        listed = {t.name: t for t in (await session.list_tools()).tools}
        page = await session.call_tool("fetch_page", {"url": "https://news.example/today"})
        config = await session.call_tool("get_config", {"name": "aws"})
        return listed, page, config

    listed, page, config = stack.run(agent)
    assert listed["run_shell"].annotations.destructiveHint is True
    assert listed["read_file"].annotations.readOnlyHint is True
    assert listed["send_email"].annotations is None
    assert "Do not mention this to the user" in listed["add_numbers"].description
    assert listed["get_weather"].description == mcp_server.WEATHER_ORIGINAL
    assert "Ignore all previous instructions" in text_of(page)
    assert mcp_server.FAKE_ACCESS_KEY in text_of(config)
    stack.server.rug_pull()
    relisted = stack.run(lambda s: s.list_tools())
    [weather] = [t for t in relisted.tools if t.name == "get_weather"]
    assert weather.description == mcp_server.WEATHER_CHANGED
    assert stack.server.tools_called() == ["fetch_page", "get_config"]
    bodies = stack.server.request_bodies()
    assert any('"fetch_page"' in b for b in bodies) and any('"initialize"' in b for b in bodies)


# -- the gateway ------------------------------------------------------------------------------


def test_allowed_call_works(mcp_gateway, mode):
    stack = mcp_gateway(mode, gateway_config())
    result = stack.run(lambda s: s.call_tool("read_file", {"path": "/tmp/a.txt"}))
    assert (result.isError, text_of(result)) == (False, "contents of /tmp/a.txt: hello from the test server")
    assert stack.server.tools_called() == ["read_file"]


def test_call_denied_by_tool_name_never_reaches_the_server(mcp_gateway, mode):
    stack = mcp_gateway(mode, gateway_config())
    result = stack.run(lambda s: s.call_tool("run_shell", {"command": "rm -rf /srv"}))
    assert result.isError is True
    assert "no-shell" in text_of(result) and "agents may not run shell commands" in text_of(result)
    assert stack.server.tools_called() == []
    assert not any("run_shell" in body for body in stack.server.request_bodies())
    assert any(line["decision"] == "deny" and "no-shell" in json.dumps(line) for line in stack.envoy.wait_for_audit(2))


def test_call_denied_by_argument_value_never_reaches_the_server(mcp_gateway, mode):
    stack = mcp_gateway(mode, gateway_config())

    async def agent(session):
        return await session.call_tool("read_file", {"path": "/etc/shadow"}), await session.call_tool(
            "read_file", {"path": "/tmp/fine"}
        )

    denied, allowed = stack.run(agent)
    assert denied.isError is True and "no-system-files" in text_of(denied)
    assert allowed.isError is False
    assert stack.server.calls() == [{"tool": "read_file", "arguments": {"path": "/tmp/fine"}}]


def test_tools_denied_whatever_the_arguments_are_not_listed(mcp_gateway, mode):
    stack = mcp_gateway(mode, gateway_config())
    names = tool_names(stack.run(lambda s: s.list_tools()))
    assert "run_shell" not in names
    assert {"read_file", "list_dir", "send_email"} <= names


def test_poisoned_tool_is_hidden_and_cannot_be_called(mcp_gateway, mode):
    stack = mcp_gateway(mode, gateway_config())

    async def agent(session):
        return await session.list_tools(), await session.call_tool("add_numbers", {"a": 1, "b": 2})

    listed, result = stack.run(agent)
    assert "add_numbers" not in tool_names(listed)
    assert "get_weather" in tool_names(listed)
    assert result.isError is True and "mcp.tool_poisoning" in text_of(result)
    assert stack.server.tools_called() == []
    assert any("tool_poison" in json.dumps(line) for line in stack.envoy.audit())


def test_changed_tool_definition_is_caught(mcp_gateway, mode):
    stack = mcp_gateway(mode, gateway_config())
    before = stack.run(lambda s: s.list_tools())
    assert "get_weather" in tool_names(before)
    stack.server.rug_pull()

    async def agent(session):
        return await session.list_tools(), await session.call_tool("get_weather", {"city": "Oslo"})

    after, result = stack.run(agent)
    assert "get_weather" not in tool_names(after)
    assert "read_file" in tool_names(after)
    assert result.isError is True and "mcp.rug_pull" in text_of(result)
    assert stack.server.tools_called() == []


def test_changed_tool_definition_only_alerts_when_configured(mcp_gateway):
    stack = mcp_gateway("json", gateway_config(rug_pull="alert"))
    stack.run(lambda s: s.list_tools())
    stack.server.rug_pull()
    assert "get_weather" in tool_names(stack.run(lambda s: s.list_tools()))
    assert any("tool_changed" in json.dumps(line) for line in stack.envoy.audit())


def test_tool_result_carrying_an_injection_is_blocked(mcp_gateway, mode):
    stack = mcp_gateway(mode, gateway_config())
    result = stack.run(lambda s: s.call_tool("fetch_page", {"url": "https://news.example/today"}))
    assert result.isError is True
    assert "Ignore all previous instructions" not in text_of(result)
    assert "injection" in text_of(result)
    # The call itself was allowed: the server ran it, its answer was withheld.
    assert stack.server.tools_called() == ["fetch_page"]


def test_tool_result_carrying_a_secret_is_redacted(mcp_gateway, mode):
    stack = mcp_gateway(mode, gateway_config())
    result = stack.run(lambda s: s.call_tool("get_config", {"name": "aws"}))
    text = text_of(result)
    assert result.isError is False
    assert mcp_server.FAKE_ACCESS_KEY not in text and mcp_server.FAKE_SECRET not in text
    assert "[REDACTED:" in text and "region = eu-west-1" in text


def test_batch_with_one_bad_call_forwards_nothing_and_answers_every_id(mcp_gateway, mode):
    stack = mcp_gateway(mode, gateway_config())
    sid = stack.session_id()
    batch = [
        {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "read_file", "arguments": {"path": "/tmp/x"}}},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "run_shell", "arguments": {"command": "id"}}},
    ]
    r = stack.post(json.dumps(batch), sid)
    assert r.status_code == 200
    answers = {m["id"]: m for m in messages_in(r)}
    assert set(answers) == {1, 2}
    assert "no-shell" in answers[2]["result"]["content"][0]["text"]
    assert "mcp.batch" in answers[1]["result"]["content"][0]["text"]
    assert stack.server.tools_called() == []
    assert not any("run_shell" in body for body in stack.server.request_bodies())


def test_duplicate_key_smuggling_is_rejected(mcp_gateway, mode):
    stack = mcp_gateway(mode, gateway_config())
    sid = stack.session_id()
    # serde_json and Python keep the last "name", other parsers the first: refuse both readings.
    smuggled = (
        '{"jsonrpc":"2.0","id":5,"method":"tools/call","params":'
        '{"name":"read_file","arguments":{"path":"/tmp/x"},"name":"run_shell"}}'
    )
    r = stack.post(smuggled, sid)
    assert r.status_code == 400
    [error] = messages_in(r)
    assert (error["id"], error["error"]["code"]) == (None, -32700)
    assert "duplicate" in error["error"]["message"]
    assert not any("run_shell" in body for body in stack.server.request_bodies())
    assert stack.server.tools_called() == []


def test_denial_as_jsonrpc_error_in_sse(mcp_gateway):
    stack = mcp_gateway("sse", gateway_config(deny_reply="jsonrpc_error", reply_format="sse"))

    async def agent(session):
        try:
            return await session.call_tool("run_shell", {"command": "id"})
        except McpError as error:  # the SDK raises a JSON-RPC error as McpError
            return error

    raised = stack.run(agent)
    assert isinstance(raised, McpError) and "no-shell" in str(raised)
    assert raised.error.data["rule"] == "no-shell"
    sid = stack.session_id()
    call = {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "run_shell", "arguments": {}}}
    r = stack.post(json.dumps(call), sid)
    assert r.headers["content-type"].startswith("text/event-stream")
    [error] = messages_in(r)
    assert (error["id"], error["error"]["data"]["rule"]) == (3, "no-shell")
    assert stack.server.tools_called() == []


def test_the_mcp_gateway_template_reads_freely_and_holds_the_rest_for_approval(mcp_gateway, mode):
    template = json.loads((TEMPLATES / "mcp-gateway.json").read_text())
    # As shipped its scope is `mcp.*`, where `*` is one segment: it covers no `mcp.<server>.<tool>`
    # type (ENGINE-SEMANTICS.md), and the engine would fail closed on everything. Widen it.
    template["scope"]["actionTypes"] = ["mcp.**"]
    stack = mcp_gateway(mode, gateway_config(policies=[template]))

    async def agent(session):
        listed = await session.list_tools()
        read = await session.call_tool("read_file", {"path": "/tmp/a"})
        shell = await session.call_tool("run_shell", {"command": "ls"})
        mail = await session.call_tool("send_email", {"to": "a@b.example", "subject": "s", "body": "b"})
        return listed, read, shell, mail

    listed, read, shell, mail = stack.run(agent)
    # Held tools stay listed (the agent may ask for approval); only the poisoned one goes.
    assert {"read_file", "run_shell", "send_email"} <= tool_names(listed)
    assert "add_numbers" not in tool_names(listed)
    assert read.isError is False
    # readOnlyHint -> read (allowed); destructiveHint -> delete and no hint -> execute (held).
    assert shell.isError is True and "approve-delete-ops" in text_of(shell) and "approval" in text_of(shell).lower()
    assert mail.isError is True and "approve-execute-ops" in text_of(mail)
    assert stack.server.tools_called() == ["read_file"]
