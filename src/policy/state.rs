//! Bounded, expiring state in proxy-wasm shared data, shared by all of Envoy's worker threads.
//!
//! Each table hashes a logical key (SHA-256, 128 bits kept) into one of `slots` shared-data
//! entries named `authensor/v1/<table>/<slot>`; a slot holds at most `ways` entries, each with an
//! expiry. Updates are read-modify-write loops on the slot with compare-and-swap, retried a
//! bounded number of times. Memory is bounded by `slots x ways x entry size` whatever the traffic,
//! since shared data cannot be deleted. A brand-new slot is first written empty and only then
//! updated with CAS, because the ABI has no insert-if-absent: two workers creating the same slot
//! at the same instant can still lose one update, once per slot for the life of the process.

use std::cell::RefCell;
use std::collections::HashMap;

use sha2::{Digest, Sha256};

use crate::host::Host;

/// What the policy engine needs from the proxy: shared data with compare-and-swap.
pub trait SharedStore {
    /// A value and its CAS token.
    fn get(&self, key: &str) -> Option<(Vec<u8>, u32)>;
    /// Write if the token is still `cas` (0 = unconditionally); false on conflict.
    fn set(&self, key: &str, value: &[u8], cas: u32) -> bool;
}

impl<H: Host> SharedStore for H {
    fn get(&self, key: &str) -> Option<(Vec<u8>, u32)> {
        self.shared_get(key)
    }

    fn set(&self, key: &str, value: &[u8], cas: u32) -> bool {
        self.shared_set(key, value, cas)
    }
}

/// In-process store for the CLI and benchmarks (same CAS semantics as the proxy).
#[derive(Debug, Default)]
pub struct MemoryStore {
    map: RefCell<HashMap<String, (Vec<u8>, u32)>>,
}

impl SharedStore for MemoryStore {
    fn get(&self, key: &str) -> Option<(Vec<u8>, u32)> {
        self.map.borrow().get(key).cloned()
    }

    fn set(&self, key: &str, value: &[u8], cas: u32) -> bool {
        let mut map = self.map.borrow_mut();
        let current = map.get(key).map_or(0, |(_, c)| *c);
        if cas != 0 && cas != current {
            return false;
        }
        map.insert(
            key.to_owned(),
            (value.to_vec(), current.wrapping_add(1).max(1)),
        );
        true
    }
}

/// How many times one update is retried on CAS conflicts before failing closed.
pub const MAX_ATTEMPTS: usize = 16;

/// Why a state update did not happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateError {
    /// Other workers kept winning the compare-and-swap.
    Contended,
    /// Every entry of the slot is live and this table may not evict live entries.
    Full,
}

impl StateError {
    pub fn describe(self) -> &'static str {
        match self {
            StateError::Contended => "shared state is contended; failing closed",
            StateError::Full => "shared state is full; failing closed",
        }
    }
}

/// A 128-bit key id.
pub type KeyId = [u8; 16];

pub fn key_id(parts: &[&[u8]]) -> KeyId {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    let digest = h.finalize();
    let mut id = [0u8; 16];
    id.copy_from_slice(&digest[..16]);
    id
}

/// What an update closure decided.
pub enum Step<T> {
    /// Nothing to write.
    Keep(T),
    /// Store this payload until `expires_at` (seconds).
    Put {
        payload: Vec<u8>,
        expires_at: u64,
        result: T,
    },
}

/// One bounded table.
#[derive(Debug, Clone)]
pub struct Table {
    pub name: &'static str,
    pub slots: u32,
    pub ways: usize,
    /// When a slot is full of live entries: evict the one expiring first (true) or fail (false).
    pub evict_live: bool,
}

struct Entry {
    id: KeyId,
    expires_at: u64,
    payload: Vec<u8>,
}

impl Table {
    fn slot_key(&self, id: &KeyId) -> String {
        let n = u32::from_le_bytes([id[0], id[1], id[2], id[3]]) % self.slots.max(1);
        format!("authensor/v1/{}/{n}", self.name)
    }

