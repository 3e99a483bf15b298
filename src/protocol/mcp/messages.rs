//! What an MCP message asks for: `tools/call` with its tool and arguments, `resources/read` with
//! its URI, `prompts/get` with its name and arguments, or another method by name. Requests are
//! remembered by id so that the answers coming back can be read for what they are.

use serde_json::Value;

use super::jsonrpc::{Body, Id, Message};

/// A request or notification, classified. Borrowed from the parsed message.
#[derive(Debug, Clone, PartialEq)]
pub enum Call<'a> {
    /// `tools/call`: `arguments` is `Null` when absent.
    Tool { name: &'a str, arguments: &'a Value },
    /// `resources/read`.
    ReadResource { uri: &'a str },
    /// `prompts/get`: `arguments` is `Null` when absent.
    GetPrompt { name: &'a str, arguments: &'a Value },
    /// Any other method (`initialize`, `tools/list`, notifications, server requests such as
    /// `sampling/createMessage`): `params` as sent, `Null` when absent.
    Method { method: &'a str, params: &'a Value },
}

static NULL: Value = Value::Null;

/// Classify a method call. `Err` names the parameter that makes a known method unusable
/// (answered with `-32602`).
pub fn classify<'a>(method: &'a str, params: &'a Value) -> Result<Call<'a>, String> {
    let text = |key: &str| {
        params
            .get(key)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("invalid params: {method} needs a string \"{key}\""))
    };
    let arguments = || match params.get("arguments") {
        None | Some(Value::Null) => Ok(&NULL),
        Some(a @ Value::Object(_)) => Ok(a),
        Some(_) => Err(format!(
            "invalid params: {method} \"arguments\" must be an object"
        )),
    };
    match method {
        "tools/call" => Ok(Call::Tool {
            name: text("name")?,
            arguments: arguments()?,
        }),
        "resources/read" => Ok(Call::ReadResource { uri: text("uri")? }),
        "prompts/get" => Ok(Call::GetPrompt {
            name: text("name")?,
            arguments: arguments()?,
        }),
        _ => Ok(Call::Method { method, params }),
    }
}

/// What an answered request was, so its result can be inspected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Asked {
    ListTools,
    CallTool(String),
    ReadResource(String),
    GetPrompt(String),
    Other(String),
}

/// The requests of one POST body still waiting for their answers, by id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pending {
    entries: Vec<(Id, Asked)>,
}

impl Pending {
    /// Every request in a (valid) body.
    pub fn of(body: &Body) -> Pending {
        let entries = body
            .items
            .iter()
            .filter_map(|item| match item {
                Ok(Message::Request { id, method, params }) => {
                    let asked = match classify(method, params) {
                        Ok(Call::Tool { name, .. }) => Asked::CallTool(name.to_owned()),
                        Ok(Call::ReadResource { uri }) => Asked::ReadResource(uri.to_owned()),
                        Ok(Call::GetPrompt { name, .. }) => Asked::GetPrompt(name.to_owned()),
                        _ if method == "tools/list" => Asked::ListTools,
                        _ => Asked::Other(method.clone()),
                    };
                    Some((id.clone(), asked))
                }
                _ => None,
            })
            .collect();
        Pending { entries }
    }

    /// What the request with this id asked, if it is still waiting.
    pub fn get(&self, id: &Id) -> Option<&Asked> {
        self.entries.iter().find(|(i, _)| i == id).map(|(_, a)| a)
    }

    /// Mark a request answered; returns what it asked.
    pub fn answer(&mut self, id: &Id) -> Option<Asked> {
        let at = self.entries.iter().position(|(i, _)| i == id)?;
        Some(self.entries.remove(at).1)
    }

    /// Ids still waiting for an answer.
    pub fn waiting(&self) -> impl Iterator<Item = &Id> {
        self.entries.iter().map(|(id, _)| id)
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::mcp::jsonrpc::parse_body;
    use serde_json::json;

    #[test]
    fn known_methods_are_classified_with_their_parameters() {
        let p = json!({"name": "read_file", "arguments": {"path": "/etc/passwd"}});
        assert_eq!(
            classify("tools/call", &p),
            Ok(Call::Tool {
                name: "read_file",
                arguments: &json!({"path": "/etc/passwd"})
            })
        );
        let p = json!({"name": "t"});
        assert_eq!(
            classify("tools/call", &p),
            Ok(Call::Tool {
                name: "t",
                arguments: &Value::Null
            })
        );
        let p = json!({"uri": "file:///x"});
        assert_eq!(
            classify("resources/read", &p),
            Ok(Call::ReadResource { uri: "file:///x" })
        );
        let p = json!({"name": "greet", "arguments": {"who": "me"}});
        assert!(matches!(
            classify("prompts/get", &p),
            Ok(Call::GetPrompt { name: "greet", .. })
        ));
        let p = json!({"messages": []});
        assert_eq!(
            classify("sampling/createMessage", &p),
            Ok(Call::Method {
                method: "sampling/createMessage",
                params: &p
            })
        );
    }

    #[test]
    fn unusable_parameters_are_named() {
        for (method, params, needle) in [
            ("tools/call", json!({}), "\"name\""),
            ("tools/call", json!({"name": 5}), "\"name\""),
            (
                "tools/call",
                json!({"name": "x", "arguments": [1]}),
                "\"arguments\"",
            ),
            ("resources/read", json!({"uri": null}), "\"uri\""),
            ("prompts/get", Value::Null, "\"name\""),
        ] {
            let e = classify(method, &params).unwrap_err();
            assert!(e.contains(needle) && e.contains(method), "{e}");
        }
    }

    #[test]
    fn pending_requests_are_matched_to_their_answers() {
        let body = parse_body(
            br#"[{"jsonrpc":"2.0","id":1,"method":"tools/list"},
                 {"jsonrpc":"2.0","id":"b","method":"tools/call","params":{"name":"t"}},
                 {"jsonrpc":"2.0","method":"notifications/x"},
                 {"jsonrpc":"2.0","id":3,"method":"ping"}]"#,
            16,
        )
        .unwrap();
        let mut pending = Pending::of(&body);
        assert_eq!(pending.waiting().count(), 3);
        assert_eq!(pending.get(&Id::Num(1.into())), Some(&Asked::ListTools));
        assert_eq!(
            pending.answer(&Id::Str("b".into())),
            Some(Asked::CallTool("t".into()))
        );
        assert_eq!(pending.answer(&Id::Str("b".into())), None);
        assert_eq!(
            pending.answer(&Id::Num(3.into())),
            Some(Asked::Other("ping".into()))
        );
        assert!(!pending.is_empty());
        pending.answer(&Id::Num(1.into()));
        assert!(pending.is_empty());
    }
}
