//! What the gateway remembers about listed tools, across requests and Envoy worker threads, in
//! proxy-wasm shared data: the hash of each tool's first-seen definition, the operation its
//! annotations claimed, and whether its latest listing was removed (changed or poisoned), so that
//! a later `tools/call` of a removed tool is refused too.
//!
//! Bounded: one entry per (server, tool), at most `max_tools` entries per VM (a counter entry
//! updated by compare-and-swap); past that, new tools are not remembered and the caller says so.
//! Keys are `authensor.mcp.tool.<32 hex of SHA-256(server NUL tool)>`, values
//! `1 <hash> <operation code or -> <state>`.

use sha2::{Digest, Sha256};

use super::action::Operation;
use super::tools::hex;
use crate::host::Host;

const COUNT_KEY: &str = "authensor.mcp.tools";
const CAS_RETRIES: usize = 4;

/// State of a tool's latest listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolState {
    Ok,
    /// Its definition differed from the first-seen (or pinned) one.
    Changed,
    /// Its definition carried hidden instructions or exfiltration.
    Poisoned,
}

impl ToolState {
    fn code(self) -> char {
        match self {
            ToolState::Ok => 'o',
            ToolState::Changed => 'c',
            ToolState::Poisoned => 'p',
        }
    }

    fn from_code(c: char) -> Option<ToolState> {
        [ToolState::Ok, ToolState::Changed, ToolState::Poisoned]
            .into_iter()
            .find(|s| s.code() == c)
    }
}

/// One remembered tool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remembered {
    /// Hash of the first definition seen.
    pub hash: String,
    /// What its first definition's annotations claimed.
    pub operation: Option<Operation>,
    pub state: ToolState,
}

impl Remembered {
    fn encode(&self) -> String {
        let op = self.operation.map_or('-', op_code);
        format!("1 {} {op} {}", self.hash, self.state.code())
    }

    fn decode(bytes: &[u8]) -> Option<Remembered> {
        let text = std::str::from_utf8(bytes).ok()?;
        let mut parts = text.split(' ');
        let (Some("1"), Some(hash), Some(op), Some(state), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        let op = single_char(op)?;
        Some(Remembered {
            hash: hash.to_owned(),
            operation: if op == '-' {
                None
            } else {
                Some(op_from_code(op)?)
            },
            state: ToolState::from_code(single_char(state)?)?,
        })
    }
}

/// An operation's compact form in shared data: its first letter.
fn op_code(op: Operation) -> char {
    op.as_str().chars().next().unwrap_or('e')
}

fn op_from_code(c: char) -> Option<Operation> {
    [
        Operation::Create,
        Operation::Read,
        Operation::Update,
        Operation::Delete,
        Operation::Execute,
    ]
    .into_iter()
    .find(|op| op_code(*op) == c)
}

fn single_char(s: &str) -> Option<char> {
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Some(c),
        _ => None,
    }
}

/// How a listed definition compares with what was remembered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sighting {
    /// Never seen before; now remembered.
    First,
    /// The same definition as first seen.
    Same,
    /// A different definition than first seen (`first` is the remembered hash).
    Changed { first: String },
    /// Never seen before, and the memory is full: not remembered.
    Unremembered,
}

/// The shared-data tool memory of one VM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ToolMemory {
    pub max_tools: u32,
}

impl ToolMemory {
    /// What is remembered about a tool.
    pub fn recall(&self, host: &impl Host, server: &str, tool: &str) -> Option<Remembered> {
        let (bytes, _) = host.shared_get(&key(server, tool))?;
        Remembered::decode(&bytes)
    }

    /// Compare a listed definition with the first one seen, remembering it if it is new.
    pub fn observe(
        &self,
        host: &impl Host,
        server: &str,
        tool: &str,
        hash: &str,
        operation: Option<Operation>,
    ) -> Sighting {
        if let Some(known) = self.recall(host, server, tool) {
            return if known.hash == hash {
                Sighting::Same
            } else {
                Sighting::Changed { first: known.hash }
            };
        }
        if !self.reserve(host) {
            return Sighting::Unremembered;
        }
        let entry = Remembered {
            hash: hash.to_owned(),
            operation,
            state: ToolState::Ok,
        };
        host.shared_set(&key(server, tool), entry.encode().as_bytes(), 0);
        Sighting::First
    }

