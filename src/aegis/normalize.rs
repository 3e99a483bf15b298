//! Text normalisation before keyword matching: lower-casing, folding of look-alikes (Cyrillic and
//! Greek homoglyphs, fullwidth forms, mathematical and circled letters, accents), removal of
//! zero-width, bidi-control and Unicode tag characters (counted: their presence is a signal; tag
//! characters are also decoded, since they can smuggle ASCII), and whitespace runs collapsed to one
//! space.
//!
//! One walk implements the rules and hands each normalised byte, with the original offset it came
//! from, to a sink: a buffer plus offset map during a scan, or a plain buffer for keywords.

/// Evasion signals seen while normalising, with the original offset of the first of each.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Signals {
    /// Invisible characters in a suspicious place (inside Latin words, bidi overrides).
    pub hidden: u32,
    pub first_hidden: usize,
    /// Unicode tag characters outside a flag emoji (ASCII smuggling).
    pub tags: u32,
    pub first_tag: usize,
    /// Look-alike letters from another script next to ASCII letters.
    pub mixed_words: u32,
    pub first_mixed: usize,
}

/// The result of folding one non-ASCII character.
enum Fold {
    /// Dropped; `true` when it is an invisible formatting character worth counting.
    Drop(bool),
    /// Bidi override/isolate: dropped and always counted.
    Bidi,
    /// A Unicode tag character carrying this ASCII byte.
    Tag(u8),
    Space,
    /// Folded to one ASCII byte; `true` when the source was a look-alike from another script.
    Ascii(u8, bool),
    Text(&'static str),
    Lower(char),
}

/// Receives normalised bytes with the original span that produced them.
trait Sink {
    fn byte(&mut self, b: u8, start: usize, end: usize);
}

/// Collects the normalised bytes and, for each, its original start offset.
struct Mapped<'a> {
    out: &'a mut Vec<u8>,
    map: Option<&'a mut Vec<u32>>,
}

impl Sink for Mapped<'_> {
    #[inline]
    fn byte(&mut self, b: u8, start: usize, _end: usize) {
        self.out.push(b);
        if let Some(map) = &mut self.map {
            map.push(start as u32);
        }
    }
}

/// Normalise `src` into `out`, with `map[i]` = original offset of `out[i]` plus a final entry
/// equal to `src.len()`; decoded tag characters go to `tags`. Returns the evasion signals.
///
/// ASCII text whose normalised form keeps every byte in place (no whitespace run collapsed) is
/// the common case: it takes one tight loop and leaves `map` empty, meaning "identity".
pub fn normalize_mapped(
    src: &str,
    out: &mut Vec<u8>,
    map: &mut Vec<u32>,
    tags: &mut Vec<u8>,
) -> Signals {
    out.clear();
    map.clear();
    if src.is_ascii() {
        ascii_only(src.as_bytes(), out, map);
        tags.clear();
        return Signals::default();
    }
    let signals = walk(
        src,
        &mut Mapped {
            out,
            map: Some(map),
        },
        tags,
    );
    map.push(src.len() as u32);
    signals
}

/// Normalise a short string (keywords at compile time; the same rules as the text they meet).
pub fn normalize_str(src: &str) -> String {
    let mut out = Vec::new();
    let mut tags = Vec::new();
    walk(
        src,
        &mut Mapped {
            out: &mut out,
            map: None,
        },
        &mut tags,
    );
    String::from_utf8(out).unwrap_or_default()
}

const WS: u8 = 1;
const UPPER: u8 = 2;

const fn ascii_table() -> [u8; 128] {
    let mut t = [0u8; 128];
    let mut i = 0;
    while i < 128 {
        let b = i as u8;
        if matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
            t[i] = WS;
        } else if b.is_ascii_uppercase() {
            t[i] = UPPER;
        }
        i += 1;
    }
    t
}

static ASCII: [u8; 128] = ascii_table();

