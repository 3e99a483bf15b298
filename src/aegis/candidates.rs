//! One pass over the original text that finds the shapes keywords cannot: runs of digits with
//! separators (phones, cards, SSNs, IBAN tails, IP addresses), long token-like runs (possible
//! secrets, base64 or hex), space-separated hex or binary bytes, percent-encoded runs and words
//! spelled out one letter at a time. Detectors and the decoder look only at these spans.

use std::ops::Range;

/// Spans (in the original text) worth a closer look.
#[derive(Debug, Default)]
pub struct Candidates {
    /// Digits with separators: at least 7 digits, or an IPv4 shape.
    pub numbers: Vec<Range<usize>>,
    /// Runs of `[A-Za-z0-9+/=_-]` of at least 16 bytes.
    pub tokens: Vec<Range<usize>>,
    /// At least 8 space-separated two-digit hex bytes or 4 eight-digit binary bytes.
    pub byte_runs: Vec<Range<usize>>,
    /// Runs without whitespace holding at least 3 `%XX` escapes.
    pub percent: Vec<Range<usize>>,
    /// At least 6 single letters in a row separated by single non-letters (`i g n o r e`).
    pub spelled: Vec<Range<usize>>,
    /// Two different punctuation characters in a row, and lower-to-upper case switches: the
    /// texture of optimised adversarial suffixes, which are only examined when both occur.
    pub punct_pairs: u32,
    pub case_switches: u32,
}

impl Candidates {
    pub fn clear(&mut self) {
        self.numbers.clear();
        self.tokens.clear();
        self.byte_runs.clear();
        self.percent.clear();
        self.spelled.clear();
        self.punct_pairs = 0;
        self.case_switches = 0;
    }

    /// Whether the text has the texture of an adversarial suffix.
    pub fn glued(&self) -> bool {
        self.punct_pairs >= 2 && self.case_switches >= 1
    }

    pub fn is_empty(&self) -> bool {
        self.numbers.is_empty()
            && self.tokens.is_empty()
            && self.byte_runs.is_empty()
            && self.percent.is_empty()
            && self.spelled.is_empty()
            && !self.glued()
    }
}

const DIGIT: u8 = 1;
const TOKEN: u8 = 2;
const NUM_SEP: u8 = 4;
const SPACE: u8 = 8;
const HEX: u8 = 16;
const ALPHA: u8 = 32;

const fn class_table() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        let mut c = 0;
        if b.is_ascii_digit() {
            c |= DIGIT | TOKEN | HEX;
        }
        if b.is_ascii_alphabetic() {
            c |= TOKEN | ALPHA;
        }
        if matches!(b, b'a'..=b'f' | b'A'..=b'F') {
            c |= HEX;
        }
        if matches!(b, b'+' | b'/' | b'=' | b'_' | b'-') {
            c |= TOKEN;
        }
        if matches!(b, b' ' | b'-' | b'.' | b'/' | b'(' | b')' | b'+') {
            c |= NUM_SEP;
        }
        if matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
            c |= SPACE;
        }
        t[i] = c;
        i += 1;
    }
    t
}

static CLASS: [u8; 256] = class_table();

/// Shortest token run worth keeping.
pub const MIN_TOKEN: usize = 16;

