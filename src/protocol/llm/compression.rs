//! Compressed bodies on LLM routes. The filter scans what it reads, so what it reads must be
//! what is sent: responses are kept readable by asking the upstream for `identity` encoding
//! (the caller rewrites the request's `accept-encoding`), and a compressed body on either side
//! is denied or passed unscanned with an audit line, as configured (`llm.on_compressed`).
//! Never silently. Plain HTTP bodies use the same decision under `body.on_compressed`.

use super::config::OnCompressed;
use crate::decision::Decision;

/// The `accept-encoding` an LLM request is sent upstream with.
pub const ACCEPT_IDENTITY: &str = "identity";

/// The rule id decisions about compressed bodies carry.
const RULE: &str = "llm.on_compressed";

/// The content codings a `content-encoding` header names, other than `identity`.
pub fn codings(content_encoding: Option<&str>) -> Vec<String> {
    content_encoding
        .unwrap_or("")
        .split(',')
        .map(|c| c.trim().to_ascii_lowercase())
        .filter(|c| !c.is_empty() && c != "identity")
        .collect()
}

/// The coding a body's first bytes betray, when a header does not say (gzip, zstd and zlib have
/// magic numbers; brotli has none, and is caught because it is not JSON).
pub fn sniff(body: &[u8]) -> Option<&'static str> {
    match body {
        [0x1f, 0x8b, ..] => Some("gzip"),
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Some("zstd"),
        [0x78, second, ..] if (0x7800u16 | u16::from(*second)).is_multiple_of(31) => {
            Some("deflate")
        }
        _ => None,
    }
}

/// What to do with a request body: `None` to scan it as usual; otherwise the decision for a
/// compressed one (deny 415, or allow with a note that it passed unscanned). `body_start` may be
/// empty when only the headers are known.
pub fn request_decision(
    content_encoding: Option<&str>,
    body_start: &[u8],
    on: OnCompressed,
) -> Option<Decision> {
    body_decision(RULE, content_encoding, body_start, on)
}

/// [`request_decision`] under the setting named `rule` (`body.on_compressed` for plain HTTP).
pub fn body_decision(
    rule: &str,
    content_encoding: Option<&str>,
    body_start: &[u8],
    on: OnCompressed,
) -> Option<Decision> {
    let found = codings(content_encoding);
    let what = if found.is_empty() {
        format!("{} (by its first bytes)", sniff(body_start)?)
    } else {
        found.join(", ")
    };
    Some(decide(
        on,
        rule,
        "compressed_body",
        415,
        format!("the request body is {what}-compressed and cannot be scanned"),
    ))
}

/// What to do with a response the upstream compressed although asked for identity: `None` to
/// scan it; a denial (502) or a pass-unscanned note otherwise.
pub fn response_decision(content_encoding: Option<&str>, on: OnCompressed) -> Option<Decision> {
    let found = codings(content_encoding);
    if found.is_empty() {
        return None;
    }
    let reason = format!(
        "the upstream answered {}-compressed although asked for identity; it cannot be scanned",
        found.join(", ")
    );
    Some(decide(on, RULE, "compressed_response", 502, reason))
}

fn decide(
    on: OnCompressed,
    rule: &str,
    error_type: &'static str,
    status: u32,
    reason: String,
) -> Decision {
    match on {
        OnCompressed::Deny => Decision::deny(error_type, status, rule, reason),
        OnCompressed::Pass => {
            Decision::allow_noting(rule, format!("{reason}; passed unscanned ({rule}: pass)"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_codings_are_found_and_identity_ignored() {
        assert_eq!(codings(Some("gzip, br")), vec!["gzip", "br"]);
        assert!(codings(Some(" identity ")).is_empty());
        assert!(codings(None).is_empty());
    }

    #[test]
    fn compressed_requests_are_denied_or_passed_with_a_note() {
        assert_eq!(
            request_decision(None, br#"{"model":"m"}"#, OnCompressed::Deny),
            None
        );
        let d = request_decision(Some("gzip"), b"", OnCompressed::Deny).unwrap();
        assert_eq!(
            (d.status, d.error_type, d.rule.as_deref()),
            (415, "compressed_body", Some("llm.on_compressed"))
        );
        let d = request_decision(Some("ZSTD"), b"", OnCompressed::Pass).unwrap();
        assert!(d.is_allowed());
        assert!(
            d.reasons[0].contains("zstd-compressed") && d.reasons[0].contains("passed unscanned")
        );
    }

    #[test]
    fn a_lying_header_does_not_hide_a_compressed_body() {
        assert_eq!(sniff(&[0x1f, 0x8b, 8, 0]), Some("gzip"));
        assert_eq!(sniff(&[0x78, 0x9c, 1]), Some("deflate"));
        assert_eq!(sniff(&[0x28, 0xb5, 0x2f, 0xfd]), Some("zstd"));
        assert_eq!(sniff(b"xyz"), None);
        let d = request_decision(Some("identity"), &[0x1f, 0x8b, 8], OnCompressed::Deny).unwrap();
        assert!(d.reasons[0].contains("gzip (by its first bytes)"));
    }

    #[test]
    fn compressed_responses_are_refused_unless_passing() {
        assert_eq!(
            response_decision(Some("identity"), OnCompressed::Deny),
            None
        );
        assert_eq!(
            response_decision(Some("br"), OnCompressed::Deny).map(|d| d.status),
            Some(502)
        );
        assert!(response_decision(Some("br"), OnCompressed::Pass)
            .unwrap()
            .is_allowed());
    }
}
