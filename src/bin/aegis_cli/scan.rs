//! `authensor scan [--jsonl] [--config FILE] [FILE|-]`. Plain mode scans one body (JSON if it
//! looks like JSON, else text) and prints a JSON report. `--jsonl` reads one `{"id", "text"}`
//! object per line and prints exactly one `{"id", "detections"}` object per line, in order.

use std::io::{BufRead, Read, Write};
use std::process::ExitCode;

use serde_json::{json, Value};

use super::{finding_json, scanner};

pub fn run(args: &[&str]) -> ExitCode {
    let mut jsonl = false;
    let mut config = None;
    let mut input = None;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match *arg {
            "--jsonl" => jsonl = true,
            "--config" => config = rest.next().copied(),
            other if input.is_none() => input = Some(other),
            other => {
                eprintln!("authensor scan: unexpected argument {other:?}");
                return ExitCode::from(2);
            }
        }
    }
    let scanner = match scanner(config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("authensor scan: {e}");
            return ExitCode::from(2);
        }
    };
    let reader: Box<dyn Read> = match input {
        None | Some("-") => Box::new(std::io::stdin()),
        Some(file) => match std::fs::File::open(file) {
            Ok(f) => Box::new(f),
            Err(e) => {
                eprintln!("authensor scan: {file}: {e}");
                return ExitCode::from(2);
            }
        },
    };
    let result = if jsonl {
        lines(&scanner, reader)
    } else {
        whole(&scanner, reader)
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("authensor scan: {e}");
            ExitCode::from(2)
        }
    }
}

fn whole(
    scanner: &authensor_filter::aegis::Scanner,
    mut reader: Box<dyn Read>,
) -> std::io::Result<ExitCode> {
    let mut body = Vec::new();
    reader.read_to_end(&mut body)?;
    let out = match scanner.scan_body(&body) {
        Ok(report) => json!({
            "detections": report.findings.iter().map(finding_json).collect::<Vec<_>>(),
            "verdict": report.verdict().map(|a| a.as_str()),
            "truncated": report.truncated,
        }),
        Err(e) => json!({"error": e.to_string(), "verdict": "block"}),
    };
    println!("{out}");
    Ok(ExitCode::SUCCESS)
}

fn lines(
    scanner: &authensor_filter::aegis::Scanner,
    reader: Box<dyn Read>,
) -> std::io::Result<ExitCode> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for line in std::io::BufReader::new(reader).lines() {
        let line = line?;
        let row: Result<Value, _> = serde_json::from_str(&line);
        let result = match row {
            Ok(row) => {
                let id = row.get("id").cloned().unwrap_or(Value::Null);
                match row.get("text").and_then(Value::as_str) {
                    Some(text) => {
                        let report = scanner.scan_text(text);
                        json!({
                            "id": id,
                            "detections": report.findings.iter().map(finding_json).collect::<Vec<_>>(),
                        })
                    }
                    None => {
                        json!({"id": id, "detections": [], "error": "missing string field \"text\""})
                    }
                }
            }
            Err(e) => {
                json!({"id": null, "detections": [], "error": format!("invalid JSON line: {e}")})
            }
        };
        writeln!(out, "{result}")?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
