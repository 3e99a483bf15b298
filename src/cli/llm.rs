//! `authensor llm guard`: replay a recorded server-sent event answer through the filter's stream
//! guard, with literal rules standing in for the scanner, and print what the client would
//! receive (ending with the provider's error event if the stream is blocked). For seeing how a
//! provider's stream is handled, and for testing the output against the real client SDKs.

use std::io::{Read, Write};
use std::process::ExitCode;

use authensor_filter::config::ConfigError;
use authensor_filter::decision::Decision;
use authensor_filter::protocol::llm::config::{LlmConfig, LlmSettings};
use authensor_filter::protocol::llm::errors::stream_error_event;
use authensor_filter::protocol::llm::literal::Literals;
use authensor_filter::protocol::llm::masking::Masking;
use authensor_filter::protocol::llm::response::ToolCall;
use authensor_filter::protocol::llm::scan::{Both, Verdict};
use authensor_filter::protocol::llm::stream::{Block, StreamGuard, StreamStep};
use authensor_filter::protocol::llm::{Api, Format, Provider};

pub const USAGE: &str =
    "authensor llm guard --api chat|responses|messages [--redact TEXT]... [--block TEXT]...
                    [--mask SUB_TYPE=VALUE]... [--deny-tool-arg TEXT]... [--chunk BYTES] < SSE";

struct Options {
    format: Format,
    rules: Vec<(String, String, Verdict)>,
    masking: Masking,
    deny_tool_args: Vec<String>,
    chunk: usize,
}

pub fn run(args: &[&str]) -> ExitCode {
    let opts = match parse(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("authensor llm guard: {e}");
            return ExitCode::from(2);
        }
    };
    let mut input = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut input) {
        eprintln!("authensor llm guard: cannot read stdin: {e}");
        return ExitCode::FAILURE;
    }
    let settings = match LlmSettings::compile(LlmConfig::default()) {
        Ok(s) => s,
        Err(ConfigError { message, .. }) => {
            eprintln!("authensor llm guard: {message}");
            return ExitCode::FAILURE;
        }
    };
    let scanner = Both(Literals::new(opts.rules), &opts.masking);
    let mut check = |call: &ToolCall| {
        let args = call.arguments.to_string();
        opts.deny_tool_args
            .iter()
            .find(|t| args.contains(t.as_str()))
            .map(|t| Block {
                label: "deny-tool-arg".into(),
                reason: format!("tool call {} has arguments containing {t:?}", call.name),
            })
    };
    let mut guard = StreamGuard::new(opts.format, &settings);
    let mut out = std::io::stdout().lock();
    let mut steps: Vec<StreamStep> = input
        .chunks(opts.chunk)
        .map(|c| guard.feed(c, &scanner, &mut check))
        .collect();
    steps.push(guard.finish(&scanner, &mut check));
    for step in steps {
        for f in &step.replaced {
            eprintln!("replaced {} at {}", f.label, f.at);
        }
        let written = out
            .write_all(&step.bytes)
            .and_then(|()| match &step.blocked {
                Some(block) => {
                    eprintln!("blocked: {} ({})", block.reason, block.label);
                    let d =
                        Decision::deny("policy_denied", 403, &block.label, block.reason.clone());
                    out.write_all(&stream_error_event(opts.format, &d, "cli"))
                }
                None => Ok(()),
            });
        if let Err(e) = written {
            eprintln!("authensor llm guard: cannot write: {e}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

fn parse(args: &[&str]) -> Result<Options, String> {
    let mut opts = Options {
        format: Format {
            provider: Provider::OpenAi,
            api: Api::Chat,
        },
        rules: Vec::new(),
        masking: Masking::new(),
        deny_tool_args: Vec::new(),
        chunk: 64,
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match *flag {
            "--api" => {
                let api = match *value {
                    "chat" => Api::Chat,
                    "responses" => Api::Responses,
                    "messages" => Api::Messages,
                    other => return Err(format!("unknown --api {other:?}")),
                };
                let provider = if api == Api::Messages {
                    Provider::Anthropic
                } else {
                    Provider::OpenAi
                };
                opts.format = Format { provider, api };
            }
            "--redact" => opts.rules.push((
                value.to_string(),
                "redact".into(),
                Verdict::Replace("[REDACTED:literal]".into()),
            )),
            "--block" => opts
                .rules
                .push((value.to_string(), "block".into(), Verdict::Block)),
            "--mask" => {
                let (sub_type, original) =
                    value.split_once('=').ok_or("--mask takes SUB_TYPE=VALUE")?;
                let placeholder = opts.masking.placeholder(sub_type, original);
                eprintln!("restoring {placeholder}");
            }
            "--deny-tool-arg" => opts.deny_tool_args.push(value.to_string()),
            "--chunk" => {
                opts.chunk = value
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or("--chunk takes a positive number of bytes")?
            }
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    Ok(opts)
}
