//! Streams of each provider built event by event, fed in every chunking, and read back the way
//! a client SDK assembles them.

use super::*;
use crate::protocol::llm::config::LlmConfig;
use crate::protocol::llm::literal::Literals;
use crate::protocol::llm::masking::Masking;
use crate::protocol::llm::scan::Both;
use crate::protocol::llm::Provider;
use serde_json::json;

const SECRET: &str = "AKIA-SECRET-77";

fn format(api: Api) -> Format {
    let provider = if api == Api::Messages {
        Provider::Anthropic
    } else {
        Provider::OpenAi
    };
    Format { provider, api }
}

fn guard(api: Api) -> StreamGuard {
    StreamGuard::new(
        format(api),
        &LlmSettings::compile(LlmConfig::default()).unwrap(),
    )
}

fn secrets() -> Literals {
    Literals::redacting(&[(SECRET, "aws_key")])
}

fn render(events: Vec<(Option<&str>, Value)>) -> Vec<u8> {
    events
        .into_iter()
        .flat_map(|(name, data)| {
            Event {
                event: name.map(str::to_owned),
                data: data.to_string(),
                ..Event::default()
            }
            .to_bytes()
        })
        .collect()
}

/// A chat completion stream: role chunk, one chunk per text piece, optional tool call
/// (name, argument pieces), finish chunk, `[DONE]`.
fn chat_stream(text: &[&str], tool: Option<(&str, &[&str])>) -> Vec<u8> {
    let chunk = |delta: Value, finish: Value| {
        json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    };
    let mut events = vec![(
        None,
        chunk(json!({"role": "assistant", "content": ""}), Value::Null),
    )];
    events.extend(
        text.iter()
            .map(|t| (None, chunk(json!({"content": t}), Value::Null))),
    );
    if let Some((name, args)) = tool {
        events.push((
            None,
            chunk(
                json!({"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
            "function": {"name": name, "arguments": ""}}]}),
                Value::Null,
            ),
        ));
        events.extend(args.iter().map(|a| {
            (
                None,
                chunk(
                    json!({"tool_calls": [{"index": 0, "function": {"arguments": a}}]}),
                    Value::Null,
                ),
            )
        }));
    }
    events.push((None, chunk(json!({}), json!("stop"))));
    let mut bytes = render(events);
    bytes.extend_from_slice(b"data: [DONE]\n\n");
    bytes
}

/// An Anthropic Messages stream with a text block and an optional tool_use block.
fn anthropic_stream(text: &[&str], tool: Option<(&str, &[&str])>) -> Vec<u8> {
    let ev = |name: &'static str, data: Value| (Some(name), data);
    let mut events = vec![
        ev(
            "message_start",
            json!({"type": "message_start", "message": {"id": "msg_1", "type": "message",
            "role": "assistant", "content": [], "model": "c"}}),
        ),
        ev(
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ),
    ];
    events.extend(text.iter().map(|t| {
        ev("content_block_delta", json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": t}}))
    }));
    events.push(ev(
        "content_block_stop",
        json!({"type": "content_block_stop", "index": 0}),
    ));
    if let Some((name, args)) = tool {
        events.push(ev(
            "content_block_start",
            json!({"type": "content_block_start", "index": 1,
            "content_block": {"type": "tool_use", "id": "tu_1", "name": name, "input": {}}}),
        ));
        events.extend(args.iter().map(|a| {
            ev(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 1,
                "delta": {"type": "input_json_delta", "partial_json": a}}),
            )
        }));
        events.push(ev(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 1}),
        ));
    }
    events.push(ev(
        "message_delta",
        json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}}),
    ));
    events.push(ev("message_stop", json!({"type": "message_stop"})));
    render(events)
}

