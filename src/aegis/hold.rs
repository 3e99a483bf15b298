//! Streaming support: where the end of a text that is still arriving could grow into a detection,
//! so a stream holds back only that tail and releases everything before it at once. The tail
//! starts at the earliest of: a proper prefix of a keyword (`AKI`, `-----BEG`); the last run of
//! non-blank characters (a key, an e-mail address or a URL may go on); a trailing number with
//! separators (a phone or card number may go on); a credential keyword on the last line, close
//! enough to the end that its value may still come (`password: `, `Bearer `, `-----BEGIN RSA`);
//! another keyword waiting for its value (`phone: `); and, for detectors that match phrases
//! (injection, code safety, exfiltration), a keyword close enough to the end that the rest of
//! its phrase may still come. Never more than [`MAX_MATCH_LEN`] bytes.

use super::keywords::{Normalized, Owner, Scratch};
use super::normalize;
use super::Scanner;
use crate::detection::DetectionType;

/// The longest span a detection can have: a PEM private key (up to 16 KiB after its header).
pub const MAX_MATCH_LEN: usize = 16 * 1024 + 256;

/// How far after a phrase keyword the rest of the phrase may follow (the phrase rules' widest gap).
const PHRASE_REACH: usize = 80;

/// How far after a credential keyword, on the same line, its value may follow ("the key is: …").
const LINE_REACH: usize = 64;

/// Most separator bytes between a keyword and the value it introduces (`phone: `).
const VALUE_GAP: usize = 8;

/// Keywords hit per held tail, at most.
const HIT_CAP: usize = 256;

/// Every keyword in normalised form, sorted, with a bit mask of its owners: a tail is the start
/// of a keyword exactly when the first keyword not less than it starts with it.
pub struct HoldIndex {
    keywords: Vec<(String, u8)>,
    longest: usize,
}

fn bit(owner: Owner) -> u8 {
    match owner {
        Owner::Injection => 1,
        Owner::Credentials => 2,
        Owner::Pii => 4,
        Owner::CodeSafety => 8,
        Owner::Exfiltration => 16,
        Owner::Custom => 32,
        Owner::Canary => 64,
    }
}

/// Owners whose detections span whole phrases rather than one value.
const PHRASES: u8 = 1 | 8 | 16;
/// The credentials detector, whose values may follow their keyword by a few words.
const CREDENTIALS: u8 = 2;
/// Owners whose detections include values without blanks (keys, addresses, URLs, canaries).
const VALUES: u8 = 2 | 4 | 16 | 32 | 64;
/// Owners that read numbers written with separators.
const NUMBERS: u8 = 2 | 4;

impl HoldIndex {
    /// Build from `(normalised keyword, owner)` pairs.
    pub fn new<'a>(pairs: impl Iterator<Item = (&'a str, Owner)>) -> HoldIndex {
        let mut keywords: Vec<(String, u8)> = Vec::new();
        for (keyword, owner) in pairs {
            keywords.push((keyword.to_owned(), bit(owner)));
        }
        keywords.sort();
        let mut merged: Vec<(String, u8)> = Vec::with_capacity(keywords.len());
        for (keyword, mask) in keywords {
            match merged.last_mut() {
                Some(last) if last.0 == keyword => last.1 |= mask,
                _ => merged.push((keyword, mask)),
            }
        }
        let longest = merged.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        HoldIndex {
            keywords: merged,
            longest,
        }
    }

    /// Whether `tail` (normalised) is a proper prefix of a keyword of an owner in `mask`.
    fn begins_keyword(&self, tail: &str, mask: u8) -> bool {
        let from = self.keywords.partition_point(|(k, _)| k.as_str() < tail);
        self.keywords
            .get(from..)
            .unwrap_or_default()
            .iter()
            .take_while(|(k, _)| k.starts_with(tail))
            .any(|(k, m)| k.len() > tail.len() && m & mask != 0)
    }
}

impl Scanner {
    /// The longest span a detection can have, in bytes.
    pub fn max_match_len(&self) -> usize {
        MAX_MATCH_LEN
    }

