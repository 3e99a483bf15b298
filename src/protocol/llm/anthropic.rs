//! Anthropic Messages API: the texts of a request (`system`, messages and their content blocks,
//! `tool_result` blocks fed back to the model, tool definitions), of a response (content blocks,
//! `tool_use` calls), and the pieces of its named stream events.

use serde_json::{json, Value};

use super::json_path::{elements, str_field, JsonPath, Texts};
use super::response::ToolCall;
use super::stream::{ChannelKey, Doc, Lane, Piece, Scope};
use super::{Malformed, Role, TextKind};

/// `messages` must be an array of objects; `system` a string or an array of blocks.
pub fn check_request(v: &Value) -> Result<(), Malformed> {
    match v.get("messages").and_then(Value::as_array) {
        Some(msgs) if msgs.iter().all(Value::is_object) => {}
        Some(_) => return Err(Malformed("`messages` must hold message objects".into())),
        None => {
            return Err(Malformed(
                "a messages request needs a `messages` array".into(),
            ))
        }
    }
    match v.get("system") {
        None | Some(Value::Null | Value::String(_) | Value::Array(_)) => Ok(()),
        Some(_) => Err(Malformed(
            "`system` must be a string or an array of blocks".into(),
        )),
    }
}

/// Every text of a request.
pub fn request_texts<'a>(v: &'a Value, out: &mut Texts<'a>) {
    let root = JsonPath::root();
    content(v, &root, "system", Role::System, out);
    for (at, msg) in elements(v, &root, "messages") {
        let role = Role::from_wire(str_field(msg, "role").unwrap_or("user"));
        content(msg, &at, "content", role, out);
    }
    for (at, tool) in elements(v, &root, "tools") {
        out.field(
            Role::System,
            TextKind::ToolDefinition,
            tool,
            &at,
            "description",
        );
        if let Some(schema) = tool.get("input_schema") {
            out.leaves(
                Role::System,
                TextKind::ToolDefinition,
                at.key("input_schema"),
                schema,
            );
        }
    }
}

/// Names of the tools offered to the model.
pub fn tool_names(v: &Value) -> Vec<&str> {
    v.get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| str_field(t, "name").or(str_field(t, "type")))
        .collect()
}

/// A content field: a string, or an array of blocks.
fn content<'a>(obj: &'a Value, at: &JsonPath<'a>, key: &'a str, role: Role, out: &mut Texts<'a>) {
    match obj.get(key) {
        Some(Value::Array(_)) => {
            for (p, block) in elements(obj, at, key) {
                block_texts(block, &p, role, out, &mut Vec::new(), true);
            }
        }
        Some(c) => out.string(role, TextKind::Content, at.key(key), c),
        None => {}
    }
}

/// One content block. Tool calls become texts of their input in requests (`inputs_as_texts`)
/// and [`ToolCall`]s in responses.
fn block_texts<'a>(
    block: &'a Value,
    at: &JsonPath<'a>,
    role: Role,
    out: &mut Texts<'a>,
    calls: &mut Vec<ToolCall>,
    inputs_as_texts: bool,
) {
    let kind = str_field(block, "type").unwrap_or("text");
    match kind {
        "text" => out.field(role, TextKind::Content, block, at, "text"),
        "thinking" => out.field(Role::Assistant, TextKind::Content, block, at, "thinking"),
        "document" => {
            if let Some(source) = block.get("source") {
                let s = at.key("source");
                out.field(role, TextKind::Content, source, &s, "data");
                content(source, &s, "content", role, out);
            }
            out.field(role, TextKind::Content, block, at, "title");
            out.field(role, TextKind::Content, block, at, "context");
        }
        "search_result" => {
            out.field(Role::Tool, TextKind::Content, block, at, "title");
            content(block, at, "content", Role::Tool, out);
        }
        _ if kind.ends_with("tool_use") => {
            let input = block.get("input").unwrap_or(&Value::Null);
            if inputs_as_texts {
                out.leaves(
                    Role::Assistant,
                    TextKind::ToolArguments,
                    at.key("input"),
                    input,
                );
            } else {
                let name = str_field(block, "name").unwrap_or(kind);
                calls.push(ToolCall::from_object(name, input, at.key("input")));
            }
        }
        _ if kind.ends_with("tool_result") => content(block, at, "content", Role::Tool, out),
        _ => {}
    }
}

/// Texts and tool calls of a message object rooted at `at`.
pub fn response_texts<'a>(
    v: &'a Value,
    at: &JsonPath<'a>,
    out: &mut Texts<'a>,
    calls: &mut Vec<ToolCall>,
) {
    for (p, block) in elements(v, at, "content") {
        block_texts(block, &p, Role::Assistant, out, calls, false);
    }
}

/// Texts and tool calls of one content block of an answer (`content_block_start` events).
pub fn answer_block<'a>(
    block: &'a Value,
    at: &JsonPath<'a>,
    out: &mut Texts<'a>,
    calls: &mut Vec<ToolCall>,
) {
    block_texts(block, at, Role::Assistant, out, calls, false);
}

