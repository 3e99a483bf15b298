//! Credentials detector: provider formats confirmed by regex in a window around their keyword
//! (with checksum, JWT-header and PEM-block checks), credentials inside URLs (database URLs and
//! `user:pass@host`), bearer tokens, and generic `name = value` secrets gated by the value's
//! randomness, including a JSON value stored under a secret-looking key.

use regex_lite::Regex;

use super::checksum;
use super::credential_formats::{Check, FORMATS};
use super::entropy::{is_placeholder, looks_random, shannon};
use super::finding::{Found, View};
use super::keywords::{Hit, KeywordSetBuilder, Owner};
use crate::config::ConfigError;
use crate::detection::{DetectionType, Severity};

/// Keyword codes beyond the format table.
const GENERIC: u16 = 5000;
const URL: u16 = 5001;
const BEARER: u16 = 5002;

const GENERIC_KEYWORDS: &[&str] = &[
    "*key", "*keys", "*keyid", "*key_id", "*token", "*secret", "*secrets", "*password",
    "*passwd", "*pwd", "*pass", "*passphrase", "*credential", "*credentials", "*auth",
    "*api_key", "*apikey",
];

/// Database and message-broker URL schemes.
const DB_SCHEMES: &[&str] = &[
    "postgres", "postgresql", "mysql", "mariadb", "mongodb", "mongodb+srv", "redis", "rediss",
    "amqp", "amqps", "mssql", "sqlserver", "cockroachdb", "couchdb", "clickhouse", "neo4j",
    "neo4j+s", "bolt", "oracle", "db2", "cassandra", "memcached", "nats", "kafka", "snowflake",
    "elasticsearch", "ldap", "ldaps", "sqlite", "jdbc:postgresql", "jdbc:mysql",
];

/// Compiled regexes, one per format row plus the generic ones.
pub struct Credentials {
    formats: Vec<Regex>,
    assignment: Regex,
    bearer: Regex,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("formats", &self.formats.len())
            .finish()
    }
}

/// Every sub-type this detector reports.
pub fn sub_types() -> Vec<&'static str> {
    let mut all: Vec<&'static str> = FORMATS.iter().map(|f| f.sub_type).collect();
    all.extend([
        "database_url",
        "url_credentials",
        "bearer_token",
        "password",
        "generic_secret",
    ]);
    all.sort_unstable();
    all.dedup();
    all
}

fn compile(pattern: &str) -> Result<Regex, ConfigError> {
    Regex::new(pattern).map_err(|e| ConfigError::new("aegis", format!("built-in regex: {e}")))
}

