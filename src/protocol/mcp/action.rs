//! How an MCP call is named for policy: action type, resource, operation and parameters.
//!
//! | call | action type | resource | operation | parameters |
//! |---|---|---|---|---|
//! | `tools/call` | `mcp.<server>.<tool>` | tool name as sent | configured, else from the tool's annotations, else `execute` | the arguments |
//! | `resources/read` | `mcp.<server>.resources.read` | the URI | `read` | the params |
//! | `prompts/get` | `mcp.<server>.prompts.get` | prompt name | `read` | the arguments |
//! | other `a/b/c` | `mcp.<server>.a.b.c` | the method | see [`method_operation`] | the params |
//! | other, no `/` (`initialize`, `ping`) | `mcp.<server>.rpc.<method>` | the method | see [`method_operation`] | the params |
//!
//! Tool types always have three segments and method types at least four, so a tool can never be
//! named like a method (a tool called `initialize` is `mcp.s.initialize`, the method
//! `mcp.s.rpc.initialize`). Each name segment keeps ASCII letters, digits, `_` and `-` and turns any
//! other character (dots included) into `_`, so a name cannot add segments to the type.

use serde_json::Value;

use super::messages::Call;

pub use crate::policy::Operation;

/// An MCP call as the policy engine sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct McpAction<'a> {
    pub action_type: String,
    pub resource: String,
    pub operation: Operation,
    pub parameters: &'a Value,
    /// The server's configured (or default) name.
    pub server: &'a str,
    /// The JSON-RPC method.
    pub method: &'a str,
    /// The tool name for `tools/call` and tool-list checks.
    pub tool: Option<&'a str>,
}

/// Name the action for `call` (the classified `method` with its `params`) on `server`;
/// `tool_operation` gives a tool's operation (configuration, then remembered annotations).
pub fn action<'a>(
    server: &'a str,
    method: &'a str,
    params: &'a Value,
    call: &Call<'a>,
    tool_operation: impl FnOnce(&str) -> Operation,
) -> McpAction<'a> {
    let (action_type, resource, operation, parameters, tool) = match *call {
        Call::Tool { name, arguments } => (
            format!("mcp.{server}.{}", segment(name)),
            name,
            tool_operation(name),
            arguments,
            Some(name),
        ),
        Call::ReadResource { uri } => (
            method_action_type(server, method),
            uri,
            Operation::Read,
            params,
            None,
        ),
        Call::GetPrompt { name, arguments } => (
            method_action_type(server, method),
            name,
            Operation::Read,
            arguments,
            None,
        ),
        Call::Method { method, params } => (
            method_action_type(server, method),
            method,
            method_operation(method),
            params,
            None,
        ),
    };
    McpAction {
        action_type,
        resource: resource.to_owned(),
        operation,
        parameters,
        server,
        method,
        tool,
    }
}

/// The action of a tool as listed by `tools/list`, arguments unknown (`Null`).
pub fn listed_tool<'a>(server: &'a str, tool: &'a str, operation: Operation) -> McpAction<'a> {
    static NULL: Value = Value::Null;
    action(
        server,
        "tools/call",
        &NULL,
        &Call::Tool {
            name: tool,
            arguments: &NULL,
        },
        |_| operation,
    )
}

/// `mcp.<server>.<method segments>`, with `rpc` before a method that has no `/`.
pub fn method_action_type(server: &str, method: &str) -> String {
    let mut out = format!("mcp.{server}.");
    if !method.contains('/') {
        out.push_str("rpc.");
    }
    for (i, part) in method.split('/').enumerate() {
        if i > 0 {
            out.push('.');
        }
        out.push_str(&segment(part));
    }
    out
}

