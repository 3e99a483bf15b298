//! Secrets without a provider format, recognised by what names them: a value right after a
//! secret word (`API_KEY=…`, `password: …`, `acme SECRET …`, `dd-apikey-…`), a random token
//! assigned to anything (`foo="q8Zr…"`), or a JSON value under a secret-looking key. The value
//! decides: generated-looking for keys and tokens, merely non-placeholder for passwords.

use std::ops::Range;

use super::entropy::{class_count, is_placeholder, looks_random, shannon};
use super::finding::{Found, View};
use super::keywords::Hit;
use crate::detection::{DetectionType, Severity};

/// Words that may continue a secret name before its value (`SECRET KEY`, `-secret-KEY-`).
const NAME_WORDS: &[&str] = &[
    "key", "keys", "token", "secret", "private", "access", "api", "apikey", "pass", "password",
    "auth", "id",
];

fn is_password_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.contains("pass") || n.contains("pwd") || n.ends_with("secret")
}

/// Names of things about a secret rather than the secret (`passwordLabel`, `password_policy`).
fn describes_secret(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "label",
        "field",
        "prompt",
        "placeholder",
        "hint",
        "text",
        "message",
        "length",
        "policy",
        "type",
        "name",
        "_url",
        "path",
        "file",
        "env",
    ]
    .iter()
    .any(|w| n.ends_with(w))
}

/// Values a password field holds in templates and type declarations, not real passwords.
const NOT_PASSWORDS: &[&str] = &[
    "string",
    "str",
    "text",
    "none",
    "null",
    "nil",
    "true",
    "false",
    "required",
    "optional",
    "hidden",
    "secret",
    "password",
    "passwd",
    "pass",
    "pwd",
    "changeme",
    "undefined",
    "empty",
    "blank",
    "masked",
    "redacted",
    "value",
    "your",
    "input",
    "field",
    "type",
    "bool",
    "int",
];

/// Kinds of generated values a key or token holds.
fn generated(value: &str) -> bool {
    let len = value.len();
    let hex = value.bytes().all(|b| b.is_ascii_hexdigit());
    let has_digit = value.bytes().any(|b| b.is_ascii_digit());
    let has_alpha = value.bytes().any(|b| b.is_ascii_alphabetic());
    let entropy = shannon(value.as_bytes());
    if hex && len >= 16 && has_alpha && has_digit {
        return entropy >= 2.8;
    }
    if looks_random(value) {
        return true;
    }
    let mixed = has_digit && has_alpha || class_count(value) >= 3;
    if mixed && len >= 8 {
        return entropy >= if len < 16 { 2.5 } else { 3.0 };
    }
    // Long runs of letters without separators are not words either.
    len >= 16 && value.bytes().all(|b| b.is_ascii_alphabetic()) && entropy >= 3.0
}

/// Decide about `value` named by `name`; `strong`: joined by `=` or `:` rather than spacing.
fn judge(
    name: &str,
    value: &str,
    strong: bool,
) -> Option<(&'static str, Severity, f32, &'static str)> {
    let value = value.trim_end_matches(['.', ')', ']', '}', '>', ',', ';', ':']);
    if value.len() < 4
        || value.eq_ignore_ascii_case(name)
        || is_placeholder(value)
        || describes_secret(name)
    {
        return None;
    }
    let code_like = value.contains(['(', '[', '\\'])
        || value.contains("://")
        || value.contains("->")
        || value.starts_with('/');
    // Publishable keys are public by design.
    if value.starts_with("pk_") || value.starts_with("pk.") {
        return None;
    }
    if !code_like && generated(value) {
        let strong_value = value.len() >= 24 && shannon(value.as_bytes()) >= 4.0;
        let severity = if strong_value {
            Severity::High
        } else {
            Severity::Medium
        };
        let confidence = if strong { 0.7 } else { 0.5 };
        return Some((
            "generic_secret",
            severity,
            confidence,
            "cred.generic_assignment",
        ));
    }
    // Passwords are chosen, not generated: any value that is not a placeholder or a type name.
    let lower = value.to_ascii_lowercase();
    let member_access = value.contains('.')
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_');
    let typed = value.len() >= 5
        && !NOT_PASSWORDS.contains(&lower.as_str())
        && !member_access
        && !code_like
        && !value.bytes().all(|b| b.is_ascii_uppercase() || b == b'_');
    if strong && is_password_name(name) && typed {
        return Some((
            "password",
            Severity::Medium,
            0.6,
            "cred.password_assignment",
        ));
    }
    None
}

