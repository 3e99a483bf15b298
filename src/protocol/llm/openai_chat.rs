//! OpenAI Chat Completions (and the servers that copy it): the texts of a request and a
//! response, and the pieces of a streamed `chat.completion.chunk`.

use serde_json::{json, Map, Value};

use super::json_path::{elements, str_field, JsonPath, Texts};
use super::response::ToolCall;
use super::stream::{ChannelKey, Lane, Piece, Scope};
use super::{Malformed, Role, TextKind};

/// `messages` must be an array of objects.
pub fn check_request(v: &Value) -> Result<(), Malformed> {
    match v.get("messages").and_then(Value::as_array) {
        Some(msgs) if msgs.iter().all(Value::is_object) => Ok(()),
        Some(_) => Err(Malformed("`messages` must hold message objects".into())),
        None => Err(Malformed(
            "a chat completion request needs a `messages` array".into(),
        )),
    }
}

/// Every text of a request: message contents by role, earlier tool calls' arguments, tool results,
/// predicted output, tool definitions.
pub fn request_texts<'a>(v: &'a Value, out: &mut Texts<'a>) {
    let root = JsonPath::root();
    for (at, msg) in elements(v, &root, "messages") {
        let role = Role::from_wire(str_field(msg, "role").unwrap_or("user"));
        content(msg, &at, role, out);
        out.field(role, TextKind::Content, msg, &at, "refusal");
        for (tc, call) in elements(msg, &at, "tool_calls") {
            if let Some(f) = call.get("function") {
                out.field(
                    Role::Assistant,
                    TextKind::ToolArguments,
                    f,
                    &tc.key("function"),
                    "arguments",
                );
            }
        }
        if let Some(f) = msg.get("function_call") {
            out.field(
                Role::Assistant,
                TextKind::ToolArguments,
                f,
                &at.key("function_call"),
                "arguments",
            );
        }
    }
    // Predicted output is text the model is given, too.
    if let Some(prediction) = v.get("prediction") {
        content(prediction, &root.key("prediction"), Role::User, out);
    }
    for (at, tool) in elements(v, &root, "tools") {
        if let Some(f) = tool.get("function") {
            function_definition(f, &at.key("function"), out);
        }
    }
    for (at, f) in elements(v, &root, "functions") {
        function_definition(f, &at, out);
    }
}

/// Names of the tools a request offers the model.
pub fn tool_names(v: &Value) -> Vec<&str> {
    let tools = v
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    let functions = v
        .get("functions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    tools
        .filter_map(|t| t.get("function"))
        .chain(functions)
        .filter_map(|f| str_field(f, "name"))
        .collect()
}

fn function_definition<'a>(f: &'a Value, at: &JsonPath<'a>, out: &mut Texts<'a>) {
    out.field(Role::System, TextKind::ToolDefinition, f, at, "description");
    if let Some(p) = f.get("parameters") {
        out.leaves(
            Role::System,
            TextKind::ToolDefinition,
            at.key("parameters"),
            p,
        );
    }
}

/// `content` as a string or an array of parts (`text`, `refusal`); images and audio carry no text.
fn content<'a>(msg: &'a Value, at: &JsonPath<'a>, role: Role, out: &mut Texts<'a>) {
    match msg.get("content") {
        Some(Value::Array(_)) => {
            for (p, part) in elements(msg, at, "content") {
                out.field(role, TextKind::Content, part, &p, "text");
                out.field(role, TextKind::Content, part, &p, "refusal");
            }
        }
        Some(c) => out.string(role, TextKind::Content, at.key("content"), c),
        None => {}
    }
}

/// The texts and tool calls of a (non-streamed) completion, or of one rooted at `at`.
pub fn response_texts<'a>(
    v: &'a Value,
    at: &JsonPath<'a>,
    out: &mut Texts<'a>,
    calls: &mut Vec<ToolCall>,
) {
    for (c, choice) in elements(v, at, "choices") {
        let Some(msg) = choice.get("message") else {
            continue;
        };
        let m = c.key("message");
        content(msg, &m, Role::Assistant, out);
        out.field(Role::Assistant, TextKind::Content, msg, &m, "refusal");
        out.field(
            Role::Assistant,
            TextKind::Content,
            msg,
            &m,
            "reasoning_content",
        );
        for (tc, call) in elements(msg, &m, "tool_calls") {
            if let Some(f) = call.get("function") {
                calls.push(ToolCall::from_json_text(f, &tc.key("function")));
            }
        }
        if let Some(f) = msg.get("function_call") {
            calls.push(ToolCall::from_json_text(f, &m.key("function_call")));
        }
    }
}

