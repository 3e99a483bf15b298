//! JSON-RPC 2.0 as MCP's Streamable HTTP transport carries it: a POST body (or an SSE event's data)
//! holds one message or a batch. Messages are checked strictly; a body that cannot be read at all
//! is one [`RpcError`], a batch element that is not a valid message is an error for that element.

use serde_json::{json, Number, Value};

use super::strict_json;

/// Invalid JSON (`-32700`).
pub const PARSE_ERROR: i64 = -32700;
/// Valid JSON that is not a valid JSON-RPC message (`-32600`).
pub const INVALID_REQUEST: i64 = -32600;
/// A known method with unusable parameters (`-32602`).
pub const INVALID_PARAMS: i64 = -32602;

/// A request id: MCP allows strings and integers (never null for requests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Id {
    Num(Number),
    Str(String),
}

impl Id {
    fn read(value: &Value) -> Option<Id> {
        match value {
            Value::String(s) => Some(Id::Str(s.clone())),
            Value::Number(n) if n.is_i64() || n.is_u64() => Some(Id::Num(n.clone())),
            _ => None,
        }
    }

    pub fn to_value(&self) -> Value {
        match self {
            Id::Num(n) => Value::Number(n.clone()),
            Id::Str(s) => Value::String(s.clone()),
        }
    }
}

/// The id a reply carries: the request's, or `null` when it could not be read.
pub fn id_value(id: Option<&Id>) -> Value {
    id.map_or(Value::Null, Id::to_value)
}

/// One valid JSON-RPC message.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// A call expecting an answer with the same id. `params` is `Null` when absent.
    Request {
        id: Id,
        method: String,
        params: Value,
    },
    /// A call without an id: no answer.
    Notification { method: String, params: Value },
    /// An answer: `Ok(result)` or `Err(error object)`. The id is `None` for `"id": null` errors.
    Response {
        id: Option<Id>,
        outcome: Result<Value, Value>,
    },
}

impl Message {
    /// The method of a request or notification.
    pub fn method(&self) -> Option<&str> {
        match self {
            Message::Request { method, .. } | Message::Notification { method, .. } => Some(method),
            Message::Response { .. } => None,
        }
    }

    /// Wire form.
    pub fn to_value(&self) -> Value {
        match self {
            Message::Request { id, method, params } => with_params(
                json!({"jsonrpc": "2.0", "id": id.to_value(), "method": method}),
                params,
            ),
            Message::Notification { method, params } => {
                with_params(json!({"jsonrpc": "2.0", "method": method}), params)
            }
            Message::Response { id, outcome } => {
                let (key, value) = match outcome {
                    Ok(result) => ("result", result),
                    Err(error) => ("error", error),
                };
                json!({"jsonrpc": "2.0", "id": id_value(id.as_ref()), key: value})
            }
        }
    }
}

fn with_params(mut message: Value, params: &Value) -> Value {
    if let (Value::Object(m), false) = (&mut message, params.is_null()) {
        m.insert("params".to_owned(), params.clone());
    }
    message
}

/// A message (or a whole body) the filter refuses, answered as a JSON-RPC error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcError {
    pub code: i64,
    pub message: String,
    /// The id of the offending request, when it could be read.
    pub id: Option<Id>,
}

impl RpcError {
    pub fn new(code: i64, message: impl Into<String>, id: Option<Id>) -> RpcError {
        RpcError {
            code,
            message: message.into(),
            id,
        }
    }

    /// The JSON-RPC error response.
    pub fn to_response(&self) -> Value {
        json!({"jsonrpc": "2.0", "id": id_value(self.id.as_ref()),
               "error": {"code": self.code, "message": self.message}})
    }
}

/// A parsed body: one message, or a batch whose elements are checked one by one.
#[derive(Debug, Clone, PartialEq)]
pub struct Body {
    pub batch: bool,
    pub items: Vec<Result<Message, RpcError>>,
}

