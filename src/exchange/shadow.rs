//! Shadow mode inside the exchange: the routes compute everything as usual, but in shadow they
//! talk to the proxy through [`Observer`], which lets them read and never lets them rewrite a
//! body or answer the client; the exchange turns every refusal into an allow carrying the
//! would-be decision ([`Decision::shadowed`]). At the end, [`would`] names what enforcement would
//! have done for the audit line and `authensor_shadow_decisions_total`.

use crate::aegis::{Action as ScanAction, Finding};
use crate::audit::{AuditEvent, LlmAudit};
use crate::decision::Decision;
use crate::host::{Direction, Header, Host, LogLevel, Metric};

/// The `would` of a request whose content enforcement would have changed (redacted or masked
/// spans, MCP results or tools withheld) but not refused.
pub const REDACT: &str = "redact";

/// Gateway events that mean enforcement changed the answer.
const CHANGING_EVENTS: &[&str] = &[
    "tool_removed",
    "tool_poisoned",
    "instructions_removed",
    "result_blocked",
    "result_redacted",
    "server_request_dropped",
    "answer_refused",
];

/// A host that, when `shadow`, drops every body rewrite and reply: the traffic passes unchanged.
pub struct Observer<'h, H> {
    pub host: &'h mut H,
    pub shadow: bool,
}

impl<H: Host> Host for Observer<'_, H> {
    fn now_nanos(&self) -> u64 {
        self.host.now_nanos()
    }

    fn log(&self, level: LogLevel, message: &str) {
        self.host.log(level, message);
    }

    fn header(&self, dir: Direction, name: &str) -> Option<String> {
        self.host.header(dir, name)
    }

    fn headers(&self, dir: Direction) -> Vec<Header> {
        self.host.headers(dir)
    }

    fn set_header(&mut self, dir: Direction, name: &str, value: Option<&str>) {
        self.host.set_header(dir, name, value);
    }

    fn body(&self, dir: Direction, start: usize, len: usize) -> Option<Vec<u8>> {
        self.host.body(dir, start, len)
    }

    fn set_body(&mut self, dir: Direction, body: &[u8]) {
        if !self.shadow {
            self.host.set_body(dir, body);
        }
    }

    fn property(&self, path: &[&str]) -> Option<Vec<u8>> {
        self.host.property(path)
    }

    fn set_property(&mut self, name: &str, value: &str) {
        self.host.set_property(name, value);
    }

    fn send_reply(&mut self, status: u32, headers: &[(&str, &str)], body: &[u8]) {
        if !self.shadow {
            self.host.send_reply(status, headers, body);
        }
    }

    fn count(&self, metric: Metric<'_>, delta: i64) {
        self.host.count(metric, delta);
    }

    fn record(&self, metric: Metric<'_>, value: u64) {
        self.host.record(metric, value);
    }

    fn shared_get(&self, key: &str) -> Option<(Vec<u8>, u32)> {
        self.host.shared_get(key)
    }

    fn shared_set(&self, key: &str, value: &[u8], cas: u32) -> bool {
        self.host.shared_set(key, value, cas)
    }
}

/// What the stream's content shows enforcement would have changed.
pub struct Changes<'a> {
    pub findings: &'a [Finding],
    pub events: &'a [AuditEvent],
    pub llm: Option<&'a LlmAudit>,
}

impl Changes<'_> {
    fn any(&self) -> bool {
        self.findings.iter().any(|f| f.action != ScanAction::Log)
            || self
                .events
                .iter()
                .any(|e| CHANGING_EVENTS.contains(&e.event))
            || self
                .llm
                .is_some_and(|l| !l.masked.is_empty() || l.answer_redactions > 0)
    }
}

/// The would-be outcome and decision of a shadowed stream, `None` when nothing was in shadow:
/// the would-be refusal if there was one; else, in shadow mode, `redact` when content would have
/// changed; else the would-be allow.
pub fn would<'d>(
    decision: &'d Decision,
    shadow_mode: bool,
    changes: &Changes<'_>,
) -> Option<(&'static str, Option<&'d Decision>)> {
    let earlier = decision.would.as_deref();
    match earlier {
        Some(d) if !d.is_allowed() => Some((d.outcome.as_str(), Some(d))),
        _ if shadow_mode && changes.any() => Some((REDACT, earlier)),
        Some(d) => Some((d.outcome.as_str(), Some(d))),
        None if shadow_mode => Some((decision.outcome.as_str(), None)),
        None => None,
    }
}
