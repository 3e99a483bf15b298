//! Action-type globs: `*` matches any run of non-dot characters, `**` matches anything (dots
//! included), every other character is literal, and the whole string must match. Compiled once;
//! matching is linear in the text for the common shapes and O(pattern x text) in general,
//! without backtracking and without allocation for texts under 128 bytes.

/// A compiled glob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Glob {
    /// No wildcard: plain equality.
    Exact(Box<str>),
    /// `prefix*`: the rest contains no dot.
    PrefixSegment(Box<str>),
    /// `prefix**`: anything after the prefix.
    PrefixAny(Box<str>),
    /// Anything else, as a token list.
    General(Box<[Token]>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    Literal(Box<str>),
    /// `*`
    Segment,
    /// `**`
    Any,
}

impl Glob {
    pub fn new(pattern: &str) -> Glob {
        let tokens = tokenize(pattern);
        match tokens.as_slice() {
            [] => Glob::Exact("".into()),
            [Token::Literal(l)] => Glob::Exact(l.clone()),
            [Token::Segment] => Glob::PrefixSegment("".into()),
            [Token::Any] => Glob::PrefixAny("".into()),
            [Token::Literal(l), Token::Segment] => Glob::PrefixSegment(l.clone()),
            [Token::Literal(l), Token::Any] => Glob::PrefixAny(l.clone()),
            _ => Glob::General(tokens.into_boxed_slice()),
        }
    }

    pub fn matches(&self, text: &str) -> bool {
        match self {
            Glob::Exact(s) => **s == *text,
            Glob::PrefixSegment(p) => text
                .strip_prefix(&**p)
                .is_some_and(|rest| !rest.contains('.')),
            Glob::PrefixAny(p) => text.starts_with(&**p),
            Glob::General(tokens) => match_general(tokens, text),
        }
    }

    /// The most dots a matching text can contain, or `None` when unbounded (`**`).
    pub fn max_dots(&self) -> Option<usize> {
        let dots = |s: &str| s.bytes().filter(|&b| b == b'.').count();
        match self {
            Glob::Exact(s) | Glob::PrefixSegment(s) => Some(dots(s)),
            Glob::PrefixAny(_) => None,
            Glob::General(tokens) => tokens.iter().try_fold(0, |n, t| match t {
                Token::Literal(l) => Some(n + dots(l)),
                Token::Segment => Some(n),
                Token::Any => None,
            }),
        }
    }
}

impl std::fmt::Display for Glob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Glob::Exact(s) => f.write_str(s),
            Glob::PrefixSegment(p) => write!(f, "{p}*"),
            Glob::PrefixAny(p) => write!(f, "{p}**"),
            Glob::General(tokens) => tokens.iter().try_for_each(|t| match t {
                Token::Literal(l) => f.write_str(l),
                Token::Segment => f.write_str("*"),
                Token::Any => f.write_str("**"),
            }),
        }
    }
}