/// Parse a POST body or an SSE event's data. Errors here concern the whole body.
pub fn parse_body(bytes: &[u8], max_depth: usize) -> Result<Body, RpcError> {
    let value = strict_json::parse(bytes, max_depth)
        .map_err(|e| RpcError::new(PARSE_ERROR, format!("parse error: {e}"), None))?;
    match value {
        Value::Array(items) if items.is_empty() => Err(RpcError::new(
            INVALID_REQUEST,
            "invalid request: empty batch",
            None,
        )),
        Value::Array(items) => Ok(Body {
            batch: true,
            items: items.into_iter().map(message).collect(),
        }),
        single @ Value::Object(_) => Ok(Body {
            batch: false,
            items: vec![message(single)],
        }),
        _ => Err(RpcError::new(
            INVALID_REQUEST,
            "invalid request: expected a JSON-RPC message object or a batch array",
            None,
        )),
    }
}

/// Check one element and turn it into a [`Message`].
pub fn message(value: Value) -> Result<Message, RpcError> {
    let Value::Object(mut m) = value else {
        return Err(invalid("a message must be a JSON object", None));
    };
    let raw_id = m.remove("id");
    let id = raw_id.as_ref().and_then(Id::read);
    if m.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(invalid("\"jsonrpc\" must be \"2.0\"", id));
    }
    let method = m.remove("method");
    let result = m.remove("result");
    let error = m.remove("error");
    match (method, result, error) {
        (Some(method), None, None) => {
            let Value::String(method) = method else {
                return Err(invalid("\"method\" must be a string", id));
            };
            let params = match m.remove("params") {
                None => Value::Null,
                Some(p @ (Value::Object(_) | Value::Array(_))) => p,
                Some(_) => return Err(invalid("\"params\" must be an object or an array", id)),
            };
            match (raw_id, id) {
                (None, _) => Ok(Message::Notification { method, params }),
                (Some(_), Some(id)) => Ok(Message::Request { id, method, params }),
                (Some(_), None) => Err(invalid(
                    "a request \"id\" must be a string or an integer",
                    None,
                )),
            }
        }
        (None, Some(result), None) => match id {
            Some(id) => Ok(Message::Response {
                id: Some(id),
                outcome: Ok(result),
            }),
            None => Err(invalid(
                "a result needs an \"id\" that is a string or an integer",
                None,
            )),
        },
        (None, None, Some(error)) => {
            let id_ok = id.is_some() || raw_id == Some(Value::Null);
            let shape_ok = error.get("code").is_some_and(|c| c.is_i64())
                && error.get("message").is_some_and(Value::is_string);
            match (id_ok, shape_ok) {
                (true, true) => Ok(Message::Response {
                    id,
                    outcome: Err(error),
                }),
                (false, _) => Err(invalid("an error needs an \"id\" (or null)", None)),
                (true, false) => Err(invalid(
                    "\"error\" must be an object with an integer \"code\" and a string \"message\"",
                    id,
                )),
            }
        }
        _ => Err(invalid(
            "a message needs exactly one of \"method\", \"result\" or \"error\"",
            id,
        )),
    }
}

