//! A provider's (non-streamed) JSON answer: the generated texts and the model's tool calls,
//! with arguments parsed, each with its JSON path; scanned and rewritten in place.

use serde_json::Value;

use super::edit::{apply_edits, Edit, EditError};
use super::json_path::{str_field, JsonPath, Texts};
use super::scan::{scan_items, DocScan, TextScanner};
use super::{
    anthropic, openai_chat, openai_responses, Api, Format, Malformed, Provider, Role, TextKind,
};

/// A tool call the model made: the tool's name and its arguments, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    pub name: String,
    /// The arguments as an object (or, when the model wrote invalid JSON, the raw text as a string).
    pub arguments: Value,
    /// Path of the arguments in the document.
    pub path: JsonPath<'static>,
    /// The document holds the arguments as JSON text (OpenAI) rather than as an object (Anthropic).
    pub as_text: bool,
}

impl ToolCall {
    /// From an object with `name` and `arguments` given as JSON text (OpenAI's shape).
    pub fn from_json_text(f: &Value, at: &JsonPath<'_>) -> ToolCall {
        let raw = str_field(f, "arguments").unwrap_or("");
        ToolCall::from_text(str_field(f, "name").unwrap_or(""), raw, at.key("arguments"))
    }

    /// From a tool name and arguments as JSON text found at `path`.
    pub fn from_text(name: &str, raw: &str, path: JsonPath<'_>) -> ToolCall {
        let parsed = if raw.trim().is_empty() {
            Some(Value::Object(Default::default()))
        } else {
            serde_json::from_str(raw).ok()
        };
        let as_text = parsed.is_some();
        ToolCall {
            name: name.to_owned(),
            arguments: parsed.unwrap_or_else(|| Value::String(raw.to_owned())),
            path: path.into_owned(),
            as_text,
        }
    }

    /// From a tool name and arguments given as an object at `path` (Anthropic's shape).
    pub fn from_object(name: &str, arguments: &Value, path: JsonPath<'_>) -> ToolCall {
        ToolCall {
            name: name.to_owned(),
            arguments: arguments.clone(),
            path: path.into_owned(),
            as_text: false,
        }
    }

    /// The policy action type of this call: `llm.<provider>.tool_call.<name>`, the name made one
    /// segment (characters other than letters, digits, `_` and `-` become `_`).
    pub fn action_type(&self, provider: Provider) -> String {
        let name: String = self
            .name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        format!("llm.{}.tool_call.{name}", provider.as_str())
    }

    /// Every string inside the arguments, with its path in the document.
    pub fn texts(&self) -> Texts<'_> {
        let base = if self.as_text {
            self.path.embedded()
        } else {
            self.path.clone()
        };
        let mut t = Texts::new();
        t.leaves(
            Role::Assistant,
            TextKind::ToolArguments,
            base,
            &self.arguments,
        );
        t
    }
}

/// How an answer's body is framed, from its `content-type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// `application/json` (or `+json`): buffered whole, then scanned.
    Json,
    /// `text/event-stream`: guarded chunk by chunk with a [`super::stream::StreamGuard`].
    EventStream,
    /// Anything else: not an answer this module can read.
    Other,
}

pub fn body_kind(content_type: Option<&str>) -> BodyKind {
    let essence = content_type
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence == "text/event-stream" {
        BodyKind::EventStream
    } else if essence == "application/json" || essence.ends_with("+json") {
        BodyKind::Json
    } else {
        BodyKind::Other
    }
}

/// A parsed answer of a recognised API.
#[derive(Debug)]
pub struct LlmResponse {
    pub format: Format,
    pub value: Value,
}

impl LlmResponse {
    /// Parse a JSON answer. Anything but a JSON object is malformed: it cannot be scanned.
    pub fn parse(format: Format, body: &[u8]) -> Result<LlmResponse, Malformed> {
        let value: Value = serde_json::from_slice(body).map_err(|e| {
            Malformed(format!(
                "the {} answer is not JSON: {e}",
                format.action_type()
            ))
        })?;
        if !value.is_object() {
            return Err(Malformed("the answer is not a JSON object".into()));
        }
        Ok(LlmResponse { format, value })
    }

    /// Generated texts (tool-call arguments are in [`LlmResponse::tool_calls`]).
    pub fn texts(&self) -> Vec<super::TextItem<'_>> {
        let mut out = Texts::new();
        texts_at(
            self.format.api,
            &self.value,
            &JsonPath::root(),
            &mut out,
            &mut Vec::new(),
        );
        out.items
    }

    /// The tool calls the model made, in order.
    pub fn tool_calls(&self) -> Vec<ToolCall> {
        let mut calls = Vec::new();
        texts_at(
            self.format.api,
            &self.value,
            &JsonPath::root(),
            &mut Texts::new(),
            &mut calls,
        );
        calls
    }

    /// Scan texts and tool-call arguments.
    pub fn scan(&self, scanner: &dyn TextScanner) -> DocScan {
        scan_document(self.format.api, &self.value, &JsonPath::root(), scanner)
    }

    /// Apply edits and serialise the answer for sending.
    pub fn rewrite(&mut self, edits: Vec<Edit>) -> Result<Vec<u8>, EditError> {
        apply_edits(&mut self.value, edits)?;
        serde_json::to_vec(&self.value).map_err(|e| EditError(e.to_string()))
    }
}

