//! The interface a content scanner offers the LLM layer ([`TextScanner`]), and scanning a
//! document's texts into edits and blocks. Aegis implements the trait in the filter; masking's
//! placeholder restorer implements it too, and [`Both`] runs two scanners as one.

use super::edit::Edit;
use super::json_path::Seg;
use super::{Role, TextItem, TextKind};

/// What to do with a match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Replace the matched bytes with this text (a redaction marker, or a masked original).
    Replace(String),
    /// The text must not pass: block the request or end the stream with an error.
    Block,
}

/// One match: a byte span of the scanned text (on char boundaries), a label safe to log (a
/// detection sub-type or rule id, never the matched value) and the verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    pub start: usize,
    pub end: usize,
    pub label: String,
    pub verdict: Verdict,
}

/// A scanner the LLM layer can run over texts, whole or as a stream of pieces.
pub trait TextScanner {
    /// Every match in `text`, in any order.
    fn find(&self, text: &str) -> Vec<Match>;

    /// The longest match this scanner reports, in bytes. A stream never holds back more than
    /// this, and a match this long is taken as complete even if more text follows.
    fn max_match_len(&self) -> usize;

    /// Where the tail of `text` that could still become (the start of) a match begins;
    /// `text.len()` when no tail could. A stream releases everything before it at once.
    /// The default is the safe bound `max_match_len - 1` bytes; scanners that can tell which
    /// tails may start a match (literal prefixes, token shapes) should say so, to hold less.
    fn hold_from(&self, text: &str) -> usize {
        let keep = self.max_match_len().saturating_sub(1);
        text.floor_char_boundary(text.len().saturating_sub(keep))
    }
}

impl<T: TextScanner + ?Sized> TextScanner for &T {
    fn find(&self, text: &str) -> Vec<Match> {
        (**self).find(text)
    }
    fn max_match_len(&self) -> usize {
        (**self).max_match_len()
    }
    fn hold_from(&self, text: &str) -> usize {
        (**self).hold_from(text)
    }
}

/// Two scanners as one: all matches of both (overlaps resolved by [`tidy`]), the larger
/// bound, the earlier hold point. Typically Aegis and the masking restorer.
pub struct Both<A, B>(pub A, pub B);

impl<A: TextScanner, B: TextScanner> TextScanner for Both<A, B> {
    fn find(&self, text: &str) -> Vec<Match> {
        let mut all = self.0.find(text);
        all.extend(self.1.find(text));
        all
    }
    fn max_match_len(&self) -> usize {
        self.0.max_match_len().max(self.1.max_match_len())
    }
    fn hold_from(&self, text: &str) -> usize {
        self.0.hold_from(text).min(self.1.hold_from(text))
    }
}

/// Matches made safe to apply: spans outside `text` or off char boundaries dropped, sorted,
/// overlapping matches merged into one (a block wins over a replacement).
pub fn tidy(mut matches: Vec<Match>, text: &str) -> Vec<Match> {
    matches.retain(|m| {
        m.start < m.end
            && m.end <= text.len()
            && text.is_char_boundary(m.start)
            && text.is_char_boundary(m.end)
    });
    matches.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));
    let mut out: Vec<Match> = Vec::with_capacity(matches.len());
    for m in matches {
        match out.last_mut() {
            Some(last) if m.start < last.end => {
                last.end = last.end.max(m.end);
                if m.verdict == Verdict::Block && last.verdict != Verdict::Block {
                    last.verdict = Verdict::Block;
                    last.label = m.label;
                }
            }
            _ => out.push(m),
        }
    }
    out
}

/// In raw JSON text (streamed tool-call arguments), a replacement across a quote or an escape
/// could break the JSON the client assembles; such a match blocks instead.
pub fn harden_for_raw_json(matches: &mut [Match], text: &str) {
    for m in matches {
        let crosses_syntax = text
            .get(m.start..m.end)
            .is_some_and(|s| s.contains(['"', '\\']));
        if crosses_syntax {
            m.verdict = Verdict::Block;
        }
    }
}

/// Something a scan found, for the audit line: label, JSON path and role, never the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub label: String,
    pub path: String,
    pub role: Role,
}

