//! `matches` patterns: Authensor writes them as JavaScript regular expressions; we run them with
//! regex-lite (linear time, no backtracking). A pattern is accepted only if it means the same in
//! both dialects, up to the documented differences (`.`, `\s`, UTF-16 units); anything else
//! (look-around, backreferences, inline flags, escapes one dialect reads differently) is a
//! configuration error that says why.

use regex_lite::{Regex, RegexBuilder};

/// Longest accepted pattern, in bytes.
pub const MAX_PATTERN_LEN: usize = 4096;
/// regex-lite's compiled-size and nesting limits for one pattern.
const SIZE_LIMIT: usize = 256 * 1024;
const NEST_LIMIT: u32 = 64;

/// A compiled `matches` pattern with a literal prefilter, checked with substring searches before
/// the regex runs: a string every match contains, and a set of strings of which every match
/// contains one (a mandatory top-level group of literal alternatives, such as `(admin|internal)`).
#[derive(Debug, Clone)]
pub struct Pattern {
    regex: Regex,
    required: Option<Box<str>>,
    /// Empty when the pattern has no such group.
    one_of: Box<[Box<str>]>,
}

impl Pattern {
    /// Unanchored search, as JavaScript's `RegExp.prototype.test` without flags.
    pub fn is_match(&self, text: &str) -> bool {
        self.required
            .as_deref()
            .is_none_or(|lit| text.contains(lit))
            && (self.one_of.is_empty() || self.one_of.iter().any(|lit| text.contains(&**lit)))
            && self.regex.is_match(text)
    }

    pub fn as_str(&self) -> &str {
        self.regex.as_str()
    }
}

/// One top-level element of a pattern: a literal character, a group, or anything else (class,
/// escape class, anchor, wildcard); `mandatory` unless a `?`, `*` or `{` quantifier follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Atom {
    Literal {
        c: char,
        mandatory: bool,
        repeated: bool,
    },
    Group {
        /// The alternatives, when each is a plain literal (`(admin|internal)`, `(?:a\.b|c)`).
        literals: Option<Vec<String>>,
        mandatory: bool,
    },
    Other,
}

/// The top-level atoms of an accepted pattern, or `None` if it has a top-level `|`.
pub fn top_level_atoms(pattern: &str) -> Option<Vec<Atom>> {
    let mut atoms = Vec::new();
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        let atom = match c {
            '|' => return None,
            '\\' => match chars.next() {
                Some(e) if e.is_ascii_punctuation() || e == ' ' => Atom::Literal {
                    c: e,
                    mandatory: true,
                    repeated: false,
                },
                Some(e @ ('x' | 'u')) => {
                    // `\xHH` and `\uHHHH` (their digits were checked by `check_dialect`).
                    chars.nth(if e == 'x' { 1 } else { 3 });
                    Atom::Other
                }
                _ => Atom::Other,
            },
            '(' => {
                let mut depth = 1;
                let mut in_class = false;
                let mut inner = String::new();
                while depth > 0 {
                    let k = chars.next()?;
                    match k {
                        '\\' => {
                            inner.push(k);
                            inner.extend(chars.next());
                            continue;
                        }
                        '[' => in_class = true,
                        ']' => in_class = false,
                        '(' if !in_class => depth += 1,
                        ')' if !in_class => depth -= 1,
                        _ => {}
                    }
                    if depth > 0 {
                        inner.push(k);
                    }
                }
                Atom::Group {
                    literals: literal_alternatives(&inner),
                    mandatory: true,
                }
            }
            '[' => {
                while let Some(k) = chars.next() {
                    match k {
                        '\\' => {
                            chars.next();
                        }
                        ']' => break,
                        _ => {}
                    }
                }
                Atom::Other
            }
            '?' | '*' | '{' | '+' => {
                if c == '{' {
                    for k in chars.by_ref() {
                        if k == '}' {
                            break;
                        }
                    }
                }
                chars.next_if_eq(&'?');
                match atoms.last_mut() {
                    Some(Atom::Literal {
                        mandatory,
                        repeated,
                        ..
                    }) => {
                        if c == '+' {
                            *repeated = true;
                        } else {
                            *mandatory = false;
                        }
                    }
                    Some(Atom::Group { mandatory, .. }) if c != '+' => *mandatory = false,
                    _ => {}
                }
                continue;
            }
            '.' | '^' | '$' => Atom::Other,
            c => Atom::Literal {
                c,
                mandatory: true,
                repeated: false,
            },
        };
        atoms.push(atom);
    }
    Some(atoms)
}

