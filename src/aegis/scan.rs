//! The scan pipeline. For each string: one normalising pass, one anchor-keyword pass, one shape
//! pass; if nothing turned up the string costs nothing more. Otherwise look for context
//! words near the anchors, run the enabled detectors, rescan decoded segments (bounded depth and bytes), then apply the
//! configuration (threshold, disabled sub-types, allow-lists), mask previews and merge overlaps.
//! Long strings are scanned in overlapping chunks so memory stays bounded.

use std::cell::RefCell;
use std::mem::take;
use std::ops::Range;

use super::candidates::{self, Candidates};
use super::config::allow_key;
use super::custom::CANARY_RULE;
use super::decode::{self, Plan};
use super::exfiltration;
use super::finding::{preview, Found, View};
use super::injection;
use super::json_text::{self, JsonPath, StringToken, Visitor};
use super::keywords::{Normalized, Owner, Scratch};
use super::normalize::{self, Signals};
use super::{Finding, ScanError, ScanReport, Scanner};
use crate::detection::{Detection, DetectionType};

/// Bytes of a long string scanned at once, and the overlap between chunks.
const CHUNK: usize = 32 * 1024;
const OVERLAP: usize = 512;
/// Keyword hits kept per chunk.
const HIT_CAP: usize = 8192;
/// Findings kept per string.
const FOUND_CAP: usize = 512;
/// Strings shorter than this cannot hold anything the detectors look for.
const MIN_LEN: usize = 5;
/// Anchors whose rules also need the context words around them.
fn wants_context(owner: Owner, code: u16) -> bool {
    match owner {
        Owner::Injection => true,
        Owner::CodeSafety => super::code_safety::wants_context(code),
        Owner::Exfiltration => exfiltration::wants_context(code),
        _ => false,
    }
}

/// Buffers reused across the strings of one body.
#[derive(Default)]
struct Work {
    norm: Vec<u8>,
    tags: Vec<u8>,
    map: Vec<u32>,
    keywords: Scratch,
    candidates: Candidates,
    /// Decoded bytes still allowed for the current top-level string.
    budget: usize,
    truncated: bool,
}

thread_local! {
    /// The buffers of the last scan, kept for the next one: a request's texts are scanned one
    /// after another, and allocating them afresh for each was a good part of the cost.
    static SPARE: RefCell<Work> = RefCell::default();
}

/// Run `f` with a collector whose buffers are borrowed from [`SPARE`] (fresh ones if a scan is
/// already running on this thread).
fn collect<T>(scanner: &Scanner, f: impl FnOnce(&mut Collector<'_>) -> T) -> (T, ScanReport) {
    let mut work = SPARE.with(|s| {
        s.try_borrow_mut()
            .map(|mut w| take(&mut *w))
            .unwrap_or_default()
    });
    work.truncated = false;
    let mut collector = Collector {
        scanner,
        work,
        report: ScanReport::default(),
    };
    let out = f(&mut collector);
    let Collector {
        work, mut report, ..
    } = collector;
    report.truncated |= work.truncated;
    SPARE.with(|s| {
        if let Ok(mut spare) = s.try_borrow_mut() {
            *spare = work;
        }
    });
    (out, report)
}

pub(super) fn json(scanner: &Scanner, body: &[u8]) -> Result<ScanReport, ScanError> {
    let (walked, report) = collect(scanner, |c| {
        json_text::walk(body, scanner.max_json_depth, c)
    });
    walked.map(|()| report).map_err(ScanError::from)
}

pub(super) fn text(scanner: &Scanner, text: &str) -> ScanReport {
    collect(scanner, |c| c.scan(text, None, || "$".to_owned())).1
}

struct Collector<'s> {
    scanner: &'s Scanner,
    work: Work,
    report: ScanReport,
}