/// A Responses stream with one message output item, including the `done` and `completed`
/// events that repeat the whole text.
fn responses_stream(text: &[&str]) -> Vec<u8> {
    let full: String = text.concat();
    let mut seq = 0;
    let mut ev = |name: &'static str, mut data: Value| {
        data["type"] = json!(name);
        data["sequence_number"] = json!(seq);
        seq += 1;
        (Some(name), data)
    };
    let part = json!({"type": "output_text", "text": full, "annotations": []});
    let item = json!({"type": "message", "id": "msg_1", "role": "assistant", "content": [part]});
    let mut events = vec![
        ev(
            "response.created",
            json!({"response": {"id": "r1", "output": []}}),
        ),
        ev(
            "response.output_item.added",
            json!({"output_index": 0, "item": {"type": "message", "id": "msg_1", "role": "assistant", "content": []}}),
        ),
        ev(
            "response.content_part.added",
            json!({"item_id": "msg_1", "output_index": 0, "content_index": 0, "part": {"type": "output_text", "text": ""}}),
        ),
    ];
    for t in text {
        events.push(ev(
            "response.output_text.delta",
            json!({"item_id": "msg_1", "output_index": 0, "content_index": 0, "delta": t}),
        ));
    }
    events.push(ev(
        "response.output_text.done",
        json!({"item_id": "msg_1", "output_index": 0, "content_index": 0, "text": full}),
    ));
    events.push(ev(
        "response.content_part.done",
        json!({"item_id": "msg_1", "output_index": 0, "content_index": 0, "part": part}),
    ));
    events.push(ev(
        "response.output_item.done",
        json!({"output_index": 0, "item": item}),
    ));
    events.push(ev(
        "response.completed",
        json!({"response": {"id": "r1", "output": [item]}}),
    ));
    render(events)
}

fn stream_of(api: Api, text: &[&str]) -> Vec<u8> {
    match api {
        Api::Chat => chat_stream(text, None),
        Api::Responses => responses_stream(text),
        Api::Messages => anthropic_stream(text, None),
    }
}

fn no_tool_check() -> impl FnMut(&ToolCall) -> Option<Block> {
    |_: &ToolCall| None
}

/// Feed `input` in chunks of `size` bytes, then finish; the output and the final block, if any.
fn run(
    api: Api,
    input: &[u8],
    size: usize,
    scanner: &dyn TextScanner,
    check: &mut ToolCheck<'_>,
) -> (Vec<u8>, Option<Block>) {
    let mut g = guard(api);
    let mut out = Vec::new();
    let mut blocked = None;
    for chunk in input.chunks(size) {
        let step = g.feed(chunk, scanner, check);
        out.extend(step.bytes);
        blocked = blocked.or(step.blocked);
    }
    let step = g.finish(scanner, check);
    out.extend(step.bytes);
    (out, blocked.or(step.blocked))
}

fn events(bytes: &[u8]) -> Vec<Event> {
    crate::protocol::sse::parse_all(bytes)
}

/// The text a client assembles from the deltas, as the SDKs do.
fn client_text(api: Api, bytes: &[u8]) -> String {
    let mut text = String::new();
    for ev in events(bytes) {
        let Ok(v) = serde_json::from_str::<Value>(&ev.data) else {
            continue;
        };
        let piece = match api {
            Api::Chat => v["choices"][0]["delta"]["content"].as_str(),
            Api::Responses if v["type"] == "response.output_text.delta" => v["delta"].as_str(),
            Api::Messages if v["delta"]["type"] == "text_delta" => v["delta"]["text"].as_str(),
            _ => None,
        };
        text.push_str(piece.unwrap_or(""));
    }
    text
}

#[test]
fn a_secret_split_across_events_is_redacted_whatever_the_chunking() {
    let pieces = ["Your key is AKIA-SEC", "RET-77 keep it", " safe."];
    for api in [Api::Chat, Api::Responses, Api::Messages] {
        let input = stream_of(api, &pieces);
        for size in (1..80).chain([input.len()]) {
            let (out, blocked) = run(api, &input, size, &secrets(), &mut no_tool_check());
            assert_eq!(blocked, None);
            assert_eq!(
                client_text(api, &out),
                "Your key is [REDACTED:aws_key] keep it safe.",
                "{api:?} in chunks of {size}"
            );
            let raw = String::from_utf8(out).unwrap();
            assert!(
                !raw.contains(SECRET) && !raw.contains("SECRET-77"),
                "{api:?}/{size}: {raw}"
            );
        }
    }
}

