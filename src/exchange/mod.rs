//! One HTTP exchange as the filter sees it: gather facts from the headers, buffer the body up to
//! the limit, hand it to the route that understands it (plain HTTP, the MCP gateway, an LLM
//! API), reply on denial, inspect the answer where the route wants to, and write the audit line
//! when the stream ends. This is the whole request path; the proxy-wasm adapter only forwards
//! its callbacks here.

mod aegis_text;
mod http;
mod judge;
mod llm;
mod mcp;
mod properties;
mod shadow;

use std::rc::Rc;

use crate::aegis::Finding;
use crate::audit::{AuditEvent, AuditRecord, LlmAudit};
use crate::config::{Engine, Mode, OversizeAction};
use crate::decision::{Decision, Outcome};
use crate::host::{Direction, Host, LogLevel, Metric};
use crate::protocol::llm::detect;
use crate::protocol::mcp::gateway::RULE_INVALID;
use crate::request::RequestFacts;
use llm::AnswerVerdict;
use shadow::{Changes, Observer};

/// Whether the proxy should continue the stream or hold it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Pause,
}

/// The rule id used for decisions made by the body-size limit.
const BODY_LIMIT_RULE: &str = "body.max_bytes";
/// The rule id of denials of requests that carry trailers.
const TRAILERS_RULE: &str = "request.trailers";

/// A protocol-shaped answer a route wants instead of the generic JSON error.
pub(crate) struct Reply {
    pub status: u32,
    pub content_type: &'static str,
    /// Headers beside `content-type` and `x-authensor-decision`.
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

/// What a route decided about a complete request body.
pub(crate) struct BodyVerdict {
    pub decision: Decision,
    /// The action type the policies saw.
    pub action: Option<String>,
    pub reply: Option<Reply>,
    /// The body to forward instead of the original (redactions), when allowed.
    pub rewrite: Option<Vec<u8>>,
    pub findings: Vec<Finding>,
}

impl BodyVerdict {
    fn decided(decision: Decision) -> BodyVerdict {
        BodyVerdict {
            decision,
            action: None,
            reply: None,
            rewrite: None,
            findings: Vec::new(),
        }
    }

    /// Content the scanner could not read completely is not let through.
    fn unscannable(why: String) -> BodyVerdict {
        BodyVerdict::decided(Decision::deny(
            "unscannable_body",
            400,
            judge::UNSCANNABLE_RULE,
            why,
        ))
    }
}

/// Which protocol the request speaks, with that protocol's per-request state.
enum Route {
    Http,
    Mcp(Box<mcp::McpState>),
    Llm(Box<llm::LlmState>),
}

/// Per-request state. Created for every stream, dropped when it ends.
pub struct Exchange {
    engine: Rc<Engine>,
    facts: RequestFacts,
    route: Route,
    /// The action type the policy was evaluated for.
    action: Option<String>,
    decision: Option<Decision>,
    /// Status of the reply the filter sent itself, if it stopped the request.
    replied: Option<u32>,
    body_bytes: u64,
    /// Response bytes the route holds (buffered by its last `Pause`), read again at trailers.
    response_held: usize,
    added_nanos: u64,
    findings: Vec<Finding>,
    redactions: usize,
    events: Vec<AuditEvent>,
    /// The stream properties set so far (access logs, RBAC).
    published: properties::Published,
}

impl Exchange {
    pub fn new(engine: Rc<Engine>) -> Exchange {
        Exchange {
            engine,
            facts: RequestFacts::default(),
            route: Route::Http,
            action: None,
            decision: None,
            replied: None,
            body_bytes: 0,
            response_held: 0,
            added_nanos: 0,
            findings: Vec::new(),
            redactions: 0,
            events: Vec::new(),
            published: properties::Published::default(),
        }
    }

    pub fn on_request_headers<H: Host>(&mut self, host: &mut H, end_of_stream: bool) -> Flow {
        self.timed(host, |me, host| me.request_headers(host, end_of_stream))
    }

    pub fn on_request_body<H: Host>(
        &mut self,
        host: &mut H,
        body_size: usize,
        end_of_stream: bool,
    ) -> Flow {
        self.timed(host, |me, host| {
            me.request_body(host, body_size, end_of_stream)
        })
    }