impl Collector<'_> {
    fn scan(&mut self, text: &str, key: Option<&str>, path: impl FnOnce() -> String) {
        let memo = &self.scanner.memo;
        let id = memo.id(key, text);
        if id.is_some_and(|id| memo.clean(id)) {
            return;
        }
        self.work.budget = self.scanner.decode.max_bytes;
        let truncated_before = self.work.truncated;
        self.work.truncated = false;
        // The filter's own markers from an earlier redaction: their names are not content.
        let masked = super::redact::mask_markers(text, |name| self.scanner.is_sub_type(name));
        let text = masked.as_deref().unwrap_or(text);
        let found = self.scanner.scan_string(&mut self.work, text, key, 0);
        let complete = !self.work.truncated;
        self.work.truncated |= truncated_before;
        if found.is_empty() {
            if let Some(id) = id.filter(|_| complete) {
                memo.remember(id);
            }
            return;
        }
        let path = path();
        for f in found {
            if self.report.findings.len() >= self.scanner.max_detections {
                self.report.truncated = true;
                return;
            }
            let detection = Detection {
                kind: f.kind,
                sub_type: f.sub_type.into_owned(),
                severity: f.severity,
                confidence: f.confidence,
                rule: f.rule.into_owned(),
                path: path.clone(),
                start: f.span.start,
                end: f.span.end,
                preview: f.preview,
            };
            let action = self.scanner.action_for(&detection);
            self.report.findings.push(Finding { detection, action });
        }
    }
}

impl Visitor for Collector<'_> {
    fn string(&mut self, path: &JsonPath<'_>, token: StringToken<'_>) {
        let key = if token.is_key {
            None
        } else {
            path.parent_key()
        };
        self.scan(token.value, key, || path.render());
    }

    fn number(&mut self, path: &JsonPath<'_>, literal: &str, _raw: Range<usize>) {
        self.scan(literal, path.parent_key(), || path.render());
    }
}

fn snap_back(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn snap_forward(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at += 1;
    }
    at
}

fn overlaps(a: &Range<usize>, b: &Range<usize>) -> bool {
    a.start < b.end && b.start < a.end
}

impl Scanner {
    /// Scan one decoded string; spans of the result are relative to `text`.
    fn scan_string(&self, w: &mut Work, text: &str, key: Option<&str>, depth: u8) -> Vec<Found> {
        if text.len() < MIN_LEN {
            return Vec::new();
        }
        let mut found = Vec::new();
        if text.len() <= CHUNK + OVERLAP {
            self.scan_chunk(w, text, key, depth, &mut found);
        } else {
            let mut own = 0;
            while own < text.len() {
                let own_end = snap_forward(text, own + CHUNK);
                let start = snap_back(text, own.saturating_sub(OVERLAP));
                let end = snap_forward(text, own_end + OVERLAP);
                let mut part = Vec::new();
                self.scan_chunk(w, text.get(start..end).unwrap_or(""), key, depth, &mut part);
                for mut f in part {
                    f.span = f.span.start + start..f.span.end + start;
                    if let Some(d) = &mut f.domain {
                        *d = d.start + start..d.end + start;
                    }
                    if (own..own_end).contains(&f.span.start) {
                        found.push(f);
                    }
                }
                own = own_end;
            }
        }
        if found.len() > FOUND_CAP {
            found.truncate(FOUND_CAP);
            w.truncated = true;
        }
        self.finish(text, found)
    }

    fn scan_chunk(
        &self,
        w: &mut Work,
        chunk: &str,
        key: Option<&str>,
        depth: u8,
        out: &mut Vec<Found>,
    ) {
        let signals = normalize::normalize_mapped(chunk, &mut w.norm, &mut w.map, &mut w.tags);
        let normalized = Normalized {
            norm: &w.norm,
            map: &w.map,
        };
        if !self
            .keywords
            .find(&normalized, wants_context, &mut w.keywords, HIT_CAP)
        {
            w.truncated = true;
        }
        candidates::find(chunk, &mut w.candidates);
        let quiet = w.keywords.hits.is_empty()
            && w.candidates.is_empty()
            && signals == Signals::default()
            && w.tags.is_empty();
        if quiet {
            // Nothing in the text itself; a value may still be a secret by the key it is under.
            if let Some(key) = key {
                self.quiet_value(chunk, key, out);
            }
            return;
        }
        let view = View {
            text: chunk,
            hits: &w.keywords.hits,
            candidates: &w.candidates,
            parent_key: key,
            signals,
        };
        let on = |kind| self.settings(kind).enabled;
        let mut requests = injection::Requests::default();
        if on(DetectionType::Injection) {
            requests = injection::detect(&view, out);
        }
        if on(DetectionType::Credentials) {
            self.credentials.detect(&view, out);
        }
        if on(DetectionType::Pii) {
            self.pii.detect(&view, out);
        }
        if on(DetectionType::CodeSafety) {
            self.code_safety.detect(&view, out);
        }
        if on(DetectionType::Exfiltration) {
            exfiltration::detect(&view, out);
        }
        self.custom.detect(&view, out);
        if depth >= self.decode.max_depth || quiet {
            return;
        }
        let mut jobs = Vec::new();
        let plan = Plan {
            text: chunk,
            candidates: &w.candidates,
            config: &self.decode,
            tags: &w.tags,
            tag_at: signals.first_tag,
            rot13: requests.rot13,
            hidden: signals.hidden > 0,
        };
        decode::collect(&plan, &mut w.budget, &mut jobs);
        for job in jobs {
            for mut f in self.scan_string(w, &job.text, None, depth + 1) {
                f.span = job.span.clone();
                f.domain = None;
                f.rule = format!("{}+{}", f.rule, job.how).into();
                out.push(f);
            }
        }
    }