    /// Atomically read-modify-write the entry `id`. `f` sees the live payload (if any) and may
    /// run several times when other workers write the same slot concurrently.
    pub fn update<S: SharedStore + ?Sized, T>(
        &self,
        store: &S,
        id: &KeyId,
        now: u64,
        mut f: impl FnMut(Option<&[u8]>) -> Step<T>,
    ) -> Result<T, StateError> {
        let key = self.slot_key(id);
        for _ in 0..MAX_ATTEMPTS {
            let (bytes, cas) = match store.get(&key) {
                Some(found) => found,
                None => {
                    // Create the slot empty, then update it with CAS like any other.
                    store.set(&key, &[], 0);
                    continue;
                }
            };
            let mut entries = decode(&bytes);
            entries.retain(|e| e.expires_at > now);
            let at = entries.iter().position(|e| e.id == *id);
            match f(at
                .and_then(|i| entries.get(i))
                .map(|e| e.payload.as_slice()))
            {
                Step::Keep(result) => return Ok(result),
                Step::Put {
                    payload,
                    expires_at,
                    result,
                } => {
                    let entry = Entry {
                        id: *id,
                        expires_at,
                        payload,
                    };
                    match at {
                        Some(i) => entries[i] = entry,
                        None => {
                            if entries.len() >= self.ways {
                                if !self.evict_live {
                                    return Err(StateError::Full);
                                }
                                if let Some(oldest) =
                                    (0..entries.len()).min_by_key(|&i| entries[i].expires_at)
                                {
                                    entries.swap_remove(oldest);
                                }
                            }
                            entries.push(entry);
                        }
                    }
                    if store.set(&key, &encode(&entries), cas) {
                        return Ok(result);
                    }
                }
            }
        }
        Err(StateError::Contended)
    }
}

fn encode(entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.iter().map(|e| 28 + e.payload.len()).sum());
    for e in entries {
        out.extend_from_slice(&e.id);
        out.extend_from_slice(&e.expires_at.to_le_bytes());
        out.extend_from_slice(&(e.payload.len() as u32).to_le_bytes());
        out.extend_from_slice(&e.payload);
    }
    out
}

/// Decode a slot; a malformed tail (from an older format or a bug) is dropped, never trusted.
fn decode(mut bytes: &[u8]) -> Vec<Entry> {
    let mut entries = Vec::new();
    while let Some((head, rest)) = bytes.split_at_checked(28) {
        let mut id = [0u8; 16];
        id.copy_from_slice(&head[..16]);
        let expires_at = u64::from_le_bytes(head[16..24].try_into().unwrap_or_default());
        let len = u32::from_le_bytes(head[24..28].try_into().unwrap_or_default()) as usize;
        let Some((payload, rest)) = rest.split_at_checked(len) else {
            break;
        };
        entries.push(Entry {
            id,
            expires_at,
            payload: payload.to_vec(),
        });
        bytes = rest;
    }
    entries
}

/// Little-endian readers over a payload, `None` when it is too short.
pub struct Reader<'a>(pub &'a [u8]);

