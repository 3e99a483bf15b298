//! Personal-data detector: e-mail addresses (also `name [at] host [dot] com`), phone numbers
//! (international `+…`, NANP, trunk-prefixed national formats, or any grouped number next to a
//! phone word), payment cards (Luhn and issuer prefix), US SSN / ITIN (area, group and serial
//! rules), IBAN (country length and mod-97), public IPv4 addresses, dates of birth, passport and
//! medical-record numbers in context. Validation keeps false positives down; context raises
//! confidence.

use std::ops::Range;

const KIND: DetectionType = DetectionType::Pii;

use aho_corasick::{AhoCorasick, MatchKind};
use regex_lite::Regex;

use super::candidates::Token;
use super::checksum;
use super::finding::{Found, Mask, View};
use super::keywords::{Hit, KeywordSetBuilder, Owner};
use crate::config::ConfigError;
use crate::detection::{DetectionType, Severity};

const AT: u16 = 1;
const OBFUSCATED_AT: u16 = 2;
const PHONE_WORD: u16 = 3;
const CARD_WORD: u16 = 4;
const SSN_WORD: u16 = 5;
const BIRTH_WORD: u16 = 6;
const PASSPORT_WORD: u16 = 7;
const MEDICAL_WORD: u16 = 8;

const WORDS: &[(u16, &[&str])] = &[
    (AT, &["*@*"]),
    (
        OBFUSCATED_AT,
        &[
            "*[at]*", "*(at)*", "*{at}*", "*[dot]*", "*(dot)*", "dot com", "dot org", "dot net",
        ],
    ),
    (
        BIRTH_WORD,
        &[
            "born",
            "dob",
            "d.o.b",
            "date of birth",
            "birth date",
            "birthdate",
            "birthday",
            "b-day",
            "geboren",
            "geburtsdatum",
            "ne le",
            "nee le",
            "date de naissance",
            "nacido",
            "nacida",
            "fecha de nacimiento",
            "data di nascita",
            "data de nascimento",
        ],
    ),
    (
        PASSPORT_WORD,
        &["passport*", "reisepass", "passeport", "pasaporte"],
    ),
    (
        MEDICAL_WORD,
        &[
            "mrn",
            "medical record*",
            "patient id",
            "patient number",
            "health insurance",
            "insurance id",
            "member id",
            "npi",
            "nhs number",
            "medicare",
        ],
    ),
];

/// Words that make a run of digits a phone, card or SSN; looked for only around numbers.
const NUMBER_CONTEXT: &[(u16, &[&str])] = &[
    (
        PHONE_WORD,
        &[
            "phone*",
            "tel",
            "tel:",
            "tel.",
            "telephone",
            "mobile",
            "cell",
            "cellphone",
            "fax",
            "call",
            "call me",
            "calling",
            "text me",
            "text",
            "whatsapp",
            "sms",
            "contact",
            "reach",
            "reach me",
            "dial",
            "ring me",
            "landline",
            "extension",
            "ext",
            "telefon*",
            "telefono",
            "handy",
            "numero",
            "answering",
            "messages",
            "registered",
            "hotline",
        ],
    ),
    (
        CARD_WORD,
        &[
            "card",
            "cards",
            "credit",
            "debit",
            "visa",
            "mastercard",
            "master card",
            "amex",
            "american express",
            "discover",
            "diners",
            "jcb",
            "unionpay",
            "maestro",
            "cc",
            "cvv",
            "cvc",
            "exp",
            "expires",
            "expiry",
            "payment",
            "charge",
            "billing",
            "pan",
            "kreditkarte",
            "carte",
            "tarjeta",
            "cartao",
            "carta",
        ],
    ),
    (
        SSN_WORD,
        &[
            "ssn",
            "ssns",
            "social security",
            "social-security",
            "social",
            "tax id",
            "taxpayer",
            "tin",
            "itin",
            "sin",
        ],
    ),
];