fn is_ws(b: u8) -> bool {
    ASCII.get(usize::from(b)) == Some(&WS)
}

/// The ASCII fast path: copy everything up to the next whitespace that is not a lone space (found
/// eight bytes at a time), emit one space for that whitespace run, then lower-case the lot. The
/// offset map is only written once a run of two or more whitespace bytes has been collapsed.
fn ascii_only(bytes: &[u8], out: &mut Vec<u8>, map: &mut Vec<u32>) {
    out.reserve(bytes.len());
    let mut collapsed = false;
    let mut run_start = 0;
    loop {
        let i = next_special(bytes, run_start);
        if i >= bytes.len() {
            break;
        }
        out.extend_from_slice(bytes.get(run_start..i).unwrap_or(&[]));
        if collapsed {
            map.extend((run_start..i).map(|o| o as u32));
        }
        let mut j = i + 1;
        while bytes.get(j).copied().is_some_and(is_ws) {
            j += 1;
        }
        if j - i > 1 && !collapsed {
            // First collapse: offsets stop matching; fill the map up to here.
            collapsed = true;
            map.extend((0..out.len()).map(|o| o as u32));
        }
        out.push(b' ');
        if collapsed {
            map.push(i as u32);
        }
        run_start = j;
    }
    out.extend_from_slice(bytes.get(run_start..).unwrap_or(&[]));
    if collapsed {
        map.extend((run_start..bytes.len()).map(|o| o as u32));
        map.push(bytes.len() as u32);
    }
    out.make_ascii_lowercase();
}

/// The first whitespace byte at or after `from` that normalisation changes (any but a lone
/// space), or `bytes.len()`. `bytes` is ASCII. Eight bytes are ruled out at a time: only a control
/// byte or a space followed by a byte up to space can be one; a chunk that may hold one is
/// looked at byte by byte.
fn next_special(bytes: &[u8], from: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    // Bytes below `n` get their high bit set (exact for the lowest such byte, and never missed;
    // a byte above a match may be flagged too, which only costs the byte-by-byte look).
    let below = |w: u64, n: u8| w.wrapping_sub(ONES * u64::from(n)) & !w & (ONES << 7);
    let special = |i: usize| {
        bytes.get(i).is_some_and(|&b| {
            is_ws(b) && (b != b' ' || bytes.get(i + 1).copied().is_some_and(is_ws))
        })
    };
    let mut i = from;
    while let Some(chunk) = bytes
        .get(i..i + 8)
        .and_then(|c| <[u8; 8]>::try_from(c).ok())
    {
        let w = u64::from_le_bytes(chunk);
        // Each byte's successor; past the end, a byte that is not whitespace.
        let next = bytes.get(i + 8).copied().unwrap_or(b'.');
        let then = (w >> 8) | (u64::from(next) << 56);
        let spaces = below(w ^ (ONES * u64::from(b' ')), 1);
        if below(w, b' ') | (spaces & below(then, b' ' + 1)) != 0 {
            if let Some(k) = (i..i + 8).find(|&k| special(k)) {
                return k;
            }
        }
        i += 8;
    }
    (i..bytes.len())
        .find(|&k| special(k))
        .unwrap_or(bytes.len())
}

/// State of a walk that matters only around non-ASCII characters.
struct Walk {
    sig: Signals,
    /// Whitespace run pending emission: its start and end.
    ws: Option<(usize, usize)>,
    /// Invisible characters waiting to see whether the next character continues a word.
    pending_hidden: u32,
    pending_at: usize,
    prev_alnum: bool,
    in_flag: bool,
}

impl Walk {
    #[inline]
    fn flush_ws<S: Sink>(&mut self, sink: &mut S) {
        if let Some((start, end)) = self.ws.take() {
            sink.byte(b' ', start, end);
        }
    }

