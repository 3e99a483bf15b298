//! `authensor approval mint`: issue a pre-authorisation token for one call, bound to principal,
//! action type, resource and the SHA-256 of the canonical JSON of the parameters.

use std::io::Read;
use std::process::ExitCode;

use authensor_filter::config::parse_strict;
use authensor_filter::policy::approval::{mint, params_digest, ApprovalKey, Binding};
use authensor_filter::policy::model::parse_duration;
use serde_json::Value;

use super::{now_nanos, read_input, Options};

pub const USAGE: &str = "\
authensor approval mint --key-file FILE --principal ID --action TYPE [--resource RESOURCE]
                        [--params FILE|- | --params-sha256 HEX] [--ttl 10m]";

pub fn run(args: &[&str]) -> ExitCode {
    match args {
        ["mint", rest @ ..] => match mint_token(rest) {
            Ok(token) => {
                println!("{token}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("authensor approval mint: {e}\nusage: {USAGE}");
                ExitCode::from(2)
            }
        },
        _ => {
            eprintln!("usage: {USAGE}");
            ExitCode::from(2)
        }
    }
}

fn mint_token(args: &[&str]) -> Result<String, String> {
    let opts = Options::parse(
        args,
        &[
            "--key-file",
            "--principal",
            "--action",
            "--resource",
            "--params",
            "--params-sha256",
            "--ttl",
        ],
    )?;
    let key_text = String::from_utf8(read_input(opts.require("--key-file")?)?)
        .map_err(|_| "the key file is not text".to_owned())?;
    let key = ApprovalKey::from_hex(&key_text).map_err(|e| format!("key file: {e}"))?;
    let params_sha256 = match (opts.get("--params"), opts.get("--params-sha256")) {
        (Some(_), Some(_)) => return Err("give --params or --params-sha256, not both".into()),
        (Some(file), None) => params_digest(
            &parse_strict::<Value>(&read_input(file)?).map_err(|e| format!("params: {e}"))?,
        ),
        (None, Some(hex)) => decode_digest(hex)?,
        (None, None) => params_digest(&Value::Object(Default::default())),
    };
    let ttl_text = opts.get("--ttl").unwrap_or("10m");
    let ttl = parse_duration(ttl_text).filter(|s| *s > 0).ok_or_else(|| {
        format!("--ttl: expected a duration such as 30s, 10m, 1h, got {ttl_text:?}")
    })?;
    let binding = Binding {
        principal: opts.require("--principal")?,
        action: opts.require("--action")?,
        resource: opts.get("--resource").unwrap_or(""),
        params_sha256,
    };
    let expires_at = now_nanos() / 1_000_000_000 + ttl;
    Ok(mint(&key, &binding, random_id()?, expires_at))
}

fn decode_digest(hex: &str) -> Result<[u8; 32], String> {
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect();
    bytes
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| "--params-sha256: expected 64 hex digits".to_owned())
}

fn random_id() -> Result<[u8; 16], String> {
    let mut id = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut id))
        .map_err(|e| format!("cannot read /dev/urandom: {e}"))?;
    Ok(id)
}
