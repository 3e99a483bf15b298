//! JSON and JSON-RPC extraction on arbitrary bytes, checked against serde_json as the reference:
//! - `aegis::json_text::walk` accepts only JSON serde_json accepts; every string it reports is,
//!   decoded, what its raw token decodes to; it rejects valid JSON only for a reason it names
//!   (duplicate key, depth, lone surrogate);
//! - the MCP strict parser gives serde_json's value or an error; parsed JSON-RPC messages survive
//!   a round trip through their rendering;
//! - the LLM request/answer readers never panic on any JSON.
#![no_main]

use std::ops::Range;

use authensor_filter::aegis::json_text::{walk, JsonPath, StringToken, Visitor};
use authensor_filter::aegis::JsonError;
use authensor_filter::protocol::llm::request::LlmRequest;
use authensor_filter::protocol::llm::response::LlmResponse;
use authensor_filter::protocol::llm::{Api, Format, Provider};
use authensor_filter::protocol::mcp::{content, jsonrpc, strict_json};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const DEPTH: usize = 16;

#[derive(Default)]
struct Collect {
    tokens: Vec<(String, Range<usize>, bool)>,
    numbers: Vec<(String, Range<usize>)>,
}

impl Visitor for Collect {
    fn string(&mut self, path: &JsonPath<'_>, token: StringToken<'_>) {
        assert!(path.render().starts_with('$'));
        self.tokens
            .push((token.value.to_owned(), token.raw, token.is_key));
    }
    fn number(&mut self, _path: &JsonPath<'_>, literal: &str, raw: Range<usize>) {
        self.numbers.push((literal.to_owned(), raw));
    }
}

fn depth(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        Value::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

fn walker(data: &[u8], reference: Option<&Value>) {
    let mut c = Collect::default();
    match walk(data, DEPTH, &mut c) {
        Ok(()) => {
            let v = reference.expect("the walker accepted what serde_json rejects");
            assert!(
                depth(v) <= DEPTH,
                "walker accepted nesting {} > {DEPTH}",
                depth(v)
            );
            let text = std::str::from_utf8(data).unwrap();
            for (value, raw, _) in &c.tokens {
                let decoded: String = serde_json::from_str(&text[raw.clone()])
                    .expect("a reported token is a JSON string");
                assert_eq!(&decoded, value, "token at {raw:?}");
            }
            for (literal, raw) in &c.numbers {
                assert_eq!(&text[raw.clone()], literal);
                assert!(serde_json::from_str::<Value>(literal).is_ok_and(|n| n.is_number()));
            }
        }
        Err(e) => {
            if let Some(v) = reference {
                assert!(
                    matches!(
                        e,
                        JsonError::DuplicateKey { .. }
                            | JsonError::TooDeep { .. }
                            | JsonError::LoneSurrogate { .. }
                    ) || depth(v) > DEPTH,
                    "walker rejected valid JSON: {e}"
                );
                if let JsonError::TooDeep { .. } = e {
                    assert!(depth(v) > DEPTH, "TooDeep at depth {}", depth(v));
                }
            }
        }
    }
}

fn strict(data: &[u8], reference: Option<&Value>) {
    if let Ok(v) = strict_json::parse(data, DEPTH) {
        assert_eq!(
            Some(&v),
            reference,
            "strict parser disagrees with serde_json"
        );
        for s in content::texts(&v) {
            let _ = s.path("$");
        }
    }
    if let Ok(body) = jsonrpc::parse_body(data, DEPTH) {
        assert!(!body.items.is_empty());
        for item in body.items.into_iter().flatten() {
            let again = jsonrpc::message(item.to_value()).expect("a rendered message parses");
            assert_eq!(again, item, "JSON-RPC round trip");
        }
    }
}

fn llm(data: &[u8]) {
    for (provider, api) in [
        (Provider::OpenAi, Api::Chat),
        (Provider::OpenAi, Api::Responses),
        (Provider::Anthropic, Api::Messages),
    ] {
        let format = Format { provider, api };
        if let Ok(mut req) = LlmRequest::parse(format, data) {
            let texts = req.texts();
            let _ = (
                texts.len(),
                req.model(),
                req.stream(),
                req.tool_names(),
                req.parameters(&texts),
            );
            drop(texts);
            let _ = req.action_type();
            let same = req.rewrite(Vec::new()).expect("rewriting nothing succeeds");
            let a: Value = serde_json::from_slice(&same).expect("rewritten request is JSON");
            let b: Value = serde_json::from_slice(data).unwrap();
            assert_eq!(a, b, "rewriting nothing keeps the request");
        }
        if let Ok(resp) = LlmResponse::parse(format, data) {
            let _ = (resp.texts().len(), resp.tool_calls());
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let parsed = serde_json::from_slice::<Value>(data);
    // serde_json refuses numbers beyond f64's range; the grammar (and the walker) does not.
    if parsed
        .as_ref()
        .is_err_and(|e| e.to_string().contains("number out of range"))
    {
        return;
    }
    let reference: Option<Value> = parsed.ok();
    walker(data, reference.as_ref());
    strict(data, reference.as_ref());
    if reference.is_some() {
        llm(data);
    }
});
