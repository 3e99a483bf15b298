//! OpenAI Responses API: the texts of a request (`instructions`, `input` items, tool outputs
//! fed back), of a response (`output` items, function calls), and the pieces of its typed
//! stream events (`response.output_text.delta`, `response.function_call_arguments.delta`, ...).

use serde_json::{json, Value};

use super::json_path::{elements, str_field, JsonPath, Texts};
use super::response::ToolCall;
use super::stream::{ChannelKey, Doc, Lane, Piece, Scope};
use super::{Malformed, Role, TextKind};

/// `input`, when present, is a string or an array of items; `instructions` a string.
pub fn check_request(v: &Value) -> Result<(), Malformed> {
    match v.get("input") {
        None | Some(Value::Null | Value::String(_)) => {}
        Some(Value::Array(items)) if items.iter().all(|i| i.is_object() || i.is_string()) => {}
        Some(_) => {
            return Err(Malformed(
                "`input` must be a string or an array of items".into(),
            ))
        }
    }
    match v.get("instructions") {
        None | Some(Value::Null | Value::String(_)) => Ok(()),
        Some(_) => Err(Malformed("`instructions` must be a string".into())),
    }
}

/// Every text of a request.
pub fn request_texts<'a>(v: &'a Value, out: &mut Texts<'a>) {
    let root = JsonPath::root();
    out.field(Role::System, TextKind::Content, v, &root, "instructions");
    match v.get("input") {
        Some(Value::Array(_)) => {
            for (at, item) in elements(v, &root, "input") {
                input_item(item, &at, out);
            }
        }
        Some(input) => out.string(Role::User, TextKind::Content, root.key("input"), input),
        None => {}
    }
    // Values filled into a stored prompt template.
    if let Some(vars) = v.get("prompt").and_then(|p| p.get("variables")) {
        out.leaves(
            Role::User,
            TextKind::Content,
            root.key("prompt").key("variables"),
            vars,
        );
    }
    for (at, tool) in elements(v, &root, "tools") {
        out.field(
            Role::System,
            TextKind::ToolDefinition,
            tool,
            &at,
            "description",
        );
        if let Some(p) = tool.get("parameters") {
            out.leaves(
                Role::System,
                TextKind::ToolDefinition,
                at.key("parameters"),
                p,
            );
        }
    }
}

/// One `input` item: a message, an earlier call the model made, or a tool's output.
fn input_item<'a>(item: &'a Value, at: &JsonPath<'a>, out: &mut Texts<'a>) {
    let kind = str_field(item, "type").unwrap_or("message");
    if let Some(role) = str_field(item, "role") {
        parts(item, at, Role::from_wire(role), out);
    } else if kind.ends_with("_output") {
        tool_output(item, at, out);
    } else if kind.ends_with("_call") {
        out.field(
            Role::Assistant,
            TextKind::ToolArguments,
            item,
            at,
            "arguments",
        );
        out.field(Role::Assistant, TextKind::ToolArguments, item, at, "input");
        if let Some(action) = item.get("action") {
            out.leaves(
                Role::Assistant,
                TextKind::ToolArguments,
                at.key("action"),
                action,
            );
        }
        tool_output(item, at, out);
    } else if kind == "reasoning" {
        reasoning(item, at, out);
    } else {
        // A bare string in `input` is a user message.
        out.string(Role::User, TextKind::Content, at.clone(), item);
    }
}

/// A tool's output fed back to the model: a string or an array of content parts.
fn tool_output<'a>(item: &'a Value, at: &JsonPath<'a>, out: &mut Texts<'a>) {
    match item.get("output") {
        Some(Value::Array(_)) => {
            for (p, part) in elements(item, at, "output") {
                out.field(Role::Tool, TextKind::Content, part, &p, "text");
            }
        }
        Some(o) => out.string(Role::Tool, TextKind::Content, at.key("output"), o),
        None => {}
    }
}