/// The alternatives of a group's content (after `(`, before `)`) when every one is a plain
/// literal: no metacharacter other than `\`-escaped punctuation, and not empty.
fn literal_alternatives(inner: &str) -> Option<Vec<String>> {
    let body = match inner.strip_prefix('?') {
        Some(rest) => match rest.strip_prefix(':') {
            Some(body) => body,
            // A named group `(?<name>...)`.
            None => rest.strip_prefix('<')?.split_once('>')?.1,
        },
        None => inner,
    };
    let mut alternatives = vec![String::new()];
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '|' => alternatives.push(String::new()),
            '\\' => match chars.next() {
                Some(e) if e.is_ascii_punctuation() || e == ' ' => alternatives.last_mut()?.push(e),
                _ => return None,
            },
            '.' | '[' | ']' | '(' | ')' | '?' | '*' | '+' | '{' | '}' | '^' | '$' => return None,
            c => alternatives.last_mut()?.push(c),
        }
    }
    alternatives
        .iter()
        .all(|a| !a.is_empty())
        .then_some(alternatives)
}

/// The mandatory top-level group of literal alternatives whose shortest alternative is longest
/// (at least 2 bytes), if any: every match contains one of its alternatives.
fn required_alternatives(pattern: &str) -> Vec<Box<str>> {
    let shortest = |l: &[String]| l.iter().map(String::len).min().unwrap_or(0);
    top_level_atoms(pattern)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|atom| match atom {
            Atom::Group {
                literals: Some(l),
                mandatory: true,
            } => Some(l),
            _ => None,
        })
        .filter(|l| shortest(l) >= 2)
        .max_by_key(|l| shortest(l))
        .map(|l| l.into_iter().map(String::into_boxed_str).collect())
        .unwrap_or_default()
}

/// The longest run of consecutive mandatory literal characters (at least 2), if any.
fn required_literal(pattern: &str) -> Option<Box<str>> {
    let atoms = top_level_atoms(pattern)?;
    let mut best = String::new();
    let mut run = String::new();
    for atom in atoms {
        match atom {
            Atom::Literal {
                c,
                mandatory: true,
                repeated,
            } => {
                run.push(c);
                if repeated {
                    if run.len() > best.len() {
                        best = std::mem::take(&mut run);
                    }
                    run.clear();
                    run.push(c);
                }
            }
            _ => {
                if run.len() > best.len() {
                    best = std::mem::take(&mut run);
                }
                run.clear();
            }
        }
    }
    if run.len() > best.len() {
        best = run;
    }
    (best.len() >= 2).then(|| best.into())
}

/// Compile a JavaScript-syntax pattern (no flags) into an unanchored matcher.
pub fn compile(pattern: &str) -> Result<Pattern, String> {
    if pattern.len() > MAX_PATTERN_LEN {
        return Err(format!(
            "regular expression of {} bytes exceeds the {MAX_PATTERN_LEN}-byte limit",
            pattern.len()
        ));
    }
    check_dialect(pattern)?;
    let regex = RegexBuilder::new(pattern)
        .size_limit(SIZE_LIMIT)
        .nest_limit(NEST_LIMIT)
        .build()
        .map_err(|e| {
            let detail = e.to_string();
            let last = detail
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("");
            format!("invalid regular expression {pattern:?}: {}", last.trim())
        })?;
    Ok(Pattern {
        regex,
        required: required_literal(pattern),
        one_of: required_alternatives(pattern).into(),
    })
}