fn invalid(what: &str, id: Option<Id>) -> RpcError {
    RpcError::new(INVALID_REQUEST, format!("invalid request: {what}"), id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(input: &str) -> Result<Message, RpcError> {
        let body = parse_body(input.as_bytes(), 32).unwrap();
        assert!(!body.batch);
        body.items.into_iter().next().unwrap()
    }

    #[test]
    fn requests_notifications_and_responses_are_told_apart() {
        let r = one(r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"x"}}"#);
        assert_eq!(
            r,
            Ok(Message::Request {
                id: Id::Num(7.into()),
                method: "tools/call".into(),
                params: json!({"name": "x"})
            })
        );
        let n = one(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#).unwrap();
        assert_eq!(n.method(), Some("notifications/initialized"));
        assert!(matches!(
            n,
            Message::Notification {
                params: Value::Null,
                ..
            }
        ));
        let ok = one(r#"{"jsonrpc":"2.0","id":"a","result":{}}"#).unwrap();
        assert!(
            matches!(ok, Message::Response { id: Some(Id::Str(ref s)), outcome: Ok(_) } if s == "a")
        );
        let err = one(r#"{"jsonrpc":"2.0","id":null,"error":{"code":-1,"message":"m"}}"#).unwrap();
        assert!(matches!(
            err,
            Message::Response {
                id: None,
                outcome: Err(_)
            }
        ));
    }

    #[test]
    fn invalid_messages_carry_the_id_when_it_is_readable() {
        let cases = [
            (r#"{"jsonrpc":"1.0","id":3,"method":"x"}"#, Some(3)),
            (r#"{"id":3,"method":"x"}"#, Some(3)),
            (r#"{"jsonrpc":"2.0","id":3,"method":5}"#, Some(3)),
            (
                r#"{"jsonrpc":"2.0","id":3,"method":"x","params":"p"}"#,
                Some(3),
            ),
            (
                r#"{"jsonrpc":"2.0","id":3,"method":"x","result":1}"#,
                Some(3),
            ),
            (r#"{"jsonrpc":"2.0","id":3}"#, Some(3)),
            (
                r#"{"jsonrpc":"2.0","id":3,"error":{"code":"x","message":"m"}}"#,
                Some(3),
            ),
            (r#"{"jsonrpc":"2.0","id":null,"method":"x"}"#, None),
            (r#"{"jsonrpc":"2.0","id":1.5,"method":"x"}"#, None),
            (r#"{"jsonrpc":"2.0","id":{"a":1},"method":"x"}"#, None),
            (r#"{"jsonrpc":"2.0","result":1}"#, None),
        ];
        for (input, id) in cases {
            let e = one(input).unwrap_err();
            assert_eq!(e.code, INVALID_REQUEST, "{input}");
            assert_eq!(e.id, id.map(|n: i64| Id::Num(n.into())), "{input}");
            assert_eq!(e.to_response()["id"], id_value(e.id.as_ref()));
        }
    }

    #[test]
    fn whole_body_errors() {
        let e =
            parse_body(br#"{"jsonrpc":"2.0","id":1,"method":"a","method":"b"}"#, 32).unwrap_err();
        assert_eq!((e.code, e.id.clone()), (PARSE_ERROR, None));
        assert!(e.message.contains("duplicate object key"), "{}", e.message);
        assert_eq!(
            e.to_response(),
            json!({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":e.message}})
        );
        assert_eq!(parse_body(b"[]", 32).unwrap_err().code, INVALID_REQUEST);
        assert_eq!(parse_body(b"\"x\"", 32).unwrap_err().code, INVALID_REQUEST);
        assert_eq!(parse_body(b"{", 32).unwrap_err().code, PARSE_ERROR);
    }

    #[test]
    fn batches_check_each_element() {
        let body = parse_body(
            br#"[{"jsonrpc":"2.0","id":1,"method":"ping"},5,{"jsonrpc":"2.0","method":"n"}]"#,
            32,
        )
        .unwrap();
        assert!(body.batch);
        assert_eq!(body.items.len(), 3);
        assert!(body.items[0].is_ok() && body.items[2].is_ok());
        assert_eq!(body.items[1].as_ref().unwrap_err().code, INVALID_REQUEST);
    }

    #[test]
    fn messages_render_back_to_the_wire_form() {
        for input in [
            r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"x"}}"#,
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            r#"{"jsonrpc":"2.0","id":"a","result":{"tools":[]}}"#,
            r#"{"jsonrpc":"2.0","id":null,"error":{"code":-1,"message":"m"}}"#,
        ] {
            let expected: Value = serde_json::from_str(input).unwrap();
            assert_eq!(one(input).unwrap().to_value(), expected);
        }
    }
}
