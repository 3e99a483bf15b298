//! The MCP gateway inside the exchange: the filter's [`Inspector`] (policy through the judge,
//! scanning through Aegis) and the calls into the protocol gateway at each callback: the POST
//! body before it is forwarded, the answer as JSON (whole) or as SSE (event by event).

use serde_json::Value;

use super::{judge, BodyVerdict, Flow, Reply};
use crate::aegis::{redact_text, Action as ScanAction, Finding};
use crate::audit::AuditEvent;
use crate::config::Engine;
use crate::decision::{Decision, Outcome};
use crate::detection::Detection;
use crate::host::{Direction, Host};
use crate::policy::state::MemoryStore;
use crate::policy::Action;
use crate::protocol::mcp::action::McpAction;
use crate::protocol::mcp::content::Scannable;
use crate::protocol::mcp::gateway::{self, Found, Inspector, Note, RequestVerdict};
use crate::protocol::mcp::messages::Pending;
use crate::protocol::mcp::replies::Denial;
use crate::protocol::mcp::stream::AnswerStream;
use crate::request::RequestFacts;

/// Per-request gateway state: which requests await answers, and how the answer is read.
#[derive(Default)]
pub struct McpState {
    pending: Pending,
    stream: Option<AnswerStream>,
    json_answer: bool,
    notes: Vec<Note>,
}

/// Policy and scanning for the gateway, bound to one request.
struct FilterInspector<'a, H> {
    engine: &'a Engine,
    facts: &'a RequestFacts,
    host: &'a H,
    now: u64,
    token: Option<&'a str>,
    /// The first decision that refused something, else the first decision made.
    decision: Option<(Decision, String)>,
    findings: Vec<Finding>,
}

impl<'a, H: Host> FilterInspector<'a, H> {
    fn new(
        engine: &'a Engine,
        facts: &'a RequestFacts,
        host: &'a H,
        token: Option<&'a str>,
    ) -> Self {
        FilterInspector {
            engine,
            facts,
            host,
            now: host.now_nanos(),
            token,
            decision: None,
            findings: Vec::new(),
        }
    }

    fn keep(&mut self, decision: &Decision, action_type: String) {
        let refused_before = self.decision.as_ref().is_some_and(|(d, _)| !d.is_allowed());
        if self.decision.is_none() || (!decision.is_allowed() && !refused_before) {
            self.decision = Some((decision.clone(), action_type));
        }
    }
}

fn denial(decision: &Decision) -> Option<Denial> {
    (!decision.is_allowed()).then(|| Denial {
        outcome: decision.outcome,
        // Session-rule denials name no rule: the policy is then what decided.
        rule: decision
            .rule
            .clone()
            .or_else(|| decision.policy.clone())
            .unwrap_or_default(),
        reason: decision.reasons.first().cloned().unwrap_or_default(),
        approval: decision.approval.as_ref().map(|a| a.reference.clone()),
    })
}

fn policy_action(a: &McpAction<'_>, parameters: Value) -> Action {
    Action::new(
        a.action_type.clone(),
        a.resource.clone(),
        a.operation,
        parameters,
    )
}

impl<H: Host> Inspector for FilterInspector<'_, H> {
    fn check(&mut self, a: &McpAction<'_>) -> Option<Denial> {
        let findings = match judge::scan_value(self.engine, a.parameters) {
            Ok(findings) => findings,
            Err(e) => return Some(Denial::deny(judge::UNSCANNABLE_RULE, e)),
        };
        let action = policy_action(a, a.parameters.clone());
        let (decision, action_type) = judge::decide(
            self.engine,
            self.facts,
            self.host,
            self.now,
            action,
            judge::Scan::of(&findings),
            self.token,
        );
        self.findings.extend(findings);
        self.keep(&decision, action_type);
        denial(&decision)
    }

    fn hidden(&mut self, a: &McpAction<'_>) -> Option<Denial> {
        // A side-effect-free question: no rate-limit counts or session history are touched.
        let action = policy_action(a, Value::Null);
        let store = MemoryStore::default();
        let (decision, _) = judge::decide(
            self.engine,
            self.facts,
            &store,
            self.now,
            action,
            judge::Scan::of(&[]),
            None,
        );
        if decision.outcome == Outcome::Deny {
            denial(&decision)
        } else {
            None
        }
    }

    fn scan(&mut self, texts: &[Scannable<'_>]) -> Vec<Found> {
        texts
            .iter()
            .enumerate()
            .flat_map(|(i, t)| {
                let report = self.engine.scanner.scan_text(t.text);
                report.findings.into_iter().map(move |f| Found {
                    text: i,
                    detection: f.detection,
                })
            })
            .collect()
    }

    fn redact(&mut self, text: &str, found: &[&Detection]) -> String {
        redact_text(text, found.iter().copied())
    }
}

/// Whether a gateway event is a block made in the answer (counted as a denial by its rule).
pub fn is_answer_block(event: &str) -> bool {
    matches!(
        event,
        "result_blocked" | "tool_poisoned" | "server_request_dropped"
    )
}

/// GET (the server's own event stream) and DELETE (ending the session) on the MCP endpoint carry
/// no JSON-RPC: they are decided as `mcp.<server>.session.open` / `.close` (operation `read`) so a
/// policy scoped to `mcp.**` governs them too.
fn session_request(
    engine: &Engine,
    facts: &RequestFacts,
    host: &impl Host,
    server: &str,
) -> BodyVerdict {
    let verb = match facts.method.as_str() {
        "GET" => "open",
        "DELETE" => "close",
        _ => "other",
    };
    let action = Action::new(
        format!("mcp.{server}.session.{verb}"),
        facts.method.clone(),
        crate::policy::Operation::Read,
        Value::Null,
    );
    let now = host.now_nanos();
    let token = facts.approval_token.as_deref();
    let (decision, action_type) = judge::decide(
        engine,
        facts,
        host,
        now,
        action,
        judge::Scan::of(&[]),
        token,
    );
    BodyVerdict {
        action: Some(action_type),
        ..BodyVerdict::decided(decision)
    }
}