    /// Where the tail of `text` that could still become (part of) a detection begins, counting
    /// only detection types for which `acts` is true (and that are enabled); `text.len()` when
    /// nothing could. Always on a character boundary.
    pub fn hold_from(&self, text: &str, acts: impl Fn(DetectionType) -> bool) -> usize {
        let mask = self.acting_owners(&acts);
        let len = text.len();
        if mask == 0 || len == 0 {
            return len;
        }
        let floor = text.ceil_char_boundary(len.saturating_sub(MAX_MATCH_LEN));
        let mut hold = len;
        if mask & VALUES != 0 {
            hold = hold.min(blank_free_tail(text));
        }
        if mask & NUMBERS != 0 {
            hold = hold.min(number_tail(text).unwrap_or(len));
        }
        let value_start = hold;
        let reach = 4 * self.hold.longest + PHRASE_REACH;
        let window_start = text.floor_char_boundary(len.saturating_sub(reach));
        let window = text.get(window_start..).unwrap_or("");
        let (norm, map) = normalised_with_offsets(window);
        let orig = |i: usize| window_start + map.get(i).map_or(window.len(), |&o| o as usize);
        // A keyword begun but not finished.
        let shortest_prefix_start = norm.len().saturating_sub(self.hold.longest);
        if let Some(i) = (shortest_prefix_start..norm.len())
            .filter(|&i| norm.is_char_boundary(i))
            .find(|&i| self.hold.begins_keyword(norm.get(i..).unwrap_or(""), mask))
        {
            hold = hold.min(orig(i));
        }
        // Keywords whose value or phrase may still be arriving.
        let mut scratch = Scratch::default();
        let normalized = Normalized {
            norm: norm.as_bytes(),
            map: &map,
        };
        self.keywords
            .find(&normalized, |_, _| true, &mut scratch, HIT_CAP);
        // Hits are spans of `window` in its own (original) offsets.
        for h in scratch.hits.iter().filter(|h| bit(h.owner) & mask != 0) {
            let (start, end) = (window_start + h.start, (window_start + h.end).min(len));
            let rest = text.get(end..).unwrap_or("");
            let open = if bit(h.owner) & PHRASES != 0 {
                rest.len() <= PHRASE_REACH
            } else if bit(h.owner) & CREDENTIALS != 0 {
                rest.len() <= LINE_REACH && !rest.contains('\n')
            } else {
                end <= value_start
                    && text
                        .get(end..value_start)
                        .is_some_and(|gap| gap.len() <= VALUE_GAP && gap.bytes().all(is_separator))
            };
            if open {
                hold = hold.min(start);
            }
        }
        text.floor_char_boundary(hold.max(floor))
    }

    /// Keyword owners that can produce a detection `acts` counts.
    fn acting_owners(&self, acts: &impl Fn(DetectionType) -> bool) -> u8 {
        let mut mask = 0;
        for (kind, owner) in [
            (DetectionType::Injection, Owner::Injection),
            (DetectionType::Pii, Owner::Pii),
            (DetectionType::Credentials, Owner::Credentials),
            (DetectionType::CodeSafety, Owner::CodeSafety),
            (DetectionType::Exfiltration, Owner::Exfiltration),
        ] {
            if acts(kind) && self.settings(kind).enabled {
                mask |= bit(owner);
            }
            if acts(kind) && self.custom.sub_types(kind).next().is_some() {
                mask |= bit(Owner::Custom);
            }
        }
        if acts(DetectionType::Exfiltration) {
            // Canary tokens are exfiltration detections and are reported even when the
            // exfiltration detector itself is off.
            mask |= bit(Owner::Canary);
        }
        mask
    }
}

/// The normalised text and, for each of its bytes, the offset in `text` it came from.
fn normalised_with_offsets(text: &str) -> (String, Vec<u32>) {
    let (mut norm, mut map, mut tags) = (Vec::new(), Vec::new(), Vec::new());
    normalize::normalize_mapped(text, &mut norm, &mut map, &mut tags);
    if map.is_empty() {
        // Plain ASCII normalised in place: every byte is where it was.
        map = (0..=norm.len() as u32).collect();
    }
    (String::from_utf8(norm).unwrap_or_default(), map)
}

/// Start of the last run of non-blank characters (`text.len()` if `text` ends blank).
fn blank_free_tail(text: &str) -> usize {
    text.char_indices()
        .rev()
        .take_while(|(_, c)| !c.is_whitespace())
        .last()
        .map_or(text.len(), |(i, _)| i)
}

/// Separators inside numbers (`+1 (555) 010-9999`, `4111 1111 1111 1111`).
fn is_number_separator(b: u8) -> bool {
    matches!(b, b' ' | b'-' | b'.' | b'/' | b'(' | b')' | b'+')
}

/// Start of a trailing number written with separators (at most two in a row, possibly trailing),
/// with a leading `+` or `(`.
fn number_tail(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut start = None;
    let mut separators = 0;
    for (i, &b) in bytes.iter().enumerate().rev() {
        if b.is_ascii_digit() {
            start = Some(i);
            separators = 0;
        } else if is_number_separator(b) && separators < 2 {
            separators += 1;
        } else {
            break;
        }
    }
    let start = start?;
    let lead = start
        .checked_sub(1)
        .filter(|&p| matches!(bytes.get(p), Some(b'+' | b'(')));
    Some(lead.unwrap_or(start))
}

