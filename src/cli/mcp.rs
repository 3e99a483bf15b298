//! `authensor mcp pin`: print `pinned_tool_hashes` for a saved `tools/list` answer, ready to paste
//! into the `mcp.servers[].pinned_tool_hashes` configuration.

use std::process::ExitCode;

use authensor_filter::protocol::mcp::tools::pins;

use super::read_input;

pub const USAGE: &str = "authensor mcp pin [FILE|-]";

pub fn run(args: &[&str]) -> ExitCode {
    let file = match args {
        ["pin"] => "-",
        ["pin", file] => file,
        _ => {
            eprintln!("usage: {USAGE}");
            return ExitCode::from(2);
        }
    };
    let bytes = match read_input(file) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("authensor mcp pin: {e}");
            return ExitCode::FAILURE;
        }
    };
    let pinned = serde_json::from_slice(&bytes)
        .ok()
        .and_then(|doc| pins(&doc));
    match pinned.and_then(|p| serde_json::to_string_pretty(&p).ok()) {
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
