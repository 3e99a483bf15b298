//! Keyword matching over normalised text. Every detector's literal keywords are normalised with the
//! same rules as the text and split in two sets:
//!
//! * *anchors* (rarer words that start a look: `ignore`, `ghp_`, `<|im_start|>`) are found in one
//!   pass over the whole string. Only positions where a keyword can begin (word starts,
//!   punctuation, non-ASCII characters) or, for suffix keywords (`*token`), where a word ends are
//!   tested, against bitsets of keyword prefixes small enough to stay in L1 cache; a set bit sends
//!   the position to the few keywords of that prefix. Clean text costs a table lookup per word.
//! * *context* words (`previous`, `instructions`, `curl`) are matched with an Aho-Corasick
//!   automaton only in windows around anchor hits.
//!
//! Hits carry original byte offsets. A keyword spec is written `word` (whole word), `stem*` (left
//! boundary only), `*tail` (right only, may end a longer word) or `*part*` (none). Words of
//! scripts without spaces (CJK, Thai...) or with glued clitics (Arabic, Indic, Hebrew) never need
//! boundaries.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Range;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

use super::normalize;
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

/// One keyword occurrence, as a span of the original text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    pub owner: Owner,
    pub code: u16,
    pub start: usize,
    pub end: usize,
}

impl Hit {
    pub fn code(&self) -> u16 {
        self.code
    }
    pub fn owner(&self) -> Owner {
        self.owner
    }
    pub fn span(&self) -> Range<usize> {
        self.start..self.end
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Tag {
    owner: Owner,
    code: u16,
    left: bool,
    right: bool,
}

/// Context words are looked for this far (normalised bytes) around anchors.
pub const CONTEXT_REACH: usize = 200;

/// Normalised keywords and their owners, before compilation.
#[derive(Default)]
struct PatternSet {
    patterns: Vec<String>,
    tags: Vec<Vec<Tag>>,
    /// Whether a pattern is matched as a suffix (spec `*tail`: may end a longer word).
    suffix: Vec<bool>,
    index: HashMap<(String, bool), usize>,
}

impl PatternSet {
    fn add(&mut self, owner: Owner, code: u16, spec: &str) {
        let (left, core, right) = parse_spec(spec);
        let normalized = normalize::normalize_str(core);
        let normalized = normalized.trim();
        if normalized.is_empty() {
            return;
        }
        let suffix = !left && right && starts_with_word_char(normalized);
        let tag = Tag {
            owner,
            code,
            left: left && starts_with_word_char(normalized),
            right: right && ends_with_word_char(normalized),
        };
        let key = (normalized.to_owned(), suffix);
        let slot = match self.index.get(&key) {
            Some(&slot) => slot,
            None => {
                self.patterns.push(normalized.to_owned());
                self.tags.push(Vec::new());
                self.suffix.push(suffix);
                self.index.insert(key, self.patterns.len() - 1);
                self.patterns.len() - 1
            }
        };
        if let Some(tags) = self.tags.get_mut(slot) {
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
    }
}

/// Collects keywords from every detector before the matchers are built.
#[derive(Default)]
pub struct KeywordSetBuilder {
    anchors: PatternSet,
    context: PatternSet,
}

impl KeywordSetBuilder {
    /// Add an anchor keyword spec for `owner` with `code`.
    pub fn add(&mut self, owner: Owner, code: u16, spec: &str) {
        self.anchors.add(owner, code, spec);
    }

    pub fn add_all(&mut self, owner: Owner, code: u16, specs: &[&str]) {
        for spec in specs {
            self.add(owner, code, spec);
        }
    }

    /// Every keyword (normalised), anchors and context words alike, with each of its owners.
    pub fn owned_patterns(&self) -> impl Iterator<Item = (&str, Owner)> + '_ {
        [&self.anchors, &self.context].into_iter().flat_map(|set| {
            set.patterns
                .iter()
                .zip(&set.tags)
                .flat_map(|(p, tags)| tags.iter().map(move |t| (p.as_str(), t.owner)))
        })
    }

    /// Add context keywords: only matched near anchors.
    pub fn add_context(&mut self, owner: Owner, code: u16, specs: &[&str]) {
        for spec in specs {
            self.context.add(owner, code, spec);
        }
    }

    pub fn build(self) -> Result<KeywordIndex, ConfigError> {
        let anchors = Anchors::build(self.anchors);
        let context = self.context;
        let mut tags = Vec::new();
        let mut slices = Vec::with_capacity(context.tags.len());
        for t in context.tags {
            let start = tags.len() as u32;
            tags.extend(t);
            slices.push((start, tags.len() as u32));
        }
        // Context windows are small and rare: a compact automaton beats a large fast one.
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::ContiguousNFA))
            .build(&context.patterns)
            .map_err(|e| ConfigError::new("aegis", format!("context keywords: {e}")))?;
        Ok(KeywordIndex {
            anchors,
            context: automaton,
            context_tags: tags,
            context_slices: slices,
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

/// Whether a normalised byte continues a word for boundary checks (non-ASCII counts as letter).
#[inline]
fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// Anchors are found by their first four bytes (suffix keywords: their last four), read as one
/// integer with ASCII letters folded to lower case (`| 0x20` on every byte, applied alike to
/// keywords and text). A bitset of hashed keys (8 KiB, stays in L1) filters positions; a set bit
/// opens the bucket of keywords with that key, compared byte by byte. Keywords shorter than four
/// bytes use a three-byte key or a one-byte table.
const FILTER_BITS: usize = 1 << 16;
const FOLD: u32 = 0x2020_2020;

#[inline(always)]
fn filter_slot(key: u32) -> usize {
    (key.wrapping_mul(0x9E37_79B1) >> 16) as usize
}

/// Four bytes from `p` on as a folded key (spaces past the end).
#[inline(always)]
fn key_at(text: &[u8], p: usize) -> u32 {
    if let Some(four) = text.get(p..p + 4).and_then(|s| <[u8; 4]>::try_from(s).ok()) {
        return u32::from_le_bytes(four) | FOLD;
    }
    let b = |i: usize| u32::from(*text.get(p + i).unwrap_or(&b' '));
    (b(0) | b(1) << 8 | b(2) << 16 | b(3) << 24) | FOLD
}

/// The four bytes before `e` as a folded key (spaces before the start).
#[inline(always)]
fn key_before(text: &[u8], e: usize) -> u32 {
    if let Some(four) = e
        .checked_sub(4)
        .and_then(|s| text.get(s..e))
        .and_then(|s| <[u8; 4]>::try_from(s).ok())
    {
        return u32::from_le_bytes(four) | FOLD;
    }
    let b = |back: usize| {
        u32::from(
            e.checked_sub(back)
                .and_then(|i| text.get(i))
                .copied()
                .unwrap_or(b' '),
        )
    };
    (b(4) | b(3) << 8 | b(2) << 16 | b(1) << 24) | FOLD
}

fn key_of(bytes: &[u8]) -> u32 {
    key_at(bytes, 0)
}

static ALNUM: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = (i as u8).is_ascii_alphanumeric();
        i += 1;
    }
    t
};

/// Bucket keys are already spread integers: a multiply is hash enough.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8 | u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u32(&mut self, v: u32) {
        self.0 = u64::from(v).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type Buckets = HashMap<u32, Vec<u32>, BuildHasherDefault<KeyHasher>>;

/// Keywords bucketed by a key, with the key filter.
struct Table {
    bits: Vec<u64>,
    buckets: Buckets,
}

impl Table {
    fn new() -> Table {
        Table {
            bits: vec![0u64; FILTER_BITS / 64],
            buckets: Buckets::default(),
        }
    }

    fn insert(&mut self, key: u32, pattern: u32) {
        let i = filter_slot(key);
        if let Some(word) = self.bits.get_mut(i / 64) {
            *word |= 1 << (i % 64);
        }
        self.buckets.entry(key).or_default().push(pattern);
    }

    #[inline(always)]
    fn may_hold(&self, key: u32) -> bool {
        let i = filter_slot(key);
        self.bits
            .get(i / 64)
            .is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    fn get(&self, key: u32) -> &[u32] {
        self.buckets.get(&key).map_or(&[], Vec::as_slice)
    }

    fn heap_bytes(&self) -> usize {
        self.bits.len() * 8 + self.buckets.len() * 40
    }
}

/// The anchor matcher. Three-byte keys have a zero top byte, four-byte keys never do (folding
/// sets bit 5 of every byte), so one table per direction holds both.
struct Anchors {
    /// Keywords of three bytes or more, by their first four (or three) bytes.
    starts: Table,
    /// Keywords of one or two bytes, by their first byte (folded).
    starts1: Vec<Vec<u32>>,
    short_bits: [u64; 4],
    /// Suffix keywords (`*token`), by their last four (or three) bytes.
    ends: Table,
    patterns: Vec<Vec<u8>>,
    /// Each pattern's first eight bytes as [`folded_word`], with the mask of its length: one
    /// comparison rejects almost every candidate before the byte-by-byte one.
    heads: Vec<(u64, u64)>,
    tags: Vec<Vec<Tag>>,
}

const MASK3: u32 = 0x00FF_FFFF;

/// Up to eight bytes of `bytes` from `at` as a little-endian word with bit 5 of every byte set
/// (zeros past the end). Bytes equal but for ASCII letter case give equal words.
#[inline(always)]
fn folded_word(bytes: &[u8], at: usize) -> u64 {
    const FOLD8: u64 = 0x2020_2020_2020_2020;
    if let Some(eight) = bytes
        .get(at..at + 8)
        .and_then(|s| <[u8; 8]>::try_from(s).ok())
    {
        return u64::from_le_bytes(eight) | FOLD8;
    }
    let mut word = [0u8; 8];
    for (w, &b) in word.iter_mut().zip(bytes.get(at..).unwrap_or(&[])) {
        *w = b;
    }
    u64::from_le_bytes(word) | FOLD8
}

/// The mask of a pattern's first `len` bytes (at most eight) in a [`folded_word`].
fn head_mask(len: usize) -> u64 {
    match len {
        0 => 0,
        1..=7 => (1u64 << (8 * len)) - 1,
        _ => u64::MAX,
    }
}

impl Anchors {
    fn build(set: PatternSet) -> Anchors {
        let mut a = Anchors {
            starts: Table::new(),
            starts1: vec![Vec::new(); 256],
            short_bits: [0; 4],
            ends: Table::new(),
            patterns: Vec::with_capacity(set.patterns.len()),
            heads: Vec::with_capacity(set.patterns.len()),
            tags: set.tags,
        };
        for (i, (pattern, suffix)) in set.patterns.into_iter().zip(set.suffix).enumerate() {
            let bytes = pattern.into_bytes();
            let id = i as u32;
            match (suffix, bytes.len()) {
                (true, n) if n >= 4 => a.ends.insert(key_before(&bytes, n), id),
                (true, n) => a.ends.insert(key_before(&bytes, n) >> 8, id),
                (false, n) if n >= 4 => a.starts.insert(key_of(&bytes), id),
                (false, 3) => a.starts.insert(key_of(&bytes) & MASK3, id),
                (false, _) => {
                    if let Some(&first) = bytes.first() {
                        let slot = usize::from(first | 0x20);
                        if let Some(list) = a.starts1.get_mut(slot) {
                            list.push(id);
                        }
                        if let Some(word) = a.short_bits.get_mut(slot / 64) {
                            *word |= 1 << (slot % 64);
                        }
                    }
                }
            }
            let mask = head_mask(bytes.len());
            a.heads.push((folded_word(&bytes, 0) & mask, mask));
            a.patterns.push(bytes);
        }
        a
    }

    fn heap_bytes(&self) -> usize {
        let short: usize = self.starts1.iter().map(|l| l.capacity() * 4 + 24).sum();
        let patterns: usize = self.patterns.iter().map(|p| p.capacity() + 24).sum();
        let patterns = patterns + self.heads.capacity() * 16;
        let tags: usize = self.tags.iter().map(|t| t.capacity() * 8 + 24).sum();
        self.starts.heap_bytes() + self.ends.heap_bytes() + short + patterns + tags
    }

    /// Whether pattern `i` occurs at `start` (ASCII case folded).
    #[inline(always)]
    fn matches_at(&self, text: &[u8], start: usize, i: u32) -> Option<usize> {
        let (head, mask) = *self.heads.get(i as usize)?;
        if folded_word(text, start) & mask != head {
            return None;
        }
        let pattern = self.patterns.get(i as usize)?;
        let end = start + pattern.len();
        text.get(start..end)
            .is_some_and(|t| t.eq_ignore_ascii_case(pattern))
            .then_some(end)
    }

    fn check_start(&self, text: &[u8], p: usize, ids: &[u32], out: &mut Vec<(usize, usize, u32)>) {
        for &i in ids {
            if let Some(end) = self.matches_at(text, p, i) {
                out.push((p, end, i));
            }
        }
    }

    fn check_end(&self, text: &[u8], e: usize, ids: &[u32], out: &mut Vec<(usize, usize, u32)>) {
        for &i in ids {
            let Some(len) = self.patterns.get(i as usize).map(Vec::len) else {
                continue;
            };
            let Some(start) = e.checked_sub(len) else {
                continue;
            };
            if self.matches_at(text, start, i).is_some() {
                out.push((start, e, i));
            }
        }
    }

    #[inline(always)]
    fn word_end(&self, text: &[u8], e: usize, out: &mut Vec<(usize, usize, u32)>) {
        let key = key_before(text, e);
        if self.ends.may_hold(key) {
            self.check_end(text, e, self.ends.get(key), out);
        }
        let key3 = key >> 8;
        if self.ends.may_hold(key3) {
            self.check_end(text, e, self.ends.get(key3), out);
        }
    }

    /// Find anchor matches in `text` — ASCII with single spaces as the only whitespace, or
    /// normalised text — as (start, end, pattern).
    fn find(&self, text: &[u8], out: &mut Vec<(usize, usize, u32)>) {
        let mut prev_alnum = false;
        for (p, &b) in text.iter().enumerate() {
            let alnum = ALNUM[b as usize];
            if alnum && prev_alnum {
                continue;
            }
            if prev_alnum {
                // A word ended: suffix keywords (`*token`) may end here.
                self.word_end(text, p, out);
            }
            prev_alnum = alnum;
            // A keyword can begin where a word begins, at punctuation, or at any character of a
            // script without word spacing; never at a space or inside a UTF-8 sequence.
            if b == b' ' || (0x80..0xC0).contains(&b) {
                continue;
            }
            let key = key_at(text, p);
            if self.starts.may_hold(key) {
                self.check_start(text, p, self.starts.get(key), out);
            }
            if self.starts.may_hold(key & MASK3) {
                self.check_start(text, p, self.starts.get(key & MASK3), out);
            }
            let slot = usize::from(b | 0x20);
            if self
                .short_bits
                .get(slot / 64)
                .is_some_and(|w| w & (1 << (slot % 64)) != 0)
            {
                self.check_start(
                    text,
                    p,
                    self.starts1.get(slot).map_or(&[], Vec::as_slice),
                    out,
                );
            }
        }
        if prev_alnum {
            self.word_end(text, text.len(), out);
        }
    }
}

/// Both matchers and their keyword owners.
pub struct KeywordIndex {
    anchors: Anchors,
    context: AhoCorasick,
    context_tags: Vec<Tag>,
    context_slices: Vec<(u32, u32)>,
}

impl std::fmt::Debug for KeywordIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeywordIndex")
            .field("anchors", &self.anchors.patterns.len())
            .field("context", &self.context_slices.len())
            .field("heap_bytes", &self.heap_bytes())
            .finish()
    }
}

/// Record a hit unless `cap` hits are already there; false when it was refused.
fn push_hit(hits: &mut Vec<Hit>, cap: usize, tag: &Tag, (start, end): (usize, usize)) -> bool {
    if hits.len() >= cap {
        return false;
    }
    hits.push(Hit {
        owner: tag.owner,
        code: tag.code,
        start,
        end,
    });
    true
}

fn boundaries_ok(norm: &[u8], start: usize, end: usize, tag: &Tag) -> bool {
    let left_ok = start == 0 || !norm.get(start - 1).is_some_and(|&b| is_word_byte(b));
    let right_ok = !norm.get(end).is_some_and(|&b| is_word_byte(b));
    (!tag.left || left_ok) && (!tag.right || right_ok)
}

/// The text keywords are matched in: an ASCII string whose only whitespace is single spaces, as
/// it is (letter case is folded while matching), or the normalised form of any other string with
/// the original offset of each of its bytes.
pub struct Normalized<'a> {
    pub norm: &'a [u8],
    /// `map[i]` is the original offset of `norm[i]`; one extra entry holds the original length.
    /// Empty when offsets are the original ones.
    pub map: &'a [u32],
}

