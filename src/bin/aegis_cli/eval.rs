//! `authensor eval [DIR] [--config FILE] [--misses FILE.jsonl] [--fp FILE.jsonl]`: run the
//! scanner over every labelled corpus in DIR (default `../shared/eval`) and print, per file, the
//! detection rate on positive rows and the false-positive rate on benign rows for the type the
//! file is about. Rows that look like JSON request bodies are scanned as JSON, the rest as text.
//!
//! `identifier` rows (public identifiers such as client ids, account ids, bucket names) are
//! neither positives nor negatives: they are reported in their own column, as how often the
//! credentials detector fires on them.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

use authensor_filter::aegis::{ScanReport, Scanner};
use authensor_filter::detection::DetectionType;
use serde_json::Value;

use super::scanner;

/// Counts for one file (or one label of the PIB file).
#[derive(Default)]
struct Tally {
    rows: usize,
    positives: usize,
    detected: usize,
    benign: usize,
    false_positives: usize,
    /// Benign rows flagged by any detector at all.
    any_type_fp: usize,
    identifiers: usize,
    identifiers_fired: usize,
}

/// The type a whole file is about.
fn file_type(name: &str) -> Option<DetectionType> {
    if name.starts_with("attack_") || name.starts_with("benign_") {
        Some(DetectionType::Injection)
    } else if name.starts_with("secrets_") {
        Some(DetectionType::Credentials)
    } else if name.starts_with("pii_") {
        Some(DetectionType::Pii)
    } else {
        None
    }
}

fn label_type(label: &str) -> Option<DetectionType> {
    match label {
        "injection" => Some(DetectionType::Injection),
        "pii" => Some(DetectionType::Pii),
        "credentials" => Some(DetectionType::Credentials),
        "code_safety" => Some(DetectionType::CodeSafety),
        "exfiltration" => Some(DetectionType::Exfiltration),
        _ => None,
    }
}

/// For a benign PIB row, the detector its category tests.
fn category_type(category: &str) -> DetectionType {
    match category {
        "code-safety" => DetectionType::CodeSafety,
        "credential-detection" => DetectionType::Credentials,
        "exfiltration" => DetectionType::Exfiltration,
        "pii-detection" => DetectionType::Pii,
        _ => DetectionType::Injection,
    }
}

fn scan_row(scanner: &Scanner, text: &str) -> ScanReport {
    let looks_json = text.trim_start().starts_with('{');
    if looks_json {
        if let Ok(report) = scanner.scan_json(text.as_bytes()) {
            return report;
        }
    }
    scanner.scan_text(text)
}

fn fired(report: &ScanReport, kind: DetectionType) -> bool {
    report.detections().any(|d| d.kind == kind)
}

pub fn run(args: &[&str]) -> ExitCode {
    let mut dir = "../shared/eval";
    let mut config = None;
    let mut misses_file = None;
    let mut fp_file = None;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match *arg {
            "--config" => config = rest.next().copied(),
            "--misses" => misses_file = rest.next().copied(),
            "--fp" => fp_file = rest.next().copied(),
            other => dir = other,
        }
    }
    let scanner = match scanner(config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("authensor eval: {e}");
            return ExitCode::from(2);
        }
    };
    let mut files: Vec<_> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
            .collect(),
        Err(e) => {
            eprintln!("authensor eval: {dir}: {e}");
            return ExitCode::from(2);
        }
    };
    files.sort();
    let mut misses = misses_file.and_then(|f| std::fs::File::create(f).ok());
    let mut fps = fp_file.and_then(|f| std::fs::File::create(f).ok());
    let mut table: Vec<(String, DetectionType, Tally)> = Vec::new();
    let mut bytes = 0usize;
    let started = Instant::now();
    for path in files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Ok(content) = std::fs::read_to_string(&path) else {
            continue;
        };
        let mut per: BTreeMap<String, (DetectionType, Tally)> = BTreeMap::new();
        for line in content.lines() {
            let Ok(row) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            let text = row["text"].as_str().unwrap_or("");
            let label = row["label"].as_str().unwrap_or("");
            let id = row["id"].as_str().unwrap_or("");
            bytes += text.len();
            let report = scan_row(&scanner, text);
            let (key, kind) = match file_type(&name) {
                Some(kind) => (name.clone(), kind),
                None => {
                    let kind = label_type(label).unwrap_or_else(|| {
                        category_type(row["meta"]["category"].as_str().unwrap_or(""))
                    });
                    let key = if label == "benign" {
                        format!("{name} benign ({})", kind.as_str())
                    } else {
                        format!("{name} {label}")
                    };
                    (key, kind)
                }
            };
            let (_, t) = per.entry(key).or_insert_with(|| (kind, Tally::default()));
            t.rows += 1;
            let hit = fired(&report, kind);
            let record = |file: &mut Option<std::fs::File>| {
                if let Some(f) = file {
                    let kinds: Vec<String> = report
                        .detections()
                        .map(|d| format!("{}/{}/{}", d.kind.as_str(), d.sub_type, d.rule))
                        .collect();
                    let _ = writeln!(
                        f,
                        "{}",
                        serde_json::json!({"id": id, "label": label, "fired": kinds, "text": text.chars().take(400).collect::<String>()})
                    );
                }
            };
            match label {
                "benign" => {
                    t.benign += 1;
                    if hit {
                        t.false_positives += 1;
                        record(&mut fps);
                    }
                    if !report.is_clean() {
                        t.any_type_fp += 1;
                    }
                }
                "identifier" => {
                    t.identifiers += 1;
                    if hit {
                        t.identifiers_fired += 1;
                    }
                }
                _ => {
                    t.positives += 1;
                    if hit {
                        t.detected += 1;
                    } else {
                        record(&mut misses);
                    }
                }
            }
        }
        for (key, (kind, tally)) in per {
            table.push((key, kind, tally));
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    print_table(&table);
    println!(
        "\nscanned {:.1} MB in {:.2} s ({:.0} MB/s, debug builds are much slower)",
        bytes as f64 / 1e6,
        elapsed,
        bytes as f64 / 1e6 / elapsed.max(1e-9)
    );
    ExitCode::SUCCESS
}

fn pct(n: usize, d: usize) -> String {
    if d == 0 {
        "-".into()
    } else {
        format!("{:.1}%", 100.0 * n as f64 / d as f64)
    }
}

fn print_table(table: &[(String, DetectionType, Tally)]) {
    println!(
        "| corpus | type | rows | detected (positives) | false positives (benign) | any-type FP | identifiers fired |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (name, kind, t) in table {
        println!(
            "| {name} | {} | {} | {} ({}/{}) | {} ({}/{}) | {} | {} |",
            kind.as_str(),
            t.rows,
            pct(t.detected, t.positives),
            t.detected,
            t.positives,
            pct(t.false_positives, t.benign),
            t.false_positives,
            t.benign,
            pct(t.any_type_fp, t.benign),
            if t.identifiers == 0 {
                "-".to_owned()
            } else {
                format!("{}/{}", t.identifiers_fired, t.identifiers)
            },
        );
    }
}
