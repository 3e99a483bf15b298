//! The tamper-evident audit chain. Each VM keeps one [`Chain`]; every audit line it writes is
//! bounded and then sealed: `"chain":{"id","seq","prev"}` is appended as the last member, where
//! `seq` counts from 1 and `prev` is the SHA-256 (hex) of the previous line's exact text, chain
//! fields included (64 zeros for the first line). The line's canonical form is its exact text, so
//! an edit anywhere in a line breaks the link from the next one. There is no key: the chain
//! shows edits, deletions, reordering and duplication, not a rewrite that recomputes every hash.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt::Write;

use sha2::{Digest, Sha256};

use super::bound::bound_json;
use super::is_audit_line;
use crate::policy::approval::hex;

/// `prev` of a chain's first line.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One VM's audit chain: its id, the last sequence number used and the hash of the last line.
#[derive(Debug, Clone)]
pub struct Chain {
    id: String,
    seq: u64,
    prev: String,
}

impl Chain {
    /// A new chain; characters of `id` other than ASCII letters, digits, `.`, `_`, `:` and `-`
    /// become `_` (see [`Chain::for_vm`] for the usual id).
    pub fn new(id: &str) -> Chain {
        let safe = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-');
        Chain {
            id: id.chars().map(|c| if safe(c) { c } else { '_' }).collect(),
            seq: 0,
            prev: GENESIS.to_owned(),
        }
    }

    /// The chain of a VM started at `start_nanos` (Unix time), told apart from VMs started in the
    /// same nanosecond (one per proxy worker thread) by `nonce`: `<start hex>-<nonce hex>`.
    pub fn for_vm(start_nanos: u64, nonce: u64) -> Chain {
        Chain::new(&format!("{start_nanos:016x}-{:08x}", nonce as u32))
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Bound `record_json` (a compact JSON object) so that the sealed line is at most
    /// `max_line_bytes`, append the chain member and advance the chain. Returns the line to log.
    pub fn seal(&mut self, record_json: &str, max_line_bytes: usize) -> String {
        let seq = self.seq + 1;
        let mut suffix = String::with_capacity(self.id.len() + 110);
        let _ = write!(
            suffix,
            "\"chain\":{{\"id\":\"{}\",\"seq\":{seq},\"prev\":\"{}\"}}}}",
            self.id, self.prev
        );
        let body = bound_json(record_json, max_line_bytes.saturating_sub(suffix.len() + 1));
        let open = match body.strip_suffix('}') {
            Some(open) => open,
            // Not an object: keep the text as a string member so nothing is lost.
            None => return self.seal(&unsealable(record_json), max_line_bytes),
        };
        let mut line = String::with_capacity(open.len() + suffix.len() + 1);
        line.push_str(open);
        if !open.ends_with('{') {
            line.push(',');
        }
        line.push_str(&suffix);
        self.prev = line_hash(&line);
        self.seq = seq;
        line
    }
}

/// A record that was not a JSON object, wrapped so it can be sealed.
fn unsealable(text: &str) -> String {
    let quoted = serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_owned());
    format!(r#"{{"audit":"{}","unsealable":{quoted}}}"#, super::SCHEMA)
}

/// SHA-256 of a line's exact text, hex: what the next line's `prev` holds.
pub fn line_hash(line: &str) -> String {
    hex(&Sha256::digest(line.as_bytes()))
}

/// `message` sealed with `chain` if it is an audit line; other messages pass unchanged. A chain
/// already borrowed (never expected: one callback at a time per VM) leaves the line unsealed,
/// which `authensor audit verify` reports, rather than failing the request.
pub fn seal_if_audit<'m>(
    chain: &RefCell<Chain>,
    message: &'m str,
    max_line_bytes: usize,
) -> Cow<'m, str> {
    if !is_audit_line(message) {
        return Cow::Borrowed(message);
    }
    match chain.try_borrow_mut() {
        Ok(mut chain) => Cow::Owned(chain.seal(message, max_line_bytes)),
        Err(_) => Cow::Borrowed(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const RECORD: &str = r#"{"audit":"authensor/v1","decision":"deny","status":403}"#;

    #[test]
    fn lines_are_linked_by_the_hash_of_the_previous_line() {
        let mut chain = Chain::for_vm(0x1234, 0xabcdef);
        assert_eq!(chain.id(), "0000000000001234-00abcdef");
        let first = chain.seal(RECORD, 16_384);
        let second = chain.seal(RECORD, 16_384);
        assert!(first
            .starts_with(r#"{"audit":"authensor/v1","decision":"deny","status":403,"chain":{"#));
        let (a, b): (Value, Value) = (
            serde_json::from_str(&first).unwrap(),
            serde_json::from_str(&second).unwrap(),
        );
        assert_eq!(a["chain"]["seq"], 1);
        assert_eq!(a["chain"]["prev"], GENESIS);
        assert_eq!(b["chain"]["seq"], 2);
        assert_eq!(b["chain"]["prev"], line_hash(&first));
        assert_eq!(b["chain"]["id"], "0000000000001234-00abcdef");
        assert_ne!(first, second, "same record, different lines");
    }

    #[test]
    fn the_sealed_line_respects_the_bound() {
        let long = format!(
            r#"{{"audit":"authensor/v1","path":"{}"}}"#,
            "a".repeat(50_000)
        );
        let mut chain = Chain::new("c");
        let line = chain.seal(&long, 4096);
        assert!(line.len() <= 4096, "{}", line.len());
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["chain"]["seq"], 1);
        assert!(v["path"].as_str().unwrap().contains("…[truncated"));
    }

    #[test]
    fn an_empty_object_and_a_non_object_still_seal() {
        let mut chain = Chain::new("c");
        let v: Value = serde_json::from_str(&chain.seal("{}", 4096)).unwrap();
        assert_eq!(v["chain"]["seq"], 1);
        let v: Value = serde_json::from_str(&chain.seal("oops", 4096)).unwrap();
        assert_eq!(v["unsealable"], "oops");
        assert_eq!(v["chain"]["seq"], 2);
        assert_eq!(Chain::new("a\"b c").id(), "a_b_c");
    }

    #[test]
    fn only_audit_lines_are_sealed() {
        let chain = RefCell::new(Chain::new("c"));
        assert_eq!(
            seal_if_audit(&chain, "plain message", 4096),
            "plain message"
        );
        assert!(seal_if_audit(&chain, RECORD, 4096).contains(r#""chain":{"id":"c","seq":1"#));
        let _held = chain.borrow_mut();
        assert_eq!(seal_if_audit(&chain, RECORD, 4096), RECORD);
    }
}