fn push(
    out: &mut Vec<Found>,
    judged: (&'static str, Severity, f32, &'static str),
    span: Range<usize>,
) {
    let (sub_type, severity, confidence, rule) = judged;
    out.push(
        Found::new(
            DetectionType::Credentials,
            sub_type,
            severity,
            confidence,
            rule,
            span,
        )
        .generic(),
    );
}

fn name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')
}

/// The value after a secret word: skip separators and further name words, then read the value.
pub fn after_keyword(v: &View<'_>, h: &Hit, out: &mut Vec<Found>) {
    let bytes = v.text.as_bytes();
    let name_start = name_start(bytes, h.start);
    let name = v.text.get(name_start..h.end).unwrap_or("");
    let mut i = h.end;
    let mut strong = false;
    for _ in 0..3 {
        let sep_start = i;
        while i < bytes.len() && i - sep_start < 16 {
            match bytes.get(i) {
                Some(b'=' | b':') => strong = true,
                Some(
                    b' ' | b'\t' | b'"' | b'\'' | b'`' | b'>' | b'_' | b'-' | b'.' | b',' | b'\\',
                ) => {}
                _ => break,
            }
            i += 1;
        }
        let word_len = bytes
            .get(i..)
            .unwrap_or(&[])
            .iter()
            .take_while(|b| b.is_ascii_alphabetic())
            .count();
        let word = v.text.get(i..i + word_len).unwrap_or("");
        let followed = bytes
            .get(i + word_len)
            .is_some_and(|b| !b.is_ascii_alphanumeric());
        if word_len > 0
            && followed
            && NAME_WORDS.iter().any(|w| w.eq_ignore_ascii_case(word))
            && i > sep_start
        {
            i += word_len;
            continue;
        }
        break;
    }
    if i == h.end {
        return;
    }
    let value_len = bytes
        .get(i..)
        .unwrap_or(&[])
        .iter()
        .take(300)
        .take_while(|&&b| {
            !b.is_ascii_whitespace()
                && !matches!(b, b'"' | b'\'' | b'`' | b',' | b';' | b'<' | b'{' | b'}')
        })
        .count();
    let value = v.text.get(i..i + value_len).unwrap_or("");
    let trimmed = value.trim_end_matches(['.', ')', ']', '}', '>', ',', ';']);
    if let Some(judged) = judge(name, trimmed, strong) {
        push(out, judged, i..i + trimmed.len());
    }
}

/// Shortest value [`assigned_tokens`] finds random enough.
const MIN_RANDOM: usize = 24;

/// Where the name ending at `end` starts: at most 48 name bytes back (the checks only look at its
/// end), so a long run of name bytes costs no more per assignment.
fn name_start(bytes: &[u8], end: usize) -> usize {
    (0..end)
        .rev()
        .take(48)
        .take_while(|&i| bytes.get(i).is_some_and(|&b| name_byte(b)))
        .last()
        .unwrap_or(end)
}

/// Random tokens assigned to any name (`acme_key=…`, `"dareboost": "…"` inside text).
pub fn assigned_tokens(v: &View<'_>, out: &mut Vec<Found>) {
    let bytes = v.text.as_bytes();
    for t in &v.candidates.tokens {
        // The value is the token or its tail: a shorter or plainer token holds no very random one.
        if t.len() < MIN_RANDOM || t.class_count() < 3 {
            continue;
        }
        let t = &t.span;
        let token = v.text.get(t.clone()).unwrap_or("");
        // `name=value` glued into one token run (`=` is also base64 padding, so only an inner one).
        let inner = token.trim_end_matches('=').find('=');
        let (value_start, name_end) = match inner {
            Some(eq) => (t.start + eq + 1, t.start + eq),
            None => {
                let mut j = t.start;
                let mut assigned = false;
                while j > 0 && t.start - j < 4 {
                    match bytes.get(j - 1) {
                        Some(b'=' | b':') => {
                            assigned = true;
                            j -= 1;
                            break;
                        }
                        Some(b' ' | b'"' | b'\'') => j -= 1,
                        _ => break,
                    }
                }
                if !assigned {
                    continue;
                }
                (t.start, j)
            }
        };
        let value = v.text.get(value_start..t.end).unwrap_or("");
        if value.len() < MIN_RANDOM || class_count(value) < 3 {
            continue;
        }
        let name_start = name_start(bytes, name_end);
        let name = v
            .text
            .get(name_start..name_end)
            .unwrap_or("")
            .to_ascii_lowercase();
        let identifier = [
            "id", "uuid", "hash", "sha", "digest", "checksum", "etag", "nonce", "version",
            "commit", "ref",
        ]
        .iter()
        .any(|w| name.ends_with(w));
        // Entropy last: it is the dearest test.
        if !name.is_empty()
            && !identifier
            && shannon(value.as_bytes()) >= 4.2
            && !is_placeholder(value)
        {
            push(
                out,
                (
                    "generic_secret",
                    Severity::Medium,
                    0.5,
                    "cred.random_assignment",
                ),
                value_start..t.end,
            );
        }
    }
}