/// Texts and tool calls of an answer of `api` rooted at `at` (a whole body, or the answer
/// embedded in a stream event).
pub fn texts_at<'a>(
    api: Api,
    v: &'a Value,
    at: &JsonPath<'a>,
    out: &mut Texts<'a>,
    calls: &mut Vec<ToolCall>,
) {
    match api {
        Api::Chat => openai_chat::response_texts(v, at, out, calls),
        Api::Responses => openai_responses::response_texts(v, at, out, calls),
        Api::Messages => anthropic::response_texts(v, at, out, calls),
    }
}

/// Scan an answer of `api` rooted at `at`: its texts and its tool calls' arguments.
pub fn scan_document(api: Api, v: &Value, at: &JsonPath<'_>, scanner: &dyn TextScanner) -> DocScan {
    let mut texts = Texts::new();
    let mut calls = Vec::new();
    texts_at(api, v, at, &mut texts, &mut calls);
    scan_parts(&texts, &calls, scanner)
}

/// Scan collected texts and the arguments of collected tool calls.
pub fn scan_parts(texts: &Texts<'_>, calls: &[ToolCall], scanner: &dyn TextScanner) -> DocScan {
    let mut scan = scan_items(&texts.items, scanner);
    for call in calls {
        let found = scan_items(&call.texts().items, scanner);
        scan.edits.extend(found.edits);
        scan.replaced.extend(found.replaced);
        scan.blocked.extend(found.blocked);
    }
    scan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::llm::literal::Literals;
    use serde_json::json;

    const CHAT: Format = Format {
        provider: Provider::OpenAi,
        api: Api::Chat,
    };

    #[test]
    fn secrets_in_text_and_tool_arguments_are_redacted_and_json_stays_valid() {
        let body = json!({"choices": [{"index": 0, "message": {"role": "assistant",
            "content": "the key is AKIA-SECRET-1",
            "tool_calls": [{"id": "c", "type": "function", "function": {"name": "post",
                "arguments": "{\"body\":\"AKIA-SECRET-1\",\"n\":2}"}}]}}]})
        .to_string();
        let mut r = LlmResponse::parse(CHAT, body.as_bytes()).unwrap();
        let scanner = Literals::redacting(&[("AKIA-SECRET-1", "aws_key")]);
        let scan = r.scan(&scanner);
        assert_eq!(scan.replaced.len(), 2);
        assert!(scan.blocked.is_empty());
        let out: Value = serde_json::from_slice(&r.rewrite(scan.edits).unwrap()).unwrap();
        let msg = &out["choices"][0]["message"];
        assert_eq!(msg["content"], "the key is [REDACTED:aws_key]");
        let args: Value = serde_json::from_str(
            msg["tool_calls"][0]["function"]["arguments"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(args, json!({"body": "[REDACTED:aws_key]", "n": 2}));
    }

    #[test]
    fn content_types_choose_how_an_answer_is_read() {
        assert_eq!(
            body_kind(Some("text/event-stream; charset=utf-8")),
            BodyKind::EventStream
        );
        assert_eq!(body_kind(Some("Application/JSON")), BodyKind::Json);
        assert_eq!(body_kind(Some("application/problem+json")), BodyKind::Json);
        assert_eq!(body_kind(Some("text/html")), BodyKind::Other);
        assert_eq!(body_kind(None), BodyKind::Other);
    }

    #[test]
    fn tool_call_action_types_keep_the_name_one_segment() {
        let call = ToolCall::from_text("fs.delete all", "{}", JsonPath::root());
        assert_eq!(
            call.action_type(Provider::Anthropic),
            "llm.anthropic.tool_call.fs_delete_all"
        );
    }

    #[test]
    fn invalid_arguments_stay_raw_text_and_non_json_answers_are_malformed() {
        let call = ToolCall::from_text("sh", "{not json", JsonPath::root().key("a"));
        assert_eq!(call.arguments, json!("{not json"));
        assert_eq!(call.texts().items[0].path.to_string(), "$.a");
        assert_eq!(
            ToolCall::from_text("t", " ", JsonPath::root()).arguments,
            json!({})
        );
        assert!(LlmResponse::parse(CHAT, b"<html>").is_err());
        assert!(LlmResponse::parse(CHAT, b"[1]").is_err());
    }
}
