//! Checking audit chains in a log: find the audit lines (by their marker, whatever prefix the
//! proxy's log format puts before them), group them by chain id and report every break with the
//! input line number: edited lines, deleted lines, reordered lines, duplicated lines, two lines
//! claiming one sequence number, chains that do not start at 1, unchained and malformed lines.
//! What cannot be seen: lines cut from the end of a chain (or a whole chain), and a rewrite that
//! recomputes every hash (the chain has no key).

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::chain::{line_hash, GENESIS};
use super::MARKER;

/// What kind of break a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProblemKind {
    /// The line does not hash to the `prev` the next line of its chain recorded.
    Edited,
    /// Sequence numbers are missing between two lines.
    Deleted,
    /// The line's sequence number is lower than one seen earlier in its chain.
    Reordered,
    /// The exact same line appeared earlier.
    Duplicated,
    /// Another, different line of the chain has the same sequence number.
    Conflict,
    /// The chain's first line has a sequence number above 1 (see `partial`).
    MissingStart,
    /// An audit line without the `chain` member.
    Unchained,
    /// The text after the marker is not a JSON audit record.
    Malformed,
}

impl ProblemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemKind::Edited => "edited",
            ProblemKind::Deleted => "deleted",
            ProblemKind::Reordered => "reordered",
            ProblemKind::Duplicated => "duplicated",
            ProblemKind::Conflict => "conflict",
            ProblemKind::MissingStart => "missing-start",
            ProblemKind::Unchained => "unchained",
            ProblemKind::Malformed => "malformed",
        }
    }
}

/// One break, at a 1-based line number of the input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub kind: ProblemKind,
    pub line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    pub detail: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}: ", self.line, self.kind.as_str())?;
        if let Some(chain) = &self.chain {
            write!(f, "chain {chain}: ")?;
        }
        f.write_str(&self.detail)
    }
}

/// One chain as found in the input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainSummary {
    pub id: String,
    pub lines: usize,
    pub first_seq: u64,
    pub last_seq: u64,
}

/// The outcome of a check.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Audit lines found.
    pub lines: usize,
    pub chains: Vec<ChainSummary>,
    pub problems: Vec<Problem>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.problems.is_empty() && self.lines > 0
    }
}

/// How strict the check is.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Accept chains that start after sequence 1 (a log collected after rotation).
    pub partial: bool,
}

#[derive(Deserialize)]
struct Sealed {
    audit: String,
    chain: Option<Link>,
}

#[derive(Deserialize)]
struct Link {
    id: String,
    seq: u64,
    prev: String,
}

/// One chained line.
struct Entry {
    line: usize,
    seq: u64,
    prev: String,
    hash: String,
}