/// Card numbers published as test numbers by payment networks and processors: never real cards,
/// always allowed.
pub const TEST_CARDS: &[&str] = &[
    "4242424242424242",
    "4111111111111111",
    "4000056655665556",
    "4012888888881881",
    "5555555555554444",
    "5105105105105100",
    "2223003122003222",
    "5200828282828210",
    "378282246310005",
    "371449635398431",
    "378734493671000",
    "6011111111111117",
    "6011000990139424",
    "3056930009020004",
    "36227206271667",
    "30569309025904",
    "38520000023237",
    "3566002020360505",
    "3530111333300000",
    "6200000000000005",
    "4000000000000002",
    "4000000000009995",
    "4000000000000077",
    "4000002500003155",
];

pub const SUB_TYPES: &[&str] = &[
    "email",
    "phone_number",
    "payment_card",
    "us_ssn",
    "us_itin",
    "iban",
    "ip_address",
    "date_of_birth",
    "passport_number",
    "medical_record",
];

pub struct Pii {
    /// Context words around numbers, with the code of each pattern.
    number_context: AhoCorasick,
    number_context_codes: Vec<(u16, bool)>,
    email: Regex,
    obfuscated_email: Regex,
    nanp: Regex,
    ssn: Regex,
    iban_spaced: Regex,
    date: Regex,
    id_after_word: Regex,
}

impl std::fmt::Debug for Pii {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pii")
    }
}

fn compile(pattern: &str) -> Result<Regex, ConfigError> {
    Regex::new(pattern).map_err(|e| ConfigError::new("aegis", format!("built-in regex: {e}")))
}

/// Whether `bytes` hold two capital letters followed by two digits, as every IBAN begins: the
/// literal test before the spaced-IBAN regex, which would otherwise run around every number.
fn has_iban_start(bytes: &[u8]) -> bool {
    bytes.windows(4).any(|w| {
        matches!(w, [a, b, c, d] if a.is_ascii_uppercase()
            && b.is_ascii_uppercase()
            && c.is_ascii_digit()
            && d.is_ascii_digit())
    })
}

/// A compact IBAN's shape: two letters, two digits, then 11 to 30 letters or digits.
fn iban_shape(t: &Token, text: &str) -> bool {
    let b = text.as_bytes().get(t.span.clone()).unwrap_or(&[]);
    (15..=34).contains(&b.len())
        && t.is_alphanumeric()
        && t.has_digit()
        && b.iter().take(2).all(u8::is_ascii_alphabetic)
        && b.iter().skip(2).take(2).all(u8::is_ascii_digit)
}

/// File extensions that look like top-level domains after `name@2x`.
const NOT_TLDS: &[&str] = &[
    "png", "jpg", "jpeg", "gif", "svg", "webp", "ico", "js", "mjs", "css", "ts", "tsx", "jsx",
    "py", "rs", "go", "java", "json", "yaml", "yml", "lock", "md", "txt", "html", "htm", "exe",
    "zip", "tar", "gz", "tgz", "pdf", "csv", "xml", "toml", "wasm", "so", "dll", "bin",
];

impl Pii {
    pub fn new() -> Result<Pii, ConfigError> {
        let mut patterns = Vec::new();
        let mut codes = Vec::new();
        for (code, specs) in NUMBER_CONTEXT {
            for spec in *specs {
                let whole = !spec.ends_with('*');
                patterns.push(spec.trim_end_matches('*'));
                codes.push((*code, whole));
            }
        }
        let number_context = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .ascii_case_insensitive(true)
            .build(&patterns)
            .map_err(|e| ConfigError::new("aegis", format!("pii context words: {e}")))?;
        Ok(Pii {
            number_context,
            number_context_codes: codes,
            email: compile(
                r"([A-Za-z0-9][A-Za-z0-9._%+\-]{0,63})@((?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+([A-Za-z]{2,24}))",
            )?,
            obfuscated_email: compile(
                r"(?i)([A-Za-z0-9._%+\-]{1,64})\s*(?:\[at\]|\(at\)|\{at\}|\s+at\s+)\s*([A-Za-z0-9\-]{1,63})\s*(?:\[dot\]|\(dot\)|\{dot\}|\s+dot\s+)\s*(com|org|net|edu|gov|io|co|uk|de|fr|info|biz|me|us|ca|au|in)\b",
            )?,
            nanp: compile(
                r"^(?:\+?1[\s.\-]?)?\(?([2-9]\d{2})\)?[\s.\-]{0,2}([2-9]\d{2})[\s.\-]?(\d{4})$",
            )?,
            ssn: compile(r"^(\d{3})([\- ]?)(\d{2})([\- ]?)(\d{4})$")?,
            iban_spaced: compile(r"\b([A-Z]{2}\d{2}(?: ?[A-Z0-9]{1,4}){3,8})\b")?,
            date: compile(
                r"(?i)\b(?:\d{1,2}[/.\-]\d{1,2}[/.\-](\d{4}|\d{2})|(\d{4})[/.\-]\d{1,2}[/.\-]\d{1,2}|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+(\d{4})|\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?,?\s+(\d{4}))\b",
            )?,
            id_after_word: compile(r"\b([A-Z0-9][A-Z0-9\-]{4,19})\b")?,
        })
    }