    #[inline]
    fn space(&mut self, at: usize, end: usize) {
        let run = self.ws.get_or_insert((at, end));
        run.1 = end;
        self.prev_alnum = false;
        self.in_flag = false;
    }

    /// Invisible characters count when they sit next to a letter or digit (splitting a word).
    #[inline]
    fn settle_hidden(&mut self, next_alnum: bool) {
        if self.pending_hidden > 0 {
            if self.prev_alnum || next_alnum {
                self.count_hidden(self.pending_at, self.pending_hidden);
            }
            self.pending_hidden = 0;
        }
    }

    fn count_hidden(&mut self, at: usize, n: u32) {
        if self.sig.hidden == 0 {
            self.sig.first_hidden = at;
        }
        self.sig.hidden += n;
    }
}

/// Normalise `src` into `sink`; decoded tag characters go to `tags`. Returns the signals.
fn walk<S: Sink>(src: &str, sink: &mut S, tags: &mut Vec<u8>) -> Signals {
    tags.clear();
    let bytes = src.as_bytes();
    let mut w = Walk {
        sig: Signals::default(),
        ws: None,
        pending_hidden: 0,
        pending_at: 0,
        prev_alnum: false,
        in_flag: false,
    };
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b < 0x80 {
            let class = ASCII[b as usize];
            if class == WS {
                w.space(i, i + 1);
                i += 1;
                continue;
            }
            w.flush_ws(sink);
            if w.pending_hidden > 0 {
                w.settle_hidden(b.is_ascii_alphanumeric());
            }
            // The common case: a run of plain ASCII.
            sink.byte(b | ((class == UPPER) as u8) << 5, i, i + 1);
            i += 1;
            while let Some(&b) = bytes.get(i) {
                if b >= 0x80 {
                    break;
                }
                let class = ASCII[b as usize];
                if class == WS {
                    break;
                }
                sink.byte(b | ((class == UPPER) as u8) << 5, i, i + 1);
                i += 1;
            }
            w.prev_alnum = bytes
                .get(i.wrapping_sub(1))
                .is_some_and(u8::is_ascii_alphanumeric);
            w.in_flag = false;
            continue;
        }
        let Some(c) = src.get(i..).and_then(|rest| rest.chars().next()) else {
            break;
        };
        let end = i + c.len_utf8();
        match fold(c) {
            Fold::Drop(counted) => {
                if counted {
                    if w.pending_hidden == 0 {
                        w.pending_at = i;
                    }
                    w.pending_hidden += 1;
                }
            }
            Fold::Bidi => w.count_hidden(i, 1),
            Fold::Tag(ascii) => {
                if !w.in_flag {
                    if w.sig.tags == 0 {
                        w.sig.first_tag = i;
                    }
                    w.sig.tags += 1;
                    if tags.len() < 4096 {
                        tags.push(ascii);
                    }
                }
            }
            Fold::Space => {
                w.space(i, end);
            }
            folded => {
                w.flush_ws(sink);
                w.settle_hidden(false);
                match folded {
                    Fold::Ascii(a, lookalike) => {
                        if lookalike && next_to_ascii_letter(bytes, i, end) {
                            if w.sig.mixed_words == 0 {
                                w.sig.first_mixed = i;
                            }
                            w.sig.mixed_words += 1;
                        }
                        sink.byte(a, i, end);
                    }
                    Fold::Text(t) => {
                        for &b in t.as_bytes() {
                            sink.byte(b, i, end);
                        }
                    }
                    Fold::Lower(c) => {
                        for l in c.to_lowercase() {
                            let mut buf = [0u8; 4];
                            for &b in l.encode_utf8(&mut buf).as_bytes() {
                                sink.byte(b, i, end);
                            }
                        }
                    }
                    _ => {}
                }
                w.prev_alnum = c.is_alphanumeric();
                w.in_flag = c == '\u{1F3F4}';
            }
        }
        i = end;
    }
    w.flush_ws(sink);
    w.sig
}