    /// Request trailers end the request. The filter does not inspect trailer fields (an upstream
    /// may merge them into the headers it decided on), so a request carrying any is refused;
    /// without fields, the body buffered so far is complete and decided as usual.
    pub fn on_request_trailers<H: Host>(&mut self, host: &mut H, fields: usize) -> Flow {
        self.timed(host, |me, host| {
            if me.decision.is_some() {
                return me.flow_after_decision();
            }
            if fields > 0 {
                let d = Decision::deny(
                    "trailers_unsupported",
                    400,
                    TRAILERS_RULE,
                    "the request carries trailers, which the filter does not inspect; send those fields as headers".into(),
                );
                return me.decide(host, d, None);
            }
            me.complete_request_body(host, me.body_bytes as usize)
        })
    }

    pub fn on_response_headers<H: Host>(&mut self, host: &mut H, end_of_stream: bool) -> Flow {
        if self.passes_answer() {
            return Flow::Continue;
        }
        self.timed(host, |me, host| {
            let shadow = me.shadow();
            let mut view = Observer { host, shadow };
            match &mut me.route {
                Route::Http => Flow::Continue,
                Route::Mcp(state) => state.response_headers(&me.engine, &mut view),
                Route::Llm(state) => {
                    let (flow, verdict) =
                        state.response_headers(&me.engine, &mut view, end_of_stream);
                    me.answer_verdict(view.host, verdict, flow)
                }
            }
        })
    }

    pub fn on_response_body<H: Host>(
        &mut self,
        host: &mut H,
        body_size: usize,
        end_of_stream: bool,
    ) -> Flow {
        if self.passes_answer() {
            return Flow::Continue;
        }
        self.timed(host, |me, host| {
            me.response_body(host, body_size, end_of_stream)
        })
    }

    /// Response trailers end the answer: a route still holding part of it reads that part as
    /// the end of the stream, so nothing it held goes downstream unread. The trailer fields
    /// themselves are treated like response headers (not scanned).
    pub fn on_response_trailers<H: Host>(&mut self, host: &mut H) -> Flow {
        if self.passes_answer() {
            return Flow::Continue;
        }
        self.timed(host, |me, host| {
            let held = me.response_held;
            me.response_body(host, held, true)
        })
    }

    /// Whether the answer goes downstream untouched: the filter replied itself, or the route
    /// does not read answers (plain HTTP). Nothing to do, so nothing to time either.
    fn passes_answer(&self) -> bool {
        self.replied.is_some() || matches!(self.route, Route::Http)
    }

    fn response_body<H: Host>(
        &mut self,
        host: &mut H,
        body_size: usize,
        end_of_stream: bool,
    ) -> Flow {
        let shadow = self.shadow();
        let mut view = Observer { host, shadow };
        let (engine, facts) = (&self.engine, &self.facts);
        let flow = match &mut self.route {
            Route::Http => Flow::Continue,
            Route::Mcp(state) => {
                state.response_body(engine, facts, &mut view, body_size, end_of_stream)
            }
            Route::Llm(state) => {
                let (flow, verdict) =
                    state.response_body(engine, facts, &mut view, body_size, end_of_stream);
                self.answer_verdict(view.host, verdict, flow)
            }
        };
        self.response_held = if flow == Flow::Pause { body_size } else { 0 };
        flow
    }

    /// Apply what a route decided about the answer: a refusal replaces it (its headers have not
    /// gone downstream), an ended stream only changes the decision the audit line records. In
    /// shadow the answer passes and the first would-be refusal is kept.
    fn answer_verdict<H: Host>(
        &mut self,
        host: &mut H,
        verdict: AnswerVerdict,
        flow: Flow,
    ) -> Flow {
        let (decision, refuse) = match verdict {
            AnswerVerdict::Pass => return flow,
            AnswerVerdict::Ended(decision) => (decision, false),
            AnswerVerdict::Refuse(decision) => (decision, true),
        };
        if self.shadow() {
            let current = self.decision.take().unwrap_or_else(Decision::allow);
            let refused_before = current.would.as_ref().is_some_and(|w| !w.is_allowed());
            self.decision = Some(if refused_before {
                current
            } else {
                Decision {
                    would: decision.shadowed().would,
                    ..current
                }
            });
            self.publish(host);
            return Flow::Continue;
        }
        host.count(
            Metric::Denial {
                policy: decision.policy.as_deref(),
                rule: decision.rule.as_deref(),
            },
            1,
        );
        let flow = if refuse {
            if let Route::Llm(state) = &mut self.route {
                state.refused("answer");
            }
            self.refuse(host, &decision, None);
            Flow::Pause
        } else {
            flow
        };
        self.decision = Some(decision);
        self.publish(host);
        flow
    }

