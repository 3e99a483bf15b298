//! The `authensor` command-line tool, built natively from the same core as the filter.

use std::process::ExitCode;

use authensor_filter::config::Engine;

#[path = "authensor/llm_guard.rs"]
mod llm_guard;

const USAGE: &str = "usage: authensor config check FILE...
       authensor llm guard --api chat|responses|messages [--redact TEXT]... [--block TEXT]...
                           [--mask SUB_TYPE=VALUE]... [--deny-tool-arg TEXT]... [--chunk BYTES] < SSE";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["config", "check", files @ ..] if !files.is_empty() => config_check(files),
        ["llm", "guard", rest @ ..] => llm_guard::run(rest),
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
