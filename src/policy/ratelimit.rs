//! Fixed-window counters in shared data, for rule `rateLimit` (1 per request, up to `requests`
//! per window) and `costBudget` (the declared cost, up to `maxBudget` per period). A counter is
//! keyed by policy, rule and scope key; its value holds the window index and the running total,
//! so a new window starts from zero without leaving a key behind per window.

use std::cell::RefCell;

use super::state::{key_id, KeyId, Reader, SharedStore, StateError, Step, Table};

/// A counter's identity and limits.
pub struct Window<'a> {
    pub table: &'a Table,
    pub id: KeyId,
    pub window_secs: u64,
    pub limit: f64,
}

/// Outcome of adding to a counter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Admit {
    /// Counted; the new total.
    Yes(f64),
    /// Over the limit; seconds until the window resets.
    No { retry_after: u64 },
}

/// The counter id for `(kind, policy, rule, scope, scope value)`.
pub fn counter_id(kind: &str, policy: &str, rule: &str, scope: &str, value: &str) -> KeyId {
    key_id(&[
        kind.as_bytes(),
        policy.as_bytes(),
        rule.as_bytes(),
        scope.as_bytes(),
        value.as_bytes(),
    ])
}

/// A rule's last counter id and the scope value it is for: the value rarely changes (a sidecar's
/// principal), so the id is hashed again only when it does. One per rule and counter kind.
#[derive(Debug, Clone, Default)]
pub struct LastCounter(RefCell<Option<(Box<str>, KeyId)>>);

impl LastCounter {
    /// The counter id for scope value `value`, `make` computing it when it is not the last one.
    pub fn id(&self, value: &str, make: impl FnOnce() -> KeyId) -> KeyId {
        let Ok(mut last) = self.0.try_borrow_mut() else {
            return make();
        };
        match &*last {
            Some((v, id)) if **v == *value => *id,
            _ => {
                let id = make();
                *last = Some((value.into(), id));
                id
            }
        }
    }
}

impl Window<'_> {
    /// Add `amount` if the total stays within the limit, atomically across workers.
    pub fn admit<S: SharedStore + ?Sized>(
        &self,
        store: &S,
        now_secs: u64,
        amount: f64,
    ) -> Result<Admit, StateError> {
        let window = self.window_secs.max(1);
        let index = now_secs / window;
        let ends = index.saturating_add(1).saturating_mul(window);
        self.table.update(store, &self.id, now_secs, |payload| {
            let total = payload.and_then(|p| read(p, index)).unwrap_or(0.0);
            let next = total + amount;
            if next > self.limit {
                Step::Keep(Admit::No {
                    retry_after: ends.saturating_sub(now_secs).max(1),
                })
            } else {
                let mut payload = Vec::with_capacity(16);
                payload.extend_from_slice(&index.to_le_bytes());
                payload.extend_from_slice(&next.to_bits().to_le_bytes());
                Step::Put {
                    payload,
                    expires_at: ends,
                    result: Admit::Yes(next),
                }
            }
        })
    }
}

/// The total stored for window `index` (another window's total counts as zero).
fn read(payload: &[u8], index: u64) -> Option<f64> {
    let mut r = Reader(payload);
    let stored = r.u64()?;
    let total = f64::from_bits(r.u64()?);
    (stored == index && total.is_finite()).then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake_host::FakeHost;

    fn table() -> Table {
        Table {
            name: "rl",
            slots: 8,
            ways: 4,
            evict_live: true,
        }
    }

    fn window(t: &Table, limit: f64) -> Window<'_> {
        Window {
            table: t,
            id: counter_id("rl", "p", "r", "principal", "alice"),
            window_secs: 60,
            limit,
        }
    }

    #[test]
    fn admits_exactly_the_limit_per_window() {
        let host = FakeHost::default();
        let t = table();
        let w = window(&t, 3.0);
        let results: Vec<Admit> = (0..5).map(|_| w.admit(&host, 125, 1.0).unwrap()).collect();
        assert_eq!(
            results,
            vec![
                Admit::Yes(1.0),
                Admit::Yes(2.0),
                Admit::Yes(3.0),
                Admit::No { retry_after: 55 },
                Admit::No { retry_after: 55 }
            ]
        );
        // The next window starts from zero.
        assert_eq!(w.admit(&host, 180, 1.0).unwrap(), Admit::Yes(1.0));
    }

    #[test]
    fn scope_keys_count_separately() {
        let host = FakeHost::default();
        let t = table();
        let alice = window(&t, 1.0);
        let bob = Window {
            id: counter_id("rl", "p", "r", "principal", "bob"),
            ..window(&t, 1.0)
        };
        assert_eq!(alice.admit(&host, 0, 1.0).unwrap(), Admit::Yes(1.0));
        assert_eq!(bob.admit(&host, 0, 1.0).unwrap(), Admit::Yes(1.0));
        assert!(matches!(
            alice.admit(&host, 0, 1.0).unwrap(),
            Admit::No { .. }
        ));
    }

    #[test]
    fn a_racing_worker_takes_the_last_slot_and_this_one_is_refused() {
        let host = FakeHost::default();
        let t = table();
        let w = window(&t, 2.0);
        assert_eq!(w.admit(&host, 0, 1.0).unwrap(), Admit::Yes(1.0));
        // Another worker consumes the last request between our read and our write.
        host.before_shared_set
            .borrow_mut()
            .push_back(Box::new(|h: &FakeHost| {
                let t = table();
                assert_eq!(window(&t, 2.0).admit(h, 0, 1.0).unwrap(), Admit::Yes(2.0));
            }));
        assert!(matches!(w.admit(&host, 0, 1.0).unwrap(), Admit::No { .. }));
    }

    #[test]
    fn the_last_counter_id_is_the_one_computed_for_that_value() {
        let last = LastCounter::default();
        let id = |v: &str| last.id(v, || counter_id("rate", "p", "r", "principal", v));
        let alice = counter_id("rate", "p", "r", "principal", "alice");
        let bob = counter_id("rate", "p", "r", "principal", "bob");
        assert_eq!(id("alice"), alice);
        assert_eq!(last.id("alice", || [0; 16]), alice, "remembered");
        assert_eq!(id("bob"), bob);
        assert_eq!(id("alice"), alice);
    }

    #[test]
    fn budgets_add_amounts() {
        let host = FakeHost::default();
        let t = table();
        let w = window(&t, 100.0);
        assert_eq!(w.admit(&host, 0, 60.0).unwrap(), Admit::Yes(60.0));
        assert!(matches!(w.admit(&host, 0, 50.0).unwrap(), Admit::No { .. }));
        assert_eq!(w.admit(&host, 0, 40.0).unwrap(), Admit::Yes(100.0));
    }
}