/// Whether the character at `start..end` touches an ASCII letter on either side.
fn next_to_ascii_letter(bytes: &[u8], start: usize, end: usize) -> bool {
    let before = start
        .checked_sub(1)
        .and_then(|p| bytes.get(p))
        .is_some_and(u8::is_ascii_alphabetic);
    let after = bytes.get(end).is_some_and(u8::is_ascii_alphabetic);
    before || after
}

/// Whether normalisation removes `c` as invisible (zero-width, bidi controls, tag characters,
/// variation selectors, combining marks).
pub fn is_invisible(c: char) -> bool {
    !c.is_ascii() && matches!(fold(c), Fold::Drop(_) | Fold::Bidi | Fold::Tag(_))
}

/// Fold one non-ASCII character.
fn fold(c: char) -> Fold {
    let cp = c as u32;
    match cp {
        // Soft hyphen, combining grapheme joiner, Arabic letter mark, Mongolian vowel separator,
        // zero-width space/non-joiner/joiner, LRM/RLM, word joiner, invisible operators and the
        // zero-width no-break space (a byte-order mark anywhere but the start).
        0xAD
        | 0x34F
        | 0x61C
        | 0x180E
        | 0x200B..=0x200F
        | 0x2060..=0x2064
        | 0x206A..=0x206F
        | 0xFEFF => Fold::Drop(true),
        0x202A..=0x202E | 0x2066..=0x2069 => Fold::Bidi,
        // Hangul fillers and Khmer invisible vowels, also used as blank padding.
        0x115F | 0x1160 | 0x17B4 | 0x17B5 | 0x3164 | 0xFFA0 => Fold::Drop(true),
        // Variation selectors, Mongolian free variation selectors.
        0xFE00..=0xFE0F | 0x180B..=0x180D | 0x180F | 0xE0100..=0xE01EF => Fold::Drop(false),
        // Combining diacritical marks: dropped so accents never split a keyword.
        0x300..=0x36F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F => {
            Fold::Drop(false)
        }
        0xE0020..=0xE007E => Fold::Tag((cp - 0xE0000) as u8),
        0xE0000..=0xE007F => Fold::Drop(false),
        0x85 | 0xA0 | 0x1680 | 0x2000..=0x200A | 0x2028 | 0x2029 | 0x202F | 0x205F | 0x3000 => {
            Fold::Space
        }
        // Fullwidth ASCII.
        0xFF01..=0xFF5E => ascii_fold((cp - 0xFEE0) as u8, true),
        // Mathematical alphanumeric letters (bold, italic, script, fraktur, double-struck...).
        0x1D400..=0x1D6A3 => {
            let i = ((cp - 0x1D400) % 52) as u8;
            Fold::Ascii(b'a' + i % 26, true)
        }
        0x1D7CE..=0x1D7FF => Fold::Ascii(b'0' + ((cp - 0x1D7CE) % 10) as u8, true),
        // Circled, parenthesised, squared letters and regional indicators.
        0x24B6..=0x24CF => Fold::Ascii(b'a' + (cp - 0x24B6) as u8, true),
        0x24D0..=0x24E9 => Fold::Ascii(b'a' + (cp - 0x24D0) as u8, true),
        0x249C..=0x24B5 => Fold::Ascii(b'a' + (cp - 0x249C) as u8, true),
        0x1F130..=0x1F149 => Fold::Ascii(b'a' + (cp - 0x1F130) as u8, true),
        0x1F150..=0x1F169 => Fold::Ascii(b'a' + (cp - 0x1F150) as u8, true),
        0x1F170..=0x1F189 => Fold::Ascii(b'a' + (cp - 0x1F170) as u8, true),
        0x1F1E6..=0x1F1FF => Fold::Ascii(b'a' + (cp - 0x1F1E6) as u8, true),
        _ => fold_letter(c),
    }
}