impl McpState {
    /// Decide on a POST body from the agent.
    pub fn request(
        &mut self,
        engine: &Engine,
        facts: &RequestFacts,
        host: &mut impl Host,
        body: &[u8],
    ) -> BodyVerdict {
        let Some(gateway) = &engine.mcp else {
            return super::http::request(engine, facts, host, body);
        };
        let endpoint = gateway.endpoint(&facts.authority, &facts.host_without_port());
        if facts.method != "POST" {
            return session_request(engine, facts, host, &endpoint.server);
        }
        let host = &*host;
        let token = facts.approval_token.as_deref();
        let mut inspector = FilterInspector::new(engine, facts, host, token);
        let verdict = gateway::inspect_request(
            &endpoint,
            host,
            facts.accept.as_deref(),
            body,
            &mut inspector,
            &mut self.notes,
        );
        let (decision, action) = inspector
            .decision
            .take()
            .map_or((None, None), |(d, a)| (Some(d), Some(a)));
        let findings = inspector.findings;
        match verdict {
            RequestVerdict::Forward(pending) => {
                self.pending = pending;
                BodyVerdict {
                    decision: decision
                        .filter(Decision::is_allowed)
                        .unwrap_or_else(Decision::allow),
                    action,
                    reply: None,
                    rewrite: None,
                    findings,
                }
            }
            RequestVerdict::Reply(reply) => {
                let decision = decision.filter(|d| !d.is_allowed()).unwrap_or_else(|| {
                    let note = self.notes.iter().rev().find(|n| !n.rule.is_empty());
                    Decision::deny(
                        "invalid_request",
                        reply.status,
                        note.map_or(gateway::RULE_INVALID, |n| n.rule.as_str()),
                        note.map_or_else(
                            || "refused by the MCP gateway".into(),
                            |n| n.reason.clone(),
                        ),
                    )
                });
                BodyVerdict {
                    decision,
                    action,
                    reply: Some(Reply {
                        status: reply.status,
                        content_type: reply.content_type,
                        headers: Vec::new(),
                        body: reply.body,
                    }),
                    rewrite: None,
                    findings,
                }
            }
        }
    }

    /// Note how the answer comes (JSON or SSE); its length may change, so it is dropped.
    pub fn response_headers(&mut self, engine: &Engine, host: &mut impl Host) -> Flow {
        let content_type = host
            .header(Direction::Response, "content-type")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let max_event_bytes = engine.mcp.as_ref().map_or(1 << 20, |m| m.max_event_bytes);
        if content_type.starts_with("text/event-stream") {
            self.stream = Some(AnswerStream::new(max_event_bytes));
        } else if content_type.starts_with("application/json") {
            self.json_answer = true;
        } else {
            return Flow::Continue;
        }
        host.set_header(Direction::Response, "content-length", None);
        Flow::Continue
    }

    /// Inspect the answer: SSE chunk by chunk as it streams, JSON once complete.
    pub fn response_body(
        &mut self,
        engine: &Engine,
        facts: &RequestFacts,
        host: &mut impl Host,
        body_size: usize,
        end_of_stream: bool,
    ) -> Flow {
        let Some(gateway) = &engine.mcp else {
            return Flow::Continue;
        };
        if self.stream.is_none() && (!self.json_answer || !end_of_stream) {
            return if self.json_answer {
                Flow::Pause
            } else {
                Flow::Continue
            };
        }
        let endpoint = gateway.endpoint(&facts.authority, &facts.host_without_port());
        let body = host.body(Direction::Response, 0, body_size);
        let readable = body.is_some() || body_size == 0;
        let body = body.unwrap_or_default();
        let replacement = {
            let reader = &*host;
            let mut inspector = FilterInspector::new(engine, facts, reader, None);
            match &mut self.stream {
                Some(stream) if readable => Some(stream.feed(
                    &endpoint,
                    reader,
                    &body,
                    &mut self.pending,
                    &mut inspector,
                    &mut self.notes,
                )),
                _ if !readable => {
                    let why = "the proxy did not hand over the answer";
                    let errors =
                        gateway::refuse(&endpoint, &mut self.pending, why, &mut self.notes);
                    gateway::rejoin(&errors, errors.len() > 1).map(String::into_bytes)
                }
                _ => gateway::rewrite_json_answer(
                    &endpoint,
                    reader,
                    &body,
                    &mut self.pending,
                    &mut inspector,
                    &mut self.notes,
                ),
            }
        };
        if let Some(bytes) = replacement.filter(|b| *b != body) {
            host.set_body(Direction::Response, &bytes);
        }
        Flow::Continue
    }

    /// Move the gateway's notes into the audit line's events and findings.
    pub fn drain_notes(&mut self, events: &mut Vec<AuditEvent>, findings: &mut Vec<Finding>) {
        for note in self.notes.drain(..) {
            let action = match note.event {
                e if is_answer_block(e) => ScanAction::Block,
                "result_redacted" => ScanAction::Redact,
                _ => ScanAction::Log,
            };
            findings.extend(
                note.detections
                    .into_iter()
                    .map(|detection| Finding { detection, action }),
            );
            events.push(AuditEvent {
                event: note.event,
                subject: note.subject,
                rule: note.rule,
                reason: note.reason,
            });
        }
    }
}