impl Normalized<'_> {
    fn orig(&self, i: usize) -> usize {
        if self.map.is_empty() {
            return i.min(self.norm.len());
        }
        self.map
            .get(i)
            .or_else(|| self.map.last())
            .map_or(0, |&o| o as usize)
    }

    /// Original span of normalised `start..end`.
    fn span(&self, start: usize, end: usize) -> (usize, usize) {
        if self.map.is_empty() {
            return (start, end);
        }
        let last = self.orig(end.saturating_sub(1));
        let end = (end..self.map.len())
            .map(|i| self.orig(i))
            .find(|&o| o > last)
            .unwrap_or_else(|| self.orig(self.map.len()));
        (self.orig(start), end)
    }
}

/// Buffers reused by [`KeywordIndex::find`].
#[derive(Default)]
pub struct Scratch {
    pub hits: Vec<Hit>,
    raw: Vec<(usize, usize, u32)>,
    window: Vec<u8>,
    window_map: Vec<u32>,
    windows: Vec<Range<usize>>,
}

impl KeywordIndex {
    /// All anchor hits in `text` into `scratch.hits`, then context hits near the anchors for
    /// which `wants_context` holds; sorted by start. Returns false if `cap` cut the list short.
    pub fn find(
        &self,
        text: &Normalized<'_>,
        wants_context: fn(Owner, u16) -> bool,
        scratch: &mut Scratch,
        cap: usize,
    ) -> bool {
        let Scratch {
            hits,
            raw,
            window,
            window_map,
            windows,
        } = scratch;
        hits.clear();
        raw.clear();
        windows.clear();
        self.anchors.find(text.norm, raw);
        let mut complete = true;
        for &(start, end, i) in raw.iter() {
            for tag in self
                .anchors
                .tags
                .get(i as usize)
                .map_or(&[][..], Vec::as_slice)
            {
                if !boundaries_ok(text.norm, start, end, tag) {
                    continue;
                }
                if !push_hit(hits, cap, tag, text.span(start, end)) {
                    complete = false;
                    break;
                }
                if wants_context(tag.owner, tag.code) {
                    let w = start.saturating_sub(CONTEXT_REACH)
                        ..(end + CONTEXT_REACH).min(text.norm.len());
                    match windows.last_mut() {
                        Some(last) if w.start <= last.end => last.end = last.end.max(w.end),
                        _ => windows.push(w),
                    }
                }
            }
        }
        for w in windows.iter() {
            // Windows of ASCII text are not normalised yet; normalised text is unchanged by this.
            let bytes = text.norm.get(w.clone()).unwrap_or(&[]);
            let as_text = String::from_utf8_lossy(bytes);
            normalize::normalize_mapped(&as_text, window, window_map, &mut Vec::new());
            let local = |i: usize| -> usize {
                if window_map.is_empty() {
                    i
                } else {
                    window_map.get(i).map_or(bytes.len(), |&o| o as usize)
                }
            };
            for m in self.context.find_overlapping_iter(window.as_slice()) {
                let Some(&(from, to)) = self.context_slices.get(m.pattern().as_usize()) else {
                    continue;
                };
                let left_ok =
                    m.start() == 0 || !window.get(m.start() - 1).is_some_and(|&b| is_word_byte(b));
                let right_ok = !window.get(m.end()).is_some_and(|&b| is_word_byte(b));
                let (start, end) = (w.start + local(m.start()), w.start + local(m.end()));
                for tag in self
                    .context_tags
                    .get(from as usize..to as usize)
                    .unwrap_or(&[])
                {
                    if (tag.left && !left_ok) || (tag.right && !right_ok) {
                        continue;
                    }
                    if !push_hit(hits, cap, tag, text.span(start, end)) {
                        complete = false;
                        break;
                    }
                }
            }
        }
        hits.sort_by_key(|h| (h.start, h.end));
        hits.dedup();
        complete
    }

