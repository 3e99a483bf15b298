//! `authensor audit verify`: check the tamper-evident chains of the audit lines in a proxy log
//! (any log format that keeps each message on one line) or in collected lines.

use std::process::ExitCode;

use authensor_filter::audit::verify::{verify, Options, Report};

use super::read_input;

pub const USAGE: &str = "authensor audit verify [--json] [--partial] FILE|-";

/// Problems printed in text mode before the rest are summarised.
const SHOWN: usize = 100;

pub fn run(args: &[&str]) -> ExitCode {
    match args {
        ["verify", rest @ ..] => verify_command(rest),
        _ => usage(),
    }
}

fn usage() -> ExitCode {
    eprintln!("usage: {USAGE}");
    ExitCode::from(2)
}

fn verify_command(args: &[&str]) -> ExitCode {
    let mut json = false;
    let mut options = Options::default();
    let mut file = None;
    for &arg in args {
        match arg {
            "--json" => json = true,
            "--partial" => options.partial = true,
            _ if file.is_none() && (arg == "-" || !arg.starts_with('-')) => file = Some(arg),
            _ => return usage(),
        }
    }
    let Some(file) = file else {
        return usage();
    };
    let input = match read_input(file) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let report = verify(&input, options);
    if json {
        print_json(&report);
    } else {
        print_text(&report);
    }
    super::exit(report.ok())
}

fn print_json(report: &Report) {
    #[derive(serde::Serialize)]
    struct Out<'a> {
        ok: bool,
        #[serde(flatten)]
        report: &'a Report,
    }
    let out = Out {
        ok: report.ok(),
        report,
    };
    println!("{}", serde_json::to_string(&out).unwrap_or_default());
}

fn print_text(report: &Report) {
    for problem in report.problems.iter().take(SHOWN) {
        println!("{problem}");
    }
    if report.problems.len() > SHOWN {
        println!(
            "... and {} more problems (--json lists all)",
            report.problems.len() - SHOWN
        );
    }
    for chain in &report.chains {
        println!(
            "chain {}: {} lines, seq {}..{}",
            chain.id, chain.lines, chain.first_seq, chain.last_seq
        );
    }
    if report.lines == 0 {
        println!("no audit lines found");
    }
    println!(
        "chains: {}, lines: {}, problems: {}{}",
        report.chains.len(),
        report.lines,
        report.problems.len(),
        if report.ok() { " (ok)" } else { "" }
    );
}
