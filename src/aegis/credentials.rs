//! Credentials detector: provider formats confirmed by regex in a window around their keyword
//! (with checksum, JWT-header and PEM-block checks), credentials inside URLs (database URLs and
//! `user:pass@host`), bearer tokens, and generic `name = value` secrets gated by the value's
//! randomness, including a JSON value stored under a secret-looking key.

use regex_lite::Regex;

use super::checksum;
use super::credential_formats::{Check, FORMATS};
use super::entropy::{is_placeholder, looks_random, shannon};
use super::finding::{Found, View};
use super::generic_secrets;
use super::keywords::{Hit, KeywordSetBuilder, Owner};
use crate::config::ConfigError;
use crate::detection::{DetectionType, Severity};

/// Keyword codes beyond the format table.
const GENERIC: u16 = 5000;
const URL: u16 = 5001;
const BEARER: u16 = 5002;

const GENERIC_KEYWORDS: &[&str] = &[
    "*key",
    "*keys",
    "*token",
    "*secret",
    "*secrets",
    "*password",
    "*passwd",
    "*pwd",
    "*pass",
    "*passphrase",
    "*credential",
    "*credentials",
    "*auth",
    "*apikey",
    "*private",
    "*access",
    "*login",
    "*pat",
];

/// Database and message-broker URL schemes.
const DB_SCHEMES: &[&str] = &[
    "postgres",
    "postgresql",
    "mysql",
    "mariadb",
    "mongodb",
    "mongodb+srv",
    "redis",
    "rediss",
    "amqp",
    "amqps",
    "mssql",
    "sqlserver",
    "cockroachdb",
    "couchdb",
    "clickhouse",
    "neo4j",
    "neo4j+s",
    "bolt",
    "oracle",
    "db2",
    "cassandra",
    "memcached",
    "nats",
    "kafka",
    "snowflake",
    "elasticsearch",
    "ldap",
    "ldaps",
    "sqlite",
    "jdbc:postgresql",
    "jdbc:mysql",
];

/// Compiled regexes, one per format row plus the bearer one.
pub struct Credentials {
    formats: Vec<Regex>,
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
                GENERIC => generic_secrets::after_keyword(v, h, out),
                URL => url_credentials(v, h, out),
                BEARER => self.bearer(v, h, out),
                code => self.format(v, h, usize::from(code), out),
            }
        }
        generic_secrets::assigned_tokens(v, out);
        if let Some(key) = v.parent_key {
            generic_secrets::value_under_key(v.text, key, out);
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
                Check::Entropy => {
                    if shannon(value.as_bytes()) < 3.5 {
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
    let generic = [
        "password", "pass", "secret", "pwd", "passwd", "xxx", "changeme",
    ]
    .iter()
    .any(|w| password.eq_ignore_ascii_case(w));
    let template =
        password.starts_with(['$', '<', '{', '[', '%', '*']) || password.contains("****");
    if password.is_empty() || generic || template {
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
        let close = after.find("-----").map_or(after.len(), |i| i + 5).min(80);
        return header_end + end + 8 + close;
    }
    let body = scope
        .bytes()
        .take_while(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'+' | b'/' | b'=' | b' ' | b'\n' | b'\r' | b'\\' | b':' | b'-' | b','
                )
        })
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
    fn pem_block_span_covers_the_end_line() {
        let text =
            "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAK\n-----END RSA PRIVATE KEY----- tail";
        let header_end = "-----BEGIN RSA PRIVATE KEY-----".len();
        let end = pem_end(text, header_end);
        assert_eq!(&text[end..], " tail");
    }
}
