//! Session rules (engine extension), enforced per session id with state in shared data:
//! `maxActionsPerSession`, `forbiddenSequences` (an in-order, gapped subsequence of action-type
//! globs within the last `lookbackActions` actions, the proposed one included) and
//! `sessionRiskThreshold` (sum of glob-weighted action risks over the stored history plus the
//! proposed action). Only allowed actions are recorded. The history is bounded (the longest
//! lookback in the configuration) and expires `session_ttl` after the session's last action.

use super::glob::Glob;
use super::model::SessionEffect;
use super::state::{key_id, Reader, SharedStore, StateError, Step, Table};

/// Longest history kept per session, and so the largest `lookbackActions`.
pub const MAX_HISTORY: usize = 256;
/// Longest action type stored in a history (longer ones are truncated).
pub const MAX_STORED_TYPE: usize = 256;

#[derive(Debug, Clone)]
pub struct Sequence {
    pub id: Option<Box<str>>,
    pub steps: Box<[Glob]>,
    pub text: Box<[Box<str>]>,
    pub lookback: usize,
    pub effect: SessionEffect,
    pub reason: Option<Box<str>>,
}

#[derive(Debug, Clone)]
pub struct Risk {
    pub max_score: f64,
    /// Exact names first, then globs, as Authensor looks them up.
    pub weights: Box<[(Box<str>, Glob, f64)]>,
    pub effect: SessionEffect,
}

/// One policy's compiled session rules.
#[derive(Debug, Clone, Default)]
pub struct SessionRules {
    pub max_actions: Option<u64>,
    pub sequences: Box<[Sequence]>,
    pub risk: Option<Risk>,
}

/// A session rule that fired.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    pub effect: SessionEffect,
    pub reason: String,
}

/// What is remembered about one session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    /// Allowed actions so far.
    pub count: u64,
    /// The most recent action types, oldest first.
    pub types: Vec<String>,
}

impl SessionRules {
    /// Whether recording history matters (counts alone are kept otherwise).
    pub fn history_needed(&self) -> usize {
        let seq = self.sequences.iter().map(|s| s.lookback).max().unwrap_or(0);
        let risk = if self.risk.is_some() { MAX_HISTORY } else { 0 };
        seq.max(risk)
    }

    /// The first rule the proposed action would break, in Authensor's order.
    pub fn check(&self, h: &History, current: &str) -> Option<Violation> {
        if let Some(max) = self.max_actions {
            let count = h.count.saturating_add(1);
            if count > max {
                return Some(Violation {
                    effect: SessionEffect::Deny,
                    reason: format!(
                        "Session action limit exceeded: {count} actions (limit: {max})"
                    ),
                });
            }
        }
        for s in self.sequences.iter() {
            let window = window(h, current, s.lookback);
            if contains_subsequence(window, &s.steps) {
                return Some(Violation {
                    effect: s.effect,
                    reason: s.reason.as_deref().map_or_else(
                        || {
                            format!(
                                "Forbidden action sequence detected: [{}]",
                                s.text.join(" -> ")
                            )
                        },
                        str::to_owned,
                    ),
                });
            }
        }
        if let Some(r) = &self.risk {
            let score: f64 = window(h, current, MAX_HISTORY + 1)
                .map(|t| r.weight(t))
                .sum();
            if score > r.max_score {
                return Some(Violation {
                    effect: r.effect,
                    reason: format!(
                        "Session risk threshold exceeded: cumulative score {score} exceeds max {}",
                        r.max_score
                    ),
                });
            }
        }
        None
    }
}

impl Risk {
    fn weight(&self, action: &str) -> f64 {
        self.weights
            .iter()
            .find(|(name, _, _)| **name == *action)
            .or_else(|| self.weights.iter().find(|(_, g, _)| g.matches(action)))
            .map_or(0.0, |(_, _, w)| *w)
    }
}

/// The last `n` action types of the history followed by the current one.
fn window<'a>(h: &'a History, current: &'a str, n: usize) -> impl Iterator<Item = &'a str> + Clone {
    let from_history = n.saturating_sub(1).min(h.types.len());
    h.types[h.types.len() - from_history..]
        .iter()
        .map(String::as_str)
        .chain(std::iter::once(current))
        .take(n.max(1))
}

