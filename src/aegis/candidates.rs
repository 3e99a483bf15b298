//! One pass over the original text that finds the shapes keywords cannot: runs of digits with
//! separators (phones, cards, SSNs, IBAN tails, IP addresses), long token-like runs (possible
//! secrets, base64 or hex), space-separated hex or binary bytes, percent-encoded runs and words
//! spelled out one letter at a time. Detectors and the decoder look only at these spans.

use std::ops::Range;

use super::byte_class::{
    class, ALPHA, DIGIT, LOWER, NOT_HEX, NUM_SEP, PERCENT, PUNCT, TOKEN, UPPER,
};

/// Spans (in the original text) worth a closer look.
#[derive(Debug, Default)]
pub struct Candidates {
    /// Digits with separators: at least 7 digits, or an IPv4 shape.
    pub numbers: Vec<Range<usize>>,
    /// Runs of `[A-Za-z0-9+/=_-]` of at least 16 bytes.
    pub tokens: Vec<Token>,
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

/// A token run and the byte classes it holds, gathered while finding it, so that a consumer can
/// turn most tokens away without reading them again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub span: Range<usize>,
    /// The union of the [`class`] bits of its bytes.
    classes: u16,
}

impl Token {
    pub fn len(&self) -> usize {
        self.span.len()
    }

    pub fn has_upper(&self) -> bool {
        self.classes & UPPER != 0
    }

    pub fn has_lower(&self) -> bool {
        self.classes & LOWER != 0
    }

    pub fn has_digit(&self) -> bool {
        self.classes & DIGIT != 0
    }

    /// Letters and digits only (none of `+/=_-`).
    pub fn is_alphanumeric(&self) -> bool {
        self.classes & PUNCT == 0
    }

    /// Hex digits only.
    pub fn is_hex(&self) -> bool {
        self.classes & (NOT_HEX | PUNCT) == 0
    }

    /// How many of lower-case, upper-case, digit and symbol it uses, as
    /// [`class_count`](super::entropy::class_count) counts them.
    pub fn class_count(&self) -> u32 {
        [LOWER, UPPER, DIGIT, PUNCT]
            .iter()
            .filter(|&&c| self.classes & c != 0)
            .count() as u32
    }
}

/// Shortest token run worth keeping.
pub const MIN_TOKEN: usize = 16;

/// Find all candidates in `text` (cleared first). Runs of letters, most of any text, and runs of
/// digits are skipped in tight loops; the state machines only see the bytes around them.
pub fn find(text: &str, out: &mut Candidates) {
    out.clear();
    let bytes = text.as_bytes();
    let mut num = NumberRun::default();
    let mut token = TokenRun::default();
    let mut words = WordRuns::default();
    let mut percent = PercentRun::default();
    // The previous byte when it was punctuation.
    let mut prev_punct = None;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let c = class(b);
        if c & (ALPHA | DIGIT) != 0 {
            token.byte(i, c);
            words.letter(i, out);
            prev_punct = None;
            if c & DIGIT != 0 {
                i = num.digits(i, bytes);
            } else {
                num.finish(&mut out.numbers);
                let (end, switches) = letters(i, bytes, &mut token.classes);
                out.case_switches += switches;
                i = end;
            }
            continue;
        }
        if c & PUNCT != 0 {
            if prev_punct.is_some_and(|p| p != b) {
                out.punct_pairs += 1;
            }
            prev_punct = Some(b);
        } else {
            prev_punct = None;
        }
        num.other(b, c, &mut out.numbers);
        if c & TOKEN != 0 {
            token.byte(i, c);
        } else {
            token.end(i, &mut out.tokens);
        }
        words.other(i, bytes, out);
        if c & PERCENT != 0 {
            percent.step(i, b, bytes, &mut out.percent);
        }
        i += 1;
    }
    let end = bytes.len();
    num.finish(&mut out.numbers);
    token.end(end, &mut out.tokens);
    words.other(end, bytes, out);
    words.finish(out);
    percent.finish(end, &mut out.percent);
}

/// The end of the run of letters starting at `i`, and how often it switches from lower to upper
/// case; the union of the letters' classes goes into `classes`. Alternates a tight loop over lower
/// case with one over upper case.
#[inline(always)]
fn letters(mut i: usize, bytes: &[u8], classes: &mut u16) -> (usize, u32) {
    let in_class = |i: usize, want: u16| bytes.get(i).map(|&b| class(b)).filter(|c| c & want != 0);
    let mut switches = 0;
    loop {
        let lower = i;
        while let Some(c) = in_class(i, LOWER) {
            *classes |= c;
            i += 1;
        }
        let upper = i;
        while let Some(c) = in_class(i, UPPER) {
            *classes |= c;
            i += 1;
        }
        if i == upper {
            return (i, switches);
        }
        switches += u32::from(upper > lower);
    }
}