    /// Approximate heap size of the matchers and owner tables.
    pub fn heap_bytes(&self) -> usize {
        self.anchors.heap_bytes()
            + self.context.memory_usage()
            + self.context_tags.capacity() * std::mem::size_of::<Tag>()
            + self.context_slices.capacity() * 8
    }

    /// Number of distinct keywords (anchors and context).
    pub fn patterns(&self) -> usize {
        self.anchors.patterns.len() + self.context_slices.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(index: &KeywordIndex, text: &str) -> Vec<Hit> {
        let (mut norm, mut map) = (Vec::new(), Vec::new());
        let simple = !text.contains(['\n', '\t', '\r']) && !text.contains("  ");
        let n = if text.is_ascii() && simple {
            Normalized {
                norm: text.as_bytes(),
                map: &[],
            }
        } else {
            normalize::normalize_mapped(text, &mut norm, &mut map, &mut Vec::new());
            Normalized {
                norm: &norm,
                map: &map,
            }
        };
        let mut scratch = Scratch::default();
        assert!(index.find(&n, |owner, _| owner == Owner::Injection, &mut scratch, 100));
        scratch.hits
    }

    fn index(specs: &[(&str, u16)]) -> KeywordIndex {
        let mut b = KeywordSetBuilder::default();
        for (spec, code) in specs {
            b.add(Owner::Injection, *code, spec);
        }
        b.build().unwrap()
    }

    fn codes(index: &KeywordIndex, text: &str) -> Vec<u16> {
        find(index, text).iter().map(|h| h.code).collect()
    }

    #[test]
    fn boundaries_follow_the_spec() {
        let idx = index(&[
            ("key", 1),
            ("ignor*", 2),
            ("*gpt", 3),
            ("*@*", 4),
            ("忽略", 5),
            ("*token", 6),
        ]);
        assert_eq!(codes(&idx, "the key, monkey, keys"), vec![1]);
        assert_eq!(codes(&idx, "ignoring signore"), vec![2]);
        assert_eq!(codes(&idx, "hackgpt gpts"), vec![3]);
        assert_eq!(codes(&idx, "a@b"), vec![4]);
        assert_eq!(codes(&idx, "请忽略之前"), vec![5]);
        assert_eq!(codes(&idx, "GITHUB_TOKEN authtoken tokens"), vec![6, 6]);
        assert_eq!(codes(&idx, "key"), vec![1]);
    }

    #[test]
    fn ascii_text_matches_across_case_and_whitespace_runs() {
        let idx = index(&[("system prompt", 1), ("*token", 2)]);
        let text = "Show the SYSTEM\n\t  Prompt and the GitHub_Token";
        let spans: Vec<&str> = find(&idx, text).iter().map(|h| &text[h.span()]).collect();
        assert_eq!(spans, vec!["SYSTEM\n\t  Prompt", "Token"]);
    }

    #[test]
    fn hits_are_original_spans_through_folding() {
        let mut b = KeywordSetBuilder::default();
        b.add(Owner::Injection, 1, "System  Prompt");
        b.add(Owner::Credentials, 9, "system prompt");
        let idx = b.build().unwrap();
        assert_eq!(idx.patterns(), 1);
        // Fullwidth S, a zero-width space and a line break inside the phrase.
        let text = "show the \u{FF33}ys\u{200B}tem\n\n prompt!";
        let found = find(&idx, text);
        assert_eq!(found.len(), 2);
        assert_eq!(&text[found[0].span()], "\u{FF33}ys\u{200B}tem\n\n prompt");
    }

    #[test]
    fn context_words_are_found_near_anchors_only() {
        let mut b = KeywordSetBuilder::default();
        b.add(Owner::Injection, 1, "ignor*");
        b.add_context(Owner::Injection, 2, &["instruction*"]);
        let idx = b.build().unwrap();
        let text = format!("instructions {} ignore the INSTRUCTIONS", "x ".repeat(200));
        let found: Vec<(u16, String)> = find(&idx, &text)
            .iter()
            .map(|h| (h.code, text[h.span()].to_owned()))
            .collect();
        // A stem's hit covers the stem.
        assert_eq!(found, vec![(1, "ignor".into()), (2, "INSTRUCTION".into())]);
    }

    #[test]
    fn cap_is_reported() {
        let idx = index(&[("a", 1)]);
        let n = Normalized {
            norm: b"a a a a",
            map: &[],
        };
        let mut scratch = Scratch::default();
        assert!(!idx.find(&n, |_, _| false, &mut scratch, 2));
        assert_eq!(scratch.hits.len(), 2);
    }
}