impl Credentials {
    pub fn new() -> Result<Credentials, ConfigError> {
        let formats = FORMATS
            .iter()
            .map(|f| compile(f.regex))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Credentials {
            formats,
            assignment: compile(
                r#"(?i)([A-Za-z0-9_.\-]{0,48}(?:key|keys|keyid|key_id|token|secret|secrets|passw(?:or)?d|pwd|pass|passphrase|credentials?|auth)[A-Za-z0-9_.\-]{0,24})(["']?\s*(?:=>|:=|[:=]|\s)\s*["'`]?)([^\s"'`,;<>(){}\[\]]{6,300})"#,
            )?,
            bearer: compile(r"(?i)bearer\s+([A-Za-z0-9_\-.~+/]{16,}=*)")?,
        })
    }

    pub fn register(b: &mut KeywordSetBuilder) {
        for (i, format) in FORMATS.iter().enumerate() {
            b.add_all(Owner::Credentials, i as u16, format.keywords);
        }
        b.add_all(Owner::Credentials, GENERIC, GENERIC_KEYWORDS);
        b.add(Owner::Credentials, URL, "*://*");
        b.add(Owner::Credentials, BEARER, "bearer");
    }

    pub fn detect(&self, v: &View<'_>, out: &mut Vec<Found>) {
        for h in v.hits_of(Owner::Credentials) {
            match h.code() {
                GENERIC => {
                    self.assignment(v, h, out);
                    near_keyword_token(v, h, out);
                }
                URL => url_credentials(v, h, out),
                BEARER => self.bearer(v, h, out),
                code => self.format(v, h, usize::from(code), out),
            }
        }
        if let Some(key) = v.parent_key {
            value_under_key(v.text, key, out);
        }
    }

    fn format(&self, v: &View<'_>, h: &Hit, i: usize, out: &mut Vec<Found>) {
        let (Some(format), Some(regex)) = (FORMATS.get(i), self.formats.get(i)) else {
            return;
        };
        let (window, offset) = v.window(h.span(), format.before, format.after);
        for caps in regex.captures_iter(window) {
            let Some(m) = caps.get(1).or_else(|| caps.get(0)) else {
                continue;
            };
            let value = m.as_str();
            let mut span = offset + m.start()..offset + m.end();
            let mut severity = format.severity;
            let mut confidence = 0.9;
            let mut rule = format!("cred.{}", format.sub_type);
            match format.check {
                Check::None => {}
                Check::Base62Crc => {
                    if checksum::base62_crc_token(value) {
                        severity = Severity::Critical;
                        confidence = 0.99;
                        rule.push_str(".checksum_valid");
                    } else {
                        confidence = 0.6;
                        rule.push_str(".checksum_invalid");
                    }
                }
                Check::Jwt => {
                    if !jwt_header_ok(value) {
                        severity = Severity::Medium;
                        confidence = 0.5;
                        rule.push_str(".unverified");
                    }
                }
                Check::PemBlock => span.end = pem_end(v.text, span.end),
                Check::Random => {
                    if !looks_random(value) {
                        continue;
                    }
                }
                Check::NotPlaceholder => {
                    if is_placeholder(value) {
                        continue;
                    }
                }
            }
            out.push(Found {
                rule: rule.into(),
                ..Found::new(
                    DetectionType::Credentials,
                    format.sub_type,
                    severity,
                    confidence,
                    "",
                    span,
                )
            });
        }
    }

    /// `name = value` where the name says secret; the value must look like one.
    fn assignment(&self, v: &View<'_>, h: &Hit, out: &mut Vec<Found>) {
        let (window, offset) = v.window(h.span(), 48, 320);
        for caps in self.assignment.captures_iter(window) {
            let (Some(name), Some(sep), Some(value)) = (caps.get(1), caps.get(2), caps.get(3))
            else {
                continue;
            };
            // Only the assignment whose name holds this keyword.
            let name_span = offset + name.start()..offset + name.end();
            if h.end < name_span.start || h.end > name_span.end {
                continue;
            }
            let spaced = sep.as_str().trim().is_empty();
            if let Some(found) = judge(name.as_str(), value.as_str(), spaced) {
                let span = offset + value.start()..offset + value.end();
                out.push(found.at(span));
            }
        }
    }

    fn bearer(&self, v: &View<'_>, h: &Hit, out: &mut Vec<Found>) {
        let (window, offset) = v.window(h.span(), 0, 600);
        if let Some(m) = self.bearer.captures(window).and_then(|c| c.get(1)) {
            if !is_placeholder(m.as_str()) && shannon(m.as_str().as_bytes()) >= 3.0 {
                out.push(
                    Found::new(
                        DetectionType::Credentials,
                        "bearer_token",
                        Severity::High,
                        0.8,
                        "cred.bearer",
                        offset + m.start()..offset + m.end(),
                    )
                    .generic(),
                );
            }
        }
    }
}

/// Judgement on a secret-named value. `spaced`: name and value were separated by whitespace only.
struct Judged {
    sub_type: &'static str,
    severity: Severity,
    confidence: f32,
    rule: &'static str,
}

impl Judged {
    fn at(self, span: std::ops::Range<usize>) -> Found {
        Found::new(
            DetectionType::Credentials,
            self.sub_type,
            self.severity,
            self.confidence,
            self.rule,
            span,
        )
        .generic()
    }
}

fn is_password_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.contains("pass") || n.contains("pwd") || n.ends_with("secret")
}

fn judge(name: &str, value: &str, spaced: bool) -> Option<Judged> {
    let value = value.trim_end_matches(['.', ')']);
    if is_placeholder(value) || value.eq_ignore_ascii_case(name) {
        return None;
    }
    if looks_random(value) {
        let strong = value.len() >= 24 && shannon(value.as_bytes()) >= 4.0;
        return Some(Judged {
            sub_type: "generic_secret",
            severity: if strong {
                Severity::High
            } else {
                Severity::Medium
            },
            confidence: if spaced { 0.5 } else { 0.7 },
            rule: "cred.generic_assignment",
        });
    }
    // Passwords are chosen, not generated: accept any non-placeholder that is not a plain word.
    let plain_word = value.bytes().all(|b| b.is_ascii_lowercase())
        || value.bytes().all(|b| b.is_ascii_uppercase() || b == b'_');
    let typed = value.len() >= 6 && !plain_word && !value.contains("://");
    if !spaced && is_password_name(name) && typed {
        return Some(Judged {
            sub_type: "password",
            severity: Severity::Medium,
            confidence: 0.6,
            rule: "cred.password_assignment",
        });
    }
    None
}

/// A random-looking token shortly after a secret word ("the key is: …", "SECRET abc123…").
fn near_keyword_token(v: &View<'_>, h: &Hit, out: &mut Vec<Found>) {
    for t in &v.candidates.tokens {
        if t.start < h.end || t.start > h.end + 64 {
            continue;
        }
        let value = v.text.get(t.clone()).unwrap_or("");
        if looks_random(value) {
            out.push(
                Found::new(
                    DetectionType::Credentials,
                    "generic_secret",
                    Severity::Medium,
                    0.5,
                    "cred.near_keyword",
                    t.clone(),
                )
                .generic(),
            );
        }
    }
}

