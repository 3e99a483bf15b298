//! Server-sent events across arbitrary chunkings: `<chunk sizes> 0xFF <stream>`.
//! - `SseParser`: the events (and where the stream breaks, if it does) are the same whether the
//!   stream comes whole, in the fuzzed chunks or byte by byte; memory stays within the limit.
//! - The LLM stream guard (all three APIs, with literal redaction and blocking and a tool check):
//!   what goes downstream, what was replaced and whether the stream was blocked do not depend on
//!   the chunking.
#![no_main]

use authensor_filter::protocol::llm::config::{LlmConfig, LlmSettings};
use authensor_filter::protocol::llm::literal::Literals;
use authensor_filter::protocol::llm::response::ToolCall;
use authensor_filter::protocol::llm::scan::Verdict;
use authensor_filter::protocol::llm::stream::{Block, StreamGuard};
use authensor_filter::protocol::llm::{Api, Format, Provider};
use authensor_filter::protocol::sse::{Event, SseError, SseParser};
use authensor_filter_fuzz::{chunked, parts};
use libfuzzer_sys::fuzz_target;

const MAX_EVENT: usize = 512;

/// Events until the stream broke, and how it broke.
fn parse(chunks: &[&[u8]]) -> (Vec<Event>, Option<SseError>) {
    let mut p = SseParser::new(MAX_EVENT);
    let mut events = Vec::new();
    for chunk in chunks {
        if let Err(e) = p.feed(chunk, &mut events) {
            return (events, Some(e));
        }
        assert!(p.pending_bytes() <= MAX_EVENT);
    }
    (events, None)
}

fn scanner() -> Literals {
    Literals::new(vec![
        (
            "hunter2".into(),
            "PASSWORD".into(),
            Verdict::Replace("[REDACTED:PASSWORD]".into()),
        ),
        (
            "sk-live".into(),
            "KEY".into(),
            Verdict::Replace("[REDACTED:KEY]".into()),
        ),
        ("BOOM".into(), "BLOCKED".into(), Verdict::Block),
    ])
}

/// Downstream bytes, replacements and the block of a guarded stream fed in `chunks`.
fn guard(api: Api, chunks: &[&[u8]]) -> (Vec<u8>, Vec<(String, String)>, Option<(String, String)>) {
    let provider = if api == Api::Messages {
        Provider::Anthropic
    } else {
        Provider::OpenAi
    };
    let settings = LlmSettings::compile(LlmConfig::default()).expect("default llm settings");
    let mut g = StreamGuard::new(Format { provider, api }, &settings);
    let s = scanner();
    let mut check = |call: &ToolCall| {
        (call.name == "rm").then(|| Block {
            label: "tool".into(),
            reason: "no rm".into(),
        })
    };
    let mut out = Vec::new();
    let mut replaced = Vec::new();
    let mut blocked = None;
    let mut steps: Vec<_> = chunks.iter().map(|c| (false, *c)).collect();
    steps.push((true, &[][..]));
    for (finish, chunk) in steps {
        let step = if finish {
            g.finish(&s, &mut check)
        } else {
            g.feed(chunk, &s, &mut check)
        };
        out.extend_from_slice(&step.bytes);
        replaced.extend(step.replaced.into_iter().map(|f| (f.label, f.at)));
        if let Some(b) = step.blocked {
            blocked = Some((b.label, b.reason));
            break;
        }
    }
    (out, replaced, blocked)
}

fuzz_target!(|data: &[u8]| {
    let p = parts(data, 2);
    let (sizes, stream) = (p[0], p[1]);
    let whole = parse(&[stream]);
    let bytes: Vec<&[u8]> = stream.chunks(1).collect();
    assert_eq!(parse(&chunked(stream, sizes)), whole, "fuzzed chunking");
    assert_eq!(parse(&bytes), whole, "byte by byte");
    for api in [Api::Chat, Api::Responses, Api::Messages] {
        let one = guard(api, &[stream]);
        assert_eq!(
            guard(api, &chunked(stream, sizes)),
            one,
            "{api:?}: fuzzed chunking"
        );
    }
});