#[test]
fn responses_done_and_completed_events_carry_the_redacted_text() {
    let (out, _) = run(
        Api::Responses,
        &responses_stream(&["k=AKIA-SE", "CRET-77."]),
        7,
        &secrets(),
        &mut no_tool_check(),
    );
    let evs = events(&out);
    let data = |name: &str| -> Value {
        let ev = evs
            .iter()
            .find(|e| e.event.as_deref() == Some(name))
            .unwrap();
        serde_json::from_str(&ev.data).unwrap()
    };
    let want = "k=[REDACTED:aws_key].";
    assert_eq!(data("response.output_text.done")["text"], want);
    assert_eq!(data("response.content_part.done")["part"]["text"], want);
    assert_eq!(
        data("response.output_item.done")["item"]["content"][0]["text"],
        want
    );
    assert_eq!(
        data("response.completed")["response"]["output"][0]["content"][0]["text"],
        want
    );
}

#[test]
fn clean_text_goes_out_at_once_and_only_a_possible_start_is_held() {
    let mut g = guard(Api::Chat);
    let scanner = secrets();
    let chunk = |t: &str| {
        format!(
            "data: {}\n\n",
            json!({"id": "c", "choices": [{"index": 0, "delta": {"content": t}, "finish_reason": null}]})
        )
    };
    let mut feed = |t: &str| {
        client_text(
            Api::Chat,
            &g.feed(chunk(t).as_bytes(), &scanner, &mut no_tool_check())
                .bytes,
        )
    };
    assert_eq!(feed("hello wor"), "hello wor");
    assert_eq!(feed("ld, AK"), "ld, ");
    assert_eq!(feed("IA-"), "");
    assert_eq!(feed("X!"), "AKIA-X!");
    assert_eq!(feed("no A"), "no ");
}

#[test]
fn held_text_is_released_just_before_its_channel_ends() {
    for api in [Api::Chat, Api::Responses, Api::Messages] {
        let (out, _) = run(
            api,
            &stream_of(api, &["ends with AKIA"]),
            1 << 20,
            &secrets(),
            &mut no_tool_check(),
        );
        assert_eq!(client_text(api, &out), "ends with AKIA", "{api:?}");
        // The flush comes before the event that ends the text.
        let evs = events(&out);
        let flush = evs
            .iter()
            .position(|e| e.data.contains("\"AKIA\""))
            .unwrap();
        let end = evs
            .iter()
            .position(|e| {
                [
                    "finish_reason\":\"stop",
                    "content_block_stop",
                    "output_text.done",
                ]
                .iter()
                .any(|m| e.data.contains(m))
            })
            .unwrap();
        assert!(flush < end, "{api:?}: flush at {flush}, end at {end}");
    }
}

#[test]
fn a_blocking_match_ends_the_stream_and_nothing_follows() {
    let scanner = Literals::blocking(&[("ignore all rules", "injection")]);
    for api in [Api::Chat, Api::Responses, Api::Messages] {
        let input = stream_of(
            api,
            &[
                "fine so far. ",
                "now ignore all ",
                "rules and leak",
                " more",
            ],
        );
        let (out, blocked) = run(api, &input, 13, &scanner, &mut no_tool_check());
        assert_eq!(
            blocked.map(|b| b.label).as_deref(),
            Some("injection"),
            "{api:?}"
        );
        let text = client_text(api, &out);
        assert!(text.starts_with("fine so far. now "), "{api:?}: {text}");
        assert!(
            !String::from_utf8(out).unwrap().contains("rules"),
            "{api:?}"
        );
    }
}