impl Reader<'_> {
    pub fn u32(&mut self) -> Option<u32> {
        let (head, rest) = self.0.split_at_checked(4)?;
        self.0 = rest;
        Some(u32::from_le_bytes(head.try_into().ok()?))
    }

    pub fn u64(&mut self) -> Option<u64> {
        let (head, rest) = self.0.split_at_checked(8)?;
        self.0 = rest;
        Some(u64::from_le_bytes(head.try_into().ok()?))
    }

    pub fn bytes(&mut self) -> Option<&[u8]> {
        let len = self.u32()? as usize;
        let (head, rest) = self.0.split_at_checked(len)?;
        self.0 = rest;
        Some(head)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake_host::FakeHost;

    fn table(ways: usize, evict_live: bool) -> Table {
        Table {
            name: "t",
            slots: 1,
            ways,
            evict_live,
        }
    }

    fn put(v: u8, expires_at: u64) -> Step<()> {
        Step::Put {
            payload: vec![v],
            expires_at,
            result: (),
        }
    }

    fn read(t: &Table, host: &FakeHost, id: &KeyId, now: u64) -> Option<Vec<u8>> {
        t.update(host, id, now, |p| Step::Keep(p.map(<[u8]>::to_vec)))
            .unwrap()
    }

    #[test]
    fn entries_expire_and_slots_stay_bounded() {
        let host = FakeHost::default();
        let t = table(2, true);
        let (a, b, c) = (key_id(&[b"a"]), key_id(&[b"b"]), key_id(&[b"c"]));
        t.update(&host, &a, 0, |_| put(1, 10)).unwrap();
        t.update(&host, &b, 0, |_| put(2, 20)).unwrap();
        assert_eq!(read(&t, &host, &a, 5), Some(vec![1]));
        assert_eq!(read(&t, &host, &a, 10), None, "expired at 10");
        // Full of live entries: the one expiring first (a) is evicted.
        t.update(&host, &c, 5, |_| put(3, 30)).unwrap();
        assert_eq!(read(&t, &host, &a, 5), None);
        assert_eq!(read(&t, &host, &b, 5), Some(vec![2]));
        assert_eq!(read(&t, &host, &c, 5), Some(vec![3]));
        let strict = table(2, false);
        assert_eq!(
            strict.update(&host, &a, 5, |_| put(1, 40)),
            Err(StateError::Full)
        );
    }

    #[test]
    fn a_concurrent_writer_makes_the_update_retry_on_fresh_data() {
        let host = FakeHost::default();
        let t = table(4, true);
        let id = key_id(&[b"n"]);
        t.update(&host, &id, 0, |_| put(0, 100)).unwrap();
        let other = t.clone();
        host.before_shared_set
            .borrow_mut()
            .push_back(Box::new(move |h: &FakeHost| {
                other
                    .update(h, &key_id(&[b"n"]), 0, |_| put(7, 100))
                    .unwrap();
            }));
        let mut seen = Vec::new();
        t.update(&host, &id, 0, |p| {
            let v = p.map_or(0, |p| p[0]);
            seen.push(v);
            put(v + 1, 100)
        })
        .unwrap();
        assert_eq!(
            seen,
            vec![0, 7],
            "first attempt lost the CAS, second saw the other write"
        );
        assert_eq!(read(&t, &host, &id, 0), Some(vec![8]));
    }

    #[test]
    fn endless_contention_fails_closed() {
        let host = FakeHost::default();
        let t = table(4, true);
        let id = key_id(&[b"n"]);
        t.update(&host, &id, 0, |_| put(0, 100)).unwrap();
        for _ in 0..MAX_ATTEMPTS {
            host.before_shared_set
                .borrow_mut()
                .push_back(Box::new(|h: &FakeHost| {
                    let key = "authensor/v1/t/0";
                    let (v, cas) = h.shared_get(key).unwrap();
                    assert!(h.shared_set(key, &v, cas));
                }));
        }
        assert_eq!(
            t.update(&host, &id, 0, |_| put(1, 100)),
            Err(StateError::Contended)
        );
    }

    #[test]
    fn garbage_in_a_slot_is_ignored() {
        let host = FakeHost::default();
        host.shared_set("authensor/v1/t/0", &[1, 2, 3], 0);
        let t = table(4, true);
        let id = key_id(&[b"x"]);
        assert_eq!(read(&t, &host, &id, 0), None);
        t.update(&host, &id, 0, |_| put(9, 10)).unwrap();
        assert_eq!(read(&t, &host, &id, 0), Some(vec![9]));
    }

    #[test]
    fn memory_store_has_proxy_cas_semantics() {
        let s = MemoryStore::default();
        assert!(s.set("k", b"a", 0));
        let (_, cas) = s.get("k").unwrap();
        assert!(s.set("k", b"b", cas));
        assert!(!s.set("k", b"c", cas));
        assert_eq!(s.get("k").unwrap().0, b"b");
    }
}