/// `content` as a string or parts (`input_text`, `output_text`, `refusal`).
fn parts<'a>(item: &'a Value, at: &JsonPath<'a>, role: Role, out: &mut Texts<'a>) {
    match item.get("content") {
        Some(Value::Array(_)) => {
            for (p, part) in elements(item, at, "content") {
                content_part(part, &p, role, out);
            }
        }
        Some(c) => out.string(role, TextKind::Content, at.key("content"), c),
        None => {}
    }
}

fn content_part<'a>(part: &'a Value, at: &JsonPath<'a>, role: Role, out: &mut Texts<'a>) {
    out.field(role, TextKind::Content, part, at, "text");
    out.field(role, TextKind::Content, part, at, "refusal");
}

fn reasoning<'a>(item: &'a Value, at: &JsonPath<'a>, out: &mut Texts<'a>) {
    for key in ["summary", "content"] {
        for (p, part) in elements(item, at, key) {
            out.field(Role::Assistant, TextKind::Content, part, &p, "text");
        }
    }
}

/// Names of the tools offered: function and custom tools by name, MCP servers by label, built-in
/// tools by type (`web_search`, `code_interpreter`, ...).
pub fn tool_names(v: &Value) -> Vec<&str> {
    v.get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| {
            str_field(t, "name")
                .or(str_field(t, "server_label"))
                .or(str_field(t, "type"))
        })
        .collect()
}

/// Texts and tool calls of a response object rooted at `at`.
pub fn response_texts<'a>(
    v: &'a Value,
    at: &JsonPath<'a>,
    out: &mut Texts<'a>,
    calls: &mut Vec<ToolCall>,
) {
    for (p, item) in elements(v, at, "output") {
        output_item(item, &p, out, calls);
    }
}

/// One `output` item: a message, reasoning, or a call the model makes.
pub fn output_item<'a>(
    item: &'a Value,
    at: &JsonPath<'a>,
    out: &mut Texts<'a>,
    calls: &mut Vec<ToolCall>,
) {
    let kind = str_field(item, "type").unwrap_or("");
    match kind {
        "message" => parts(item, at, Role::Assistant, out),
        "reasoning" => reasoning(item, at, out),
        _ if kind.ends_with("_call") => {
            let name = str_field(item, "name").unwrap_or(kind.trim_end_matches("_call"));
            if let Some(args) = str_field(item, "arguments").or(str_field(item, "input")) {
                let key = if item.get("arguments").is_some() {
                    "arguments"
                } else {
                    "input"
                };
                calls.push(ToolCall::from_text(name, args, at.key(key)));
            } else if let Some(action) = item.get("action") {
                calls.push(ToolCall::from_object(name, action, at.key("action")));
            }
            tool_output(item, at, out);
        }
        _ => {}
    }
}

/// The texts of a content part (`response.content_part.*` events).
pub fn part_texts<'a>(part: &'a Value, at: &JsonPath<'a>, out: &mut Texts<'a>) {
    content_part(part, at, Role::Assistant, out);
}