fn contains_subsequence<'a>(actions: impl Iterator<Item = &'a str>, steps: &[Glob]) -> bool {
    let mut next = steps.iter().peekable();
    // Agents repeat themselves: an action the current step just refused is refused again.
    let mut refused: Option<&str> = None;
    for a in actions {
        let Some(step) = next.peek() else {
            break;
        };
        if refused == Some(a) {
            continue;
        }
        if step.matches(a) {
            next.next();
            refused = None;
        } else {
            refused = Some(a);
        }
    }
    next.peek().is_none()
}

/// Session histories in shared data.
#[derive(Debug, Clone)]
pub struct Sessions {
    pub table: Table,
    pub ttl_secs: u64,
    pub capacity: usize,
}

impl Sessions {
    pub fn load<S: SharedStore + ?Sized>(
        &self,
        store: &S,
        session: &str,
        now: u64,
    ) -> Result<History, StateError> {
        self.table.update(
            store,
            &key_id(&[b"session", session.as_bytes()]),
            now,
            |p| Step::Keep(p.and_then(decode).unwrap_or_default()),
        )
    }

    /// Record an allowed action, re-checking `rules` on the fresh history so that concurrent
    /// actions in one session cannot slip past a limit together.
    pub fn record<S: SharedStore + ?Sized>(
        &self,
        store: &S,
        session: &str,
        now: u64,
        action: &str,
        rules: &[&SessionRules],
    ) -> Result<Option<Violation>, StateError> {
        let expires_at = now.saturating_add(self.ttl_secs);
        self.table.update(
            store,
            &key_id(&[b"session", session.as_bytes()]),
            now,
            |p| {
                let mut h = p.and_then(decode).unwrap_or_default();
                if let Some(v) = rules.iter().find_map(|r| r.check(&h, action)) {
                    return Step::Keep(Some(v));
                }
                h.count = h.count.saturating_add(1);
                if self.capacity > 0 {
                    h.types.push(truncate(action).to_owned());
                    let excess = h.types.len().saturating_sub(self.capacity);
                    h.types.drain(..excess);
                }
                Step::Put {
                    payload: encode(&h),
                    expires_at,
                    result: None,
                }
            },
        )
    }
}