    pub fn register(b: &mut KeywordSetBuilder) {
        for (code, specs) in WORDS {
            b.add_all(Owner::Pii, *code, specs);
        }
    }

    pub fn detect(&self, v: &View<'_>, out: &mut Vec<Found>) {
        let hits: Vec<&Hit> = v.hits_of(Owner::Pii).collect();
        for h in &hits {
            match h.code() {
                AT => self.email(v, h, out),
                OBFUSCATED_AT => self.obfuscated_email(v, h, out),
                BIRTH_WORD => self.birth_date(v, h, out),
                PASSPORT_WORD => self.id_in_context(v, h, "passport_number", out),
                MEDICAL_WORD => self.id_in_context(v, h, "medical_record", out),
                _ => {}
            }
        }
        let near = |code: u16, r: &Range<usize>| self.context_near(v.text, code, r);
        for r in &v.candidates.numbers {
            self.number(v, r, &near, out);
        }
        for t in &v.candidates.tokens {
            let r = &t.span;
            if iban_shape(t, v.text) && checksum::iban(v.text.get(r.clone()).unwrap_or("")) {
                out.push(Found::new(
                    KIND,
                    "iban",
                    Severity::High,
                    0.95,
                    "pii.iban",
                    r.clone(),
                ));
            }
        }
        if let Some(key) = v.parent_key {
            phone_under_key(v.text, key, out);
        }
    }

    /// Whether a context word of class `code` appears just before or after `r`.
    fn context_near(&self, text: &str, code: u16, r: &Range<usize>) -> bool {
        let (window, _) = super::finding::window(text, r.clone(), 48, 32);
        let bytes = window.as_bytes();
        self.number_context.find_overlapping_iter(window).any(|m| {
            let Some(&(c, whole)) = self.number_context_codes.get(m.pattern().as_usize()) else {
                return false;
            };
            let left = m.start() == 0
                || !bytes
                    .get(m.start() - 1)
                    .is_some_and(u8::is_ascii_alphanumeric);
            let right = !whole || !bytes.get(m.end()).is_some_and(u8::is_ascii_alphanumeric);
            c == code && left && right
        })
    }

    fn email(&self, v: &View<'_>, h: &Hit, out: &mut Vec<Found>) {
        let (window, offset) = v.window(h.span(), 64, 256);
        let at = h.start;
        for caps in self.email.captures_iter(window) {
            let (Some(all), Some(domain), Some(tld)) = (caps.get(0), caps.get(2), caps.get(3))
            else {
                continue;
            };
            let span = offset + all.start()..offset + all.end();
            if !span.contains(&at) {
                continue;
            }
            if NOT_TLDS.contains(&tld.as_str().to_ascii_lowercase().as_str()) {
                continue;
            }
            out.push(
                Found::new(KIND, "email", Severity::Medium, 0.9, "pii.email", span)
                    .masked(Mask::Email)
                    .with_domain(offset + domain.start()..offset + domain.end()),
            );
        }
    }