/// Secret-looking JSON keys (`"api_key": "…"`); names that merely contain "key" or "token" as a
/// counter or identifier do not count.
fn is_secret_key_name(key: &str) -> bool {
    // Cheap reject before lower-casing: every secret-looking name has one of these letters runs.
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
        "public", "primary", "foreign", "sort", "partition", "cache", "idempot", "dedup",
        "lookup", "keyword", "monkey", "keyboard", "max_token", "token_count", "tokens_used",
        "token_type", "tokenizer", "page_token", "next_token", "keys", "author", "key_id",
        "keyid", "hash_key", "row_key", "api_key_name", "key_name", "num_tokens", "total_tokens",
        "completion_tokens", "prompt_tokens", "input_tokens", "output_tokens",
    ];
    if NOT.iter().any(|n| k.contains(n)) {
        return false;
    }
    const STRONG: &[&str] = &[
        "password", "passwd", "pwd", "secret", "passphrase", "credential", "private_key",
        "privatekey", "apikey", "api_key", "api-key", "access_key", "accesskey", "auth_token",
        "access_token", "refresh_token", "bearer", "signing_key", "session_token", "x-api-key",
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
    if let Some(judged) = judge(key, value, false) {
        let start = text.len() - text.trim_start().len();
        let mut found = judged.at(start..start + value.len());
        found.rule = "cred.json_key".into();
        out.push(found);
    }
}

/// `scheme://user:password@host`: the password is the secret.
fn url_credentials(v: &View<'_>, h: &Hit, out: &mut Vec<Found>) {
    let text = v.text;
    let sep = h.start;
    let Some(rest) = text.get(h.end..) else {
        return;
    };
    let authority_len = rest
        .find(|c: char| c.is_whitespace() || matches!(c, '/' | '?' | '#' | '"' | '\'' | '<' | '>'))
        .unwrap_or(rest.len())
        .min(512);
    let Some(authority) = rest.get(..authority_len) else {
        return;
    };
    let Some(at) = authority.rfind('@') else {
        return;
    };
    let userinfo = authority.get(..at).unwrap_or("");
    let Some(colon) = userinfo.find(':') else {
        return;
    };
    let password = userinfo.get(colon + 1..).unwrap_or("");
    if password.is_empty() || is_placeholder(password) || password.eq_ignore_ascii_case("pass") {
        return;
    }
    let before = text.get(..sep).unwrap_or("");
    let scheme_len = before
        .bytes()
        .rev()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'.' | b'-' | b':'))
        .count();
    let scheme = before
        .get(before.len() - scheme_len..)
        .unwrap_or("")
        .to_ascii_lowercase();
    let sub_type = if DB_SCHEMES.contains(&scheme.as_str()) || scheme.starts_with("jdbc:") {
        "database_url"
    } else {
        "url_credentials"
    };
    let start = h.end + colon + 1;
    out.push(Found::new(
        DetectionType::Credentials,
        sub_type,
        Severity::High,
        0.85,
        "cred.url_password",
        start..start + password.len(),
    ));
}

/// Whether a JWT's header decodes to a JSON object naming its algorithm.
fn jwt_header_ok(token: &str) -> bool {
    let header = token.split('.').next().unwrap_or("");
    super::decode::base64(header)
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .is_some_and(|json| json.contains("\"alg\"") || json.contains("\"typ\""))
}

/// End of a PEM block: after its `-----END … -----` line, or after the base64 body if cut off.
fn pem_end(text: &str, header_end: usize) -> usize {
    let rest = text.get(header_end..).unwrap_or("");
    let limit = rest.len().min(16 * 1024);
    let scope = rest.get(..limit).unwrap_or(rest);
    if let Some(end) = scope.find("-----END") {
        let after = scope.get(end + 8..).unwrap_or("");
        let close = after
            .find("-----")
            .map_or(after.len(), |i| i + 5)
            .min(80);
        return header_end + end + 8 + close;
    }
    let body = scope
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b' ' | b'\n' | b'\r' | b'\\' | b':' | b'-' | b','))
        .count();
    header_end + body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_regex_compiles_and_has_keywords() {
        let c = Credentials::new().unwrap();
        assert_eq!(c.formats.len(), FORMATS.len());
        assert!(FORMATS.iter().all(|f| !f.keywords.is_empty()));
        assert!(sub_types().len() >= 100, "{}", sub_types().len());
    }

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
        assert!(judge("password", "hunter2!x", false).is_some());
        assert!(judge("password", "string", false).is_none());
        assert!(judge("password", "${DB_PASSWORD}", false).is_none());
        assert!(judge("api_key", "q8Zr2LmT0xV9bN4pK7sW", false).is_some());
        assert!(judge("api_key", "YOUR_API_KEY", false).is_none());
    }

    #[test]
    fn pem_block_span_covers_the_end_line() {
        let text = "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAK\n-----END RSA PRIVATE KEY----- tail";
        let header_end = "-----BEGIN RSA PRIVATE KEY-----".len();
        let end = pem_end(text, header_end);
        assert_eq!(&text[end..], " tail");
    }
}