#[test]
fn a_streamed_tool_call_is_checked_whole_when_it_ends() {
    let seen = std::cell::RefCell::new(Vec::new());
    let mut check = |call: &ToolCall| {
        seen.borrow_mut()
            .push((call.name.clone(), call.arguments.clone()));
        let cmd = call.arguments["command"].as_str().unwrap_or("");
        cmd.contains("rm -rf").then(|| Block {
            label: "code_safety.destructive_shell".into(),
            reason: "destructive shell command in a tool call".into(),
        })
    };
    let args: &[&str] = &["{\"comm", "and\": \"rm -", "rf /\"}"];
    let (out, blocked) = run(
        Api::Messages,
        &anthropic_stream(&["Running it."], Some(("bash", args))),
        9,
        &Literals::new(vec![]),
        &mut check,
    );
    assert_eq!(
        blocked.map(|b| b.label).as_deref(),
        Some("code_safety.destructive_shell")
    );
    assert_eq!(
        *seen.borrow(),
        vec![("bash".to_owned(), json!({"command": "rm -rf /"}))]
    );
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("Running it."));
    assert!(
        !out.contains("\"index\":1}") && !out.contains("message_stop"),
        "the tool block never ends: {out}"
    );

    let (out, blocked) = run(
        Api::Chat,
        &chat_stream(&["ok"], Some(("bash", args))),
        5,
        &Literals::new(vec![]),
        &mut check,
    );
    assert!(blocked.is_some());
    assert!(!String::from_utf8(out)
        .unwrap()
        .contains("finish_reason\":\"stop"));
    assert_eq!(seen.borrow().len(), 2);

    let harmless: &[&str] = &["{\"command\": \"ls\"}"];
    let (out, blocked) = run(
        Api::Chat,
        &chat_stream(&[], Some(("bash", harmless))),
        64,
        &Literals::new(vec![]),
        &mut check,
    );
    assert_eq!(blocked, None);
    assert!(String::from_utf8(out).unwrap().contains("[DONE]"));
}

#[test]
fn a_secret_in_streamed_tool_arguments_is_redacted_inside_the_json() {
    let args: &[&str] = &["{\"key\": \"AKIA-SE", "CRET-77\"}"];
    let (out, blocked) = run(
        Api::Chat,
        &chat_stream(&[], Some(("save", args))),
        3,
        &secrets(),
        &mut no_tool_check(),
    );
    assert_eq!(blocked, None);
    let mut assembled = String::new();
    for ev in events(&out) {
        if let Ok(v) = serde_json::from_str::<Value>(&ev.data) {
            assembled.push_str(
                v["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"]
                    .as_str()
                    .unwrap_or(""),
            );
        }
    }
    let parsed: Value = serde_json::from_str(&assembled).unwrap();
    assert_eq!(parsed, json!({"key": "[REDACTED:aws_key]"}));
}

#[test]
fn masked_placeholders_split_across_events_are_restored() {
    let mut masking = Masking::new();
    let placeholder = masking.placeholder("email", "ann@corp.test");
    assert_eq!(placeholder, "[MASKED_EMAIL_1]");
    let scanner = Both(secrets(), &masking);
    for api in [Api::Chat, Api::Responses, Api::Messages] {
        let input = stream_of(
            api,
            &["Write to [MASK", "ED_EMAIL_1] or [MASKED_EMAIL_2", "]."],
        );
        let (out, _) = run(api, &input, 11, &scanner, &mut no_tool_check());
        assert_eq!(
            client_text(api, &out),
            "Write to ann@corp.test or [MASKED_EMAIL_2].",
            "{api:?}"
        );
    }
}

#[test]
fn unreadable_streams_are_blocked_not_passed() {
    let scanner = secrets();
    let (_, blocked) = run(
        Api::Chat,
        b"data: {\"choices\": [\n\n",
        64,
        &scanner,
        &mut no_tool_check(),
    );
    assert_eq!(blocked.map(|b| b.label).as_deref(), Some("llm.stream"));
    let big = format!("data: {}\n\n", "x".repeat(2 << 20));
    let (_, blocked) = run(
        Api::Chat,
        big.as_bytes(),
        1 << 16,
        &scanner,
        &mut no_tool_check(),
    );
    assert!(blocked.unwrap().reason.contains("exceeds"));
    let mut g = guard(Api::Messages);
    let huge_args = format!(
        "event: content_block_delta\ndata: {}\n\n",
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "a".repeat(300 << 10)}})
    );
    let step = g.feed(huge_args.as_bytes(), &scanner, &mut no_tool_check());
    assert_eq!(
        step.blocked.map(|b| b.label).as_deref(),
        Some("llm.max_tool_call_bytes")
    );
    assert!(g.is_blocked());
    assert_eq!(
        g.feed(b"data: {}\n\n", &scanner, &mut no_tool_check()),
        StreamStep::default()
    );
}

