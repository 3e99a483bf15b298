//! Pre-authorisation tokens for `require_approval` rules. Nothing in a sidecar can wait for a
//! human, so an approval system (or `authensor approval mint`) issues a token after the approval,
//! and the agent retries the same call with it in a header.
//!
//! Token: `v1.<id: 32 hex>.<expiry: unix seconds>.<mac: 64 hex>` where
//! `mac = HMAC-SHA256(key, "authensor-approval/v1" || id || expiry || principal id || action type
//! || resource || SHA-256(canonical JSON of the parameters))`, every field length-prefixed.
//! The bound fields are not in the token: they are recomputed from the request, so a token works
//! only for the same principal, action, resource and arguments, before its expiry, and (through
//! the used-token table in shared data) only once.

use std::fmt;
use std::fmt::Write as _;

use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::envelope::Envelope;

type HmacSha256 = Hmac<Sha256>;

/// Shortest accepted key.
pub const MIN_KEY_BYTES: usize = 32;
const DOMAIN: &[u8] = b"authensor-approval/v1";

/// The HMAC key, kept only as a keyed MAC state. Its `Debug` form never shows the key.
#[derive(Clone)]
pub struct ApprovalKey {
    keyed: HmacSha256,
}

impl fmt::Debug for ApprovalKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApprovalKey(<redacted>)")
    }
}

impl ApprovalKey {
    /// Parse a hex key of at least [`MIN_KEY_BYTES`] bytes. The error never quotes the input.
    pub fn from_hex(text: &str) -> Result<ApprovalKey, String> {
        let text = text.trim();
        let bytes = decode_hex(text).ok_or(
            "expected the key as hex digits (for example the output of `openssl rand -hex 32`)",
        )?;
        if bytes.len() < MIN_KEY_BYTES {
            return Err(format!(
                "expected at least {MIN_KEY_BYTES} bytes ({} hex digits), got {} bytes",
                MIN_KEY_BYTES * 2,
                bytes.len()
            ));
        }
        let keyed = <HmacSha256 as KeyInit>::new_from_slice(&bytes)
            .map_err(|_| "HMAC rejected the key length".to_owned())?;
        Ok(ApprovalKey { keyed })
    }

    fn mac(&self, id: &str, expires_at: u64, binding: &Binding<'_>) -> HmacSha256 {
        let mut mac = self.keyed.clone();
        for part in [
            DOMAIN,
            id.as_bytes(),
            expires_at.to_string().as_bytes(),
            binding.principal.as_bytes(),
            binding.action.as_bytes(),
            binding.resource.as_bytes(),
            &binding.params_sha256,
        ] {
            mac.update(&(part.len() as u64).to_le_bytes());
            mac.update(part);
        }
        mac
    }
}

/// What a token is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding<'a> {
    pub principal: &'a str,
    pub action: &'a str,
    pub resource: &'a str,
    pub params_sha256: [u8; 32],
}

impl<'a> Binding<'a> {
    pub fn of(e: &'a Envelope) -> Binding<'a> {
        Binding {
            principal: &e.principal.id,
            action: &e.action.kind,
            resource: &e.action.resource,
            params_sha256: params_digest(&e.action.parameters),
        }
    }

    /// A stable reference for this approval request: `apr_` and 16 hex digits.
    pub fn reference(&self) -> String {
        let mut h = Sha256::new();
        for part in [
            self.principal.as_bytes(),
            self.action.as_bytes(),
            self.resource.as_bytes(),
            &self.params_sha256,
        ] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part);
        }
        format!("apr_{}", hex(&h.finalize()[..8]))
    }
}

/// What an `approval_required` answer tells the caller and the approver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApprovalRequest {
    pub reference: String,
    pub principal: String,
    pub action: String,
    pub resource: String,
    pub params_sha256: String,
    pub required_approvals: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<String>,
}

/// Why a presented token did not approve the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    Malformed,
    Expired,
    /// Wrong key, or bound to another principal, action, resource or arguments.
    Mismatch,
}

impl TokenError {
    pub fn describe(self) -> &'static str {
        match self {
            TokenError::Malformed => "the approval token is malformed",
            TokenError::Expired => "the approval token has expired",
            TokenError::Mismatch => {
                "the approval token does not match this principal, action, resource or arguments"
            }
        }
    }
}

/// A verified token: its id (for the used-token table) and expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    pub id: [u8; 16],
    pub expires_at: u64,
}

/// Issue a token.
pub fn mint(key: &ApprovalKey, binding: &Binding<'_>, id: [u8; 16], expires_at: u64) -> String {
    let id = hex(&id);
    let mac = key.mac(&id, expires_at, binding).finalize().into_bytes();
    format!("v1.{id}.{expires_at}.{}", hex(&mac))
}