/// Reject syntax that JavaScript and regex-lite read differently, or that only one supports.
fn check_dialect(pattern: &str) -> Result<(), String> {
    let bytes = pattern.as_bytes();
    let mut in_class = false;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\\' => {
                let next = bytes.get(i + 1).copied();
                i += escape_len(bytes, i, in_class).map_err(|why| {
                    let shown = next.map_or(String::new(), |c| (c as char).to_string());
                    format!("unsupported escape \\{shown} in {pattern:?}: {why}")
                })?;
                continue;
            }
            b'[' if in_class => {
                return Err(format!(
                    "unsupported `[` inside a character class in {pattern:?}: escape it as \\["
                ))
            }
            b'[' => {
                in_class = true;
                // A leading `]` or `^]` is literal in regex-lite but ends the class in JavaScript.
                let after = if bytes.get(i + 1) == Some(&b'^') { i + 2 } else { i + 1 };
                if bytes.get(after) == Some(&b']') {
                    return Err(format!(
                        "unsupported empty or `]`-leading character class in {pattern:?}"
                    ));
                }
            }
            b']' if in_class => in_class = false,
            b'&' | b'-' | b'~' if in_class && bytes.get(i + 1) == Some(&b) => {
                return Err(format!(
                    "unsupported `{0}{0}` inside a character class in {pattern:?}: it is a set operation in regex-lite and literal in JavaScript",
                    b as char
                ))
            }
            b'(' if !in_class && bytes.get(i + 1) == Some(&b'?') => check_group(bytes, i, pattern)?,
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// `(?:` and named groups `(?<name>` are shared; look-around and inline flags are not.
fn check_group(bytes: &[u8], i: usize, pattern: &str) -> Result<(), String> {
    match (bytes.get(i + 2), bytes.get(i + 3)) {
        (Some(b':'), _) => Ok(()),
        (Some(b'<'), Some(c)) if c.is_ascii_alphabetic() || *c == b'_' => Ok(()),
        (Some(b'=' | b'!'), _) | (Some(b'<'), Some(b'=' | b'!')) => Err(format!(
            "look-around is not supported in {pattern:?} (the engine runs in linear time)"
        )),
        _ => Err(format!(
            "unsupported group syntax in {pattern:?}: inline flags such as (?i) are not JavaScript syntax"
        )),
    }
}