    fn obfuscated_email(&self, v: &View<'_>, h: &Hit, out: &mut Vec<Found>) {
        let (window, offset) = v.window(h.span(), 72, 48);
        if let Some(m) = self.obfuscated_email.find(window) {
            out.push(
                Found::new(
                    KIND,
                    "email",
                    Severity::Medium,
                    0.7,
                    "pii.email_obfuscated",
                    offset + m.start()..offset + m.end(),
                )
                .masked(Mask::Email),
            );
        }
    }

    fn birth_date(&self, v: &View<'_>, h: &Hit, out: &mut Vec<Found>) {
        let (window, offset) = v.window(h.span(), 0, 48);
        let Some(caps) = self.date.captures(window) else {
            return;
        };
        let Some(all) = caps.get(0) else {
            return;
        };
        let year = (1..=4)
            .filter_map(|i| caps.get(i))
            .find_map(|m| m.as_str().parse::<u32>().ok());
        let plausible = match year {
            Some(y) if y >= 1000 => (1900..=2030).contains(&y),
            _ => true,
        };
        if plausible {
            out.push(Found::new(
                KIND,
                "date_of_birth",
                Severity::Medium,
                0.75,
                "pii.date_of_birth",
                offset + all.start()..offset + all.end(),
            ));
        }
    }

    /// An identifier with digits right after a passport / medical-record word.
    fn id_in_context(&self, v: &View<'_>, h: &Hit, sub_type: &'static str, out: &mut Vec<Found>) {
        let (window, offset) = v.window(h.span(), 0, 40);
        let start = (h.end - offset).min(window.len());
        let after = window.get(start..).unwrap_or("");
        for m in self.id_after_word.find_iter(after) {
            let digits = m.as_str().bytes().filter(u8::is_ascii_digit).count();
            if digits >= 5 {
                let s = offset + start + m.start();
                out.push(Found::new(
                    KIND,
                    sub_type,
                    Severity::Medium,
                    0.7,
                    if sub_type == "passport_number" {
                        "pii.passport"
                    } else {
                        "pii.medical_record"
                    },
                    s..s + m.len(),
                ));
                return;
            }
        }
    }

    /// Classify one run of digits: IP, card, SSN, IBAN tail or phone.
    fn number(
        &self,
        v: &View<'_>,
        r: &Range<usize>,
        near: &dyn Fn(u16, &Range<usize>) -> bool,
        out: &mut Vec<Found>,
    ) {
        let s = v.text.get(r.clone()).unwrap_or("");
        let digits: String = s.chars().filter(char::is_ascii_digit).collect();
        let n = digits.len();
        if let Some(found) = ipv4(s, r) {
            out.push(found);
            return;
        }
        if s.contains('/') {
            return;
        }
        if let Some(found) = self.iban_tail(v, r) {
            out.push(found);
            return;
        }
        if (12..=19).contains(&n) && card_shaped(s) {
            let context = near(CARD_WORD, r);
            if checksum::luhn(&digits) && issuer_known(&digits) && (n >= 13 || context) {
                let (severity, confidence) = if context {
                    (Severity::High, 0.95)
                } else {
                    (Severity::High, 0.8)
                };
                out.push(Found::new(
                    KIND,
                    "payment_card",
                    severity,
                    confidence,
                    "pii.card",
                    r.clone(),
                ));
                return;
            }
            if context {
                out.push(Found::new(
                    KIND,
                    "payment_card",
                    Severity::Medium,
                    0.5,
                    "pii.card_unverified",
                    r.clone(),
                ));
                return;
            }
        }
        if n == 9 {
            if let Some(found) = self.ssn(s, r, near(SSN_WORD, r)) {
                out.push(found);
                return;
            }
        }
        if let Some(found) = self.phone(s, &digits, r, near(PHONE_WORD, r)) {
            out.push(found);
        }
    }

