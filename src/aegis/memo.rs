//! A memory of strings already found clean. An agent resends its whole conversation with every
//! LLM call (system prompt, tool definitions, earlier turns and tool results), all scanned on the
//! previous call; only the new turn needs the detectors. Strings of at least [`MIN_LEN`] bytes
//! that produced no finding are remembered by a 128-bit keyed hash of the string and its JSON
//! key (SipHash-1-3 with 128-bit output, keyed at random per VM, so nobody outside can build a
//! colliding string), in a fixed direct-mapped table: memory is bounded, a miss costs one hash,
//! and a string with any finding is always scanned again.

use std::cell::RefCell;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

use siphasher::sip128::{Hasher128, SipHasher13};

/// Shorter strings cost less to scan than to remember.
pub const MIN_LEN: usize = 32;

/// The table of remembered strings; empty when the configuration sets no entries.
pub struct Memo {
    key: [u64; 2],
    slots: RefCell<Vec<u128>>,
}

impl Memo {
    pub fn new(entries: usize) -> Memo {
        Memo {
            // Two outputs of the standard library's randomly keyed hasher (its keys come from the
            // WASI random source in the proxy): secret, and new in every VM.
            key: [0u8, 1].map(|i| RandomState::new().hash_one(i)),
            slots: RefCell::new(vec![0; entries]),
        }
    }

    /// The identity of `text` under `key`, or `None` when it is not worth remembering.
    pub fn id(&self, key: Option<&str>, text: &str) -> Option<u128> {
        if text.len() < MIN_LEN || self.slots.borrow().is_empty() {
            return None;
        }
        let [k0, k1] = self.key;
        let mut h = SipHasher13::new_with_keys(k0, k1);
        h.write(key.unwrap_or("").as_bytes());
        h.write_u8(0xff);
        h.write(text.as_bytes());
        // Zero marks an empty slot.
        Some(h.finish128().as_u128().max(1))
    }

    /// Whether the string with this identity was found clean before.
    pub fn clean(&self, id: u128) -> bool {
        let slots = self.slots.borrow();
        slots.get(slot(id, slots.len())) == Some(&id)
    }

    /// Remember the string with this identity as clean (replacing whatever held its slot).
    pub fn remember(&self, id: u128) {
        let mut slots = self.slots.borrow_mut();
        let i = slot(id, slots.len());
        if let Some(s) = slots.get_mut(i) {
            *s = id;
        }
    }
}

fn slot(id: u128, len: usize) -> usize {
    (id as u64 % len.max(1) as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_clean_strings_by_content_and_key() {
        let memo = Memo::new(64);
        let text = "a plain sentence about the weather. ".repeat(2);
        let id = memo.id(None, &text).unwrap();
        assert!(!memo.clean(id));
        memo.remember(id);
        assert!(memo.clean(memo.id(None, &text).unwrap()));
        // The same text under a JSON key, or one byte changed, is another string.
        assert!(!memo.clean(memo.id(Some("password"), &text).unwrap()));
        let mut other = text.clone();
        other.push('!');
        assert!(!memo.clean(memo.id(None, &other).unwrap()));
    }

    #[test]
    fn short_strings_and_an_empty_table_are_not_remembered() {
        assert_eq!(Memo::new(64).id(None, "short"), None);
        assert_eq!(Memo::new(0).id(None, &"x".repeat(1000)), None);
    }

    #[test]
    fn another_vm_draws_other_keys() {
        let text = "y".repeat(300);
        assert_ne!(Memo::new(8).id(None, &text), Memo::new(8).id(None, &text));
    }
}