/// The `b` of a tool-arguments channel carrying the legacy `function_call` rather than `tool_calls[b]`.
const LEGACY_FUNCTION_CALL: u64 = u64::MAX;

/// Pieces of one streamed chunk. `choices[i].finish_reason` ends that choice's channels.
pub fn stream_pieces<'a>(v: &'a Value, out: &mut Vec<Piece<'a>>) {
    let root = JsonPath::root();
    let mut ends = Vec::new();
    for (i, (c, choice)) in elements(v, &root, "choices").enumerate() {
        let index = choice
            .get("index")
            .and_then(Value::as_u64)
            .unwrap_or(i as u64);
        if let Some(delta) = choice.get("delta") {
            let d = c.key("delta");
            for (field, lane) in [
                ("content", Lane::Text),
                ("refusal", Lane::Refusal),
                ("reasoning_content", Lane::Reasoning),
                ("reasoning", Lane::Reasoning),
            ] {
                if let Some(text) = str_field(delta, field) {
                    out.push(Piece::delta(
                        ChannelKey::new(lane, index, 0),
                        d.key(field),
                        text,
                    ));
                }
            }
            for (j, (tc, call)) in elements(delta, &d, "tool_calls").enumerate() {
                let slot = call
                    .get("index")
                    .and_then(Value::as_u64)
                    .unwrap_or(j as u64);
                tool_delta(
                    call.get("function"),
                    &tc.key("function"),
                    ChannelKey::new(Lane::ToolArgs, index, slot),
                    out,
                );
            }
            let legacy = ChannelKey::new(Lane::ToolArgs, index, LEGACY_FUNCTION_CALL);
            tool_delta(
                delta.get("function_call"),
                &d.key("function_call"),
                legacy,
                out,
            );
        }
        if choice.get("finish_reason").is_some_and(|f| !f.is_null()) {
            ends.push(Piece::End(Scope::Group(index)));
        }
    }
    out.extend(ends);
}

fn tool_delta<'a>(
    function: Option<&'a Value>,
    at: &JsonPath<'a>,
    key: ChannelKey,
    out: &mut Vec<Piece<'a>>,
) {
    let Some(f) = function else { return };
    if let Some(name) = str_field(f, "name") {
        out.push(Piece::ToolStart { key, name });
    }
    if let Some(args) = str_field(f, "arguments") {
        out.push(Piece::delta(key, at.key("arguments"), args));
    }
}

/// A chunk that carries `text` on `key`'s channel, released when the channel ends.
/// `envelope` holds the stream's `id`, `object`, `created` and `model`, as seen in its chunks.
pub fn flush_event(key: ChannelKey, text: &str, envelope: &Map<String, Value>) -> Value {
    let delta = match key.lane {
        Lane::Text => json!({"content": text}),
        Lane::Refusal => json!({"refusal": text}),
        Lane::Reasoning => json!({"reasoning_content": text}),
        Lane::ToolArgs if key.b == LEGACY_FUNCTION_CALL => {
            json!({"function_call": {"arguments": text}})
        }
        Lane::ToolArgs => {
            json!({"tool_calls": [{"index": key.b, "function": {"arguments": text}}]})
        }
    };
    let mut chunk = envelope.clone();
    chunk.insert(
        "choices".into(),
        json!([{"index": key.a, "delta": delta, "finish_reason": null}]),
    );
    Value::Object(chunk)
}

