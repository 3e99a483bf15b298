//! Phrase rules over keyword hits: a rule is an ordered list of keyword classes, each within a
//! byte gap of the previous one in the text. "ignore … previous … instructions" is
//! three classes, so paraphrases and other languages fill the classes instead of multiplying
//! literal phrases. Matching walks the (sorted, few) hits of one detector; it never rescans text.

use std::ops::Range;

use super::finding::Found;
use super::keywords::Hit;
use crate::detection::{DetectionType, Severity};

/// One phrase rule.
#[derive(Debug, Clone, Copy)]
pub struct Seq {
    pub rule: &'static str,
    pub sub_type: &'static str,
    /// Keyword classes in order; each part accepts any of its classes.
    pub parts: &'static [&'static [u16]],
    /// Largest gap, in bytes, between the end of one part and the start of the next.
    pub gap: usize,
    pub severity: Severity,
    pub confidence: f32,
}

/// A keyword class that is a finding by itself: (class, rule, sub-type, severity, confidence).
pub type Single = (u16, &'static str, &'static str, Severity, f32);

/// Apply phrase rules and single-class rules of one detector to its hits.
pub fn apply(
    kind: DetectionType,
    hits: &[&Hit],
    seqs: &[Seq],
    singles: &[Single],
    out: &mut Vec<Found>,
) {
    for s in seqs {
        if let Some(span) = find(hits, s) {
            out.push(Found::new(
                kind,
                s.sub_type,
                s.severity,
                s.confidence,
                s.rule,
                span,
            ));
        }
    }
    for &(code, rule, sub_type, severity, confidence) in singles {
        if let Some(h) = hits.iter().find(|h| h.code() == code) {
            out.push(Found::new(
                kind,
                sub_type,
                severity,
                confidence,
                rule,
                h.span(),
            ));
        }
    }
}

/// The first match of `seq` in `hits` (sorted by start): the original span from the first part's
/// start to the last part's end.
pub fn find(hits: &[&Hit], seq: &Seq) -> Option<Range<usize>> {
    let (first, rest) = seq.parts.split_first()?;
    hits.iter().enumerate().find_map(|(i, h)| {
        if !first.contains(&h.code()) {
            return None;
        }
        let end = extend(hits, i, rest, seq.gap)?;
        Some(h.start..end.max(h.end))
    })
}

/// Match `rest` after hit `i`; returns the original end offset of the last part.
fn extend(hits: &[&Hit], i: usize, rest: &[&[u16]], gap: usize) -> Option<usize> {
    let Some((next, tail)) = rest.split_first() else {
        return hits.get(i).map(|h| h.end);
    };
    let prev = hits.get(i)?;
    let limit = prev.end + gap;
    for (j, h) in hits.iter().enumerate().skip(i + 1) {
        if h.start > limit {
            break;
        }
        if h.start >= prev.end && next.contains(&h.code()) {
            if let Some(end) = extend(hits, j, tail, gap) {
                return Some(end);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aegis::keywords::{Hit, Owner};

    fn hit(code: u16, start: usize, end: usize) -> Hit {
        Hit {
            owner: Owner::Injection,
            code,
            start,
            end,
        }
    }

    const SEQ: Seq = Seq {
        rule: "t",
        sub_type: "t",
        parts: &[&[1], &[2, 4], &[3]],
        gap: 10,
        severity: Severity::High,
        confidence: 0.9,
    };

    #[test]
    fn ordered_parts_within_gap() {
        let hits = [hit(1, 0, 6), hit(2, 10, 18), hit(3, 20, 32)];
        let refs: Vec<&Hit> = hits.iter().collect();
        assert_eq!(find(&refs, &SEQ), Some(0..32));
        // A part accepts any of its classes.
        let alt = [hit(1, 0, 6), hit(4, 10, 18), hit(3, 20, 32)];
        let refs: Vec<&Hit> = alt.iter().collect();
        assert_eq!(find(&refs, &SEQ), Some(0..32));
        let far = [hit(1, 0, 6), hit(2, 30, 38), hit(3, 40, 52)];
        let refs: Vec<&Hit> = far.iter().collect();
        assert_eq!(find(&refs, &SEQ), None);
        let wrong_order = [hit(2, 0, 6), hit(1, 8, 10), hit(3, 12, 20)];
        let refs: Vec<&Hit> = wrong_order.iter().collect();
        assert_eq!(find(&refs, &SEQ), None);
    }

    #[test]
    fn backtracks_to_a_later_candidate() {
        // The first class-2 hit has no class-3 after it in reach; the second does.
        let hits = [hit(1, 0, 5), hit(2, 6, 8), hit(2, 14, 16), hit(3, 24, 26)];
        let refs: Vec<&Hit> = hits.iter().collect();
        assert_eq!(find(&refs, &SEQ), Some(0..26));
    }
}