/// The current run of token bytes and the union of their classes.
#[derive(Default)]
struct TokenRun {
    start: Option<usize>,
    classes: u16,
}

impl TokenRun {
    #[inline]
    fn byte(&mut self, i: usize, c: u16) {
        self.start.get_or_insert(i);
        self.classes |= c;
    }

    #[inline]
    fn end(&mut self, i: usize, out: &mut Vec<Token>) {
        if let Some(start) = self.start.take() {
            if i - start >= MIN_TOKEN {
                out.push(Token {
                    span: start..i,
                    classes: self.classes,
                });
            }
            self.classes = 0;
        }
    }
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
    /// Takes the run of digits starting at `i`; returns its end.
    #[inline]
    fn digits(&mut self, mut i: usize, bytes: &[u8]) -> usize {
        while bytes.get(i).is_some_and(u8::is_ascii_digit) {
            self.digit(i, bytes);
            i += 1;
        }
        i
    }

    #[inline]
    fn digit(&mut self, i: usize, bytes: &[u8]) {
        if self.start.is_none() {
            // A digit glued to a letter belongs to a token, not a number.
            let before = i.checked_sub(1).and_then(|p| bytes.get(p)).copied();
            if before.is_some_and(|p| class(p) & ALPHA != 0) {
                return;
            }
            let lead = match before {
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
    }

    /// A byte that is not a digit.
    #[inline]
    fn other(&mut self, b: u8, c: u16, out: &mut Vec<Range<usize>>) {
        if self.start.is_some() {
            if c & NUM_SEP != 0 && self.seps_in_row < 2 {
                self.seps_in_row += 1;
                if b == b'.' {
                    self.dots += 1;
                }
            } else {
                self.finish(out);
            }
        }
    }

    #[inline]
    fn finish(&mut self, out: &mut Vec<Range<usize>>) {
        if let Some(start) = self.start.take() {
            if self.digits >= 7 || (self.dots >= 3 && self.digits >= 4) {
                out.push(start..self.last_digit_end);
            }
        }
        self.seps_in_row = 0;
    }
}

/// Word shapes for spelled-out words (`i g n o r e`) and hex / binary byte runs (`49 67 6e`).
/// A word's shape is read from the text when it ends.
#[derive(Default)]
struct WordRuns {
    /// Start of the current word of letters and digits.
    word: Option<usize>,
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
    #[inline]
    fn letter(&mut self, i: usize, out: &mut Candidates) {
        if self.word.is_none() {
            if self.gap > 3 {
                self.flush_spelled(out);
            }
            if self.gap > 2 {
                self.flush_bytes(out);
            }
            self.word = Some(i);
        }
    }

    /// A byte at `i` that is neither a letter nor a digit.
    #[inline]
    fn other(&mut self, i: usize, bytes: &[u8], out: &mut Candidates) {
        if let Some(start) = self.word.take() {
            self.end_word(bytes, start, i - start, out);
            self.gap = 0;
        }
        self.gap += 1;
    }

    #[inline(always)]
    fn end_word(&mut self, bytes: &[u8], start: usize, len: usize, out: &mut Candidates) {
        let pending = self.spelled + self.hex_pairs + self.octets != 0;
        // Most words are none of the shapes and end no run: nothing to do.
        if !matches!(len, 1 | 2 | 8) && !pending {
            return;
        }
        let word = bytes.get(start..start + len).unwrap_or(&[]);
        let letter = len == 1 && word.iter().all(u8::is_ascii_alphabetic);
        let pair = len == 2 && word.iter().all(u8::is_ascii_hexdigit);
        let octet = len == 8 && word.iter().all(|b| *b == b'0' || *b == b'1');
        // Nor does a word of those lengths that is none of the shapes (`2`, `py`).
        if pending || letter || pair || octet {
            self.shape_word(start..start + len, letter, pair, octet, out);
        }
    }

    fn shape_word(
        &mut self,
        word: Range<usize>,
        letter: bool,
        pair: bool,
        octet: bool,
        out: &mut Candidates,
    ) {
        if letter {
            if self.spelled == 0 {
                self.spelled_start = word.start;
            }
            self.spelled += 1;
            self.spelled_end = word.end;
        } else {
            self.flush_spelled(out);
        }
        if (pair && self.octets == 0) || (octet && self.hex_pairs == 0) {
            if self.hex_pairs + self.octets == 0 {
                self.bytes_start = word.start;
            }
            if pair {
                self.hex_pairs += 1;
            } else {
                self.octets += 1;
            }
            self.bytes_end = word.end;
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
        self.flush_spelled(out);
        self.flush_bytes(out);
    }
}

/// `%XX` escapes inside a whitespace-free run; fed only `%`, whitespace and quote bytes.
#[derive(Default)]
struct PercentRun {
    /// Start of the current whitespace-free run.
    start: usize,
    escapes: u32,
}

impl PercentRun {
    fn step(&mut self, i: usize, b: u8, bytes: &[u8], out: &mut Vec<Range<usize>>) {
        if b != b'%' {
            self.finish(i, out);
            self.start = i + 1;
            return;
        }
        let h1 = bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit);
        let h2 = bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
        if h1 && h2 {
            self.escapes += 1;
        }
    }

    fn finish(&mut self, at: usize, out: &mut Vec<Range<usize>>) {
        if self.escapes >= 3 {
            out.push(self.start..at);
        }
        self.escapes = 0;
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
        let tokens: Vec<_> = c.tokens.iter().map(|t| t.span.clone()).collect();
        assert_eq!(spans(t, &tokens), vec!["AbCdEf0123456789xyz"]);
        assert_eq!(
            spans(t, &c.byte_runs),
            vec!["49 67 6e 6f 72 65 20 61 6c 6c"]
        );
        assert_eq!(spans(t, &c.percent), vec!["a%20b%2Fc%3D"]);
        assert_eq!(spans(t, &c.spelled), vec!["I g n o r e a l l"]);
        let dotted = "I.g.n.o.r.e.d";
        assert_eq!(spans(dotted, &cands(dotted).spelled), vec![dotted]);
    }

    #[test]
    fn a_word_of_no_shape_ends_runs_and_starts_none() {
        let t = "01101000 01101001 01101000 01101001 12345678 01101000, I g n o r e 7 a l l, \
                 49 67 6e 6f 72 65 20 61 zz 6c 6c, 2 py 2 py 2 py 2 py";
        let c = cands(t);
        assert_eq!(spans(t, &c.spelled), vec!["I g n o r e"]);
        assert_eq!(
            spans(t, &c.byte_runs),
            vec![
                "01101000 01101001 01101000 01101001",
                "49 67 6e 6f 72 65 20 61"
            ]
        );
    }

    #[test]
    fn case_switches_and_punctuation_pairs_inside_and_between_runs() {
        // Lower to upper: `aB`, `cD`, `eF` (twice in one run), `xY`; not `AB`, `Ab`, `.Q` or `1Z`.
        let c = cands("aBcDeF ABab Xy xYZ .Q 1Z");
        assert_eq!(c.case_switches, 4);
        assert_eq!(c.punct_pairs, 0);
        // `.,` and `,;` are pairs; `..`, `a.` and `. ,` are not.
        let c = cands("x.,;y .. a. . ,");
        assert_eq!(c.punct_pairs, 2);
        assert_eq!(c.case_switches, 0);
    }

    #[test]
    fn digit_runs_next_to_letters_and_separators() {
        // The first digit glued to a letter starts nothing; the rest of the run can.
        let t = "id x12345678 and ab1234567, tel (555) 010-9999a 7";
        let c = cands(t);
        assert_eq!(spans(t, &c.numbers), vec!["2345678", "(555) 010-9999"]);
    }

    #[test]
    fn percent_runs_end_at_whitespace_quotes_and_angle_brackets() {
        let t = "<%41%42%43>'%44%45%46\"%47%48%49\t%4A%4B %4C x%4D%4E%4F%50";
        let c = cands(t);
        assert_eq!(
            spans(t, &c.percent),
            vec!["%41%42%43", "%44%45%46", "%47%48%49", "x%4D%4E%4F%50"]
        );
    }

    #[test]
    fn token_summaries_agree_with_the_bytes() {
        let t = "deadbeefcafe0123 ABCDEF0123456789aa deadbeefcafe012g xyzXYZ0123456789ab \
                 aaaaaaaaaaaaaaaa+/ key=ab12CD34ef56GH78ij90 ================ 0123456789012345";
        let c = cands(t);
        assert_eq!(c.tokens.len(), 8);
        for token in &c.tokens {
            let s = &t[token.span.clone()];
            assert_eq!(token.len(), s.len());
            assert_eq!(
                token.is_hex(),
                s.bytes().all(|b| b.is_ascii_hexdigit()),
                "{s}"
            );
            assert_eq!(
                token.is_alphanumeric(),
                s.bytes().all(|b| b.is_ascii_alphanumeric()),
                "{s}"
            );
            assert_eq!(token.has_upper(), s.bytes().any(|b| b.is_ascii_uppercase()));
            assert_eq!(token.has_lower(), s.bytes().any(|b| b.is_ascii_lowercase()));
            assert_eq!(token.has_digit(), s.bytes().any(|b| b.is_ascii_digit()));
            assert_eq!(
                token.class_count(),
                super::super::entropy::class_count(s),
                "{s}"
            );
        }
    }
}