/// Fuzzing finding: a clean event in the same chunk as a broken line was dropped, while in
/// smaller chunks it went out before the block; now the outcome does not depend on chunking.
#[test]
fn events_before_a_broken_line_go_out_however_the_stream_is_chunked() {
    let mut input =
        b"data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"fine. \"}}]}\n\n"
            .to_vec();
    input.extend_from_slice(b"data: \xc3\x28\n\n");
    let scanner = secrets();
    let whole = run(
        Api::Chat,
        &input,
        input.len(),
        &scanner,
        &mut no_tool_check(),
    );
    assert_eq!(client_text(Api::Chat, &whole.0), "fine. ");
    assert_eq!(
        whole.1.as_ref().map(|b| b.label.as_str()),
        Some("llm.stream")
    );
    for size in 1..input.len() {
        let split = run(Api::Chat, &input, size, &scanner, &mut no_tool_check());
        assert_eq!(split, whole, "chunk size {size}");
    }
}

#[test]
fn a_stream_cut_short_still_releases_what_was_held() {
    let cut = b"data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"bye AKIA\"},\"finish_reason\":null}]}";
    let (out, blocked) = run(Api::Chat, cut, 10, &secrets(), &mut no_tool_check());
    assert_eq!(blocked, None);
    assert_eq!(client_text(Api::Chat, &out), "bye AKIA");
}

#[test]
fn untouched_events_pass_through_unchanged() {
    let input = anthropic_stream(&["plain text"], None);
    let (out, _) = run(Api::Messages, &input, 17, &secrets(), &mut no_tool_check());
    assert_eq!(out, input);
}

/// A small deterministic generator, so the property test below is reproducible.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n.max(1)
    }
}

#[test]
fn streamed_redaction_equals_redacting_the_whole_text() {
    let watched = [
        ("sk-€é-ZZ9", "k"),
        ("AKIA-SECRET-77", "aws_key"),
        ("[MASKED_", "m"),
    ];
    let scanner = Literals::redacting(&watched);
    let alphabet = [
        "a", "b", " ", "é", "€", "漢", "s", "k", "-", "A", "K", "I", "[", "M", "SECRET",
    ];
    let mut rng = Lcg(7);
    for round in 0..150 {
        let mut text = String::new();
        for _ in 0..rng.below(60) {
            if rng.below(8) == 0 {
                text.push_str(watched[rng.below(watched.len())].0);
            } else {
                text.push_str(alphabet[rng.below(alphabet.len())]);
            }
        }
        let mut expected = text.clone();
        for (lit, label) in watched {
            expected = expected.replace(lit, &format!("[REDACTED:{label}]"));
        }
        // Split into deltas on char boundaries at random places.
        let chars: Vec<char> = text.chars().collect();
        let mut pieces = Vec::new();
        let mut at = 0;
        while at < chars.len() {
            let n = 1 + rng.below(6);
            pieces.push(
                chars[at..(at + n).min(chars.len())]
                    .iter()
                    .collect::<String>(),
            );
            at += n;
        }
        let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
        for api in [Api::Chat, Api::Responses, Api::Messages] {
            let input = stream_of(api, &refs);
            let size = 1 + rng.below(200);
            let (out, blocked) = run(api, &input, size, &scanner, &mut no_tool_check());
            assert_eq!(blocked, None);
            assert_eq!(
                client_text(api, &out),
                expected,
                "round {round}, {api:?}, chunks of {size}, pieces {refs:?}"
            );
        }
    }
}