    fn shadow(&self) -> bool {
        self.engine.mode == Mode::Shadow
    }

    /// The would-be outcome so far, from what has been gathered.
    fn would<'d>(
        &self,
        decision: &'d Decision,
        llm: Option<&LlmAudit>,
    ) -> Option<(&'static str, Option<&'d Decision>)> {
        let changes = Changes {
            findings: &self.findings,
            events: &self.events,
            llm,
        };
        shadow::would(decision, self.shadow(), &changes)
    }

    /// Tell the proxy the stream's decision (access logs, RBAC).
    fn publish<H: Host>(&mut self, host: &mut H) {
        if let Some(decision) = &self.decision {
            let would = self.would(decision, None).map(|(w, _)| w);
            let published = &mut self.published;
            properties::publish(host, published, decision, would, &self.findings);
        }
    }

    /// The stream is over: write its audit line.
    pub fn on_log<H: Host>(&mut self, host: &mut H) {
        let published = self.decision.is_some() && matches!(self.route, Route::Http);
        let mut decision = self.decision.take().unwrap_or_else(|| {
            Decision::deny(
                "incomplete",
                0,
                "stream",
                "the request ended before a decision was made; nothing was forwarded".into(),
            )
        });
        match &mut self.route {
            Route::Mcp(state) => state.drain_notes(&mut self.events, &mut self.findings),
            Route::Llm(state) => state.drain_notes(&mut self.events, &mut self.findings),
            Route::Http => {}
        }
        host.record(Metric::AddedLatencyUs, self.added_nanos / 1_000);
        if !self.shadow() {
            // Answer-side blocks of the MCP gateway are denials by their rule.
            for e in self.events.iter().filter(|e| mcp::is_answer_block(e.event)) {
                let rule = Some(e.rule.as_str());
                host.count(Metric::Denial { policy: None, rule }, 1);
            }
        }
        for f in &self.findings {
            let (kind, sub_type) = (f.detection.kind, f.detection.sub_type.as_str());
            host.count(Metric::Detection { kind, sub_type }, 1);
        }
        if self.redactions > 0 {
            host.count(Metric::Redactions, self.redactions as i64);
        }
        let llm = match &self.route {
            Route::Llm(state) => Some(state.audit()),
            _ => None,
        };
        if decision.would.is_none() {
            // A tool call in the answer that a shadow policy would have refused.
            decision.would = llm.and_then(|l| l.shadowed.clone()).map(Box::new);
        }
        let would = self.would(&decision, llm);
        if let Some((outcome, d)) = would {
            // A would-be redaction has no one rule; a would-be allow is the decision itself.
            let labelled = match (outcome, d) {
                (shadow::REDACT, _) => None,
                (_, Some(d)) => Some(d),
                (_, None) => Some(&decision),
            };
            let policy = labelled.and_then(|d| d.policy.as_deref());
            let rule = labelled.and_then(|d| d.rule.as_deref());
            host.count(
                Metric::Shadow {
                    would: outcome,
                    policy,
                    rule,
                },
                1,
            );
        }
        if self.shadow() || !published {
            // Answer-side findings, the final would-be outcome, or an undecided stream.
            let top = would.map(|(w, _)| w);
            let published = &mut self.published;
            properties::publish(host, published, &decision, top, &self.findings);
        }
        let eventful = !self.events.is_empty()
            || !self.findings.is_empty()
            || llm.is_some_and(|l| l.is_eventful())
            || would.is_some_and(|(w, _)| w != Outcome::Allow.as_str());
        if decision.is_allowed() && !eventful && !self.engine.audit.log_allowed {
            return;
        }
        let status = self.replied.unwrap_or_else(|| response_code(host));
        let mut record = AuditRecord::new(
            host.now_nanos(),
            &self.facts,
            self.action.as_deref(),
            &decision,
            status,
            self.body_bytes,
            self.added_nanos,
        );
        record.add_details(&self.findings, self.redactions, &self.events);
        record.llm = llm;
        if let Some((outcome, d)) = would {
            record.shadow(outcome, d);
        }
        host.log(LogLevel::Info, &record.to_line());
    }

