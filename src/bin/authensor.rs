//! The `authensor` command-line tool, built natively from the same core as the filter.

use std::process::ExitCode;

use authensor_filter::config::Engine;

mod aegis_cli;
#[path = "../cli/mod.rs"]
mod cli;

fn usage() -> String {
    format!(
        "usage:\nauthensor config check FILE...\n{}\n{}\n{}\n{}\n{}\n{}",
        cli::policy::USAGE,
        cli::approval::USAGE,
        cli::mcp::USAGE,
        cli::llm::USAGE,
        aegis_cli::USAGE,
        cli::audit::USAGE
    )
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["config", "check", files @ ..] if !files.is_empty() => config_check(files),
        ["policy", rest @ ..] => cli::policy::run(rest),
        ["approval", rest @ ..] => cli::approval::run(rest),
        ["mcp", rest @ ..] => cli::mcp::run(rest),
        ["audit", rest @ ..] => cli::audit::run(rest),
        ["scan", rest @ ..] => aegis_cli::scan::run(rest),
        ["eval", rest @ ..] => aegis_cli::eval::run(rest),
        ["llm", "guard", rest @ ..] => cli::llm::run(rest),
        _ => {
            eprintln!("{}", usage());
            ExitCode::from(2)
        }
    }
}

/// Parse and compile each configuration file exactly as the filter's `on_configure` does.
fn config_check(files: &[&str]) -> ExitCode {
    let mut ok = true;
    for file in files {
        match std::fs::read(file) {
            Ok(bytes) => match Engine::from_json(&bytes) {
                Ok(_) => println!("{file}: ok"),
                Err(e) => {
                    ok = false;
                    println!("{file}: {e}");
                }
            },
            Err(e) => {
                ok = false;
                println!("{file}: cannot read: {e}");
            }
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
