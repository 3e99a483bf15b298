//! Engine settings beside the policies in the filter configuration: the approval key and header,
//! and the sizes of the shared-data tables that hold rate-limit counters, session histories and
//! used approval tokens.

use std::fmt;

use serde::Deserialize;

/// `approval`: how pre-authorisation tokens are checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApprovalSettings {
    /// HMAC-SHA256 key as hex (at least 32 bytes). Without it no token is ever accepted.
    pub key: Option<String>,
    /// Request header that carries the token; removed before the request goes upstream.
    pub header: String,
}

impl Default for ApprovalSettings {
    fn default() -> Self {
        ApprovalSettings {
            key: None,
            header: "x-authensor-approval".into(),
        }
    }
}

impl fmt::Debug for ApprovalSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApprovalSettings")
            .field("key", &self.key.as_ref().map(|_| "<redacted>"))
            .field("header", &self.header)
            .finish()
    }
}

/// `policy_state`: bounds of the state kept in proxy shared data.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StateSettings {
    /// A session's history is forgotten this long after its last action (`30m`, `1h`, `1d`).
    pub session_ttl: String,
    /// Shared-data entries for session histories (4 sessions each).
    pub session_slots: u32,
    /// Shared-data entries for rate-limit and budget counters (4 counters each).
    pub counter_slots: u32,
    /// Shared-data entries for used approval tokens (8 tokens each, kept until they expire).
    pub approval_slots: u32,
}

impl Default for StateSettings {
    fn default() -> Self {
        StateSettings {
            session_ttl: "1h".into(),
            session_slots: 1024,
            counter_slots: 4096,
            approval_slots: 1024,
        }
    }
}

/// Upper bound for every `*_slots` setting.
pub const MAX_SLOTS: u32 = 1 << 20;