    fn timed<H: Host>(
        &mut self,
        host: &mut H,
        step: impl FnOnce(&mut Self, &mut H) -> Flow,
    ) -> Flow {
        let start = host.now_nanos();
        let flow = step(self, host);
        self.added_nanos += host.now_nanos().saturating_sub(start);
        flow
    }

    fn request_headers<H: Host>(&mut self, host: &mut H, end_of_stream: bool) -> Flow {
        self.facts = RequestFacts::gather(host, &self.engine);
        if self.facts.approval_token.is_some() {
            // The token is for this filter only; the upstream never sees it.
            host.set_header(
                Direction::Request,
                &self.engine.policy.approval_header,
                None,
            );
        }
        if let Some(gateway) = &self.engine.mcp {
            if gateway.handles_path(&self.facts.path) {
                self.route = Route::Mcp(Box::default());
            }
        }
        let f = &self.facts;
        let llm_call = matches!(self.route, Route::Http)
            .then(|| detect::detect(&self.engine.llm, &f.method, &f.host_without_port(), &f.path))
            .flatten();
        if let Some(format) = llm_call {
            let mut state = llm::LlmState::new(format);
            let encoding = f.content_encoding.as_deref();
            let refused = state.request_headers(&self.engine, host, encoding);
            self.action = Some(state.action_type());
            self.route = Route::Llm(Box::new(state));
            if let Some(decision) = refused {
                return self.decide(host, decision, None);
            }
        }
        // A request without a body is decided now; others once the whole body is buffered.
        if end_of_stream {
            return self.decide_on_body(host, b"");
        }
        match self.facts.content_length {
            Some(len) if len > self.engine.body.max_bytes => self.oversize(host, len),
            // Hold the headers until the body is complete, so a denied request sends nothing upstream.
            _ if self.engine.body.hold_headers => Flow::Pause,
            _ => Flow::Continue,
        }
    }

    fn request_body<H: Host>(
        &mut self,
        host: &mut H,
        body_size: usize,
        end_of_stream: bool,
    ) -> Flow {
        if self.decision.is_some() {
            return self.flow_after_decision();
        }
        self.body_bytes = body_size as u64;
        if self.body_bytes > self.engine.body.max_bytes {
            return self.oversize(host, self.body_bytes);
        }
        if !end_of_stream {
            return Flow::Pause;
        }
        self.complete_request_body(host, body_size)
    }

    /// The whole request body is buffered: read it and decide.
    fn complete_request_body<H: Host>(&mut self, host: &mut H, body_size: usize) -> Flow {
        match host.body(Direction::Request, 0, body_size) {
            Some(body) => self.decide_on_body(host, &body),
            None if body_size == 0 => self.decide_on_body(host, b""),
            None => {
                let d = Decision::deny(
                    "body_unreadable",
                    500,
                    "body",
                    "the proxy did not hand over the buffered request body".into(),
                );
                self.decide(host, d, None)
            }
        }
    }

    fn decide_on_body<H: Host>(&mut self, host: &mut H, body: &[u8]) -> Flow {
        let engine = Rc::clone(&self.engine);
        let mut verdict = match &mut self.route {
            Route::Mcp(state) => state.request(&engine, &self.facts, host, body),
            Route::Llm(state) => state.request(&engine, &self.facts, host, body),
            _ => http::request(&engine, &self.facts, host, body),
        };
        if verdict.action.is_some() {
            self.action = verdict.action.clone();
        }
        self.findings = std::mem::take(&mut verdict.findings);
        let apply = verdict.decision.is_allowed() && !self.shadow();
        if let (Some(new_body), true) = (&verdict.rewrite, apply) {
            if !engine.body.hold_headers && new_body.len() != body.len() {
                // The headers, with the original length, are already upstream: a body of another
                // length cannot follow them, and the unredacted one must not.
                verdict.decision = Decision::deny(
                    "redaction_impossible",
                    403,
                    "body.hold_headers",
                    "the body needs redaction but its headers were already sent (body.hold_headers is false)".into(),
                );
            } else {
                self.redactions = self
                    .findings
                    .iter()
                    .filter(|f| f.action == crate::aegis::Action::Redact)
                    .count();
                host.set_body(Direction::Request, new_body);
                host.set_header(
                    Direction::Request,
                    "content-length",
                    Some(&new_body.len().to_string()),
                );
            }
        }
        self.decide(host, verdict.decision, verdict.reply)
    }

