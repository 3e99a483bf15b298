//! Whole exchanges through the in-memory host, each fed twice: request and answer bodies in one
//! piece, then in the fuzzed chunks. Input: `<route> <answer type> <chunk sizes> 0xFF <request
//! body> 0xFF <answer body>`. Routes: plain HTTP, the MCP gateway, OpenAI Chat and Responses,
//! Anthropic Messages. Property: chunking never changes what the client and upstream observe —
//! the filter's reply, the forwarded request, the answer that goes downstream and the audit line
//! (clock fields aside; an oversized body is refused alike, quoting the size where it crossed
//! the limit). Also: exactly one audit line per exchange; a reply from the filter is
//! never recorded as an allow.
#![no_main]

use std::rc::Rc;

use authensor_filter::config::Engine;
use authensor_filter_fuzz::{chunked, engine, parts, run, Traffic};
use libfuzzer_sys::fuzz_target;

const CONFIG: &str = include_str!("../seeds/exchange.config.json");

thread_local! {
    static ENGINE: Rc<Engine> = engine(CONFIG);
}

const ROUTES: [(&str, &str); 5] = [
    ("POST", "/upload"),
    ("POST", "/mcp"),
    ("POST", "/v1/chat/completions"),
    ("POST", "/v1/responses"),
    ("POST", "/v1/messages"),
];

const ANSWER_TYPES: [&str; 3] = ["application/json", "text/event-stream", "text/plain"];

fuzz_target!(|data: &[u8]| {
    let [route, answer_type, rest @ ..] = data else {
        return;
    };
    let p = parts(rest, 3);
    let (sizes, body, answer) = (p[0], p[1], p[2]);
    let (method, path) = ROUTES[usize::from(*route) % ROUTES.len()];
    let answer_type = ANSWER_TYPES[usize::from(*answer_type) % ANSWER_TYPES.len()];
    let headers = [
        (":authority", "api.example.com"),
        ("content-type", "application/json"),
        ("accept", "application/json, text/event-stream"),
        ("x-request-id", "fuzz-1"),
    ];
    ENGINE.with(|engine| {
        let whole = run(
            engine,
            &Traffic {
                method,
                path,
                headers: &headers,
                body: vec![body],
                answer_type,
                answer: vec![answer],
            },
        );
        assert_eq!(
            whole.audit.len(),
            1,
            "one audit line per exchange: {:?}",
            whole.audit
        );
        if whole.reply.is_some() {
            assert_ne!(
                whole.audit[0]["decision"], "allow",
                "a reply is a refusal: {:?}",
                whole.audit
            );
        }
        let split = run(
            engine,
            &Traffic {
                method,
                path,
                headers: &headers,
                body: chunked(body, sizes),
                answer_type,
                answer: chunked(answer, &sizes.iter().rev().copied().collect::<Vec<_>>()),
            },
        );
        if whole.audit[0]["rule"] == "body.max_bytes" {
            // An oversized body is refused at the chunk that crosses the limit: the size the
            // reply and audit line quote ("at least N bytes") is where that chunk ended.
            let status = |o: &authensor_filter_fuzz::Observed| o.reply.as_ref().map(|r| r.0);
            assert_eq!(status(&split), status(&whole), "oversize refused alike");
            assert_eq!(split.audit[0]["rule"], "body.max_bytes");
        } else {
            assert_eq!(split, whole, "chunking changed what was observed");
        }
    });
});