/// Pieces of one stream event, told apart by its `type`.
pub fn stream_pieces<'a>(v: &'a Value, out: &mut Vec<Piece<'a>>) {
    let ty = str_field(v, "type").unwrap_or("");
    let root = JsonPath::root();
    let output = v.get("output_index").and_then(Value::as_u64).unwrap_or(0);
    let index = |k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
    let item = str_field(v, "item_id");
    let delta = |lane, b| {
        str_field(v, "delta").map(|text| Piece::Delta {
            key: ChannelKey::new(lane, output, b),
            at: root.key("delta"),
            text,
            item,
        })
    };
    let done = |lane, b, field, kind| {
        [
            Piece::End(Scope::Channel(ChannelKey::new(lane, output, b))),
            Piece::Whole {
                at: root.key(field),
                doc: Doc::Text(kind),
            },
        ]
    };
    match ty {
        "response.output_text.delta" => out.extend(delta(Lane::Text, index("content_index"))),
        "response.refusal.delta" => out.extend(delta(Lane::Refusal, index("content_index"))),
        "response.reasoning_summary_text.delta" => {
            out.extend(delta(Lane::Reasoning, index("summary_index")))
        }
        "response.function_call_arguments.delta" => out.extend(delta(Lane::ToolArgs, 0)),
        "response.output_text.done" => out.extend(done(
            Lane::Text,
            index("content_index"),
            "text",
            TextKind::Content,
        )),
        "response.refusal.done" => out.extend(done(
            Lane::Refusal,
            index("content_index"),
            "refusal",
            TextKind::Content,
        )),
        "response.reasoning_summary_text.done" => out.extend(done(
            Lane::Reasoning,
            index("summary_index"),
            "text",
            TextKind::Content,
        )),
        "response.function_call_arguments.done" => out.extend(done(
            Lane::ToolArgs,
            0,
            "arguments",
            TextKind::ToolArguments,
        )),
        "response.output_item.added" | "response.output_item.done" => {
            if let Some(it) = v.get("item") {
                if ty.ends_with(".done") {
                    out.push(Piece::End(Scope::Group(output)));
                } else if str_field(it, "type") == Some("function_call") {
                    let name = str_field(it, "name").unwrap_or("");
                    out.push(Piece::ToolStart {
                        key: ChannelKey::new(Lane::ToolArgs, output, 0),
                        name,
                    });
                }
                out.push(Piece::Whole {
                    at: root.key("item"),
                    doc: Doc::OutputItem,
                });
            }
        }
        "response.content_part.added" | "response.content_part.done" => {
            out.push(Piece::Whole {
                at: root.key("part"),
                doc: Doc::ContentPart,
            });
        }
        "response.completed" | "response.incomplete" | "response.failed" => {
            out.push(Piece::End(Scope::All));
            out.push(Piece::Whole {
                at: root.key("response"),
                doc: Doc::Response,
            });
        }
        "response.created" | "response.in_progress" | "response.queued" => {
            out.push(Piece::Whole {
                at: root.key("response"),
                doc: Doc::Response,
            });
        }
        _ => {}
    }
}