/// Check every chain in `input` (a raw proxy log or collected lines).
pub fn verify(input: &[u8], options: Options) -> Report {
    let mut report = Report::default();
    let mut chains: Vec<(String, Vec<Entry>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for (n, raw) in input.split(|&b| b == b'\n').enumerate() {
        let line = n + 1;
        let Some(at) = find(raw, MARKER.as_bytes()) else {
            continue;
        };
        report.lines += 1;
        let text = raw.get(at..).unwrap_or_default();
        let text = text.trim_ascii_end();
        let problem = |kind, detail: String| Problem {
            kind,
            line,
            chain: None,
            seq: None,
            detail,
        };
        let parsed = std::str::from_utf8(text)
            .map_err(|e| e.to_string())
            .and_then(|t| {
                serde_json::from_str::<Sealed>(t)
                    .map(|s| (t, s))
                    .map_err(|e| e.to_string())
            });
        let (text, sealed) = match parsed {
            Ok(ok) => ok,
            Err(e) => {
                report.problems.push(problem(
                    ProblemKind::Malformed,
                    format!("not an audit record: {e}"),
                ));
                continue;
            }
        };
        let Some(link) = sealed.chain else {
            let detail = format!("{} line without a chain member", sealed.audit);
            report
                .problems
                .push(problem(ProblemKind::Unchained, detail));
            continue;
        };
        let entry = Entry {
            line,
            seq: link.seq,
            prev: link.prev,
            hash: line_hash(text),
        };
        let slot = *index.entry(link.id.clone()).or_insert_with(|| {
            chains.push((link.id, Vec::new()));
            chains.len() - 1
        });
        if let Some((_, entries)) = chains.get_mut(slot) {
            entries.push(entry);
        }
    }
    for (id, entries) in &chains {
        check_chain(id, entries, options, &mut report);
    }
    report.problems.sort_by_key(|p| p.line);
    report
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn check_chain(id: &str, entries: &[Entry], options: Options, report: &mut Report) {
    let mut problems = Vec::new();
    let mut problem = |kind, e: &Entry, detail: String| {
        problems.push(Problem {
            kind,
            line: e.line,
            chain: Some(id.to_owned()),
            seq: Some(e.seq),
            detail,
        });
    };
    // In input order: exact repeats, and sequence numbers going backwards.
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut highest: Option<&Entry> = None;
    let mut unique: Vec<&Entry> = Vec::with_capacity(entries.len());
    for e in entries {
        if let Some(first) = seen.get(e.hash.as_str()) {
            problem(
                ProblemKind::Duplicated,
                e,
                format!("seq {} repeats line {first} exactly", e.seq),
            );
            continue;
        }
        seen.insert(&e.hash, e.line);
        match highest {
            Some(h) if e.seq < h.seq => problem(
                ProblemKind::Reordered,
                e,
                format!("seq {} comes after seq {} (line {})", e.seq, h.seq, h.line),
            ),
            _ => highest = Some(e),
        }
        unique.push(e);
    }
    // In sequence order: the start, gaps, conflicts and hash links.
    unique.sort_by_key(|e| (e.seq, e.line));
    if let Some(first) = unique.first() {
        if first.seq > 1 && !options.partial {
            problem(
                ProblemKind::MissingStart,
                first,
                format!("the chain starts at seq {}; seq 1 to {} are missing (use --partial for a rotated log)", first.seq, first.seq - 1),
            );
        }
        if first.seq <= 1 && first.prev != GENESIS {
            problem(
                ProblemKind::Edited,
                first,
                "the chain's first line does not carry the genesis prev".into(),
            );
        }
    }
    let mut anchor: Option<&Entry> = None;
    for &e in &unique {
        let Some(a) = anchor else {
            anchor = Some(e);
            continue;
        };
        if e.seq == a.seq {
            problem(
                ProblemKind::Conflict,
                e,
                format!(
                    "seq {} also at line {} with different content",
                    e.seq, a.line
                ),
            );
            continue;
        }
        if e.seq > a.seq + 1 {
            let missing = match (a.seq + 1, e.seq - 1) {
                (one, last) if one == last => format!("seq {one} is"),
                (first, last) => format!("seq {first} to {last} are"),
            };
            problem(
                ProblemKind::Deleted,
                e,
                format!(
                    "{missing} missing between line {} and line {}",
                    a.line, e.line
                ),
            );
        } else if e.prev != a.hash {
            problem(
                ProblemKind::Edited,
                a,
                format!(
                    "seq {} does not hash to the prev recorded by seq {} (line {})",
                    a.seq, e.seq, e.line
                ),
            );
        }
        anchor = Some(e);
    }
    report.chains.push(ChainSummary {
        id: id.to_owned(),
        lines: entries.len(),
        first_seq: unique.first().map_or(0, |e| e.seq),
        last_seq: unique.last().map_or(0, |e| e.seq),
    });
    report.problems.append(&mut problems);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::chain::Chain;

    /// Two interleaved chains of `n` lines each, as a proxy log with a prefix on every line and
    /// unrelated lines between.
    fn log(n: usize) -> Vec<String> {
        let mut a = Chain::new("vm-a");
        let mut b = Chain::new("vm-b");
        let mut lines = vec!["[info] starting".to_owned()];
        for i in 0..n {
            let record =
                format!(r#"{{"audit":"authensor/v1","request_id":"r{i}","decision":"allow"}}"#);
            lines.push(format!(
                "[info][wasm] wasm log authensor: {}",
                a.seal(&record, 4096)
            ));
            lines.push(format!(
                "[info][wasm] wasm log authensor: {}",
                b.seal(&record, 4096)
            ));
            lines.push("[debug] something else".to_owned());
        }
        lines
    }

    fn check(lines: &[String]) -> Report {
        verify(lines.join("\n").as_bytes(), Options::default())
    }

    fn kinds(report: &Report) -> Vec<(ProblemKind, usize)> {
        report.problems.iter().map(|p| (p.kind, p.line)).collect()
    }

    #[test]
    fn an_intact_log_passes() {
        let report = check(&log(5));
        assert!(report.ok(), "{:?}", report.problems);
        assert_eq!(report.lines, 10);
        assert_eq!(report.chains.len(), 2);
        assert_eq!(
            (report.chains[0].first_seq, report.chains[0].last_seq),
            (1, 5)
        );
    }

    #[test]
    fn an_edited_line_is_named() {
        let mut lines = log(5);
        // Line 5 is vm-a's seq 2.
        lines[4] = lines[4].replace(r#""decision":"allow""#, r#""decision":"deny""#);
        assert_eq!(kinds(&check(&lines)), vec![(ProblemKind::Edited, 5)]);
    }

    #[test]
    fn a_deleted_line_is_seen_where_it_was() {
        let mut lines = log(5);
        lines.remove(4); // vm-a seq 2; vm-a seq 3 is now on line 7
        let report = check(&lines);
        assert_eq!(kinds(&report), vec![(ProblemKind::Deleted, 7)]);
        assert_eq!(
            report.problems[0].detail,
            "seq 2 is missing between line 2 and line 7"
        );
        lines.remove(6); // and seq 3
        assert!(check(&lines).problems[0]
            .detail
            .starts_with("seq 2 to 3 are missing"));
    }

    #[test]
    fn swapped_lines_are_reordered_not_edited() {
        let mut lines = log(5);
        lines.swap(4, 7); // vm-a seq 2 and seq 3
        assert_eq!(kinds(&check(&lines)), vec![(ProblemKind::Reordered, 8)]);
    }

    #[test]
    fn a_duplicated_line_is_named() {
        let mut lines = log(5);
        let copy = lines[4].clone();
        lines.insert(5, copy);
        assert_eq!(kinds(&check(&lines)), vec![(ProblemKind::Duplicated, 6)]);
    }

    #[test]
    fn a_forged_line_with_a_taken_seq_conflicts() {
        let mut lines = log(3);
        let forged = lines[4].replace("r1", "rX");
        lines.push(forged);
        let report = check(&lines);
        assert_eq!(kinds(&report)[..1], [(ProblemKind::Reordered, 11)]);
        assert!(kinds(&report).contains(&(ProblemKind::Conflict, 11)));
    }

    #[test]
    fn missing_start_unless_partial() {
        let lines = log(4);
        let rotated = lines[4..].to_vec(); // from vm-a seq 2 on
        assert_eq!(
            kinds(&check(&rotated)),
            vec![
                (ProblemKind::MissingStart, 1),
                (ProblemKind::MissingStart, 2)
            ]
        );
        let partial = verify(rotated.join("\n").as_bytes(), Options { partial: true });
        assert!(partial.ok(), "{:?}", partial.problems);
    }

    #[test]
    fn a_forged_genesis_is_an_edit() {
        let mut lines = log(2);
        lines[1] = lines[1].replace(GENESIS, &"1".repeat(64));
        assert_eq!(kinds(&check(&lines))[0], (ProblemKind::Edited, 2));
    }

    #[test]
    fn unchained_malformed_and_empty() {
        let lines = [
            r#"x {"audit":"authensor/v1","decision":"allow"}"#.to_owned(),
            r#"x {"audit":"authensor/v1","decision":"#.to_owned(),
        ];
        assert_eq!(
            kinds(&check(&lines)),
            vec![(ProblemKind::Unchained, 1), (ProblemKind::Malformed, 2)]
        );
        let empty = verify(b"no audit here\n", Options::default());
        assert!(!empty.ok() && empty.problems.is_empty() && empty.lines == 0);
        let crlf = log(2).join("\r\n");
        assert!(verify(crlf.as_bytes(), Options::default()).ok());
        let not_utf8 = verify(
            b"{\"audit\":\"authensor/v1\",\"x\":\"\xff\"}",
            Options::default(),
        );
        assert_eq!(not_utf8.problems[0].kind, ProblemKind::Malformed);
    }
}
