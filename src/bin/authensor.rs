//! The `authensor` command-line tool, built natively from the same core as the filter.

use std::process::ExitCode;

use authensor_filter::config::Engine;

const USAGE: &str = "usage: authensor config check FILE...\n       authensor mcp pin [FILE|-]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["config", "check", files @ ..] if !files.is_empty() => config_check(files),
        ["mcp", "pin"] => mcp_pin("-"),
        ["mcp", "pin", file] => mcp_pin(file),
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

/// Print `pinned_tool_hashes` for a saved `tools/list` answer.
fn mcp_pin(file: &str) -> ExitCode {
    use std::io::Read;
    let mut bytes = Vec::new();
    let read = if file == "-" {
        std::io::stdin().read_to_end(&mut bytes).map(|_| ())
    } else {
        std::fs::read(file).map(|b| bytes = b)
    };
    if let Err(e) = read {
        eprintln!("{file}: cannot read: {e}");
        return ExitCode::FAILURE;
    }
    let pins = serde_json::from_slice(&bytes)
        .ok()
        .and_then(|doc| authensor_filter::protocol::mcp::tools::pins(&doc));
    match pins.and_then(|p| serde_json::to_string_pretty(&p).ok()) {
        Some(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        None => {
            eprintln!("{file}: expected a tools/list result (or the JSON-RPC answer carrying one)");
            ExitCode::FAILURE
        }
    }
}
