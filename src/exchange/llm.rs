//! LLM API calls inside the exchange (the protocol itself is `protocol::llm`). Request: a
//! compressed body is refused or passed with a note, the body must have its API's shape, every
//! text is scanned with its role, the policies decide on `llm.<provider>.<operation>`, and what
//! the scanner redacts (or masking replaces by placeholders) is rewritten before the call leaves.
//! Answer: asked for uncompressed; JSON answers are buffered, then scanned, rewritten or refused
//! in the provider's error shape; streamed answers are guarded chunk by chunk and ended with the
//! provider's error event on a block; every tool call the model makes is judged like any action.

use serde_json::json;

use super::aegis_text::{acts_on_answers, AegisText};
use super::{judge, BodyVerdict, Flow, Reply};
use crate::aegis::{marker, Action as ScanAction, Finding};
use crate::audit::{AuditEvent, LlmAudit};
use crate::config::Engine;
use crate::decision::Decision;
use crate::host::{first_header, Direction, Host};
use crate::policy::http::resource;
use crate::policy::{Action, Operation};
use crate::protocol::llm::compression::{self, ACCEPT_IDENTITY};
use crate::protocol::llm::edit::Edit;
use crate::protocol::llm::errors;
use crate::protocol::llm::json_path::{JsonPath, Seg, Texts};
use crate::protocol::llm::masking::Masking;
use crate::protocol::llm::request::LlmRequest;
use crate::protocol::llm::response::{body_kind, BodyKind, LlmResponse, ToolCall};
use crate::protocol::llm::scan::{Both, Found};
use crate::protocol::llm::stream::{Block, StreamGuard, StreamStep};
use crate::protocol::llm::{Format, Role, TextItem, TextKind};
use crate::request::RequestFacts;

/// Most answer detections kept for the audit line.
const MAX_ANSWER_FINDINGS: usize = 64;

/// How the answer is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// Not known yet, or nothing to read.
    Unread,
    /// Passed without reading (compressed, `on_compressed: pass`).
    Passed,
    Stream,
    /// A stream ended by the filter: whatever the upstream still sends is dropped.
    Ended,
    /// A JSON answer, buffered whole.
    Json,
    /// Another content type, buffered whole and scanned as text.
    Other,
}

/// What the route decided about the answer.
pub enum AnswerVerdict {
    Pass,
    /// Replace the answer with the provider's error (headers not sent yet).
    Refuse(Decision),
    /// The stream was ended with the provider's error event.
    Ended(Decision),
}

/// Per-request state of an LLM call.
pub struct LlmState {
    format: Format,
    /// A request body announced as compressed and passed unscanned (`on_compressed: pass`).
    body_note: Option<Decision>,
    masking: Masking,
    answer: Answer,
    guard: Option<StreamGuard>,
    /// Answer-side detections and gateway events for the audit line.
    findings: Vec<Finding>,
    events: Vec<AuditEvent>,
    audit: LlmAudit,
}

impl LlmState {
    pub fn new(format: Format) -> LlmState {
        LlmState {
            format,
            body_note: None,
            masking: Masking::new(),
            answer: Answer::Unread,
            guard: None,
            findings: Vec::new(),
            events: Vec::new(),
            audit: LlmAudit::default(),
        }
    }

    pub fn action_type(&self) -> String {
        self.format.action_type()
    }

    pub fn audit(&self) -> &LlmAudit {
        &self.audit
    }

    /// A refusal in the provider's error shape.
    pub fn reply(&self, decision: &Decision, request_id: &str) -> Reply {
        let r = errors::error_reply(self.format, decision, request_id);
        Reply {
            status: r.status,
            content_type: "application/json",
            headers: r
                .headers
                .into_iter()
                .filter(|(k, _)| !matches!(*k, "content-type" | "x-authensor-decision"))
                .collect(),
            body: r.body.into_bytes(),
        }
    }

    /// Note the refusal of the call itself for the audit line.
    pub fn refused(&mut self, at: &'static str) {
        self.audit.blocked_at.get_or_insert(at);
    }