    fn ssn(&self, s: &str, r: &Range<usize>, context: bool) -> Option<Found> {
        let caps = self.ssn.captures(s)?;
        let (area, sep1, group, sep2, serial) = (
            caps.get(1)?.as_str(),
            caps.get(2)?.as_str(),
            caps.get(3)?.as_str(),
            caps.get(4)?.as_str(),
            caps.get(5)?.as_str(),
        );
        if sep1 != sep2 || (sep1.is_empty() && !context) {
            return None;
        }
        let (a, g, n): (u32, u32, u32) = (
            area.parse().ok()?,
            group.parse().ok()?,
            serial.parse().ok()?,
        );
        if g == 0 || n == 0 || a == 0 {
            return None;
        }
        let itin_group = matches!(g, 50..=65 | 70..=88 | 90..=92 | 94..=99);
        let (sub_type, rule) = match a {
            666 => return None,
            900..=999 if itin_group => ("us_itin", "pii.us_itin"),
            900..=999 => return None,
            _ => ("us_ssn", "pii.us_ssn"),
        };
        let severity = if context || sep1 == "-" {
            Severity::High
        } else {
            Severity::Medium
        };
        Some(Found::new(
            KIND,
            sub_type,
            severity,
            if context { 0.95 } else { 0.7 },
            rule,
            r.clone(),
        ))
    }

    fn iban_tail(&self, v: &View<'_>, r: &Range<usize>) -> Option<Found> {
        let (window, offset) = v.window(r.clone(), 40, 0);
        if !has_iban_start(window.as_bytes()) {
            return None;
        }
        self.iban_spaced.find_iter(window).find_map(|m| {
            let span = offset + m.start()..offset + m.end();
            (span.end >= r.start && checksum::iban(m.as_str()))
                .then(|| Found::new(KIND, "iban", Severity::High, 0.95, "pii.iban", span))
        })
    }

    fn phone(&self, s: &str, digits: &str, r: &Range<usize>, context: bool) -> Option<Found> {
        let n = digits.len();
        let confidence = if context { 0.9 } else { 0.65 };
        // Reserved fictional numbers (555-01xx) and all-zero placeholders are not anyone's phone.
        let fictional =
            digits.contains("55501") && (n == 7 || n == 10 || n == 11) && !s.starts_with('+');
        if fictional || digits.bytes().all(|b| b == b'0') {
            return None;
        }
        if s.starts_with('+') || (digits.starts_with("00") && s.starts_with('0')) {
            return (7..=15).contains(&n).then(|| {
                Found::new(
                    KIND,
                    "phone_number",
                    Severity::Medium,
                    confidence,
                    "pii.phone_international",
                    r.clone(),
                )
            });
        }
        if let Some(caps) = self.nanp.captures(s) {
            let exchange = caps.get(2)?.as_str();
            let line: u32 = caps.get(3)?.as_str().parse().ok()?;
            let area = caps.get(1)?.as_str();
            if exchange == "555" && (100..=199).contains(&line) {
                return None;
            }
            let separated = s.len() > n;
            if !separated && !context {
                return None;
            }
            let toll_free = matches!(area, "800" | "888" | "877" | "866" | "855" | "844" | "833");
            let severity = if toll_free {
                Severity::Low
            } else {
                Severity::Medium
            };
            return Some(Found::new(
                KIND,
                "phone_number",
                severity,
                confidence,
                "pii.phone_nanp",
                r.clone(),
            ));
        }
        if !(7..=12).contains(&n) {
            return None;
        }
        let groups: Vec<&str> = s
            .split(|c: char| !c.is_ascii_digit())
            .filter(|g| !g.is_empty())
            .collect();
        let first_len = groups.first().map_or(0, |g| g.len());
        let thousands =
            groups.len() >= 2 && groups.iter().skip(1).all(|g| g.len() == 3) && first_len <= 3;
        let dated = groups.len() == 3
            && groups
                .first()
                .is_some_and(|g| g.len() == 4 && (g.starts_with("19") || g.starts_with("20")))
            && groups.iter().skip(1).all(|g| g.len() <= 2);
        let dotted = s.contains('.');
        let dotted_pairs = dotted && groups.len() >= 4 && groups.iter().all(|g| g.len() == 2);
        let longest = groups.iter().map(|g| g.len()).max().unwrap_or(0);
        if dated || (dotted && !dotted_pairs) {
            return None;
        }
        let area_code = s.starts_with('(') && s.contains('-');
        let trunk = s.starts_with('0') || s.starts_with("(0");
        let plausible_groups = longest <= 8 && groups.len() >= 2;
        let phone_shaped =
            plausible_groups && !thousands && (area_code || (trunk && n >= 10) || dotted_pairs);
        if context && (plausible_groups || n >= 8) || phone_shaped {
            return Some(Found::new(
                KIND,
                "phone_number",
                Severity::Medium,
                confidence,
                "pii.phone_national",
                r.clone(),
            ));
        }
        None
    }
}

