//! Subcommands of the native `authensor` tool (compiled into the binary only, never the filter):
//! policy lint/test/eval, approval-token minting, MCP tool pinning, LLM stream replay and
//! audit-chain verification, on top of the same core as the filter.

pub mod approval;
pub mod audit;
pub mod llm;
pub mod load;
pub mod mcp;
pub mod policy;

use std::io::Read;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

/// Bytes of a file, or of standard input for `-`.
pub fn read_input(path: &str) -> Result<Vec<u8>, String> {
    if path == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        Ok(buf)
    } else {
        std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))
    }
}

/// Nanoseconds since the Unix epoch.
pub fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// `--name value` options; anything else is an error naming the usage.
pub struct Options<'a> {
    pairs: Vec<(&'a str, &'a str)>,
}

impl<'a> Options<'a> {
    pub fn parse(args: &[&'a str], known: &[&str]) -> Result<Options<'a>, String> {
        let mut pairs = Vec::new();
        let mut rest = args;
        while let [name, tail @ ..] = rest {
            if !known.contains(name) {
                return Err(format!("unknown option {name}"));
            }
            let [value, tail @ ..] = tail else {
                return Err(format!("{name} needs a value"));
            };
            pairs.push((*name, *value));
            rest = tail;
        }
        Ok(Options { pairs })
    }

    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.pairs
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
    }

    pub fn require(&self, name: &str) -> Result<&'a str, String> {
        self.get(name).ok_or_else(|| format!("missing {name}"))
    }
}

/// Exit status from a success flag.
pub fn exit(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
