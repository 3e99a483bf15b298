//! Facts about a request gathered once from its headers and the proxy's properties:
//! method, authority, normalised path, request id and who is asking.

use crate::config::Engine;
use crate::host::{first_header, Direction, Host};
use crate::path;

/// Where the principal's identity came from, most trusted first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PrincipalSource {
    /// The peer's mTLS certificate (a SPIFFE id under Istio).
    Mtls,
    /// The sidecar's configured agent identity.
    Config,
    /// A request header the configuration explicitly trusts.
    Header,
    /// Nothing identified the caller.
    #[default]
    Anonymous,
}

impl PrincipalSource {
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalSource::Mtls => "mtls",
            PrincipalSource::Config => "config",
            PrincipalSource::Header => "header",
            PrincipalSource::Anonymous => "anonymous",
        }
    }
}

/// The identity a decision is made for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Principal {
    pub id: String,
    pub kind: &'static str,
    pub source: PrincipalSource,
}

/// What the filter knows about a request before looking at its body.
#[derive(Debug, Clone, Default)]
pub struct RequestFacts {
    pub method: String,
    pub authority: String,
    /// Normalised path, no query.
    pub path: String,
    /// The `:path` exactly as received.
    pub raw_path: String,
    pub request_id: String,
    pub trace_id: Option<String>,
    pub principal: Principal,
    pub content_length: Option<u64>,
    pub content_type: Option<String>,
    pub content_encoding: Option<String>,
    /// MCP's `mcp-session-id` header.
    pub session_id: Option<String>,
    /// The peer address without its port.
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    pub accept: Option<String>,
    /// The approval token presented in the configured header (removed before forwarding).
    pub approval_token: Option<String>,
}

impl RequestFacts {
    /// Read the request's facts from the host. Called at request headers: later, once the headers
    /// have gone upstream, the proxy no longer lets the filter read them.
    pub fn gather(host: &impl Host, engine: &Engine) -> RequestFacts {
        // One host call for all of them; header by header only if the host would not list them.
        let all = host.headers(Direction::Request);
        let header = |name: &str| first_header(host, Direction::Request, &all, name);
        let raw_path = header(":path").unwrap_or_default();
        RequestFacts {
            method: header(":method").unwrap_or_default(),
            authority: header(":authority").unwrap_or_default(),
            path: path::normalize(&raw_path),
            raw_path,
            request_id: header("x-request-id").unwrap_or_default(),
            trace_id: header("traceparent").and_then(|t| t.split('-').nth(1).map(str::to_owned)),
            principal: principal(host, engine, &header),
            content_length: header("content-length").and_then(|v| v.trim().parse().ok()),
            content_type: header("content-type"),
            content_encoding: header("content-encoding"),
            session_id: header("mcp-session-id").filter(|s| !s.is_empty()),
            source_ip: host
                .property(&["source", "address"])
                .and_then(|b| String::from_utf8(b).ok())
                .map(|a| strip_port(&a).to_owned()),
            user_agent: header("user-agent"),
            accept: header("accept"),
            approval_token: header(&engine.policy.approval_header),
        }
    }

    /// The authority without its port, lower-cased.
    pub fn host_without_port(&self) -> String {
        let a = self.authority.as_str();
        let host = match a.rfind(':') {
            Some(i) if !a.ends_with(']') && a[i + 1..].bytes().all(|b| b.is_ascii_digit()) => {
                &a[..i]
            }
            _ => a,
        };
        host.to_ascii_lowercase()
    }
}

/// `10.0.0.1:5000` gives `10.0.0.1`, `[::1]:5000` gives `::1`.
fn strip_port(address: &str) -> &str {
    if let Some(v6) = address.strip_prefix('[') {
        return v6.split(']').next().unwrap_or(v6);
    }
    match address.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            host
        }
        _ => address,
    }
}

/// Resolve the principal: mTLS identity, then configured agent, then a trusted header.
fn principal(
    host: &impl Host,
    engine: &Engine,
    header: &impl Fn(&str) -> Option<String>,
) -> Principal {
    let kind = engine.agent.principal_type.as_str();
    let make = |id: String, source| Principal { id, kind, source };
    let mtls = host
        .property(&["connection", "uri_san_peer_certificate"])
        .and_then(|b| String::from_utf8(b).ok())
        .filter(|s| !s.is_empty());
    if let Some(id) = mtls {
        return make(id, PrincipalSource::Mtls);
    }
    if let Some(id) = &engine.agent.principal {
        return make(id.clone(), PrincipalSource::Config);
    }
    let trusted = engine
        .agent
        .trusted_principal_header
        .as_deref()
        .and_then(header)
        .filter(|s| !s.is_empty());
    match trusted {
        Some(id) => make(id, PrincipalSource::Header),
        None => make(String::new(), PrincipalSource::Anonymous),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake_host::FakeHost;

    fn engine(json: &str) -> Engine {
        Engine::from_json(json.as_bytes()).unwrap()
    }

    #[test]
    fn gathers_normalised_facts() {
        let host = FakeHost::request(
            "GET",
            "/a/../admin?x=1",
            &[(":authority", "API:443"), ("x-request-id", "r1")],
        );
        let facts = RequestFacts::gather(&host, &engine(""));
        assert_eq!(facts.path, "/admin");
        assert_eq!(facts.raw_path, "/a/../admin?x=1");
        assert_eq!(facts.host_without_port(), "api");
        assert_eq!(facts.request_id, "r1");
        assert_eq!(facts.principal.source, PrincipalSource::Anonymous);
        assert_eq!(facts.source_ip, None);
    }

    #[test]
    fn gathers_session_and_source_address() {
        let mut host = FakeHost::request(
            "GET",
            "/",
            &[("mcp-session-id", "s-1"), ("user-agent", "ua")],
        );
        host.properties
            .insert("source.address".into(), b"10.1.2.3:4567".to_vec());
        let facts = RequestFacts::gather(&host, &engine(""));
        assert_eq!(facts.session_id.as_deref(), Some("s-1"));
        assert_eq!(facts.source_ip.as_deref(), Some("10.1.2.3"));
        assert_eq!(facts.user_agent.as_deref(), Some("ua"));
        assert_eq!(strip_port("[::1]:80"), "::1");
        assert_eq!(strip_port("::1"), "::1");
    }

    #[test]
    fn principal_prefers_mtls_then_config_then_trusted_header() {
        let mut host = FakeHost::request("GET", "/", &[("x-agent", "from-header")]);
        let with_header = engine(r#"{"agent":{"trusted_principal_header":"x-agent"}}"#);
        assert_eq!(
            RequestFacts::gather(&host, &with_header).principal.id,
            "from-header"
        );
        let configured =
            engine(r#"{"agent":{"principal":"agent-7","trusted_principal_header":"x-agent"}}"#);
        let p = RequestFacts::gather(&host, &configured).principal;
        assert_eq!(
            (p.id.as_str(), p.source),
            ("agent-7", PrincipalSource::Config)
        );
        host.properties.insert(
            "connection.uri_san_peer_certificate".into(),
            b"spiffe://cluster.local/ns/a/sa/b".to_vec(),
        );
        let p = RequestFacts::gather(&host, &configured).principal;
        assert_eq!(p.source, PrincipalSource::Mtls);
        assert_eq!(p.id, "spiffe://cluster.local/ns/a/sa/b");
        // An untrusted header is never used.
        let plain = FakeHost::request("GET", "/", &[("x-agent", "spoofed")]);
        assert_eq!(
            RequestFacts::gather(&plain, &engine("")).principal.source,
            PrincipalSource::Anonymous
        );
    }
}