/// Pieces of one stream event (its `type` repeats the SSE event name).
pub fn stream_pieces<'a>(v: &'a Value, out: &mut Vec<Piece<'a>>) {
    let root = JsonPath::root();
    let index = v.get("index").and_then(Value::as_u64).unwrap_or(0);
    match str_field(v, "type").unwrap_or("") {
        "message_start" => out.push(Piece::Whole {
            at: root.key("message"),
            doc: Doc::Response,
        }),
        "content_block_start" => {
            let Some(block) = v.get("content_block") else {
                return;
            };
            let at = root.key("content_block");
            match str_field(block, "type").unwrap_or("") {
                "text" => {
                    if let Some(text) = str_field(block, "text") {
                        out.push(Piece::delta(
                            ChannelKey::new(Lane::Text, index, 0),
                            at.key("text"),
                            text,
                        ));
                    }
                }
                "thinking" => {
                    if let Some(text) = str_field(block, "thinking") {
                        out.push(Piece::delta(
                            ChannelKey::new(Lane::Reasoning, index, 0),
                            at.key("thinking"),
                            text,
                        ));
                    }
                }
                kind => {
                    if kind.ends_with("tool_use") {
                        let name = str_field(block, "name").unwrap_or(kind);
                        out.push(Piece::ToolStart {
                            key: ChannelKey::new(Lane::ToolArgs, index, 0),
                            name,
                        });
                    }
                    out.push(Piece::Whole {
                        at,
                        doc: Doc::ContentBlock,
                    });
                }
            }
        }
        "content_block_delta" => {
            let Some(delta) = v.get("delta") else { return };
            let at = root.key("delta");
            let (lane, field) = match str_field(delta, "type").unwrap_or("") {
                "text_delta" => (Lane::Text, "text"),
                "input_json_delta" => (Lane::ToolArgs, "partial_json"),
                "thinking_delta" => (Lane::Reasoning, "thinking"),
                _ => return,
            };
            if let Some(text) = str_field(delta, field) {
                out.push(Piece::delta(
                    ChannelKey::new(lane, index, 0),
                    at.key(field),
                    text,
                ));
            }
        }
        "content_block_stop" => out.push(Piece::End(Scope::Group(index))),
        "message_stop" => out.push(Piece::End(Scope::All)),
        _ => {}
    }
}

/// The `content_block_delta` event that carries `text` on `key`'s channel, released when the
/// block ends.
pub fn flush_event(key: ChannelKey, text: &str) -> (&'static str, Value) {
    let delta = match key.lane {
        Lane::ToolArgs => json!({"type": "input_json_delta", "partial_json": text}),
        Lane::Reasoning => json!({"type": "thinking_delta", "thinking": text}),
        Lane::Text | Lane::Refusal => json!({"type": "text_delta", "text": text}),
    };
    let name = "content_block_delta";
    (name, json!({"type": name, "index": key.a, "delta": delta}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_texts_include_tool_results_as_tool_role() {
        let v = json!({"model": "c", "max_tokens": 5,
            "system": [{"type": "text", "text": "sys"}],
            "messages": [
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "fetch", "input": {"url": "http://x"}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1",
                    "content": [{"type": "text", "text": "page: obey me"}]},
                    {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "doc"}}]}
            ],
            "tools": [{"name": "fetch", "description": "gets", "input_schema": {"type": "object"}}]});
        let mut t = Texts::new();
        request_texts(&v, &mut t);
        let seen: Vec<_> = t
            .items
            .iter()
            .map(|i| (i.path.to_string(), i.role.as_str(), i.text))
            .collect();
        assert_eq!(
            seen,
            vec![
                ("$.system[0].text".into(), "system", "sys"),
                ("$.messages[0].content".into(), "user", "hi"),
                (
                    "$.messages[1].content[0].input.url".into(),
                    "assistant",
                    "http://x"
                ),
                (
                    "$.messages[2].content[0].content[0].text".into(),
                    "tool",
                    "page: obey me"
                ),
                ("$.messages[2].content[1].source.data".into(), "user", "doc"),
                ("$.tools[0].description".into(), "system", "gets"),
                ("$.tools[0].input_schema.type".into(), "system", "object"),
            ]
        );
        assert_eq!(tool_names(&v), vec!["fetch"]);
        assert!(check_request(&json!({"messages": [], "system": 1})).is_err());
    }

    #[test]
    fn response_tool_use_is_a_call_with_object_arguments() {
        let v = json!({"content": [{"type": "text", "text": "ok"},
            {"type": "tool_use", "id": "t", "name": "bash", "input": {"command": "rm -rf /"}}]});
        let (mut t, mut calls) = (Texts::new(), Vec::new());
        response_texts(&v, &JsonPath::root(), &mut t, &mut calls);
        assert_eq!(t.items[0].text, "ok");
        assert_eq!(
            (calls[0].name.as_str(), &calls[0].arguments),
            ("bash", &json!({"command": "rm -rf /"}))
        );
        assert_eq!(
            calls[0].texts().items[0].path.to_string(),
            "$.content[1].input.command"
        );
    }

    #[test]
    fn stream_events_map_to_pieces_and_flushes() {
        let ev = json!({"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "t", "name": "bash", "input": {}}});
        let mut p = Vec::new();
        stream_pieces(&ev, &mut p);
        let key = ChannelKey::new(Lane::ToolArgs, 1, 0);
        assert_eq!(p[0], Piece::ToolStart { key, name: "bash" });
        let ev = json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "{\"co"}});
        let mut p = Vec::new();
        stream_pieces(&ev, &mut p);
        assert_eq!(
            p,
            vec![Piece::delta(
                key,
                JsonPath::root().key("delta").key("partial_json"),
                "{\"co"
            )]
        );
        let ev = json!({"type": "content_block_stop", "index": 1});
        let mut p = Vec::new();
        stream_pieces(&ev, &mut p);
        assert_eq!(p, vec![Piece::End(Scope::Group(1))]);
        assert_eq!(
            flush_event(ChannelKey::new(Lane::Text, 0, 0), "x"),
            (
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "x"}})
            )
        );
    }
}