/// Check a token against the request it came with (constant-time MAC comparison).
pub fn verify(
    key: &ApprovalKey,
    token: &str,
    binding: &Binding<'_>,
    now_secs: u64,
) -> Result<Verified, TokenError> {
    let mut parts = token.trim().split('.');
    let (Some("v1"), Some(id_hex), Some(exp), Some(mac_hex), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(TokenError::Malformed);
    };
    let id: [u8; 16] = decode_hex(id_hex)
        .and_then(|b| b.try_into().ok())
        .ok_or(TokenError::Malformed)?;
    if exp.is_empty() || !exp.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TokenError::Malformed);
    }
    let expires_at: u64 = exp.parse().map_err(|_| TokenError::Malformed)?;
    let mac = decode_hex(mac_hex)
        .filter(|m| m.len() == 32)
        .ok_or(TokenError::Malformed)?;
    // Compare the MAC first so an expired forgery and an expired real token look alike.
    key.mac(id_hex, expires_at, binding)
        .verify_slice(&mac)
        .map_err(|_| TokenError::Mismatch)?;
    if expires_at <= now_secs {
        return Err(TokenError::Expired);
    }
    Ok(Verified { id, expires_at })
}

/// SHA-256 of the canonical JSON of `params`.
pub fn params_digest(params: &Value) -> [u8; 32] {
    let mut text = String::new();
    canonical_json(params, &mut text);
    Sha256::digest(text.as_bytes()).into()
}

/// Canonical JSON: object keys sorted by their UTF-8 bytes, no whitespace, strings escaped as
/// serde_json does, integral numbers below 2^53 written as integers (`1.0` and `1` agree).
pub fn canonical_json(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            if n.is_f64() {
                let f = n.as_f64().unwrap_or(0.0);
                if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
                    let _ = write!(out, "{}", f as i64);
                } else {
                    let _ = write!(out, "{f}");
                }
            } else {
                let _ = write!(out, "{n}");
            }
        }
        Value::String(s) => out.push_str(&serde_json::to_string(s).unwrap_or_default()),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(k).unwrap_or_default());
                out.push(':');
                if let Some(item) = map.get(*k) {
                    canonical_json(item, out);
                }
            }
            out.push('}');
        }
    }
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.as_bytes()
        .chunks(2)
        .map(|pair| {
            let digit = |b: u8| (b as char).to_digit(16);
            Some((digit(pair[0])? * 16 + digit(pair[1])?) as u8)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key() -> ApprovalKey {
        ApprovalKey::from_hex(&"ab".repeat(32)).unwrap()
    }

    fn binding(params: &Value) -> Binding<'static> {
        Binding {
            principal: "agent-1",
            action: "http.delete",
            resource: "api/items/7",
            params_sha256: params_digest(params),
        }
    }

    #[test]
    fn token_verifies_only_for_the_same_binding_and_before_expiry() {
        let params = json!({"force": true});
        let token = mint(&key(), &binding(&params), [7; 16], 1_000);
        assert_eq!(
            verify(&key(), &token, &binding(&params), 999),
            Ok(Verified {
                id: [7; 16],
                expires_at: 1_000
            })
        );
        assert_eq!(
            verify(&key(), &token, &binding(&params), 1_000),
            Err(TokenError::Expired)
        );
        assert_eq!(
            verify(&key(), &token, &binding(&json!({"force": false})), 999),
            Err(TokenError::Mismatch)
        );
        let other_principal = Binding {
            principal: "agent-2",
            ..binding(&params)
        };
        assert_eq!(
            verify(&key(), &token, &other_principal, 999),
            Err(TokenError::Mismatch)
        );
        let other_key = ApprovalKey::from_hex(&"cd".repeat(32)).unwrap();
        assert_eq!(
            verify(&other_key, &token, &binding(&params), 999),
            Err(TokenError::Mismatch)
        );
        let later = token.replace(".1000.", ".2000.");
        assert_eq!(
            verify(&key(), &later, &binding(&params), 999),
            Err(TokenError::Mismatch)
        );
    }

    #[test]
    fn malformed_tokens_are_rejected() {
        let b = binding(&json!({}));
        for bad in [
            "",
            "v1",
            "v2.00.1.00",
            "v1.zz.1.00",
            &format!("v1.{}.x.{}", "0".repeat(32), "0".repeat(64)),
            &format!("v1.{}.1.{}.extra", "0".repeat(32), "0".repeat(64)),
        ] {
            assert_eq!(
                verify(&key(), bad, &b, 0),
                Err(TokenError::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn canonical_json_sorts_keys_and_normalises_numbers() {
        let mut s = String::new();
        canonical_json(
            &json!({"b": 1.0, "a": [1.5, "x\"y", null], "c": {"z": 1, "y": 2}}),
            &mut s,
        );
        assert_eq!(s, r#"{"a":[1.5,"x\"y",null],"b":1,"c":{"y":2,"z":1}}"#);
        assert_eq!(
            params_digest(&json!({"a": 1, "b": 2})),
            params_digest(&json!({"b": 2.0, "a": 1}))
        );
    }

    #[test]
    fn keys_must_be_long_hex_and_never_show() {
        assert!(ApprovalKey::from_hex("abcd")
            .unwrap_err()
            .contains("at least 32 bytes"));
        assert!(ApprovalKey::from_hex(&"zz".repeat(32))
            .unwrap_err()
            .contains("hex digits"));
        assert!(!format!("{:?}", key()).contains("abab"));
        assert_eq!(binding(&json!({})).reference().len(), 20);
    }
}
