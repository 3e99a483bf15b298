//! Reversible masking for one request: detected values (emails, phone numbers, ...) are replaced
//! by stable placeholders such as `[MASKED_EMAIL_1]` before the request leaves, and restored in
//! the answer on the way back, streamed or not. The mapping lives only as long as the request's
//! state and is never logged: `Debug` shows how many values are masked, not which.

use std::fmt;

use super::edit::Edit;
use super::scan::{Match, TextScanner, Verdict};
use super::TextItem;

const PREFIX: &str = "[MASKED_";

struct Entry {
    placeholder: String,
    original: String,
    sub_type: String,
}

/// The placeholders of one request. As a [`TextScanner`] it finds this request's placeholders in
/// an answer and replaces them with the originals; it holds back in a stream only a tail that is
/// the beginning of one of them.
#[derive(Default)]
pub struct Masking {
    entries: Vec<Entry>,
}

impl Masking {
    pub fn new() -> Masking {
        Masking::default()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The placeholder for `original` of detection sub-type `sub_type`: the same value gets the
    /// same placeholder everywhere in the request; numbers count per sub-type from 1.
    pub fn placeholder(&mut self, sub_type: &str, original: &str) -> String {
        if let Some(e) = self
            .entries
            .iter()
            .find(|e| e.sub_type == sub_type && e.original == original)
        {
            return e.placeholder.clone();
        }
        let n = 1 + self
            .entries
            .iter()
            .filter(|e| e.sub_type == sub_type)
            .count();
        let label: String = sub_type
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                }
            })
            .collect();
        let placeholder = format!("{PREFIX}{label}_{n}]");
        self.entries.push(Entry {
            placeholder: placeholder.clone(),
            original: original.to_owned(),
            sub_type: sub_type.to_owned(),
        });
        placeholder
    }

    /// Edits that mask `spans` (byte ranges and their sub-types) of `item`'s text.
    pub fn mask(&mut self, item: &TextItem<'_>, spans: &[(usize, usize, &str)]) -> Vec<Edit> {
        spans
            .iter()
            .filter_map(|&(start, end, sub_type)| {
                let original = item.text.get(start..end)?;
                Some(Edit {
                    path: item.path.clone().into_owned(),
                    start,
                    end,
                    replacement: self.placeholder(sub_type, original),
                })
            })
            .collect()
    }
}

impl fmt::Debug for Masking {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Masking {{ {} masked values }}", self.entries.len())
    }
}

impl TextScanner for Masking {
    fn find(&self, text: &str) -> Vec<Match> {
        if self.entries.is_empty() {
            return Vec::new();
        }
        let mut out = Vec::new();
        for (start, _) in text.match_indices(PREFIX) {
            let Some(rest) = text.get(start..) else {
                continue;
            };
            if let Some(e) = self
                .entries
                .iter()
                .find(|e| rest.starts_with(&e.placeholder))
            {
                out.push(Match {
                    start,
                    end: start + e.placeholder.len(),
                    label: format!("masked_{}", e.sub_type),
                    verdict: Verdict::Replace(e.original.clone()),
                });
            }
        }
        out
    }

    fn max_match_len(&self) -> usize {
        self.entries
            .iter()
            .map(|e| e.placeholder.len())
            .max()
            .unwrap_or(0)
    }

    fn hold_from(&self, text: &str) -> usize {
        let lower = text.floor_char_boundary(text.len().saturating_sub(self.max_match_len()));
        text.get(lower..)
            .and_then(|tail| {
                tail.match_indices('[')
                    .map(|(i, _)| i)
                    .find(|&i| {
                        let t = tail.get(i..).unwrap_or("");
                        self.entries
                            .iter()
                            .any(|e| e.placeholder.len() > t.len() && e.placeholder.starts_with(t))
                    })
                    .map(|i| lower + i)
            })
            .unwrap_or(text.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::llm::json_path::JsonPath;
    use crate::protocol::llm::scan::tidy;
    use crate::protocol::llm::{Role, TextKind};

    #[test]
    fn same_value_same_placeholder_counted_per_sub_type() {
        let mut m = Masking::new();
        assert_eq!(m.placeholder("email", "a@x.io"), "[MASKED_EMAIL_1]");
        assert_eq!(m.placeholder("phone", "555"), "[MASKED_PHONE_1]");
        assert_eq!(m.placeholder("email", "b@x.io"), "[MASKED_EMAIL_2]");
        assert_eq!(m.placeholder("email", "a@x.io"), "[MASKED_EMAIL_1]");
        assert_eq!(m.placeholder("us-ssn", "1"), "[MASKED_US_SSN_1]");
        assert_eq!(m.len(), 4);
    }

    #[test]
    fn masking_then_restoring_round_trips_and_debug_hides_values() {
        let mut m = Masking::new();
        let item = TextItem {
            role: Role::User,
            kind: TextKind::Content,
            path: JsonPath::root().key("content"),
            text: "write to ann@corp.test and ann@corp.test",
        };
        let edits = m.mask(
            &item,
            &[(9, 22, "email"), (27, 40, "email"), (0, 99, "bogus")],
        );
        assert_eq!(edits.len(), 2);
        assert!(edits.iter().all(|e| e.replacement == "[MASKED_EMAIL_1]"));
        let answer = "Sent to [MASKED_EMAIL_1]; [MASKED_EMAIL_7] is not ours.";
        let found = tidy(m.find(answer), answer);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].verdict, Verdict::Replace("ann@corp.test".into()));
        assert_eq!(found[0].label, "masked_email");
        assert!(!format!("{m:?}").contains("ann@"));
    }

    #[test]
    fn a_stream_holds_only_a_placeholder_prefix() {
        let mut m = Masking::new();
        assert_eq!(m.hold_from("any [MASK"), 9, "nothing masked, nothing held");
        m.placeholder("email", "x@y.z");
        assert_eq!(m.hold_from("mail [MASK"), 5);
        assert_eq!(m.hold_from("mail [MASKED_EMAIL_"), 5);
        assert_eq!(m.hold_from("mail [MASKED_PHONE"), 18);
        assert_eq!(m.hold_from("list [a] b"), 10);
        assert_eq!(m.hold_from("é["), 2);
        assert_eq!(
            m.hold_from("ééééééééééé[MASKED_E"),
            22,
            "a tail starting inside a character"
        );
    }
}