    fn oversize<H: Host>(&mut self, host: &mut H, size: u64) -> Flow {
        host.count(Metric::BodyTooLarge, 1);
        let limit = self.engine.body.max_bytes;
        let d = match self.engine.body.on_oversize {
            OversizeAction::Deny => Decision::deny(
                "body_too_large",
                413,
                BODY_LIMIT_RULE,
                format!("request body of at least {size} bytes exceeds the {limit}-byte limit"),
            ),
            OversizeAction::Pass => Decision::allow_noting(
                BODY_LIMIT_RULE,
                format!("request body of at least {size} bytes exceeds the {limit}-byte limit; passed unscanned"),
            ),
        };
        self.decide(host, d, None)
    }

    fn decide<H: Host>(&mut self, host: &mut H, decision: Decision, reply: Option<Reply>) -> Flow {
        if let Some(protocol) = parse_failure(&decision) {
            host.count(Metric::ParseFailures { protocol }, 1);
        }
        let decision = if self.shadow() && !decision.is_allowed() {
            decision.shadowed()
        } else {
            decision
        };
        host.count(Metric::Requests(decision.outcome), 1);
        if !decision.is_allowed() {
            host.count(
                Metric::Denial {
                    policy: decision.policy.as_deref(),
                    rule: decision.rule.as_deref(),
                },
                1,
            );
            if let Route::Llm(state) = &mut self.route {
                state.refused("request");
            }
            self.refuse(host, &decision, reply);
        }
        self.decision = Some(decision);
        self.publish(host);
        self.flow_after_decision()
    }

    /// Answer the downstream with a refusal: the route's own shape when it has one, else the
    /// generic JSON error.
    fn refuse<H: Host>(&mut self, host: &mut H, decision: &Decision, reply: Option<Reply>) {
        let request_id = &self.facts.request_id;
        let reply = reply.unwrap_or_else(|| match &self.route {
            Route::Llm(state) => state.reply(decision, request_id),
            _ => Reply {
                status: decision.status,
                content_type: "application/json",
                headers: Vec::new(),
                body: decision.reply_body(request_id).into_bytes(),
            },
        });
        let retry_after = decision.retry_after.map(|s| s.to_string());
        let mut headers = vec![
            ("content-type", reply.content_type),
            ("x-authensor-decision", decision.outcome.as_str()),
        ];
        if let Some(seconds) = &retry_after {
            headers.push(("retry-after", seconds));
        }
        headers.extend(reply.headers.iter().map(|(k, v)| (*k, v.as_str())));
        host.send_reply(reply.status, &headers, &reply.body);
        self.replied = Some(reply.status);
    }

    fn flow_after_decision(&self) -> Flow {
        if self.replied.is_some() {
            Flow::Pause
        } else {
            Flow::Continue
        }
    }
}

/// The protocol whose parsing refused the request, if that is why it was refused.
fn parse_failure(decision: &Decision) -> Option<&'static str> {
    match (decision.error_type, decision.rule.as_deref()) {
        ("invalid_body", _) => Some("http"),
        ("llm_request_malformed", _) => Some("llm"),
        ("invalid_request", Some(RULE_INVALID)) => Some("mcp"),
        _ => None,
    }
}

/// The response status recorded by the proxy, or 0 when there was none.
fn response_code(host: &impl Host) -> u32 {
    host.property(&["response", "code"])
        .and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok())
        .map_or(0, |b| u64::from_le_bytes(b) as u32)
}

#[cfg(test)]
mod shadow_tests;
#[cfg(test)]
mod tests;
