//! A recognised LLM request: checked against its API's shape, its texts (each with role, kind
//! and JSON path), the facts policy sees (`llm.<provider>.<operation>` and its parameters), and
//! rewriting texts in place (redaction, masking).

use serde_json::{json, Value};

use super::edit::{apply_edits, Edit, EditError};
use super::json_path::{str_field, Texts};
use super::{anthropic, openai_chat, openai_responses, Api, Format, Malformed, Role, TextItem};
use crate::protocol::mcp::strict_json;

/// A parsed request of a recognised API.
#[derive(Debug)]
pub struct LlmRequest {
    pub format: Format,
    pub value: Value,
}

impl LlmRequest {
    /// Parse and check the shape. A body that is not what the API expects is refused (the caller
    /// answers 400 in the provider's shape), never passed unscanned.
    pub fn parse(format: Format, body: &[u8]) -> Result<LlmRequest, Malformed> {
        let value = parse_json(body)?;
        if !value.is_object() {
            return Err(Malformed("the request body is not a JSON object".into()));
        }
        if value.get("model").is_some_and(|m| !m.is_string()) {
            return Err(Malformed("`model` must be a string".into()));
        }
        if value
            .get("stream")
            .is_some_and(|s| !s.is_boolean() && !s.is_null())
        {
            return Err(Malformed("`stream` must be true or false".into()));
        }
        match format.api {
            Api::Chat => openai_chat::check_request(&value)?,
            Api::Responses => openai_responses::check_request(&value)?,
            Api::Messages => anthropic::check_request(&value)?,
        }
        Ok(LlmRequest { format, value })
    }

    /// Every text of the request, in document order per section.
    pub fn texts(&self) -> Vec<TextItem<'_>> {
        let mut out = Texts::new();
        match self.format.api {
            Api::Chat => openai_chat::request_texts(&self.value, &mut out),
            Api::Responses => openai_responses::request_texts(&self.value, &mut out),
            Api::Messages => anthropic::request_texts(&self.value, &mut out),
        }
        out.items
    }

    pub fn model(&self) -> Option<&str> {
        str_field(&self.value, "model")
    }

    /// Whether the answer will be a server-sent event stream.
    pub fn stream(&self) -> bool {
        self.value
            .get("stream")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// Names of the tools offered to the model.
    pub fn tool_names(&self) -> Vec<&str> {
        match self.format.api {
            Api::Chat => openai_chat::tool_names(&self.value),
            Api::Responses => openai_responses::tool_names(&self.value),
            Api::Messages => anthropic::tool_names(&self.value),
        }
    }

    /// The policy action type, e.g. `llm.openai.chat`.
    pub fn action_type(&self) -> String {
        self.format.action_type()
    }

    /// `action.parameters` for the policy envelope:
    /// `{"model", "stream", "roles": [...], "tools": [...], "api", "provider"}`.
    /// `roles` lists the roles that carry text (`system`, `user`, `assistant`, `tool`), sorted,
    /// from `texts` (this request's [`LlmRequest::texts`]).
    pub fn parameters(&self, texts: &[TextItem<'_>]) -> Value {
        let mut roles: Vec<Role> = texts.iter().map(|t| t.role).collect();
        roles.sort();
        roles.dedup();
        json!({
            "provider": self.format.provider.as_str(),
            "api": self.format.api.as_str(),
            "model": self.model(),
            "stream": self.stream(),
            "roles": roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
            "tools": self.tool_names(),
        })
    }

    /// Apply edits and serialise the request for sending upstream.
    pub fn rewrite(&mut self, edits: Vec<Edit>) -> Result<Vec<u8>, EditError> {
        apply_edits(&mut self.value, edits)?;
        serde_json::to_vec(&self.value).map_err(|e| EditError(e.to_string()))
    }
}

/// Deepest nesting a request body may have.
const MAX_DEPTH: usize = 128;

/// The one place bodies become JSON values: strictly, so that the provider cannot read a body
/// differently from the filter (duplicate keys, nesting beyond [`MAX_DEPTH`] are refused).
fn parse_json(body: &[u8]) -> Result<Value, Malformed> {
    strict_json::parse(body, MAX_DEPTH)
        .map_err(|e| Malformed(format!("the request body is not valid JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::llm::edit::Edit;
    use crate::protocol::llm::Provider;

    fn format(provider: Provider, api: Api) -> Format {
        Format { provider, api }
    }

    #[test]
    fn parameters_expose_model_roles_tools_and_stream() {
        let body = br#"{"model": "claude-x", "stream": true, "max_tokens": 10, "system": "rules",
            "messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "data"}]}],
            "tools": [{"name": "fetch", "input_schema": {"type": "object"}}]}"#;
        let req = LlmRequest::parse(format(Provider::Anthropic, Api::Messages), body).unwrap();
        assert_eq!(req.action_type(), "llm.anthropic.messages");
        assert_eq!(
            req.parameters(&req.texts()),
            json!({"provider": "anthropic", "api": "messages", "model": "claude-x", "stream": true,
                "roles": ["system", "tool"], "tools": ["fetch"]})
        );
    }

    #[test]
    fn bodies_of_the_wrong_shape_are_malformed() {
        let chat = format(Provider::OpenAi, Api::Chat);
        for bad in [
            &b"not json"[..],
            b"[]",
            br#"{"model": 4, "messages": []}"#,
            br#"{"messages": [], "stream": "yes"}"#,
            br#"{"model": "m"}"#,
            br#"{"model": "m", "messages": [{"role": "user", "content": "hi", "content": "x"}]}"#,
        ] {
            assert!(
                LlmRequest::parse(chat, bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let ok = LlmRequest::parse(chat, br#"{"model": "m", "messages": []}"#).unwrap();
        assert!(!ok.stream());
    }

    #[test]
    fn rewriting_replaces_a_prompt_value_in_place() {
        let body =
            br#"{"model":"m","messages":[{"role":"user","content":"mail bob@corp.test now"}]}"#;
        let mut req = LlmRequest::parse(format(Provider::OpenAi, Api::Chat), body).unwrap();
        let item = req.texts().remove(0);
        let start = item.text.find("bob").unwrap();
        let edit = Edit {
            path: item.path.into_owned(),
            start,
            end: start + "bob@corp.test".len(),
            replacement: "[MASKED_EMAIL_1]".into(),
        };
        let out: Value = serde_json::from_slice(&req.rewrite(vec![edit]).unwrap()).unwrap();
        assert_eq!(out["messages"][0]["content"], "mail [MASKED_EMAIL_1] now");
        assert_eq!(out["model"], "m");
    }

    /// Fuzzing finding: a rewritten body carried numbers that parse to other values than the
    /// originals (serde_json's default float parsing is not exact), so the upstream could read
    /// a number differently from what the policies saw.
    #[test]
    fn a_rewritten_request_keeps_every_number_exactly() {
        let body = br#"{"model":"m","messages":[],"temperature":0.1,"n":94691357803777790000,"x":1.7976931348623157e308,"y":5e-324}"#;
        let mut req = LlmRequest::parse(format(Provider::OpenAi, Api::Chat), body).unwrap();
        let out = req.rewrite(Vec::new()).unwrap();
        let again: Value = serde_json::from_slice(&out).unwrap();
        let original: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(again, original, "{}", String::from_utf8_lossy(&out));
        assert_eq!(again["n"].as_f64(), Some(94_691_357_803_777_790_000.0));
    }
}