/// Secret-looking JSON keys (`"api_key": "…"`); names that merely contain "key" or "token" as a
/// counter or identifier do not count.
fn is_secret_key_name(key: &str) -> bool {
    // Cheap reject before lower-casing: every secret-looking name has one of these letter runs.
    let has_hint = [
        "ass", "wd", "ecre", "oken", "ey", "red", "arer", "ASS", "WD", "ECRE", "OKEN", "EY", "RED",
        "ARER",
    ]
    .iter()
    .any(|h| key.contains(h));
    if !has_hint {
        return false;
    }
    let k = key.to_ascii_lowercase();
    const NOT: &[&str] = &[
        "public",
        "primary",
        "foreign",
        "sort",
        "partition",
        "cache",
        "idempot",
        "dedup",
        "lookup",
        "keyword",
        "monkey",
        "keyboard",
        "max_token",
        "token_count",
        "tokens_used",
        "token_type",
        "tokenizer",
        "page_token",
        "next_token",
        "keys",
        "author",
        "key_id",
        "keyid",
        "hash_key",
        "row_key",
        "api_key_name",
        "key_name",
        "num_tokens",
        "total_tokens",
        "completion_tokens",
        "prompt_tokens",
        "input_tokens",
        "output_tokens",
    ];
    if NOT.iter().any(|n| k.contains(n)) {
        return false;
    }
    const STRONG: &[&str] = &[
        "password",
        "passwd",
        "pwd",
        "secret",
        "passphrase",
        "credential",
        "private_key",
        "privatekey",
        "apikey",
        "api_key",
        "api-key",
        "access_key",
        "accesskey",
        "auth_token",
        "access_token",
        "refresh_token",
        "bearer",
        "signing_key",
        "session_token",
        "x-api-key",
    ];
    STRONG.iter().any(|s| k.contains(s))
        || k.ends_with("token")
        || k.ends_with("_key")
        || k.ends_with("-key")
        || k == "key"
}

/// A JSON value stored under a secret-looking key.
pub fn value_under_key(text: &str, key: &str, out: &mut Vec<Found>) {
    if key.len() > 64 || !is_secret_key_name(key) {
        return;
    }
    let value = text.trim();
    if value.is_empty() || value.len() > 4096 || value.contains(char::is_whitespace) {
        return;
    }
    if let Some((sub_type, severity, confidence, _)) = judge(key, value, true) {
        let start = text.len() - text.trim_start().len();
        push(
            out,
            (sub_type, severity, confidence, "cred.json_key"),
            start..start + value.len(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_key_names() {
        assert!(is_secret_key_name("api_key"));
        assert!(is_secret_key_name("GITHUB_TOKEN"));
        assert!(is_secret_key_name("db_password"));
        assert!(!is_secret_key_name("max_tokens"));
        assert!(!is_secret_key_name("idempotency_key"));
        assert!(!is_secret_key_name("author"));
    }

    #[test]
    fn judging_values() {
        assert!(judge("password", "hunter2!x", true).is_some());
        assert!(judge("password", "bluemoon", true).is_some());
        assert!(judge("password", "string", true).is_none());
        assert!(judge("password", "request.form", true).is_none());
        assert!(judge("password", "${DB_PASSWORD}", true).is_none());
        assert!(judge("api_key", "q8Zr2LmT0xV9bN4pK7sW", true).is_some());
        assert!(judge("api_key", "YOUR_API_KEY", true).is_none());
        assert!(judge("token", "9f86d081884c7d659a2feaa0c55ad015", true).is_some());
        assert!(judge("token", "refresh", true).is_none());
    }
}