/// Digits grouped like a card: no separator, or one kind of separator (space or dash).
fn card_shaped(s: &str) -> bool {
    let seps: Vec<char> = s.chars().filter(|c| !c.is_ascii_digit()).collect();
    seps.iter().all(|&c| c == ' ' || c == '-') && seps.windows(2).all(|w| w[0] == w[1])
}

/// Issuer identification ranges of the major card networks.
fn issuer_known(d: &str) -> bool {
    let p2: u32 = d.get(..2).and_then(|p| p.parse().ok()).unwrap_or(0);
    let p4: u32 = d.get(..4).and_then(|p| p.parse().ok()).unwrap_or(0);
    d.starts_with('4')
        || (51..=55).contains(&p2)
        || (2221..=2720).contains(&p4)
        || p2 == 34
        || p2 == 37
        || p2 == 36
        || p2 == 38
        || (300..=305).contains(&(p4 / 10))
        || p4 == 6011
        || p2 == 65
        || (644..=649).contains(&(p4 / 10))
        || p2 == 35
        || p2 == 62
        || p2 == 50
        || (56..=69).contains(&p2)
}

/// A public IPv4 address (private and reserved ranges are left to the SSRF rules).
fn ipv4(s: &str, r: &Range<usize>) -> Option<Found> {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() != 4 {
        return None;
    }
    let mut octets = [0u8; 4];
    for (o, p) in octets.iter_mut().zip(&parts) {
        if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *o = p.parse().ok()?;
    }
    let private = matches!(
        octets,
        [10, ..] | [127, ..] | [0, ..] | [169, 254, ..] | [192, 168, ..]
    ) || (octets[0] == 172 && (16..=31).contains(&octets[1]))
        || octets[0] >= 224;
    (!private).then(|| {
        Found::new(
            KIND,
            "ip_address",
            Severity::Low,
            0.6,
            "pii.ipv4",
            r.clone(),
        )
    })
}

/// A JSON value stored under a phone-like key.
pub fn phone_under_key(text: &str, key: &str, out: &mut Vec<Found>) {
    let phoneish_key = key.len() <= 64
        && ["phone", "mobile", "tel", "fax", "cell"].iter().any(|w| {
            key.as_bytes()
                .windows(w.len())
                .any(|s| s.eq_ignore_ascii_case(w.as_bytes()))
        });
    if !phoneish_key {
        return;
    }
    let value = text.trim();
    let digits = value.bytes().filter(u8::is_ascii_digit).count();
    let phoneish = value
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b' ' | b'-' | b'.' | b'(' | b')' | b'+'));
    if phoneish && (7..=15).contains(&digits) && out.iter().all(|f| f.sub_type != "phone_number") {
        let start = text.len() - text.trim_start().len();
        out.push(Found::new(
            KIND,
            "phone_number",
            Severity::Medium,
            0.85,
            "pii.phone_json_key",
            start..start + value.len(),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_and_card_shape() {
        assert!(issuer_known("4111111111111111"));
        assert!(issuer_known("378282246310005"));
        assert!(!issuer_known("9111111111111111"));
        assert!(card_shaped("4111 1111 1111 1111"));
        assert!(!card_shaped("4111-1111 1111 1111"));
    }

    #[test]
    fn ipv4_public_only() {
        assert!(ipv4("8.8.8.8", &(0..7)).is_some());
        assert!(ipv4("10.1.2.3", &(0..8)).is_none());
        assert!(ipv4("192.168.1.1", &(0..11)).is_none());
        assert!(ipv4("1.2.3", &(0..5)).is_none());
        assert!(ipv4("300.1.1.1", &(0..9)).is_none());
    }
}