    /// At request headers (`encoding`: the request's `content-encoding`, already read with the
    /// other headers): a body announced as compressed is refused (the denial is returned) or
    /// noted; the answer is asked for uncompressed.
    pub fn request_headers(
        &mut self,
        engine: &Engine,
        host: &mut impl Host,
        encoding: Option<&str>,
    ) -> Option<Decision> {
        if let Some(d) = compression::request_decision(encoding, b"", engine.llm.on_compressed) {
            if !d.is_allowed() {
                return Some(d);
            }
            self.body_note = Some(d);
        }
        host.set_header(Direction::Request, "accept-encoding", Some(ACCEPT_IDENTITY));
        None
    }

    /// Decide on the complete request body.
    pub fn request(
        &mut self,
        engine: &Engine,
        facts: &RequestFacts,
        host: &mut impl Host,
        body: &[u8],
    ) -> BodyVerdict {
        let on = engine.llm.on_compressed;
        let note = self
            .body_note
            .take()
            .or_else(|| compression::request_decision(None, body, on));
        if let Some(note) = note {
            return if note.is_allowed() {
                self.unscanned(engine, facts, host, note)
            } else {
                BodyVerdict::decided(note)
            };
        }
        let mut req = match LlmRequest::parse(self.format, body) {
            Ok(req) => req,
            Err(m) => return BodyVerdict::decided(errors::malformed(self.format, &m)),
        };
        self.audit.model = req.model().map(str::to_owned);
        self.audit.stream = req.stream();
        let texts = req.texts();
        let parameters = req.parameters(&texts);
        let items = request_items(&req, texts);
        let scanned = match scan_items(engine, &items) {
            Ok(scanned) => scanned,
            Err(why) => return BodyVerdict::unscannable(why),
        };
        let action = Action::new(
            req.action_type(),
            resource(facts),
            Operation::Create,
            parameters,
        );
        let scan = judge::Scan::with_roles(&scanned.findings, &scanned.roles);
        let (decision, action_type) = judge::decide_request(engine, facts, host, action, scan);
        let mut verdict = BodyVerdict {
            decision,
            action: Some(action_type),
            reply: None,
            rewrite: None,
            findings: Vec::new(),
        };
        if verdict.decision.is_allowed() {
            let edits = self.edits(engine, &items, &scanned);
            drop(items);
            if !edits.is_empty() {
                match req.rewrite(edits) {
                    Ok(bytes) => verdict.rewrite = Some(bytes),
                    Err(e) => {
                        verdict.decision = Decision::deny(
                            "llm_rewrite_failed",
                            500,
                            "llm.rewrite",
                            format!("the request could not be redacted ({e}); it was not sent"),
                        )
                    }
                }
            }
        }
        verdict.findings = scanned.findings;
        verdict
    }

    /// A compressed body passed unscanned: the policies still decide on what is known.
    fn unscanned(
        &mut self,
        engine: &Engine,
        facts: &RequestFacts,
        host: &mut impl Host,
        note: Decision,
    ) -> BodyVerdict {
        let parameters = json!({
            "provider": self.format.provider.as_str(),
            "api": self.format.api.as_str(),
        });
        let action = Action::new(
            self.format.action_type(),
            resource(facts),
            Operation::Create,
            parameters,
        );
        judge::decide_unscanned(engine, facts, host, action, note)
    }