/// The operation of a method other than `tools/call`: discovery, reads, session lifecycle and
/// notifications read; `logging/setLevel` updates; anything unknown executes.
pub fn method_operation(method: &str) -> Operation {
    match method {
        "logging/setLevel" => Operation::Update,
        "initialize" | "ping" | "completion/complete" => Operation::Read,
        m if m.starts_with("notifications/") => Operation::Read,
        m if m.starts_with("resources/") || m.starts_with("prompts/") => Operation::Read,
        "tools/list" => Operation::Read,
        _ => Operation::Execute,
    }
}

/// One action-type segment from a name: `[A-Za-z0-9_-]` kept, anything else `_`, never empty.
pub fn segment(name: &str) -> String {
    if name.is_empty() {
        return "_".to_owned();
    }
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The server name used when the configuration names none: the request's host (without port),
/// lower-cased, as one segment (`files.internal` becomes `files_internal`).
pub fn default_server_name(host: &str) -> String {
    segment(&host.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::mcp::messages::classify;
    use serde_json::json;

    fn named(method: &str, params: Value) -> (String, String, Operation, Value) {
        let call = classify(method, &params).unwrap();
        let a = action("files", method, &params, &call, |t| {
            if t == "rm" {
                Operation::Delete
            } else {
                Operation::Execute
            }
        });
        (a.action_type, a.resource, a.operation, a.parameters.clone())
    }

    #[test]
    fn calls_are_named_per_the_table() {
        assert_eq!(
            named(
                "tools/call",
                json!({"name": "read_file", "arguments": {"path": "/x"}})
            ),
            (
                "mcp.files.read_file".into(),
                "read_file".into(),
                Operation::Execute,
                json!({"path": "/x"})
            )
        );
        assert_eq!(
            named("tools/call", json!({"name": "rm"})).2,
            Operation::Delete
        );
        assert_eq!(
            named("resources/read", json!({"uri": "file:///etc/hosts"})),
            (
                "mcp.files.resources.read".into(),
                "file:///etc/hosts".into(),
                Operation::Read,
                json!({"uri": "file:///etc/hosts"})
            )
        );
        let p = named("prompts/get", json!({"name": "p", "arguments": {"a": "b"}}));
        assert_eq!(
            (p.0.as_str(), p.1.as_str(), p.3),
            ("mcp.files.prompts.get", "p", json!({"a": "b"}))
        );
        assert_eq!(named("initialize", json!({})).0, "mcp.files.rpc.initialize");
        assert_eq!(
            named("notifications/initialized", Value::Null).0,
            "mcp.files.notifications.initialized"
        );
        assert_eq!(
            named("resources/templates/list", Value::Null).0,
            "mcp.files.resources.templates.list"
        );
        assert_eq!(
            named("sampling/createMessage", json!({})).0,
            "mcp.files.sampling.createMessage"
        );
    }

    #[test]
    fn names_cannot_add_segments_or_pose_as_methods() {
        assert_eq!(
            named("tools/call", json!({"name": "resources.read"})).0,
            "mcp.files.resources_read"
        );
        assert_eq!(
            named("tools/call", json!({"name": "initialize"})).0,
            "mcp.files.initialize"
        );
        assert_eq!(named("tools/call", json!({"name": ""})).0, "mcp.files._");
        assert_eq!(
            named("tools/call", json!({"name": "a b/é"})).0,
            "mcp.files.a_b__"
        );
        assert_eq!(method_action_type("s", "x.y/z"), "mcp.s.x_y.z");
        assert_eq!(default_server_name("Files.Internal"), "files_internal");
        assert_eq!(default_server_name("127.0.0.1"), "127_0_0_1");
    }

    #[test]
    fn method_operations() {
        for (m, op) in [
            ("initialize", Operation::Read),
            ("tools/list", Operation::Read),
            ("resources/subscribe", Operation::Read),
            ("notifications/cancelled", Operation::Read),
            ("logging/setLevel", Operation::Update),
            ("sampling/createMessage", Operation::Execute),
            ("custom/thing", Operation::Execute),
        ] {
            assert_eq!(method_operation(m), op, "{m}");
        }
    }
}