/// What may stand between a name and its value: blanks, quotes, `:`, `=`, `>`.
fn is_separator(b: u8) -> bool {
    b.is_ascii_whitespace() || matches!(b, b':' | b'=' | b'>' | b'"' | b'\'' | b'`')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aegis::AegisConfig;

    fn scanner() -> Scanner {
        let config = AegisConfig {
            canaries: vec!["canary-3f9a1c77".into()],
            ..AegisConfig::default()
        };
        Scanner::compile(&config).unwrap()
    }

    /// What a stream releases at once of `text` when answer detections count.
    fn released(s: &Scanner, text: &str) -> String {
        let answer = |k| {
            matches!(
                k,
                DetectionType::Credentials | DetectionType::Pii | DetectionType::Exfiltration
            )
        };
        text[..s.hold_from(text, answer)].to_owned()
    }

    #[test]
    fn clean_text_ending_in_a_blank_is_released_whole() {
        let s = scanner();
        assert_eq!(
            released(&s, "The weather is fine. "),
            "The weather is fine. "
        );
        assert_eq!(released(&s, ""), "");
    }

    #[test]
    fn the_last_word_is_held_because_it_may_become_a_key_or_an_address() {
        let s = scanner();
        assert_eq!(
            released(&s, "Here is the answer jane.ro"),
            "Here is the answer "
        );
        assert_eq!(released(&s, "token AKIAQZ7T"), "");
        assert_eq!(released(&s, "and then the ex"), "and then the ");
    }

    #[test]
    fn a_keyword_waiting_for_its_value_is_held_with_it() {
        let s = scanner();
        assert_eq!(released(&s, "Here is the key: AKIAQZ7T"), "Here is the ");
        assert_eq!(released(&s, "Your password = "), "Your ");
        assert_eq!(released(&s, "so the key is "), "so the ");
        let done = "so the password field is required.\nOk. ";
        assert_eq!(released(&s, done), done, "its line ended without a value");
        let far = format!("a password {}", "and so on ".repeat(8));
        assert_eq!(released(&s, &far), far, "too far for a value");
        assert_eq!(released(&s, "write to me "), "write to me ");
    }

    #[test]
    fn numbers_with_separators_are_held_across_blanks() {
        let s = scanner();
        assert_eq!(released(&s, "so 4111 1111 "), "so ");
        assert_eq!(released(&s, "so +1 (555) 010-"), "so ");
        assert_eq!(released(&s, "in 2024 we "), "in 2024 we ");
    }

    #[test]
    fn a_begun_keyword_is_held_even_after_a_blank() {
        let s = scanner();
        assert_eq!(released(&s, "ok -----BEG"), "ok ");
        let text = "ok -----BEGIN RSA PRIV";
        assert_eq!(
            released(&s, text),
            "ok ",
            "the header may still become a key"
        );
        assert_eq!(released(&s, "see canary-3f9"), "see ");
    }

    #[test]
    fn phrases_are_held_only_for_types_that_act() {
        let s = scanner();
        let text = "Please ignore all earlier ";
        assert_eq!(
            released(&s, text),
            text,
            "injection does not act on answers"
        );
        let all = s.hold_from(text, |_| true);
        assert_eq!(
            &text[..all],
            "Please ",
            "an injection phrase may still come"
        );
        let far = format!("Please ignore {}", "and so on ".repeat(10));
        let held = far.len() - s.hold_from(&far, |_| true);
        assert!(held < 10, "`ignore` is beyond the reach, held {held}");
    }

    #[test]
    fn disabled_detectors_hold_nothing_and_holds_stay_on_char_boundaries() {
        let config = AegisConfig {
            enabled: true,
            pii: crate::aegis::config::DetectorConfig {
                enabled: false,
                ..Default::default()
            },
            ..AegisConfig::default()
        };
        let s = Scanner::compile(&config).unwrap();
        let pii_only = |k| k == DetectionType::Pii;
        assert_eq!(s.hold_from("call 555 01", pii_only), 11);
        let s = scanner();
        let text = "héllo wörld";
        let at = s.hold_from(text, |_| true);
        assert!(text.is_char_boundary(at));
        assert_eq!(&text[..at], "héllo ");
    }

    #[test]
    fn the_hold_is_bounded_by_the_longest_match() {
        let s = scanner();
        let blob = "x".repeat(MAX_MATCH_LEN + 100);
        assert_eq!(s.hold_from(&blob, |_| true), 100);
    }
}