fn tokenize(pattern: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut literal = String::new();
    let mut rest = pattern;
    while let Some(c) = rest.chars().next() {
        if c == '*' {
            if !literal.is_empty() {
                tokens.push(Token::Literal(std::mem::take(&mut literal).into()));
            }
            let star = if rest.starts_with("**") {
                rest = &rest[2..];
                Token::Any
            } else {
                rest = &rest[1..];
                Token::Segment
            };
            // `***` and `* **` collapse: a run of wildcards is as wide as its widest member.
            match (tokens.last_mut(), &star) {
                (Some(last @ Token::Segment), Token::Any) => *last = Token::Any,
                (Some(Token::Segment | Token::Any), _) => {}
                _ => tokens.push(star),
            }
        } else {
            literal.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    if !literal.is_empty() {
        tokens.push(Token::Literal(literal.into()));
    }
    tokens
}

/// Set of text positions, inline for short texts.
enum Positions {
    Small(u128),
    Large(Vec<bool>),
}

impl Positions {
    fn new(len: usize) -> Positions {
        if len < 128 {
            Positions::Small(0)
        } else {
            Positions::Large(vec![false; len + 1])
        }
    }

    fn insert(&mut self, i: usize) {
        match self {
            Positions::Small(bits) => *bits |= 1u128 << i,
            Positions::Large(v) => {
                if let Some(slot) = v.get_mut(i) {
                    *slot = true;
                }
            }
        }
    }

    fn contains(&self, i: usize) -> bool {
        match self {
            Positions::Small(bits) => i < 128 && bits & (1u128 << i) != 0,
            Positions::Large(v) => v.get(i).copied().unwrap_or(false),
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Positions::Small(bits) => *bits == 0,
            Positions::Large(v) => !v.contains(&true),
        }
    }
}

/// Simulate the token list as an automaton over the set of reachable positions.
fn match_general(tokens: &[Token], text: &str) -> bool {
    // The whole text must match: a leading literal starts it, a trailing one ends it.
    if let Some(Token::Literal(l)) = tokens.first() {
        if !text.starts_with(&**l) {
            return false;
        }
    }
    if let Some(Token::Literal(l)) = tokens.last() {
        if !text.ends_with(&**l) {
            return false;
        }
    }
    let bytes = text.as_bytes();
    let n = bytes.len();
    let mut current = Positions::new(n);
    current.insert(0);
    for token in tokens {
        let mut next = Positions::new(n);
        match token {
            Token::Literal(l) => {
                for p in 0..=n {
                    if current.contains(p)
                        && bytes.get(p..).is_some_and(|r| r.starts_with(l.as_bytes()))
                    {
                        next.insert(p + l.len());
                    }
                }
            }
            Token::Segment => {
                let mut open = false;
                for p in 0..=n {
                    open = open || current.contains(p);
                    if open {
                        next.insert(p);
                    }
                    if bytes.get(p) == Some(&b'.') {
                        open = false;
                    }
                }
            }
            Token::Any => {
                if let Some(first) = (0..=n).find(|&p| current.contains(p)) {
                    for p in first..=n {
                        next.insert(p);
                    }
                }
            }
        }
        if next.is_empty() {
            return false;
        }
        current = next;
    }
    current.contains(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, text: &str) -> bool {
        Glob::new(pattern).matches(text)
    }

    #[test]
    fn star_is_one_segment_or_part_of_one() {
        assert!(m("x.*", "x.a"));
        assert!(!m("x.*", "x.a.b"));
        assert!(!m("x.*", "x"));
        assert!(m("gp*", "gp"));
        assert!(m("gp*", "gpx"));
        assert!(!m("gp*", "gp.x"));
        assert!(!m("*.solo", "a.b.solo"));
        assert!(m("*.solo", "a.solo"));
        assert!(m("a.*.c", "a.b.c"));
        assert!(!m("a.*.c", "a.b.d.c"));
    }

    #[test]
    fn double_star_crosses_dots() {
        assert!(m("x.**", "x.a.b"));
        assert!(m("x.**", "x."));
        assert!(!m("x.**", "x"));
        assert!(m("**", ""));
        assert!(m("a.**.z", "a.b.c.z"));
        assert!(m("**.delete", "mcp.fs.delete"));
        assert!(!m("**.delete", "mcp.fs.delete.not"));
        assert!(m("a*b*c", "aXbYc"));
        assert!(!m("a*b*c", "aX.bYc"));
        assert!(m("a**b*c", "aX.bYc"));
    }

    #[test]
    fn everything_else_is_literal() {
        assert!(m("a+b", "a+b"));
        assert!(!m("a+b", "aab"));
        assert!(m("(x|y)", "(x|y)"));
        assert!(!m("(x|y)", "x"));
        assert!(!m("colou?r", "color"));
        assert!(!m("a.c", "abc"));
        assert!(m("", ""));
        assert!(!m("", "a"));
    }

    #[test]
    fn long_texts_and_many_stars_stay_correct() {
        let long = format!("{}.end", "a".repeat(300));
        assert!(m("*.end", &long));
        assert!(m("a*a*a*a*a*a*a*a*.e*d", &long));
        assert!(!m("a*a*a*a*a*a*a*a*.x*d", &long));
        let dotted = vec!["s"; 100].join(".");
        assert!(m("s.**.s", &dotted));
        assert!(!m("s.*", &dotted));
    }

    #[test]
    fn max_dots_bounds_the_matching_texts() {
        assert_eq!(Glob::new("x.*").max_dots(), Some(1));
        assert_eq!(Glob::new("x.*.y").max_dots(), Some(2));
        assert_eq!(Glob::new("x.**").max_dots(), None);
        assert_eq!(Glob::new("*").max_dots(), Some(0));
        assert_eq!(Glob::new("a.*.b**").to_string(), "a.*.b**");
    }
}