/// The outcome of scanning a document's texts.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct DocScan {
    /// Replacements to apply with [`super::edit::apply_edits`].
    pub edits: Vec<Edit>,
    pub replaced: Vec<Found>,
    /// Non-empty: the document must not pass.
    pub blocked: Vec<Found>,
}

/// Scan every item; replacements become edits, blocks are listed.
pub fn scan_items(items: &[TextItem<'_>], scanner: &dyn TextScanner) -> DocScan {
    let mut out = DocScan::default();
    for item in items {
        let mut matches = tidy(scanner.find(item.text), item.text);
        let raw_json =
            item.kind == TextKind::ToolArguments && !item.path.segments().contains(&Seg::Embedded);
        if raw_json {
            harden_for_raw_json(&mut matches, item.text);
        }
        for m in matches {
            let found = Found {
                label: m.label,
                path: item.path.to_string(),
                role: item.role,
            };
            match m.verdict {
                Verdict::Block => out.blocked.push(found),
                Verdict::Replace(replacement) => {
                    out.edits.push(Edit {
                        path: item.path.clone().into_owned(),
                        start: m.start,
                        end: m.end,
                        replacement,
                    });
                    out.replaced.push(found);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::llm::json_path::JsonPath;
    use crate::protocol::llm::literal::Literals;

    fn m(start: usize, end: usize, label: &str, verdict: Verdict) -> Match {
        Match {
            start,
            end,
            label: label.into(),
            verdict,
        }
    }

    #[test]
    fn tidy_drops_bad_spans_and_merges_overlaps_with_block_winning() {
        let r = || Verdict::Replace("x".into());
        let text = "aé bcdefgh";
        let out = tidy(
            vec![
                m(5, 8, "b", Verdict::Block),
                m(2, 3, "offchar", r()),
                m(4, 6, "a", r()),
                m(0, 99, "far", r()),
                m(9, 9, "empty", r()),
            ],
            text,
        );
        assert_eq!(out, vec![m(4, 8, "b", Verdict::Block)]);
    }

    #[test]
    fn default_hold_is_the_bound() {
        struct Bounded;
        impl TextScanner for Bounded {
            fn find(&self, _: &str) -> Vec<Match> {
                Vec::new()
            }
            fn max_match_len(&self) -> usize {
                4
            }
        }
        assert_eq!(Bounded.hold_from("abcdef"), 3);
        assert_eq!(Bounded.hold_from("ab"), 0);
        assert_eq!(Bounded.hold_from("abcdé"), 3, "never inside a character");
    }

    #[test]
    fn items_become_edits_or_blocks_with_paths_and_roles() {
        let lits = Literals::new(vec![
            ("k3y".into(), "key".into(), Verdict::Replace("[K]".into())),
            ("evil".into(), "inj".into(), Verdict::Block),
        ]);
        let items = [
            TextItem {
                role: Role::User,
                kind: TextKind::Content,
                path: JsonPath::root().key("a"),
                text: "my k3y",
            },
            TextItem {
                role: Role::Tool,
                kind: TextKind::Content,
                path: JsonPath::root().key("b"),
                text: "be evil",
            },
            TextItem {
                role: Role::Assistant,
                kind: TextKind::ToolArguments,
                path: JsonPath::root().key("c"),
                text: r#"{"x":"k3y"}"#,
            },
        ];
        let scan = scan_items(&items, &Both(&lits, Literals::new(vec![])));
        assert_eq!(scan.edits.len(), 2);
        assert_eq!(scan.edits[0].path.to_string(), "$.a");
        assert_eq!((scan.edits[0].start, scan.edits[0].end), (3, 6));
        assert_eq!(scan.blocked.len(), 1);
        assert_eq!(
            (scan.blocked[0].label.as_str(), scan.blocked[0].role),
            ("inj", Role::Tool)
        );
    }

    #[test]
    fn raw_json_replacements_across_syntax_become_blocks() {
        let mut ms = vec![
            m(0, 3, "ok", Verdict::Replace("x".into())),
            m(3, 6, "q", Verdict::Replace("x".into())),
        ];
        harden_for_raw_json(&mut ms, r#"abc"de"#);
        assert_eq!(ms[0].verdict, Verdict::Replace("x".into()));
        assert_eq!(ms[1].verdict, Verdict::Block);
    }
}
