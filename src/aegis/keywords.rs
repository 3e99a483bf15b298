//! The one Aho-Corasick automaton over every detector's literal keywords. Keywords are normalised
//! with the same rules as the text, so they meet folded, lower-cased text; each carries its owner
//! (detector and a detector-specific code) and its word-boundary needs. A keyword spec is written
//! `word` (whole word), `stem*` (left boundary only), `*tail` (right only) or `*part*` (none).
//! Scripts written without spaces between words (CJK, Thai...) and Arabic-script, Indic and Hebrew
//! words never need boundaries.

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

use crate::config::ConfigError;

/// Which detector a keyword belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Owner {
    Injection,
    Credentials,
    Pii,
    CodeSafety,
    Exfiltration,
    Custom,
    Canary,
}

/// One keyword occurrence in normalised text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    pub owner: Owner,
    pub code: u16,
    /// Span in the normalised text.
    pub start: usize,
    pub end: usize,
}

#[derive(Debug, Clone, Copy)]
struct Tag {
    owner: Owner,
    code: u16,
    left: bool,
    right: bool,
}

/// Collects keywords from every detector before the automaton is built.
#[derive(Default)]
pub struct KeywordSetBuilder {
    patterns: Vec<String>,
    tags: Vec<Vec<Tag>>,
    index: std::collections::HashMap<String, usize>,
}

impl KeywordSetBuilder {
    /// Add a keyword spec (see the module docs) for `owner` with `code`.
    pub fn add(&mut self, owner: Owner, code: u16, spec: &str) {
        let (left, core, right) = parse_spec(spec);
        let normalized = super::normalize::normalize_str(core);
        let normalized = normalized.trim();
        if normalized.is_empty() {
            return;
        }
        let left = left && starts_with_word_char(normalized);
        let right = right && ends_with_word_char(normalized);
        let tag = Tag {
            owner,
            code,
            left,
            right,
        };
        let slot = match self.index.get(normalized) {
            Some(&slot) => slot,
            None => {
                self.patterns.push(normalized.to_owned());
                self.tags.push(Vec::new());
                self.index
                    .insert(normalized.to_owned(), self.patterns.len() - 1);
                self.patterns.len() - 1
            }
        };
        if let Some(tags) = self.tags.get_mut(slot) {
            let same =
                |t: &Tag| t.owner == owner && t.code == code && t.left == left && t.right == right;
            if !tags.iter().any(same) {
                tags.push(tag);
            }
        }
    }

    /// Add every spec of a list under one code.
    pub fn add_all(&mut self, owner: Owner, code: u16, specs: &[&str]) {
        for spec in specs {
            self.add(owner, code, spec);
        }
    }

    /// Every keyword (normalised) with each of its owners.
    pub fn owned_patterns(&self) -> impl Iterator<Item = (&str, Owner)> + '_ {
        self.patterns
            .iter()
            .zip(&self.tags)
            .flat_map(|(p, tags)| tags.iter().map(move |t| (p.as_str(), t.owner)))
    }

    pub fn build(self) -> Result<KeywordIndex, ConfigError> {
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&self.patterns)
            .map_err(|e| ConfigError::new("aegis", format!("keyword automaton: {e}")))?;
        let mut flat = Vec::new();
        let mut slices = Vec::with_capacity(self.tags.len());
        for tags in self.tags {
            let start = flat.len() as u32;
            flat.extend(tags);
            slices.push((start, flat.len() as u32));
        }
        Ok(KeywordIndex {
            ac,
            tags: flat,
            slices,
        })
    }
}

fn parse_spec(spec: &str) -> (bool, &str, bool) {
    let (left, rest) = match spec.strip_prefix('*') {
        Some(rest) => (false, rest),
        None => (true, spec),
    };
    match rest.strip_suffix('*') {
        Some(core) => (left, core, false),
        None => (left, rest, true),
    }
}

/// Letters of scripts that separate words with spaces and have no clitics glued to words.
fn is_bounded_letter(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || (c.is_alphabetic() && matches!(c as u32, 0xC0..=0x24F | 0x370..=0x52F | 0x1E00..=0x1FFF))
}

fn starts_with_word_char(s: &str) -> bool {
    s.chars().next().is_some_and(is_bounded_letter)
}

fn ends_with_word_char(s: &str) -> bool {
    s.chars().next_back().is_some_and(is_bounded_letter)
}