/// Length of the escape at `i` (including the backslash) if both dialects agree on it.
fn escape_len(bytes: &[u8], i: usize, in_class: bool) -> Result<usize, &'static str> {
    let Some(&c) = bytes.get(i + 1) else {
        return Err("a pattern cannot end with a backslash");
    };
    let hex_run = |n: usize| {
        bytes
            .get(i + 2..i + 2 + n)
            .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
    };
    match c {
        b'd' | b'D' | b'w' | b'W' | b's' | b'S' | b'n' | b'r' | b't' | b'f' | b'v' => Ok(2),
        b'b' | b'B' if !in_class => Ok(2),
        b'b' | b'B' => Err("inside a class JavaScript reads \\b as a backspace"),
        b'x' if hex_run(2) => Ok(4),
        b'u' if hex_run(4) => Ok(6),
        b'x' | b'u' => Err("use \\xHH or \\uHHHH with exactly 2 or 4 hex digits"),
        b'0'..=b'9' => Err("backreferences and octal escapes are not supported"),
        c if c.is_ascii_alphabetic() => {
            Err("JavaScript and regex-lite read this escape differently")
        }
        c if c.is_ascii() => Ok(2),
        _ => Err("escape only ASCII punctuation"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_patterns_compile_and_search_unanchored() {
        let r = compile(r"code\.exec\.(npm|pnpm|yarn|pip|cargo|go).*").unwrap();
        assert!(r.is_match("code.exec.npm.install"));
        assert!(!r.is_match("code.exec.ls"));
        let r = compile(r"(patient|ehr|medical)\..+\.delete").unwrap();
        assert!(r.is_match("x.patient.record.delete.y"));
        let r = compile(r"filesystem\.write.*").unwrap();
        assert!(r.is_match("filesystem.writeFile"));
        assert!(compile(r"^a\/b$").unwrap().is_match("a/b"));
        assert!(compile(r"\u0041\x42[\-a-z]").unwrap().is_match("AB-"));
        assert!(compile(r"(?<year>\d{4})-(?:\d\d)")
            .unwrap()
            .is_match("2026-11"));
    }

    #[test]
    fn divergent_or_unsupported_syntax_is_rejected_with_a_reason() {
        let err = |p: &str| compile(p).unwrap_err();
        assert!(err("(?i)admin").contains("inline flags"));
        assert!(err("a(?=b)").contains("look-around"));
        assert!(err("(?<!a)b").contains("look-around"));
        assert!(err(r"(a)\1").contains("backreferences"));
        assert!(err(r"end\z").contains("differently"));
        assert!(err(r"\p{L}").contains("differently"));
        assert!(err(r"[\b]").contains("backspace"));
        assert!(err(r"\x{41}").contains("hex digits"));
        assert!(err("[a&&b]").contains("set operation"));
        assert!(err("[[a]]").contains("inside a character class"));
        assert!(err("[]a]").contains("character class"));
        assert!(err("a{").contains("invalid regular expression"));
        assert!(err("trailing\\").contains("backslash"));
        assert!(err(&"a".repeat(MAX_PATTERN_LEN + 1)).contains("limit"));
    }

    #[test]
    fn required_literals_prefilter_without_changing_results() {
        assert_eq!(
            required_literal(r"filesystem\.write.*").as_deref(),
            Some("filesystem.write")
        );
        assert_eq!(
            required_literal(r"code\.exec\.(npm|pip).*").as_deref(),
            Some("code.exec.")
        );
        assert_eq!(required_literal(r"ab?cd"), Some("cd".into()));
        assert_eq!(required_literal(r"wx+yz").as_deref(), Some("xyz"));
        assert_eq!(required_literal(r"a|bcd"), None);
        assert_eq!(required_literal(r"[abc]\d"), None);
        let p = compile(r"wx+yz").unwrap();
        assert!(p.is_match("wxxxyz"));
        assert!(!p.is_match("wyz"));
        let p = compile(r"colou?r").unwrap();
        assert!(p.is_match("color") && p.is_match("colour"));
    }

    #[test]
    fn groups_of_literal_alternatives_prefilter_without_changing_results() {
        let admin = r"^[^/]*/(admin|internal|actuator)(/|$)";
        assert_eq!(
            required_alternatives(admin),
            ["admin", "internal", "actuator"].map(Box::from)
        );
        let p = compile(admin).unwrap();
        assert!(p.is_match("h/internal") && p.is_match("h/admin/x"));
        assert!(!p.is_match("h/v1/models") && !p.is_match("h/x/admin"));
        assert_eq!(
            required_alternatives(r"(?:a\.b|cd)x|y"),
            Vec::<Box<str>>::new(),
            "a top-level | makes nothing required"
        );
        assert_eq!(
            required_alternatives(r"(?<k>a\.b|cd)"),
            ["a.b", "cd"].map(Box::from)
        );
        for optional in [r"(ab|cd)?x", r"(ab|cd)*x", r"(ab|cd){0,2}x"] {
            assert!(required_alternatives(optional).is_empty(), "{optional}");
            assert!(compile(optional).unwrap().is_match("x"), "{optional}");
        }
        for not_literal in [r"(a.|cd)", r"(ab|c\d)", r"(ab|)", r"(ab|c)", r"(a(b)|cd)"] {
            assert!(
                required_alternatives(not_literal).is_empty(),
                "{not_literal}"
            );
        }
        assert_eq!(
            required_alternatives(r"(ab|cd)+"),
            ["ab", "cd"].map(Box::from)
        );
        let p = compile(r"x(ab|cd)+y").unwrap();
        assert!(p.is_match("xabcdy") && !p.is_match("xy"));
    }

    #[test]
    fn pathological_patterns_stay_linear() {
        let r = compile("(a+)+$").unwrap();
        let text = format!("{}b", "a".repeat(100_000));
        assert!(!r.is_match(&text));
        assert!(compile(&"(".repeat(100)).is_err());
    }
}