    /// Checks for a JSON value that matched nothing: secrets and phone numbers recognised by key.
    fn quiet_value(&self, value: &str, key: &str, out: &mut Vec<Found>) {
        if key.len() > 64 || !self.key_hints.is_match(key) {
            return;
        }
        if self.settings(DetectionType::Credentials).enabled {
            super::generic_secrets::value_under_key(value, key, out);
        }
        if self.settings(DetectionType::Pii).enabled {
            super::pii::phone_under_key(value, key, out);
        }
    }

    /// Apply the configuration to raw findings of `text`, then merge overlaps.
    fn finish(&self, text: &str, found: Vec<Found>) -> Vec<Found> {
        let mut kept: Vec<Found> = Vec::with_capacity(found.len());
        for mut f in found {
            let settings = self.settings(f.kind);
            let canary = f.rule == CANARY_RULE;
            let wanted = settings.enabled
                && f.severity >= settings.min_severity
                && !settings.disabled_sub_types.contains(f.sub_type.as_ref());
            if !canary && !wanted {
                continue;
            }
            if f.preview.is_empty() {
                let span = snap_back(text, f.span.start)..snap_forward(text, f.span.end);
                let value = text.get(span).unwrap_or("");
                if !canary
                    && !settings.allow.is_empty()
                    && settings.allow.contains(&allow_key(value))
                {
                    continue;
                }
                let domain = f.domain.clone().and_then(|d| text.get(d));
                if !canary && domain.is_some_and(|d| settings.domain_allowed(d)) {
                    continue;
                }
                f.preview = preview(value, f.mask);
            }
            kept.push(f);
        }
        merge(kept)
    }
}

/// Drop broad findings covered by specific ones of the same type, then merge overlapping
/// findings of the same sub-type, keeping the strongest's severity, rule and preview.
fn merge(mut found: Vec<Found>) -> Vec<Found> {
    if found.len() < 2 {
        return found;
    }
    let specific: Vec<(DetectionType, Range<usize>)> = found
        .iter()
        .filter(|f| !f.generic)
        .map(|f| (f.kind, f.span.clone()))
        .collect();
    found.retain(|f| {
        !f.generic
            || !specific
                .iter()
                .any(|(kind, span)| *kind == f.kind && overlaps(span, &f.span))
    });
    found.sort_by(|a, b| {
        (a.kind, a.sub_type.as_ref(), a.span.start).cmp(&(
            b.kind,
            b.sub_type.as_ref(),
            b.span.start,
        ))
    });
    let mut merged: Vec<Found> = Vec::with_capacity(found.len());
    for f in found {
        match merged.last_mut() {
            Some(last)
                if last.kind == f.kind
                    && last.sub_type == f.sub_type
                    && (overlaps(&last.span, &f.span) || last.span == f.span) =>
            {
                let span = last.span.start.min(f.span.start)..last.span.end.max(f.span.end);
                if (f.severity, f.confidence) > (last.severity, last.confidence) {
                    *last = f;
                }
                last.span = span;
            }
            _ => merged.push(f),
        }
    }
    merged.sort_by_key(|f| (f.span.start, f.kind));
    merged
}
