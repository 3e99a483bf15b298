//! ASCII byte classes for the scanner's per-byte passes (shape candidates, adversarial-suffix
//! statistics): one table lookup per byte instead of a chain of comparisons. Bytes of 0x80 and
//! above are in no class.

pub const DIGIT: u16 = 1;
/// The alphabets of base64, base64url and hex tokens: `[A-Za-z0-9+/=_-]`.
pub const TOKEN: u16 = 1 << 1;
/// What may separate the digits of a phone or card number: ` -./()+`.
pub const NUM_SEP: u16 = 1 << 2;
/// Space, tab, line feed, carriage return.
pub const SPACE: u16 = 1 << 3;
pub const HEX: u16 = 1 << 4;
pub const ALPHA: u16 = 1 << 5;
pub const LOWER: u16 = 1 << 6;
pub const UPPER: u16 = 1 << 7;
pub const PUNCT: u16 = 1 << 8;
/// Quotes next to commas and stops: ordinary prose punctuation.
pub const PROSE: u16 = 1 << 9;
/// The structure characters code is made of.
pub const CODE: u16 = 1 << 10;
/// Letters past `f`: a token holding one is not hex.
pub const NOT_HEX: u16 = 1 << 11;
/// The bytes a percent-encoded run cares about: `%` itself and what ends the run (whitespace,
/// quotes, `<`, `>`).
pub const PERCENT: u16 = 1 << 12;

const fn table() -> [u16; 256] {
    let mut t = [0u16; 256];
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
        if b.is_ascii_lowercase() {
            c |= LOWER;
        }
        if b.is_ascii_uppercase() {
            c |= UPPER;
        }
        if matches!(b, b'a'..=b'f' | b'A'..=b'F') {
            c |= HEX;
        } else if b.is_ascii_alphabetic() {
            c |= NOT_HEX;
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
        if matches!(
            b,
            b'%' | b' ' | b'\t' | b'\n' | b'\r' | b'"' | b'\'' | b'<' | b'>'
        ) {
            c |= PERCENT;
        }
        if b.is_ascii_punctuation() {
            c |= PUNCT;
        }
        if matches!(
            b,
            b'"' | b'\'' | b',' | b'.' | b';' | b':' | b'!' | b'?' | b'(' | b')'
        ) {
            c |= PROSE;
        }
        if matches!(
            b,
            b'=' | b';' | b'{' | b'}' | b'<' | b'>' | b'_' | b'/' | b'@' | b'#'
        ) {
            c |= CODE;
        }
        t[i] = c;
        i += 1;
    }
    t
}

static CLASS: [u16; 256] = table();

/// The classes of byte `b`.
#[inline(always)]
pub fn class(b: u8) -> u16 {
    CLASS[usize::from(b)]
}
