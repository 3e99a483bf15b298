//! From a plain HTTP request to an action envelope:
//!
//! | envelope field | value |
//! |---|---|
//! | `action.type` | `http.` + the method in lower case (`http.get`, `http.delete`); `http.other` for methods that are not 1-20 ASCII letters |
//! | `action.resource` | host (lower case, port and trailing dot removed) + normalised path: `api.example.com/v1/items` |
//! | `action.operation` | GET, HEAD: `read`; POST: `create`; PUT, PATCH: `update`; DELETE: `delete`; others: `execute` (method compared case-insensitively) |
//! | `action.parameters` | the request body when it is a JSON object, else `{}` |
//! | `principal` | type from `agent.principal_type`; id from mTLS, `agent.principal`, or the trusted header (`""` when anonymous) |
//! | `context` | `sessionId` = `mcp-session-id` header; `traceId` = traceparent trace id, else `x-request-id`; `environment` = `agent.environment`; `sourceIp`; `userAgent`; `metadata.query` = raw query string |
//!
//! [`Envelope::for_request`] fills principal and context the same way for the MCP and LLM
//! mappings, which pass their own [`Action`].

use serde_json::{Map, Value};

use super::envelope::{Action, Context, Envelope, Operation, Principal};
use crate::config::AgentConfig;
use crate::protocol::mcp::strict_json;
use crate::request::RequestFacts;

/// The body could not be read as the JSON its content type announced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyError(pub String);

impl Envelope {
    /// An envelope for `action`, with principal and context taken from the request.
    pub fn for_request(
        facts: &RequestFacts,
        agent: &AgentConfig,
        action: Action,
        now_nanos: u64,
    ) -> Envelope {
        let query = facts
            .raw_path
            .split_once('?')
            .map(|(_, q)| q.split('#').next().unwrap_or(q));
        let metadata = match query.filter(|q| !q.is_empty()) {
            Some(q) => Value::Object(Map::from_iter([(
                "query".to_owned(),
                Value::String(q.to_owned()),
            )])),
            None => Value::Null,
        };
        let trace = facts
            .trace_id
            .clone()
            .or_else(|| Some(facts.request_id.clone()).filter(|r| !r.is_empty()));
        let context = Context {
            session_id: facts.session_id.clone(),
            trace_id: trace,
            environment: agent.environment,
            source_ip: facts.source_ip.clone(),
            user_agent: facts.user_agent.clone(),
            metadata,
            ..Context::default()
        };
        let principal = Principal::new(agent.principal_type, facts.principal.id.clone());
        Envelope::new(
            facts.request_id.clone(),
            now_nanos,
            action,
            principal,
            context,
        )
    }
}

/// The action of a plain HTTP request; `body` is the buffered body, if any.
pub fn http_action(facts: &RequestFacts, body: &[u8]) -> Result<Action, BodyError> {
    let method = facts.method.as_str();
    let kind = if !method.is_empty()
        && method.len() <= 20
        && method.bytes().all(|b| b.is_ascii_alphabetic())
    {
        let mut kind = String::with_capacity(5 + method.len());
        kind.push_str("http.");
        kind.extend(method.bytes().map(|b| char::from(b.to_ascii_lowercase())));
        kind
    } else {
        "http.other".to_owned()
    };
    let is = |name: &str| method.eq_ignore_ascii_case(name);
    let operation = if is("GET") || is("HEAD") {
        Operation::Read
    } else if is("POST") {
        Operation::Create
    } else if is("PUT") || is("PATCH") {
        Operation::Update
    } else if is("DELETE") {
        Operation::Delete
    } else {
        Operation::Execute
    };
    Ok(Action::new(
        kind,
        resource(facts),
        operation,
        json_parameters(facts, body)?,
    ))
}

/// `action.resource` of a request: host (lower case, no port or trailing dot) + normalised path.
pub fn resource(facts: &RequestFacts) -> String {
    let mut out = facts.host_without_port();
    out.truncate(out.trim_end_matches('.').len());
    out.push_str(&facts.path);
    out
}

/// Nesting deeper than this makes a JSON body invalid.
const MAX_JSON_DEPTH: usize = 128;

