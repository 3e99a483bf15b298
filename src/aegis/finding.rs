//! What detectors see and produce: the [`View`] of one scanned string (original text, keyword
//! hits with original offsets, shape candidates) and the [`Found`] items they
//! return, with the masked preview that is all a log line ever gets of a matched value.

use std::borrow::Cow;
use std::ops::Range;

use super::candidates::Candidates;
use super::keywords::{Hit, Owner};
use super::normalize::Signals;
use crate::detection::{DetectionType, Severity};

/// Everything a detector may look at for one string.
pub struct View<'a> {
    /// The decoded string (or chunk of it) as sent.
    pub text: &'a str,
    /// Keyword hits of every detector (original spans), in order of start.
    pub hits: &'a [Hit],
    pub candidates: &'a Candidates,
    /// For a JSON value: the key it is stored under.
    pub parent_key: Option<&'a str>,
    pub signals: Signals,
}

impl<'a> View<'a> {
    /// This detector's hits.
    pub fn hits_of(&self, owner: Owner) -> impl Iterator<Item = &'a Hit> + 'a {
        self.hits.iter().filter(move |h| h.owner() == owner)
    }

    /// The original text around `span`, widened by `before` and `after` bytes and snapped to
    /// character boundaries; returns the window and its start offset.
    pub fn window(&self, span: Range<usize>, before: usize, after: usize) -> (&'a str, usize) {
        window(self.text, span, before, after)
    }
}

/// `text` around `span`, widened and snapped to character boundaries.
pub fn window(text: &str, span: Range<usize>, before: usize, after: usize) -> (&str, usize) {
    let mut start = span.start.saturating_sub(before).min(text.len());
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = span.end.saturating_add(after).min(text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    (text.get(start..end).unwrap_or(""), start)
}

/// How a preview hides the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mask {
    /// Not secret (an injection phrase, a command): a short snippet.
    Snippet,
    /// A credential: length and a short hash, plus the first characters of long tokens.
    Secret,
    /// Personal numbers: every digit but the last two masked.
    Digits,
    /// E-mail address: first letter and top-level domain only.
    Email,
}

/// One detector result, before configuration filtering.
#[derive(Debug, Clone)]
pub struct Found {
    pub kind: DetectionType,
    pub sub_type: Cow<'static, str>,
    pub severity: Severity,
    pub confidence: f32,
    pub rule: Cow<'static, str>,
    /// Span in the scanned string.
    pub span: Range<usize>,
    pub mask: Mask,
    /// A broad rule that gives way to a specific one of the same type on the same text.
    pub generic: bool,
    /// Domain inside the span, for `allow_domains`.
    pub domain: Option<Range<usize>>,
    /// Filled in when the finding passes configuration filtering.
    pub preview: String,
}

impl Found {
    pub fn new(
        kind: DetectionType,
        sub_type: &'static str,
        severity: Severity,
        confidence: f32,
        rule: &'static str,
        span: Range<usize>,
    ) -> Found {
        let mask = match kind {
            DetectionType::Credentials => Mask::Secret,
            DetectionType::Pii => Mask::Digits,
            _ => Mask::Snippet,
        };
        Found {
            kind,
            sub_type: Cow::Borrowed(sub_type),
            severity,
            confidence,
            rule: Cow::Borrowed(rule),
            span,
            mask,
            generic: false,
            domain: None,
            preview: String::new(),
        }
    }

    pub fn masked(mut self, mask: Mask) -> Found {
        self.mask = mask;
        self
    }

    pub fn generic(mut self) -> Found {
        self.generic = true;
        self
    }

    pub fn with_domain(mut self, domain: Range<usize>) -> Found {
        self.domain = Some(domain);
        self
    }
}

/// The log-safe preview of `value` under `mask`.
pub fn preview(value: &str, mask: Mask) -> String {
    match mask {
        Mask::Snippet => snippet(value, 60),
        Mask::Secret => {
            let chars = value.chars().count();
            let shown: String = if chars >= 20 {
                value.chars().take(4).collect()
            } else {
                String::new()
            };
            format!("{shown}… ({chars} chars, #{:08x})", fnv1a(value.as_bytes()))
        }
        Mask::Digits => {
            let digits = value.chars().filter(char::is_ascii_alphanumeric).count();
            let mut seen = 0;
            value
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        seen += 1;
                        if seen + 2 > digits {
                            c
                        } else {
                            '*'
                        }
                    } else {
                        c
                    }
                })
                .collect::<String>()
                .chars()
                .take(40)
                .collect()
        }
        Mask::Email => {
            let first = value.chars().next().unwrap_or('*');
            let tld = value.rsplit('.').next().unwrap_or("");
            format!("{first}***@***.{}", snippet(tld, 10))
        }
    }
}

fn snippet(value: &str, max: usize) -> String {
    let mut out: String = value
        .chars()
        .take(max)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if value.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

/// 32-bit FNV-1a: a short, stable fingerprint so two log lines can be matched up without the value.
pub fn fnv1a(bytes: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for &b in bytes {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previews_never_show_the_secret() {
        let token = "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789";
        let p = preview(token, Mask::Secret);
        assert!(p.starts_with("ghp_… (40 chars, #"), "{p}");
        assert!(!p.contains("aBcD"));
        let p = preview("hunter2!", Mask::Secret);
        assert!(!p.contains("hunter"), "{p}");
        assert_eq!(
            preview("4111 1111 1111 1234", Mask::Digits),
            "**** **** **** **34"
        );
        assert_eq!(
            preview("jane.doe@mail.example.org", Mask::Email),
            "j***@***.org"
        );
        assert_eq!(preview("a\nb", Mask::Snippet), "a b");
    }

    #[test]
    fn window_snaps_to_char_boundaries() {
        let text = "ééé key ééé";
        let (w, start) = window(text, 7..10, 2, 2);
        assert_eq!(start, 4);
        assert_eq!(w, "é key é");
    }
}