fn truncate(s: &str) -> &str {
    let mut end = s.len().min(MAX_STORED_TYPE);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn encode(h: &History) -> Vec<u8> {
    let mut out = Vec::with_capacity(12 + h.types.iter().map(|t| 4 + t.len()).sum::<usize>());
    out.extend_from_slice(&h.count.to_le_bytes());
    out.extend_from_slice(&(h.types.len() as u32).to_le_bytes());
    for t in &h.types {
        out.extend_from_slice(&(t.len() as u32).to_le_bytes());
        out.extend_from_slice(t.as_bytes());
    }
    out
}

fn decode(payload: &[u8]) -> Option<History> {
    let mut r = Reader(payload);
    let count = r.u64()?;
    let n = r.u32()? as usize;
    let mut types = Vec::with_capacity(n.min(MAX_HISTORY));
    for _ in 0..n.min(MAX_HISTORY) {
        types.push(String::from_utf8(r.bytes()?.to_vec()).ok()?);
    }
    Some(History { count, types })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake_host::FakeHost;

    fn sequence(steps: &[&str], lookback: usize) -> Sequence {
        Sequence {
            id: None,
            steps: steps.iter().map(|s| Glob::new(s)).collect(),
            text: steps.iter().map(|s| Box::from(*s)).collect(),
            lookback,
            effect: SessionEffect::Deny,
            reason: None,
        }
    }

    fn sessions() -> Sessions {
        Sessions {
            table: Table {
                name: "s",
                slots: 16,
                ways: 4,
                evict_live: true,
            },
            ttl_secs: 100,
            capacity: 8,
        }
    }

    fn history(types: &[&str]) -> History {
        History {
            count: types.len() as u64,
            types: types.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn forbidden_sequence_is_a_gapped_subsequence_within_the_lookback() {
        let rules = SessionRules {
            sequences: vec![sequence(&["mcp.*.read_secret", "mcp.*.http_post"], 3)].into(),
            ..SessionRules::default()
        };
        let h = history(&["mcp.vault.read_secret", "mcp.fs.list"]);
        let v = rules.check(&h, "mcp.net.http_post").unwrap();
        assert_eq!(
            v.reason,
            "Forbidden action sequence detected: [mcp.*.read_secret -> mcp.*.http_post]"
        );
        // Out of order, or pushed out of the lookback window: no violation.
        assert!(rules
            .check(&history(&["mcp.net.http_post"]), "mcp.vault.read_secret")
            .is_none());
        let h = history(&["mcp.vault.read_secret", "a", "b"]);
        assert!(rules.check(&h, "mcp.net.http_post").is_none());
    }

    #[test]
    fn repeated_actions_around_the_steps_still_form_the_sequence() {
        let rules = SessionRules {
            sequences: vec![sequence(&["mcp.*.read_secret", "mcp.*.http_post"], 8)].into(),
            ..SessionRules::default()
        };
        let busy = [
            "mcp.fs.list",
            "mcp.fs.list",
            "mcp.vault.read_secret",
            "mcp.vault.read_secret",
        ];
        assert!(rules.check(&history(&busy), "mcp.net.http_post").is_some());
        let idle = ["mcp.fs.list", "mcp.fs.list", "mcp.fs.list"];
        assert!(rules.check(&history(&idle), "mcp.net.http_post").is_none());
    }

    #[test]
    fn max_actions_counts_the_proposed_action() {
        let rules = SessionRules {
            max_actions: Some(2),
            ..SessionRules::default()
        };
        assert!(rules.check(&history(&["a"]), "b").is_none());
        let v = rules.check(&history(&["a", "b"]), "c").unwrap();
        assert_eq!(
            v.reason,
            "Session action limit exceeded: 3 actions (limit: 2)"
        );
    }

    #[test]
    fn risk_sums_weights_exact_names_first() {
        let risk = Risk {
            max_score: 10.0,
            weights: vec![
                ("x.delete".into(), Glob::new("x.delete"), 8.0),
                ("x.*".into(), Glob::new("x.*"), 3.0),
            ]
            .into(),
            effect: SessionEffect::RequireApproval,
        };
        let rules = SessionRules {
            risk: Some(risk),
            ..SessionRules::default()
        };
        assert!(rules.check(&history(&["x.read", "y"]), "x.read").is_none());
        let v = rules.check(&history(&["x.read"]), "x.delete").unwrap();
        assert_eq!(v.effect, SessionEffect::RequireApproval);
    }

    #[test]
    fn histories_are_per_session_bounded_and_expire() {
        let host = FakeHost::default();
        let s = sessions();
        for i in 0..10 {
            assert_eq!(
                s.record(&host, "one", 0, &format!("t{i}"), &[]).unwrap(),
                None
            );
        }
        let h = s.load(&host, "one", 50).unwrap();
        assert_eq!(h.count, 10);
        assert_eq!(h.types.first().map(String::as_str), Some("t2"));
        assert_eq!(h.types.len(), 8);
        assert_eq!(s.load(&host, "two", 50).unwrap(), History::default());
        assert_eq!(
            s.load(&host, "one", 100).unwrap(),
            History::default(),
            "expired"
        );
    }

    #[test]
    fn recording_rechecks_against_a_concurrent_action() {
        let host = FakeHost::default();
        let s = sessions();
        let rules = SessionRules {
            max_actions: Some(1),
            ..SessionRules::default()
        };
        assert!(s.load(&host, "sid", 0).unwrap().count == 0);
        // Another worker records an action in this session between our check and our write.
        host.before_shared_set
            .borrow_mut()
            .push_back(Box::new(|h: &FakeHost| {
                assert_eq!(sessions().record(h, "sid", 0, "other", &[]).unwrap(), None);
            }));
        let v = s.record(&host, "sid", 0, "mine", &[&rules]).unwrap();
        assert!(v.unwrap().reason.contains("limit exceeded"));
        assert_eq!(
            s.load(&host, "sid", 0).unwrap().types,
            vec!["other".to_owned()]
        );
    }
}
