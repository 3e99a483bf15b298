//! A [`TextScanner`] for fixed strings, each redacted (`[REDACTED:<label>]`) or blocking: one
//! aho-corasick pass, and in a stream it holds back only a tail that begins one of the strings.
//! Used by `authensor llm guard` to replay a recorded stream, and as the stand-in for Aegis in
//! tests.

use aho_corasick::{AhoCorasick, MatchKind};

use super::scan::{Match, TextScanner, Verdict};

pub struct Literals {
    matcher: Option<AhoCorasick>,
    rules: Vec<(String, String, Verdict)>,
}

impl Literals {
    /// `(literal, label, verdict)` triples. Empty literals are ignored.
    pub fn new(rules: Vec<(String, String, Verdict)>) -> Literals {
        let rules: Vec<_> = rules
            .into_iter()
            .filter(|(l, _, _)| !l.is_empty())
            .collect();
        let matcher = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(rules.iter().map(|(l, _, _)| l))
            .ok();
        Literals { matcher, rules }
    }

    /// Literals redacted as `[REDACTED:<label>]`.
    pub fn redacting(pairs: &[(&str, &str)]) -> Literals {
        Literals::new(
            pairs
                .iter()
                .map(|(lit, label)| {
                    let marker = format!("[REDACTED:{label}]");
                    (lit.to_string(), label.to_string(), Verdict::Replace(marker))
                })
                .collect(),
        )
    }

    /// Literals that block.
    pub fn blocking(pairs: &[(&str, &str)]) -> Literals {
        Literals::new(
            pairs
                .iter()
                .map(|(lit, label)| (lit.to_string(), label.to_string(), Verdict::Block))
                .collect(),
        )
    }
}

impl TextScanner for Literals {
    fn find(&self, text: &str) -> Vec<Match> {
        let Some(matcher) = &self.matcher else {
            return Vec::new();
        };
        matcher
            .find_iter(text)
            .filter_map(|m| {
                let (_, label, verdict) = self.rules.get(m.pattern().as_usize())?;
                Some(Match {
                    start: m.start(),
                    end: m.end(),
                    label: label.clone(),
                    verdict: verdict.clone(),
                })
            })
            .collect()
    }

    fn max_match_len(&self) -> usize {
        self.rules
            .iter()
            .map(|(l, _, _)| l.len())
            .max()
            .unwrap_or(0)
    }

    /// Exactly the tails that are a proper prefix of some literal.
    fn hold_from(&self, text: &str) -> usize {
        let lower = text.len().saturating_sub(self.max_match_len());
        (lower..text.len())
            .filter(|&i| text.is_char_boundary(i))
            .find(|&i| {
                let tail = text.get(i..).unwrap_or("");
                self.rules
                    .iter()
                    .any(|(l, _, _)| l.len() > tail.len() && l.starts_with(tail))
            })
            .unwrap_or(text.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_longest_literals_and_holds_only_real_prefixes() {
        let lits = Literals::new(vec![
            ("SECRET".into(), "s".into(), Verdict::Replace("[S]".into())),
            ("SECRET-2".into(), "s2".into(), Verdict::Block),
        ]);
        let found = lits.find("a SECRET-2 and SECRET");
        assert_eq!(
            found
                .iter()
                .map(|m| (m.start, m.end, m.label.as_str()))
                .collect::<Vec<_>>(),
            vec![(2, 10, "s2"), (15, 21, "s")]
        );
        assert_eq!(lits.hold_from("xx SEC"), 3);
        assert_eq!(lits.hold_from("xx SECX"), 7);
        assert_eq!(
            lits.hold_from("xx SECRET-"),
            3,
            "SECRET- may still become SECRET-2"
        );
        assert_eq!(Literals::new(vec![]).hold_from("abc"), 3);
    }
}