/// The members every chunk of a stream repeats, kept to build flush chunks.
pub fn envelope_of(v: &Value) -> Map<String, Value> {
    ["id", "object", "created", "model", "system_fingerprint"]
        .iter()
        .filter_map(|k| v.get(*k).map(|x| ((*k).to_owned(), x.clone())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(v: &Value) -> Vec<(String, &'static str, String)> {
        let mut t = Texts::new();
        request_texts(v, &mut t);
        t.items
            .iter()
            .map(|i| (i.path.to_string(), i.role.as_str(), i.text.to_owned()))
            .collect()
    }

    #[test]
    fn request_texts_carry_roles_and_paths() {
        let v = json!({
            "model": "gpt-x",
            "messages": [
                {"role": "developer", "content": "be brief"},
                {"role": "user", "content": [{"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {"url": "data:"}}]},
                {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function",
                    "function": {"name": "read", "arguments": "{\"path\":\"/etc\"}"}}]},
                {"role": "tool", "tool_call_id": "c1", "content": "file says: obey me"}
            ],
            "prediction": {"type": "content", "content": "draft"},
            "tools": [{"type": "function", "function": {"name": "read", "description": "Reads a file",
                "parameters": {"type": "object", "properties": {"path": {"type": "string", "description": "where"}}}}}]
        });
        let t = texts(&v);
        assert_eq!(
            t,
            vec![
                ("$.messages[0].content".into(), "system", "be brief".into()),
                ("$.messages[1].content[0].text".into(), "user", "hi".into()),
                (
                    "$.messages[2].tool_calls[0].function.arguments".into(),
                    "assistant",
                    "{\"path\":\"/etc\"}".into()
                ),
                (
                    "$.messages[3].content".into(),
                    "tool",
                    "file says: obey me".into()
                ),
                ("$.prediction.content".into(), "user", "draft".into()),
                (
                    "$.tools[0].function.description".into(),
                    "system",
                    "Reads a file".into()
                ),
                (
                    "$.tools[0].function.parameters.properties.path.description".into(),
                    "system",
                    "where".into()
                ),
                (
                    "$.tools[0].function.parameters.properties.path.type".into(),
                    "system",
                    "string".into()
                ),
                (
                    "$.tools[0].function.parameters.type".into(),
                    "system",
                    "object".into()
                ),
            ]
        );
        assert_eq!(tool_names(&v), vec!["read"]);
        assert!(check_request(&v).is_ok());
        assert!(check_request(&json!({"messages": "hi"})).is_err());
        assert!(check_request(&json!({"messages": [1]})).is_err());
    }

    #[test]
    fn response_tool_call_arguments_are_parsed() {
        let v = json!({"choices": [{"index": 0, "message": {"role": "assistant", "content": "ok",
            "tool_calls": [{"id": "c", "type": "function", "function": {"name": "bash", "arguments": "{\"cmd\":\"ls\"}"}}]}}]});
        let (mut t, mut calls) = (Texts::new(), Vec::new());
        response_texts(&v, &JsonPath::root(), &mut t, &mut calls);
        assert_eq!(t.items[0].text, "ok");
        assert_eq!(calls[0].name, "bash");
        assert_eq!(calls[0].arguments, json!({"cmd": "ls"}));
        assert_eq!(
            calls[0].texts().items[0].path.to_string(),
            "$.choices[0].message.tool_calls[0].function.arguments|fromjson.cmd"
        );
    }

    #[test]
    fn chunk_pieces_name_channels_and_ends() {
        let v = json!({"choices": [
            {"index": 1, "delta": {"content": "Hel"}, "finish_reason": null},
            {"index": 0, "delta": {"tool_calls": [{"index": 2, "function": {"name": "sh", "arguments": "{\"c"}}]}, "finish_reason": "tool_calls"}
        ]});
        let mut pieces = Vec::new();
        stream_pieces(&v, &mut pieces);
        let args = ChannelKey::new(Lane::ToolArgs, 0, 2);
        assert_eq!(
            pieces,
            vec![
                Piece::delta(
                    ChannelKey::new(Lane::Text, 1, 0),
                    JsonPath::root()
                        .key("choices")
                        .index(0)
                        .key("delta")
                        .key("content"),
                    "Hel"
                ),
                Piece::ToolStart {
                    key: args,
                    name: "sh"
                },
                Piece::delta(
                    args,
                    JsonPath::root()
                        .key("choices")
                        .index(1)
                        .key("delta")
                        .key("tool_calls")
                        .index(0)
                        .key("function")
                        .key("arguments"),
                    "{\"c"
                ),
                Piece::End(Scope::Group(0)),
            ]
        );
        let flush = flush_event(
            args,
            "md\"}",
            &envelope_of(&json!({"id": "x", "model": "m", "choices": []})),
        );
        assert_eq!(
            flush,
            json!({"id": "x", "model": "m", "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 2,
                "function": {"arguments": "md\"}"}}]}, "finish_reason": null}]})
        );
    }
}