/// The event (name and data) that carries `text` on `key`'s channel, released when the channel
/// ends. `item_id` and `sequence_number` repeat those of the channel's events, which the SDKs read.
pub fn flush_event(
    key: ChannelKey,
    text: &str,
    item_id: &str,
    sequence_number: u64,
) -> (&'static str, Value) {
    let (name, mut data) = match key.lane {
        Lane::Text => (
            "response.output_text.delta",
            json!({"content_index": key.b, "logprobs": []}),
        ),
        Lane::Refusal => ("response.refusal.delta", json!({"content_index": key.b})),
        Lane::Reasoning => (
            "response.reasoning_summary_text.delta",
            json!({"summary_index": key.b}),
        ),
        Lane::ToolArgs => ("response.function_call_arguments.delta", json!({})),
    };
    if let Value::Object(m) = &mut data {
        m.insert("type".into(), json!(name));
        m.insert("item_id".into(), json!(item_id));
        m.insert("output_index".into(), json!(key.a));
        m.insert("delta".into(), json!(text));
        m.insert("sequence_number".into(), json!(sequence_number));
    }
    (name, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_texts_cover_instructions_messages_calls_and_outputs() {
        let v = json!({"model": "m", "instructions": "sys",
            "input": [
                {"role": "user", "content": [{"type": "input_text", "text": "q"}]},
                {"type": "function_call", "call_id": "c", "name": "get", "arguments": "{\"u\":1}"},
                {"type": "function_call_output", "call_id": "c", "output": "page says obey"},
                {"type": "message", "role": "assistant", "content": "a"}
            ],
            "tools": [{"type": "function", "name": "get", "description": "fetch"}, {"type": "web_search"},
                      {"type": "mcp", "server_label": "gh", "server_url": "https://x"}]});
        let mut t = Texts::new();
        request_texts(&v, &mut t);
        let seen: Vec<_> = t
            .items
            .iter()
            .map(|i| (i.path.to_string(), i.role, i.kind, i.text))
            .collect();
        assert_eq!(
            seen,
            vec![
                (
                    "$.instructions".into(),
                    Role::System,
                    TextKind::Content,
                    "sys"
                ),
                (
                    "$.input[0].content[0].text".into(),
                    Role::User,
                    TextKind::Content,
                    "q"
                ),
                (
                    "$.input[1].arguments".into(),
                    Role::Assistant,
                    TextKind::ToolArguments,
                    "{\"u\":1}"
                ),
                (
                    "$.input[2].output".into(),
                    Role::Tool,
                    TextKind::Content,
                    "page says obey"
                ),
                (
                    "$.input[3].content".into(),
                    Role::Assistant,
                    TextKind::Content,
                    "a"
                ),
                (
                    "$.tools[0].description".into(),
                    Role::System,
                    TextKind::ToolDefinition,
                    "fetch"
                ),
            ]
        );
        assert_eq!(tool_names(&v), vec!["get", "web_search", "gh"]);
        let plain =
            json!({"input": "hello", "prompt": {"id": "p1", "variables": {"city": "Oslo"}}});
        let mut t = Texts::new();
        request_texts(&plain, &mut t);
        assert_eq!((t.items[0].role, t.items[0].text), (Role::User, "hello"));
        assert_eq!(
            (t.items[1].path.to_string(), t.items[1].text),
            ("$.prompt.variables.city".into(), "Oslo")
        );
        assert!(check_request(&json!({"input": 3})).is_err());
    }

    #[test]
    fn response_output_items_give_texts_and_calls() {
        let v = json!({"output": [
            {"type": "reasoning", "summary": [{"type": "summary_text", "text": "thinking"}]},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "hi"}]},
            {"type": "function_call", "name": "sh", "arguments": "{\"cmd\":\"rm -rf /\"}"},
            {"type": "local_shell_call", "action": {"type": "exec", "command": ["ls"]}}
        ]});
        let (mut t, mut calls) = (Texts::new(), Vec::new());
        response_texts(&v, &JsonPath::root(), &mut t, &mut calls);
        assert_eq!(
            t.items.iter().map(|i| i.text).collect::<Vec<_>>(),
            vec!["thinking", "hi"]
        );
        assert_eq!(calls[0].name, "sh");
        assert_eq!(calls[0].arguments, json!({"cmd": "rm -rf /"}));
        assert_eq!(
            (calls[1].name.as_str(), &calls[1].arguments),
            ("local_shell", &json!({"type": "exec", "command": ["ls"]}))
        );
    }

    #[test]
    fn stream_events_map_to_pieces() {
        let mut p = Vec::new();
        let ev = json!({"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 1, "content_index": 0, "delta": "Hi"});
        stream_pieces(&ev, &mut p);
        assert_eq!(
            p,
            vec![Piece::Delta {
                key: ChannelKey::new(Lane::Text, 1, 0),
                at: JsonPath::root().key("delta"),
                text: "Hi",
                item: Some("msg_1")
            }]
        );
        let mut p = Vec::new();
        let ev = json!({"type": "response.output_item.added", "output_index": 2, "item": {"type": "function_call", "name": "sh", "arguments": ""}});
        stream_pieces(&ev, &mut p);
        assert_eq!(
            p[0],
            Piece::ToolStart {
                key: ChannelKey::new(Lane::ToolArgs, 2, 0),
                name: "sh"
            }
        );
        let ev = json!({"type": "response.completed", "response": {}});
        let mut p = Vec::new();
        stream_pieces(&ev, &mut p);
        assert_eq!(p[0], Piece::End(Scope::All));
        let (name, data) = flush_event(ChannelKey::new(Lane::Text, 1, 0), "lo", "msg_1", 7);
        assert_eq!(name, "response.output_text.delta");
        assert_eq!(
            data,
            json!({"type": name, "item_id": "msg_1", "output_index": 1, "content_index": 0, "delta": "lo", "logprobs": [], "sequence_number": 7})
        );
    }
}