/// Find all candidates in `text` (cleared first).
pub fn find(text: &str, out: &mut Candidates) {
    out.clear();
    let bytes = text.as_bytes();
    let mut num = NumberRun::default();
    let mut token_start: Option<usize> = None;
    let mut words = WordRuns::default();
    let mut percent = PercentRun::default();
    let mut prev = b' ';
    for (i, &b) in bytes.iter().enumerate() {
        let class = CLASS[b as usize];
        if b.is_ascii_punctuation() && prev.is_ascii_punctuation() && b != prev {
            out.punct_pairs += 1;
        } else if b.is_ascii_uppercase() && prev.is_ascii_lowercase() {
            out.case_switches += 1;
        }
        prev = b;
        num.step(i, b, class, bytes, &mut out.numbers);
        if class & TOKEN != 0 {
            if token_start.is_none() {
                token_start = Some(i);
            }
        } else if let Some(start) = token_start.take() {
            if i - start >= MIN_TOKEN {
                out.tokens.push(start..i);
            }
        }
        words.step(i, b, class, out);
        percent.step(i, b, class, bytes, &mut out.percent);
    }
    let end = bytes.len();
    num.finish(&mut out.numbers);
    if let Some(start) = token_start {
        if end - start >= MIN_TOKEN {
            out.tokens.push(start..end);
        }
    }
    words.finish(out);
    percent.finish(end, &mut out.percent);
}

/// Digits joined by at most two separator characters in a row.
#[derive(Default)]
struct NumberRun {
    start: Option<usize>,
    last_digit_end: usize,
    digits: u32,
    dots: u32,
    seps_in_row: u32,
}

impl NumberRun {
    fn step(&mut self, i: usize, b: u8, class: u8, bytes: &[u8], out: &mut Vec<Range<usize>>) {
        if class & DIGIT != 0 {
            if self.start.is_none() {
                // A digit glued to a letter belongs to a token, not a number.
                let prev = i.checked_sub(1).and_then(|p| bytes.get(p)).copied();
                if prev.is_some_and(|p| CLASS[p as usize] & ALPHA != 0) {
                    return;
                }
                let lead = match prev {
                    Some(b'+' | b'(') => i - 1,
                    _ => i,
                };
                self.start = Some(lead);
                self.digits = 0;
                self.dots = 0;
            }
            self.digits += 1;
            self.last_digit_end = i + 1;
            self.seps_in_row = 0;
        } else if self.start.is_some() {
            if class & NUM_SEP != 0 && self.seps_in_row < 2 {
                self.seps_in_row += 1;
                if b == b'.' {
                    self.dots += 1;
                }
            } else {
                self.finish(out);
            }
        }
    }

    fn finish(&mut self, out: &mut Vec<Range<usize>>) {
        if let Some(start) = self.start.take() {
            if self.digits >= 7 || (self.dots >= 3 && self.digits >= 4) {
                out.push(start..self.last_digit_end);
            }
        }
        self.seps_in_row = 0;
    }
}

/// Tracks word shapes for spelled-out words and hex/binary byte runs.
#[derive(Default)]
struct WordRuns {
    in_word: bool,
    word_start: usize,
    word_len: usize,
    word_alpha: bool,
    word_hex: bool,
    word_binary: bool,
    /// Non-alphanumeric bytes since the last word ended.
    gap: usize,
    spelled_start: usize,
    spelled_end: usize,
    spelled: usize,
    bytes_start: usize,
    bytes_end: usize,
    hex_pairs: usize,
    octets: usize,
}

impl WordRuns {
    fn step(&mut self, i: usize, b: u8, class: u8, out: &mut Candidates) {
        if class & (ALPHA | DIGIT) != 0 {
            if !self.in_word {
                if self.gap > 3 {
                    self.flush_spelled(out);
                }
                if self.gap > 2 {
                    self.flush_bytes(out);
                }
                self.in_word = true;
                self.word_start = i;
                self.word_len = 0;
                self.word_alpha = true;
                self.word_hex = true;
                self.word_binary = true;
            }
            self.word_len += 1;
            self.word_alpha &= class & ALPHA != 0;
            self.word_hex &= class & HEX != 0;
            self.word_binary &= b == b'0' || b == b'1';
            return;
        }
        if self.in_word {
            self.end_word(out);
            self.gap = 0;
        }
        self.gap += 1;
    }