/// A JSON object body becomes the parameters; anything else gives `{}`. A body announced as
/// JSON, or that looks like a JSON object whatever its content type says (an upstream may read
/// it as JSON anyway), must be strict JSON: invalid JSON or a duplicate key (parsers disagree on
/// which one wins) is an error.
fn json_parameters(facts: &RequestFacts, body: &[u8]) -> Result<Value, BodyError> {
    let announced = facts.content_type.as_deref().is_some_and(|ct| {
        ct.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
            .ends_with("json")
    });
    let looks_like_object = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    if body.iter().all(u8::is_ascii_whitespace) || !(announced || looks_like_object) {
        return Ok(Value::Object(Map::new()));
    }
    match strict_json::parse(body, MAX_JSON_DEPTH) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Ok(Value::Object(Map::new())),
        Err(e) if announced => Err(BodyError(format!("the JSON request body is invalid: {e}"))),
        Err(e) => Err(BodyError(format!(
            "the request body looks like a JSON object but is not valid JSON: {e}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Environment, PrincipalType};
    use crate::request::{Principal as Who, PrincipalSource};

    fn facts(method: &str, raw_path: &str) -> RequestFacts {
        RequestFacts {
            method: method.into(),
            authority: "API.Example.com.:8443".into(),
            path: crate::path::normalize(raw_path),
            raw_path: raw_path.into(),
            request_id: "req-1".into(),
            principal: Who {
                id: "spiffe://a".into(),
                kind: "agent",
                source: PrincipalSource::Mtls,
            },
            session_id: Some("sess".into()),
            ..RequestFacts::default()
        }
    }

    #[test]
    fn methods_map_to_types_and_operations() {
        let cases = [
            ("GET", "http.get", Operation::Read),
            ("HEAD", "http.head", Operation::Read),
            ("POST", "http.post", Operation::Create),
            ("PUT", "http.put", Operation::Update),
            ("PATCH", "http.patch", Operation::Update),
            ("DELETE", "http.delete", Operation::Delete),
            ("OPTIONS", "http.options", Operation::Execute),
            ("GeT", "http.get", Operation::Read),
            ("M-SEARCH", "http.other", Operation::Execute),
        ];
        for (method, kind, op) in cases {
            let a = http_action(&facts(method, "/"), b"").unwrap();
            assert_eq!((a.kind.as_str(), a.operation), (kind, Some(op)), "{method}");
        }
    }

    #[test]
    fn resource_is_host_and_normalised_path() {
        let a = http_action(&facts("GET", "/v1/../admin//users?x=1"), b"").unwrap();
        assert_eq!(a.resource, "api.example.com/admin/users");
        assert_eq!(a.parameters, serde_json::json!({}));
    }

    #[test]
    fn json_object_bodies_become_parameters() {
        let mut f = facts("POST", "/");
        assert_eq!(
            http_action(&f, br#"{"amount": 5}"#).unwrap().parameters["amount"],
            5
        );
        assert_eq!(
            http_action(&f, b"[1,2]").unwrap().parameters,
            serde_json::json!({})
        );
        // Whatever the content type says, a body that looks like an object must be one.
        assert!(http_action(&f, b"{\"path\": \"/etc/x\",}")
            .unwrap_err()
            .0
            .contains("looks like a JSON object"));
        assert_eq!(
            http_action(&f, b"not json {").unwrap().parameters,
            serde_json::json!({})
        );
        f.content_type = Some("application/vnd.api+json; charset=utf-8".into());
        assert!(http_action(&f, b"{not json")
            .unwrap_err()
            .0
            .contains("invalid"));
        assert_eq!(
            http_action(&f, b"  ").unwrap().parameters,
            serde_json::json!({})
        );
    }

    #[test]
    fn duplicate_keys_are_refused_at_any_depth_and_under_any_content_type() {
        let mut f = facts("POST", "/");
        for body in [
            &br#"{"path": "/etc/shadow", "path": "/tmp/x"}"#[..],
            br#"{"path": "/etc/shadow", "p\u0061th": "/tmp/x"}"#,
            br#"{"a": {"path": "/etc/shadow", "path": "/tmp/x"}}"#,
        ] {
            for ct in [None, Some("text/plain"), Some("APPLICATION/JSON")] {
                f.content_type = ct.map(str::to_owned);
                let err = http_action(&f, body).unwrap_err().0;
                assert!(err.contains("duplicate"), "{err}");
            }
        }
    }

    #[test]
    fn context_comes_from_the_request_and_config() {
        let agent = AgentConfig {
            environment: Some(Environment::Staging),
            principal_type: PrincipalType::Service,
            ..AgentConfig::default()
        };
        let f = facts("GET", "/x?q=1#frag");
        let e = Envelope::for_request(&f, &agent, http_action(&f, b"").unwrap(), 7);
        assert_eq!(e.principal.id, "spiffe://a");
        assert_eq!(e.principal.kind, PrincipalType::Service);
        assert_eq!(e.context.session_id.as_deref(), Some("sess"));
        assert_eq!(e.context.trace_id.as_deref(), Some("req-1"));
        assert_eq!(e.context.environment, Some(Environment::Staging));
        assert_eq!(e.context.metadata["query"], "q=1");
        assert_eq!(e.id, "req-1");
    }
}