    /// Redactions and maskings for the allowed request's `redact` findings.
    fn edits(&mut self, engine: &Engine, items: &[TextItem<'_>], scanned: &Scanned) -> Vec<Edit> {
        let mut edits = Vec::new();
        for (f, &i) in scanned.findings.iter().zip(&scanned.items) {
            let (Some(item), ScanAction::Redact) = (items.get(i), f.action) else {
                continue;
            };
            let d = &f.detection;
            let start = item.text.floor_char_boundary(d.start);
            let end = item.text.ceil_char_boundary(d.end.max(start));
            if engine.llm.masks(&d.sub_type) {
                edits.extend(
                    self.masking
                        .mask(item, &[(start, end, d.sub_type.as_str())]),
                );
                self.audit.masked.push(d.sub_type.clone());
            } else {
                edits.push(Edit {
                    path: item.path.clone().into_owned(),
                    start,
                    end,
                    replacement: marker(&d.sub_type),
                });
            }
        }
        edits
    }

    /// At response headers: how the answer will be read.
    pub fn response_headers(
        &mut self,
        engine: &Engine,
        host: &mut impl Host,
        end_of_stream: bool,
    ) -> (Flow, AnswerVerdict) {
        let all = host.headers(Direction::Response);
        let header = |name| first_header(host, Direction::Response, &all, name);
        let encoding = header("content-encoding");
        if let Some(d) =
            compression::response_decision(encoding.as_deref(), engine.llm.on_compressed)
        {
            if !d.is_allowed() {
                return (Flow::Pause, AnswerVerdict::Refuse(d));
            }
            self.answer = Answer::Passed;
            self.events.push(AuditEvent {
                event: "answer_unscanned",
                subject: self.format.action_type(),
                rule: d.rule.unwrap_or_default(),
                reason: d.reasons.join("; "),
            });
            return (Flow::Continue, AnswerVerdict::Pass);
        }
        if end_of_stream {
            return (Flow::Continue, AnswerVerdict::Pass);
        }
        let content_type = header("content-type");
        self.answer = match body_kind(content_type.as_deref()) {
            BodyKind::EventStream => {
                self.guard = Some(StreamGuard::new(self.format, &engine.llm));
                Answer::Stream
            }
            BodyKind::Json => Answer::Json,
            BodyKind::Other => Answer::Other,
        };
        // The answer may be rewritten: let the proxy frame it.
        host.set_header(Direction::Response, "content-length", None);
        // A buffered answer holds its headers, so that a refusal can still replace it.
        let flow = if self.answer == Answer::Stream {
            Flow::Continue
        } else {
            Flow::Pause
        };
        (flow, AnswerVerdict::Pass)
    }

    /// A chunk of the answer (streamed), or the whole answer once complete (buffered).
    pub fn response_body(
        &mut self,
        engine: &Engine,
        facts: &RequestFacts,
        host: &mut impl Host,
        body_size: usize,
        end_of_stream: bool,
    ) -> (Flow, AnswerVerdict) {
        match self.answer {
            Answer::Unread | Answer::Passed => (Flow::Continue, AnswerVerdict::Pass),
            Answer::Stream => {
                let verdict = self.stream_chunk(engine, facts, host, body_size, end_of_stream);
                if matches!(verdict, AnswerVerdict::Ended(_)) {
                    self.answer = Answer::Ended;
                }
                (Flow::Continue, verdict)
            }
            Answer::Ended => {
                if body_size > 0 {
                    host.set_body(Direction::Response, b"");
                }
                (Flow::Continue, AnswerVerdict::Pass)
            }
            Answer::Json | Answer::Other if !end_of_stream => (Flow::Pause, AnswerVerdict::Pass),
            Answer::Json | Answer::Other => {
                let Some(body) = host
                    .body(Direction::Response, 0, body_size)
                    .or_else(|| (body_size == 0).then(Vec::new))
                else {
                    return (
                        Flow::Pause,
                        AnswerVerdict::Refuse(unreadable_answer(
                            "the proxy did not hand over the answer",
                        )),
                    );
                };
                let refusal = if self.answer == Answer::Json {
                    self.json_answer(engine, facts, host, &body)
                } else {
                    self.other_answer(engine, host, &body)
                };
                match refusal {
                    Some(d) => (Flow::Pause, AnswerVerdict::Refuse(d)),
                    None => (Flow::Continue, AnswerVerdict::Pass),
                }
            }
        }
    }

    /// One chunk of a streamed answer, passed on at once (rewritten when needed).
    fn stream_chunk(
        &mut self,
        engine: &Engine,
        facts: &RequestFacts,
        host: &mut impl Host,
        body_size: usize,
        end_of_stream: bool,
    ) -> AnswerVerdict {
        let LlmState {
            format,
            masking,
            guard,
            findings,
            events,
            audit,
            ..
        } = self;
        let Some(guard) = guard else {
            return AnswerVerdict::Pass;
        };
        let chunk = host.body(Direction::Response, 0, body_size);
        let readable = chunk.is_some() || body_size == 0;
        let chunk = chunk.unwrap_or_default();
        let aegis = AegisText::new(&engine.scanner);
        let mut tool_denial: Option<Decision> = None;
        let mut step = {
            let reader = &*host;
            let now = reader.now_nanos();
            let scanner = Both(&aegis, &*masking);
            let mut check = |call: &ToolCall| {
                let d = tool_check(engine, facts, reader, now, *format, call, findings, audit)?;
                let block = Block {
                    label: d.rule.clone().unwrap_or_default(),
                    reason: d.reasons.join("; "),
                };
                tool_denial = Some(d);
                Some(block)
            };
            let mut step = if readable {
                guard.feed(&chunk, &scanner, &mut check)
            } else {
                StreamStep {
                    blocked: Some(Block {
                        label: "llm.stream".into(),
                        reason: "the proxy did not hand over a chunk of the answer".into(),
                    }),
                    ..StreamStep::default()
                }
            };
            if end_of_stream && step.blocked.is_none() && !guard.is_blocked() {
                let last = guard.finish(&scanner, &mut check);
                step.bytes.extend(last.bytes);
                step.replaced.extend(last.replaced);
                step.blocked = last.blocked;
            }
            step
        };
        for r in &step.replaced {
            note_replacement(&aegis, &r.label, &r.at, findings, audit);
        }
        let mut verdict = AnswerVerdict::Pass;
        if let Some(block) = step.blocked.take() {
            let decision = tool_denial.unwrap_or_else(|| {
                block_decision(
                    &aegis,
                    &block.label,
                    "the streamed answer",
                    &block.reason,
                    findings,
                )
            });
            step.bytes.extend(errors::stream_error_event(
                *format,
                &decision,
                &facts.request_id,
            ));
            events.push(AuditEvent {
                event: "stream_blocked",
                subject: format.action_type(),
                rule: decision.rule.clone().unwrap_or_default(),
                reason: decision.reasons.join("; "),
            });
            audit.blocked_at.get_or_insert("stream");
            verdict = AnswerVerdict::Ended(decision);
        }
        if step.bytes != chunk {
            host.set_body(Direction::Response, &step.bytes);
        }
        verdict
    }

    /// A complete JSON answer: tool calls judged, texts scanned; rewritten or refused.
    fn json_answer(
        &mut self,
        engine: &Engine,
        facts: &RequestFacts,
        host: &mut impl Host,
        body: &[u8],
    ) -> Option<Decision> {
        let mut resp = match LlmResponse::parse(self.format, body) {
            Ok(resp) => resp,
            Err(m) => return Some(unreadable_answer(&m.0)),
        };
        let now = host.now_nanos();
        for call in resp.tool_calls() {
            let denied = tool_check(
                engine,
                facts,
                &*host,
                now,
                self.format,
                &call,
                &mut self.findings,
                &mut self.audit,
            );
            if denied.is_some() {
                self.audit.blocked_at.get_or_insert("answer");
                return denied;
            }
        }
        let aegis = AegisText::new(&engine.scanner);
        let scan = resp.scan(&Both(&aegis, &self.masking));
        for r in &scan.replaced {
            note_replacement(
                &aegis,
                &r.label,
                &r.path,
                &mut self.findings,
                &mut self.audit,
            );
        }
        if let Some(Found { label, path, .. }) = scan.blocked.first() {
            self.audit.blocked_at.get_or_insert("answer");
            let reason = format!("{label} found in the answer at {path}");
            return Some(block_decision(
                &aegis,
                label,
                path,
                &reason,
                &mut self.findings,
            ));
        }
        if scan.edits.is_empty() {
            return None;
        }
        match resp.rewrite(scan.edits) {
            Ok(bytes) => {
                host.set_body(Direction::Response, &bytes);
                None
            }
            Err(e) => Some(unreadable_answer(&format!(
                "the answer could not be redacted ({e})"
            ))),
        }
    }

    /// An answer of another content type (an error page, plain text): scanned as text.
    fn other_answer(
        &mut self,
        engine: &Engine,
        host: &mut impl Host,
        body: &[u8],
    ) -> Option<Decision> {
        let mut report = match judge::scan_body(engine, body) {
            Ok(report) if !report.truncated => report,
            Ok(_) => return Some(unreadable_answer("the answer was not fully scanned")),
            Err(e) => return Some(unreadable_answer(&e)),
        };
        report
            .findings
            .retain(|f| acts_on_answers(f.detection.kind) && f.action != ScanAction::Log);
        if let Some(d) = judge::blocking(&report.findings) {
            self.audit.blocked_at.get_or_insert("answer");
            let decision =
                Decision::deny("content_blocked", 403, judge::SCAN_RULE, judge::describe(d));
            self.findings.extend(report.findings);
            return Some(decision);
        }
        if report.is_clean() {
            return None;
        }
        let redacted = engine.scanner.redact_body(body, &report);
        self.audit.answer_redactions += report.findings.len();
        self.findings.extend(report.findings);
        match redacted {
            Ok(bytes) => {
                host.set_body(Direction::Response, &bytes);
                None
            }
            Err(e) => Some(unreadable_answer(&e.to_string())),
        }
    }

    /// Move answer-side findings and events into the exchange's audit details.
    pub fn drain_notes(&mut self, events: &mut Vec<AuditEvent>, findings: &mut Vec<Finding>) {
        findings.append(&mut self.findings);
        events.append(&mut self.events);
    }
}

/// The texts of a request with their roles (`texts`, from [`LlmRequest::texts`]), plus every
/// other string in the body (as `user`) except base64 payloads: a field an API adds later is
/// scanned too, never passed unread.
fn request_items<'a>(req: &'a LlmRequest, mut texts: Vec<TextItem<'a>>) -> Vec<TextItem<'a>> {
    // The walk over every string meets the texts again: the same strings of the same document,
    // recognised by address.
    let mut known: Vec<*const u8> = texts.iter().map(|i| i.text.as_ptr()).collect();
    known.sort_unstable();
    let mut all = Texts::new();
    all.leaves_where(
        Role::User,
        TextKind::Content,
        JsonPath::root(),
        &req.value,
        |s| known.binary_search(&s.as_ptr()).is_err() && !is_base64_payload(s),
    );
    texts.append(&mut all.items);
    texts
}

/// Images, audio and files (bare base64 or `data:…;base64,` URLs) are not text: scanning their
/// encoding would find digits that look like phone numbers and "redact" the picture.
fn is_base64_payload(s: &str) -> bool {
    let payload = match s.strip_prefix("data:") {
        Some(url) => match url.split_once(";base64,") {
            Some((_, payload)) => payload,
            None => return false,
        },
        None => s,
    };
    payload.len() >= 256
        && payload
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_'))
}

/// Scanner results of a request's texts: findings (path = the text's), the role and the item of each.
struct Scanned {
    findings: Vec<Finding>,
    roles: Vec<&'static str>,
    items: Vec<usize>,
}

fn scan_items(engine: &Engine, items: &[TextItem<'_>]) -> Result<Scanned, String> {
    let mut out = Scanned {
        findings: Vec::new(),
        roles: Vec::new(),
        items: Vec::new(),
    };
    for (i, item) in items.iter().enumerate() {
        let report = engine.scanner.scan_text(item.text);
        if report.truncated {
            return Err(format!(
                "the scan of {} hit its detection limit; the request was not fully scanned",
                item.path
            ));
        }
        // Tool-call arguments held as JSON text: a replacement across its syntax would break it.
        let raw_json =
            item.kind == TextKind::ToolArguments && !item.path.segments().contains(&Seg::Embedded);
        for mut f in report.findings {
            let crosses_syntax = item
                .text
                .get(f.detection.start..f.detection.end)
                .is_none_or(|s| s.contains(['"', '\\']));
            if raw_json && f.action == ScanAction::Redact && crosses_syntax {
                f.action = ScanAction::Block;
            }
            f.detection.path = item.path.to_string();
            out.findings.push(f);
            out.roles.push(item.role.as_str());
            out.items.push(i);
        }
    }
    Ok(out)
}

/// Judge a tool call the model made: policy on `llm.<provider>.tool_call.<name>` with its
/// arguments, every detector on the arguments. Returns the refusal, if any.
#[allow(clippy::too_many_arguments)]
fn tool_check(
    engine: &Engine,
    facts: &RequestFacts,
    host: &impl Host,
    now: u64,
    format: Format,
    call: &ToolCall,
    findings: &mut Vec<Finding>,
    audit: &mut LlmAudit,
) -> Option<Decision> {
    let base = if call.as_text {
        call.path.embedded()
    } else {
        call.path.clone()
    }
    .to_string();
    let found = match judge::scan_value(engine, &call.arguments) {
        Ok(found) => found,
        Err(e) => {
            return Some(Decision::deny(
                "unscannable_answer",
                502,
                judge::UNSCANNABLE_RULE,
                format!("a tool call's arguments could not be scanned: {e}"),
            ))
        }
    };
    let found: Vec<Finding> = found
        .into_iter()
        .map(|mut f| {
            let inner = f.detection.path.strip_prefix('$').unwrap_or_default();
            f.detection.path = format!("{base}{inner}");
            f
        })
        .collect();
    let roles = vec![Role::Assistant.as_str(); found.len()];
    let action = Action::new(
        call.action_type(format.provider),
        resource(facts),
        Operation::Execute,
        call.arguments.clone(),
    );
    let (decision, action_type) = judge::decide(
        engine,
        facts,
        host,
        now,
        action,
        judge::Scan::with_roles(&found, &roles),
        None,
    );
    audit.tool_calls.push(action_type);
    // Redactions inside the arguments are recorded where they are made, in the answer's text.
    findings.extend(found.into_iter().filter(|f| f.action != ScanAction::Redact));
    if decision.is_allowed() {
        let refused = decision.would.filter(|w| !w.is_allowed());
        if let (Some(would), None) = (refused, &audit.shadowed) {
            audit.shadowed = Some(*would);
        }
        return None;
    }
    Some(decision)
}

/// Record a replacement made in the answer: an Aegis redaction (as a finding) or a restored
/// placeholder (counted).
fn note_replacement(
    aegis: &AegisText<'_>,
    label: &str,
    path: &str,
    findings: &mut Vec<Finding>,
    audit: &mut LlmAudit,
) {
    match aegis.detection(label, path) {
        Some(detection) => {
            audit.answer_redactions += 1;
            let seen = findings
                .iter()
                .any(|f| f.detection.sub_type == detection.sub_type && f.detection.path == path);
            if !seen && findings.len() < MAX_ANSWER_FINDINGS {
                findings.push(Finding {
                    detection,
                    action: ScanAction::Redact,
                });
            }
        }
        None => audit.restored += 1,
    }
}

/// The decision for a block in the answer: a detection (recorded as a finding) or an answer the
/// filter cannot read.
fn block_decision(
    aegis: &AegisText<'_>,
    label: &str,
    path: &str,
    reason: &str,
    findings: &mut Vec<Finding>,
) -> Decision {
    match aegis.detection(label, path) {
        Some(detection) => {
            let decision = Decision::deny(
                "content_blocked",
                403,
                judge::SCAN_RULE,
                judge::describe(&detection),
            );
            findings.push(Finding {
                detection,
                action: ScanAction::Block,
            });
            decision
        }
        None => Decision::deny("unscannable_answer", 502, label, reason.to_owned()),
    }
}

fn unreadable_answer(why: &str) -> Decision {
    Decision::deny(
        "unscannable_answer",
        502,
        "llm.answer",
        format!("the answer cannot be scanned, so it is not passed: {why}"),
    )
}

#[cfg(test)]
mod tests;