    fn end_word(&mut self, out: &mut Candidates) {
        self.in_word = false;
        let end = self.word_start + self.word_len;
        if self.word_len == 1 && self.word_alpha {
            if self.spelled == 0 {
                self.spelled_start = self.word_start;
            }
            self.spelled += 1;
            self.spelled_end = end;
        } else {
            self.flush_spelled(out);
        }
        let pair = self.word_len == 2 && self.word_hex;
        let octet = self.word_len == 8 && self.word_binary;
        if (pair && self.octets == 0) || (octet && self.hex_pairs == 0) {
            if self.hex_pairs + self.octets == 0 {
                self.bytes_start = self.word_start;
            }
            if pair {
                self.hex_pairs += 1;
            } else {
                self.octets += 1;
            }
            self.bytes_end = end;
        } else {
            self.flush_bytes(out);
        }
    }

    fn flush_spelled(&mut self, out: &mut Candidates) {
        if self.spelled >= 6 {
            out.spelled.push(self.spelled_start..self.spelled_end);
        }
        self.spelled = 0;
    }

    fn flush_bytes(&mut self, out: &mut Candidates) {
        if self.hex_pairs >= 8 || self.octets >= 4 {
            out.byte_runs.push(self.bytes_start..self.bytes_end);
        }
        self.hex_pairs = 0;
        self.octets = 0;
    }

    fn finish(&mut self, out: &mut Candidates) {
        if self.in_word {
            self.end_word(out);
        }
        self.flush_spelled(out);
        self.flush_bytes(out);
    }
}

/// `%XX` escapes inside a whitespace-free run.
#[derive(Default)]
struct PercentRun {
    start: Option<usize>,
    escapes: u32,
}

impl PercentRun {
    fn step(&mut self, i: usize, b: u8, class: u8, bytes: &[u8], out: &mut Vec<Range<usize>>) {
        if class & SPACE != 0 || b == b'"' || b == b'\'' || b == b'<' || b == b'>' {
            self.finish(i, out);
            return;
        }
        if self.start.is_none() {
            self.start = Some(i);
            self.escapes = 0;
        }
        if b == b'%' {
            let h1 = bytes.get(i + 1).is_some_and(|c| c.is_ascii_hexdigit());
            let h2 = bytes.get(i + 2).is_some_and(|c| c.is_ascii_hexdigit());
            if h1 && h2 {
                self.escapes += 1;
            }
        }
    }

    fn finish(&mut self, at: usize, out: &mut Vec<Range<usize>>) {
        if let Some(start) = self.start.take() {
            if self.escapes >= 3 {
                out.push(start..at);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cands(text: &str) -> Candidates {
        let mut c = Candidates::default();
        find(text, &mut c);
        c
    }

    fn spans<'a>(text: &'a str, ranges: &[Range<usize>]) -> Vec<&'a str> {
        ranges.iter().map(|r| &text[r.clone()]).collect()
    }

    #[test]
    fn numbers_with_separators() {
        let t =
            "call +1 (555) 010-9999 or 4111 1111 1111 1111, year 2024, ip 10.0.0.1, id abc1234567";
        let c = cands(t);
        assert_eq!(
            spans(t, &c.numbers),
            vec!["+1 (555) 010-9999", "4111 1111 1111 1111", "10.0.0.1"]
        );
    }

    #[test]
    fn tokens_bytes_percent_and_spelled_words() {
        let t = "key AbCdEf0123456789xyz and 49 67 6e 6f 72 65 20 61 6c 6c then a%20b%2Fc%3D then I g n o r e a l l";
        let c = cands(t);
        assert_eq!(spans(t, &c.tokens), vec!["AbCdEf0123456789xyz"]);
        assert_eq!(
            spans(t, &c.byte_runs),
            vec!["49 67 6e 6f 72 65 20 61 6c 6c"]
        );
        assert_eq!(spans(t, &c.percent), vec!["a%20b%2Fc%3D"]);
        assert_eq!(spans(t, &c.spelled), vec!["I g n o r e a l l"]);
        let dotted = "I.g.n.o.r.e.d";
        assert_eq!(spans(dotted, &cands(dotted).spelled), vec![dotted]);
    }
}
