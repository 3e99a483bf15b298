//! The `authensor` command-line tool, built natively from the same core as the filter.

use std::process::ExitCode;

use authensor_filter::config::Engine;

const USAGE: &str = "usage: authensor config check FILE...";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["config", "check", files @ ..] if !files.is_empty() => config_check(files),
        _ => {
            eprintln!("{USAGE}");
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