fn ascii_fold(b: u8, lookalike: bool) -> Fold {
    Fold::Ascii(
        b.to_ascii_lowercase(),
        lookalike && b.is_ascii_alphanumeric(),
    )
}

/// Look-alike and accented letters.
fn fold_letter(c: char) -> Fold {
    let look = |b: u8| Fold::Ascii(b, true);
    let plain = |b: u8| Fold::Ascii(b, false);
    match c {
        // Cyrillic look-alikes (both cases, matched before lower-casing so `Н` folds to `h`).
        'А' | 'а' => look(b'a'),
        'В' | 'в' | 'Ь' => look(b'b'),
        'Е' | 'е' | 'Ё' | 'ё' => look(b'e'),
        'К' | 'к' => look(b'k'),
        'М' | 'м' => look(b'm'),
        'Н' | 'н' | 'Һ' | 'һ' => look(b'h'),
        'О' | 'о' => look(b'o'),
        'Р' | 'р' => look(b'p'),
        'С' | 'с' => look(b'c'),
        'Т' | 'т' => look(b't'),
        'У' | 'у' | 'Ү' | 'ү' => look(b'y'),
        'Х' | 'х' => look(b'x'),
        'Ѕ' | 'ѕ' => look(b's'),
        'І' | 'і' | 'Ї' | 'ї' | 'Ӏ' => look(b'i'),
        'Ј' | 'ј' => look(b'j'),
        'ԁ' => look(b'd'),
        'Ԛ' | 'ԛ' => look(b'q'),
        'Ԝ' | 'ԝ' => look(b'w'),
        'ӏ' => look(b'l'),
        // Greek look-alikes.
        'Α' | 'α' => look(b'a'),
        'Β' | 'β' => look(b'b'),
        'Ε' | 'ε' => look(b'e'),
        'Ζ' => look(b'z'),
        'Η' => look(b'h'),
        'Ι' | 'ι' => look(b'i'),
        'Κ' | 'κ' => look(b'k'),
        'Μ' => look(b'm'),
        'Ν' => look(b'n'),
        'ν' => look(b'v'),
        'Ο' | 'ο' => look(b'o'),
        'Ρ' | 'ρ' => look(b'p'),
        'Τ' | 'τ' => look(b't'),
        'Υ' | 'γ' => look(b'y'),
        'υ' => look(b'u'),
        'Χ' | 'χ' => look(b'x'),
        'ϲ' | 'Ϲ' => look(b'c'),
        'ϳ' => look(b'j'),
        'ω' => look(b'w'),
        // Latin look-alikes and small capitals.
        'ɑ' | 'ᴀ' => look(b'a'),
        'ʙ' => look(b'b'),
        'ᴄ' => look(b'c'),
        'ᴅ' => look(b'd'),
        'ᴇ' | '℮' => look(b'e'),
        'ꜰ' => look(b'f'),
        'ɡ' | 'ɢ' => look(b'g'),
        'ʜ' => look(b'h'),
        'ı' | 'ɪ' | 'ⅰ' => look(b'i'),
        'ȷ' | 'ᴊ' => look(b'j'),
        'ᴋ' => look(b'k'),
        'ʟ' | 'ℓ' => look(b'l'),
        'ᴍ' => look(b'm'),
        'ɴ' => look(b'n'),
        'ᴏ' => look(b'o'),
        'ᴘ' => look(b'p'),
        'ʀ' => look(b'r'),
        'ꜱ' => look(b's'),
        'ᴛ' => look(b't'),
        'ᴜ' => look(b'u'),
        'ᴠ' => look(b'v'),
        'ᴡ' => look(b'w'),
        'ʏ' => look(b'y'),
        'ᴢ' => look(b'z'),
        // Accented Latin letters fold to their base letter.
        'À'..='Å' | 'à'..='å' | 'Ā'..='ą' | 'Ạ'..='ặ' => plain(b'a'),
        'Æ' | 'æ' => Fold::Text("ae"),
        'Ç' | 'ç' | 'Ć'..='č' => plain(b'c'),
        'Ð' | 'ð' | 'Ď'..='đ' => plain(b'd'),
        'È'..='Ë' | 'è'..='ë' | 'Ē'..='ě' | 'Ẹ'..='ệ' => plain(b'e'),
        'Ĝ'..='ģ' => plain(b'g'),
        'Ĥ'..='ħ' => plain(b'h'),
        'Ì'..='Ï' | 'ì'..='ï' | 'Ĩ'..='İ' | 'Ỉ'..='ị' => plain(b'i'),
        'Ĵ' | 'ĵ' => plain(b'j'),
        'Ķ'..='ĸ' => plain(b'k'),
        'Ĺ'..='ł' => plain(b'l'),
        'Ñ' | 'ñ' | 'Ń'..='ŋ' => plain(b'n'),
        'Ò'..='Ö' | 'Ø' | 'ò'..='ö' | 'ø' | 'Ō'..='ő' | 'Ơ' | 'ơ' | 'Ọ'..='ợ' => {
            plain(b'o')
        }
        'Œ' | 'œ' => Fold::Text("oe"),
        'Ŕ'..='ř' => plain(b'r'),
        'Ś'..='š' | 'ſ' => plain(b's'),
        'ß' => Fold::Text("ss"),
        'Ţ'..='ŧ' => plain(b't'),
        'Ù'..='Ü' | 'ù'..='ü' | 'Ũ'..='ų' | 'Ư' | 'ư' | 'Ụ'..='ự' => plain(b'u'),
        'Ŵ' | 'ŵ' => plain(b'w'),
        'Ý' | 'ý' | 'ÿ' | 'Ŷ'..='Ÿ' | 'Ỳ'..='ỹ' => plain(b'y'),
        'Ź'..='ž' => plain(b'z'),
        'Þ' | 'þ' => Fold::Text("th"),
        // Typographic quotes and dashes become their ASCII forms.
        '\u{2018}' | '\u{2019}' | '\u{201B}' | '\u{2032}' | '\u{FF07}' => plain(b'\''),
        '\u{201C}' | '\u{201D}' | '\u{201F}' | '\u{2033}' => plain(b'"'),
        '\u{2010}'..='\u{2015}' | '\u{2212}' => plain(b'-'),
        '\u{2024}' | '\u{FF0E}' => plain(b'.'),
        _ => Fold::Lower(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> (String, Signals) {
        let mut out = Vec::new();
        let mut tags = Vec::new();
        let sig = walk(
            s,
            &mut Mapped {
                out: &mut out,
                map: None,
            },
            &mut tags,
        );
        (String::from_utf8(out).unwrap(), sig)
    }

    #[test]
    fn case_whitespace_and_accents() {
        assert_eq!(norm("IGNORE   all\t\tPrevious").0, "ignore all previous");
        assert_eq!(norm("a \n\n b").0, "a b");
        assert_eq!(norm("Précédentes Straße").0, "precedentes strasse");
    }

    #[test]
    fn homoglyphs_fullwidth_and_math_letters_fold() {
        // Cyrillic і, о and Greek ο inside Latin words.
        let (text, sig) = norm("\u{456}gn\u{43e}re previ\u{3bf}us");
        assert_eq!(text, "ignore previous");
        assert!(sig.mixed_words >= 2);
        assert_eq!(
            norm("\u{FF29}\u{FF27}\u{FF2E}\u{FF2F}\u{FF32}\u{FF25}").0,
            "ignore"
        );
        assert_eq!(norm("\u{1D422}\u{1D420}\u{1D427}").0, "ign");
        // Plain Russian is folded consistently but is not "mixed".
        assert_eq!(norm("Привет мир").1.mixed_words, 0);
    }

    #[test]
    fn zero_width_removed_and_counted_only_inside_words() {
        let (text, sig) = norm("I\u{200B}g\u{200B}n\u{200B}o\u{200B}r\u{200B}e");
        assert_eq!(text, "ignore");
        assert_eq!(sig.hidden, 5);
        assert_eq!(sig.first_hidden, 1);
        // A joiner between emoji is not an evasion.
        assert_eq!(norm("\u{1F468}\u{200D}\u{1F469}").1.hidden, 0);
        // Bidi overrides always count.
        assert_eq!(norm("abc \u{202E}cba").1.hidden, 1);
    }

    #[test]
    fn tag_characters_are_decoded_except_in_flags() {
        let hidden: String = "hi you"
            .chars()
            .map(|c| char::from_u32(0xE0000 + c as u32).unwrap())
            .collect();
        let mut out = Vec::new();
        let mut tags = Vec::new();
        let sig = walk(
            &format!("ok{hidden}"),
            &mut Mapped {
                out: &mut out,
                map: None,
            },
            &mut tags,
        );
        assert_eq!(out, b"ok");
        assert_eq!(tags, b"hi you");
        assert_eq!(sig.tags, 6);
        // England's flag: black flag + tag letters + cancel tag.
        let flag = "\u{1F3F4}\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}";
        let sig = walk(
            flag,
            &mut Mapped {
                out: &mut out,
                map: None,
            },
            &mut tags,
        );
        assert_eq!(sig.tags, 0);
    }

    #[test]
    fn map_points_back_to_original_bytes() {
        let src = "A  \u{200B}Bé\u{FF43}d";
        let mut out = Vec::new();
        let mut map = Vec::new();
        normalize_mapped(src, &mut out, &mut map, &mut Vec::new());
        assert_eq!(out, b"a becd");
        // "a" <- 0, " " <- 1 (run start), "b" <- 6, "e" <- 7 (é), "c" <- 9 (fullwidth c), "d" <- 12
        assert_eq!(map, vec![0, 1, 6, 7, 9, 12, src.len() as u32]);
        // Plain ASCII without whitespace runs maps to itself: the map stays empty.
        normalize_mapped("Plain Text", &mut out, &mut map, &mut Vec::new());
        assert_eq!((out.as_slice(), map.len()), (&b"plain text"[..], 0));
    }

    /// The ASCII fast path reads eight bytes at a time: whitespace on either side of a chunk
    /// boundary, at the end, or next to other control bytes must come out as the general walk
    /// has it.
    #[test]
    fn ascii_fast_path_agrees_with_the_walk_at_every_offset() {
        let pieces = [
            " ", "  ", "\t", " \n", "\r\n", "\x0b", "\x0c", "\x01", " \x01", "\x1f ", "\x7f", "Q",
        ];
        let (mut out, mut map, mut walked, mut walk_map) = (vec![], vec![], vec![], vec![]);
        for len in [0, 1, 7, 8, 9, 15, 16, 17, 30] {
            for at in 0..=len {
                for piece in pieces {
                    let filler = "Ab-x.Yz0".repeat(4);
                    let src = format!("{}{piece}{}", &filler[..at], &filler[at..len]);
                    normalize_mapped(&src, &mut out, &mut map, &mut Vec::new());
                    walked.clear();
                    walk_map.clear();
                    walk(
                        &src,
                        &mut Mapped {
                            out: &mut walked,
                            map: Some(&mut walk_map),
                        },
                        &mut Vec::new(),
                    );
                    walk_map.push(src.len() as u32);
                    assert_eq!(out, walked, "{src:?}");
                    if map.is_empty() {
                        // Identity: nothing was collapsed, every byte is where it was.
                        let identity = (0..=src.len()).map(|o| o as u32);
                        assert!(walk_map.iter().copied().eq(identity), "{src:?}");
                    } else {
                        assert_eq!(map, walk_map, "{src:?}");
                    }
                }
            }
        }
    }
}