/// Whether a character continues a word, for boundary checks in the text.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The compiled automaton and its keyword owners.
pub struct KeywordIndex {
    ac: AhoCorasick,
    tags: Vec<Tag>,
    slices: Vec<(u32, u32)>,
}

impl std::fmt::Debug for KeywordIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeywordIndex")
            .field("patterns", &self.ac.patterns_len())
            .field("heap_bytes", &self.heap_bytes())
            .finish()
    }
}

impl KeywordIndex {
    /// Append every keyword hit in `norm` (normalised text) to `hits`, in order of start, up to
    /// `cap` hits. Returns false if the cap cut the list short.
    pub fn find(&self, norm: &str, hits: &mut Vec<Hit>, cap: usize) -> bool {
        let bytes = norm.as_bytes();
        for m in self.ac.find_overlapping_iter(bytes) {
            let (from, to) = self
                .slices
                .get(m.pattern().as_usize())
                .copied()
                .unwrap_or((0, 0));
            let Some(tags) = self.tags.get(from as usize..to as usize) else {
                continue;
            };
            let (start, end) = (m.start(), m.end());
            let left_ok = boundary_before(norm, start);
            let right_ok = boundary_after(norm, end);
            for tag in tags {
                if (tag.left && !left_ok) || (tag.right && !right_ok) {
                    continue;
                }
                if hits.len() >= cap {
                    return false;
                }
                hits.push(Hit {
                    owner: tag.owner,
                    code: tag.code,
                    start,
                    end,
                });
            }
        }
        // Overlapping search reports by end; detectors want start order.
        hits.sort_by_key(|h| (h.start, h.end));
        true
    }

    /// Approximate heap size of the automaton and owner tables.
    pub fn heap_bytes(&self) -> usize {
        self.ac.memory_usage()
            + self.tags.capacity() * std::mem::size_of::<Tag>()
            + self.slices.capacity() * std::mem::size_of::<(u32, u32)>()
    }

    pub fn patterns(&self) -> usize {
        self.ac.patterns_len()
    }
}

fn boundary_before(text: &str, at: usize) -> bool {
    text.get(..at)
        .and_then(|s| s.chars().next_back())
        .is_none_or(|c| !is_word_char(c))
}

fn boundary_after(text: &str, at: usize) -> bool {
    text.get(at..)
        .and_then(|s| s.chars().next())
        .is_none_or(|c| !is_word_char(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(specs: &[(&str, u16)]) -> KeywordIndex {
        let mut b = KeywordSetBuilder::default();
        for (spec, code) in specs {
            b.add(Owner::Injection, *code, spec);
        }
        b.build().unwrap()
    }

    fn codes(index: &KeywordIndex, text: &str) -> Vec<u16> {
        let mut hits = Vec::new();
        index.find(text, &mut hits, 100);
        hits.iter().map(|h| h.code).collect()
    }

    #[test]
    fn boundaries_follow_the_spec() {
        let idx = index(&[
            ("key", 1),
            ("ignor*", 2),
            ("*gpt", 3),
            ("*@*", 4),
            ("忽略", 5),
        ]);
        assert_eq!(codes(&idx, "the key, monkey, keys"), vec![1]);
        assert_eq!(codes(&idx, "ignoring signore"), vec![2]);
        assert_eq!(codes(&idx, "hackgpt gpts"), vec![3]);
        assert_eq!(codes(&idx, "a@b"), vec![4]);
        assert_eq!(codes(&idx, "请忽略之前"), vec![5]);
    }

    #[test]
    fn keywords_are_normalised_like_text_and_shared_between_owners() {
        let mut b = KeywordSetBuilder::default();
        b.add(Owner::Injection, 1, "System  Prompt");
        b.add(Owner::Credentials, 9, "system prompt");
        let idx = b.build().unwrap();
        assert_eq!(idx.patterns(), 1);
        let mut hits = Vec::new();
        idx.find("show the system prompt", &mut hits, 10);
        assert_eq!(hits.len(), 2);
        assert_eq!((hits[0].start, hits[0].end), (9, 22));
    }

    #[test]
    fn cap_is_reported() {
        let idx = index(&[("a", 1)]);
        let mut hits = Vec::new();
        assert!(!idx.find("a a a a", &mut hits, 2));
        assert_eq!(hits.len(), 2);
    }
}