    /// Record the state of a tool's latest listing (no-op for tools not remembered).
    pub fn set_state(&self, host: &impl Host, server: &str, tool: &str, state: ToolState) {
        let key = key(server, tool);
        for _ in 0..CAS_RETRIES {
            let Some((bytes, cas)) = host.shared_get(&key) else {
                return;
            };
            let Some(mut entry) = Remembered::decode(&bytes) else {
                return;
            };
            if entry.state == state {
                return;
            }
            entry.state = state;
            if host.shared_set(&key, entry.encode().as_bytes(), cas) {
                return;
            }
        }
    }

    /// Count one more entry unless the memory is full.
    fn reserve(&self, host: &impl Host) -> bool {
        for _ in 0..CAS_RETRIES {
            let (count, cas) = match host.shared_get(COUNT_KEY) {
                Some((bytes, cas)) => {
                    let count = std::str::from_utf8(&bytes)
                        .ok()
                        .and_then(|s| s.parse::<u32>().ok())
                        .unwrap_or(u32::MAX);
                    (count, cas)
                }
                None => (0, 0),
            };
            if count >= self.max_tools {
                return false;
            }
            let next = (count + 1).to_string();
            if host.shared_set(COUNT_KEY, next.as_bytes(), cas) {
                return true;
            }
        }
        false
    }
}

fn key(server: &str, tool: &str) -> String {
    let mut h = Sha256::new();
    h.update(server.as_bytes());
    h.update([0]);
    h.update(tool.as_bytes());
    let digest = h.finalize();
    let short = digest.get(..16).unwrap_or_default();
    format!("authensor.mcp.tool.{}", hex(short))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake_host::FakeHost;

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    #[test]
    fn first_sight_is_remembered_and_a_change_is_noticed() {
        let host = FakeHost::default();
        let m = ToolMemory { max_tools: 10 };
        assert_eq!(
            m.observe(&host, "s", "t", A, Some(Operation::Read)),
            Sighting::First
        );
        assert_eq!(m.observe(&host, "s", "t", A, None), Sighting::Same);
        assert_eq!(
            m.observe(&host, "s", "t", B, None),
            Sighting::Changed { first: A.into() }
        );
        // The first definition stays the reference, and its claimed operation too.
        assert_eq!(
            m.observe(&host, "s", "t", B, None),
            Sighting::Changed { first: A.into() }
        );
        let r = m.recall(&host, "s", "t").unwrap();
        assert_eq!(
            (r.operation, r.state),
            (Some(Operation::Read), ToolState::Ok)
        );
        // Same tool name on another server is another tool.
        assert_eq!(m.observe(&host, "s2", "t", B, None), Sighting::First);
    }

    #[test]
    fn states_are_recorded() {
        let host = FakeHost::default();
        let m = ToolMemory { max_tools: 10 };
        m.observe(&host, "s", "t", A, None);
        m.set_state(&host, "s", "t", ToolState::Changed);
        assert_eq!(m.recall(&host, "s", "t").unwrap().state, ToolState::Changed);
        m.set_state(&host, "s", "t", ToolState::Ok);
        assert_eq!(m.recall(&host, "s", "t").unwrap().state, ToolState::Ok);
        m.set_state(&host, "s", "unknown", ToolState::Poisoned);
        assert_eq!(m.recall(&host, "s", "unknown"), None);
    }

    #[test]
    fn memory_is_bounded() {
        let host = FakeHost::default();
        let m = ToolMemory { max_tools: 2 };
        assert_eq!(m.observe(&host, "s", "a", A, None), Sighting::First);
        assert_eq!(m.observe(&host, "s", "b", A, None), Sighting::First);
        assert_eq!(m.observe(&host, "s", "c", A, None), Sighting::Unremembered);
        assert_eq!(m.recall(&host, "s", "c"), None);
        assert_eq!(m.observe(&host, "s", "a", A, None), Sighting::Same);
        assert_eq!(host.shared.borrow().len(), 3);
    }

    #[test]
    fn garbage_in_shared_data_is_not_trusted() {
        let host = FakeHost::default();
        let m = ToolMemory { max_tools: 10 };
        host.shared_set(&key("s", "t"), b"1 abc x o", 0);
        assert_eq!(m.recall(&host, "s", "t"), None);
        host.shared_set(COUNT_KEY, b"not a number", 0);
        assert_eq!(m.observe(&host, "s", "u", A, None), Sighting::Unremembered);
    }
}
