//! Shared pieces of the fuzz targets: reading a fuzz input as parts, cutting a body into the
//! chunks a proxy might deliver, and driving a whole exchange through the in-memory host.

use std::rc::Rc;

use authensor_filter::config::Engine;
use authensor_filter::exchange::{Exchange, Flow};
use authensor_filter::fake_host::FakeHost;
use serde_json::Value;

/// The parts of `data` separated by `0xFF` (a byte that never occurs in UTF-8 text), at most `n`;
/// missing parts are empty.
pub fn parts(data: &[u8], n: usize) -> Vec<&[u8]> {
    let mut out: Vec<&[u8]> = data.splitn(n, |&b| b == 0xFF).collect();
    out.resize(n, &[]);
    out
}

/// `body` cut into chunks whose sizes come from `sizes` (cycled; a size of 0 is an empty chunk,
/// as a proxy may deliver). With no sizes, the body in one chunk.
pub fn chunked<'a>(body: &'a [u8], sizes: &[u8]) -> Vec<&'a [u8]> {
    if sizes.is_empty() {
        return vec![body];
    }
    let mut out = Vec::new();
    let mut at = 0;
    let mut i = 0;
    while at < body.len() {
        let size = usize::from(sizes[i % sizes.len()] % 32);
        let end = (at + size).min(body.len());
        out.push(&body[at..end]);
        at = end;
        i += 1;
        if out.len() > 4 * body.len() + 8 {
            // Only empty chunks: make progress.
            out.push(&body[at..]);
            break;
        }
    }
    if out.is_empty() {
        out.push(body);
    }
    out
}

/// The engine for `config`, compiled once per fuzz process (the engine is per VM, not per input).
pub fn engine(config: &str) -> Rc<Engine> {
    Rc::new(Engine::from_json(config.as_bytes()).expect("the fuzz target's own config compiles"))
}

/// One request (and its answer, when the request was let through) as the client would see it.
#[derive(Debug, PartialEq)]
pub struct Observed {
    pub reply: Option<(u32, Vec<(String, String)>, Vec<u8>)>,
    pub forwarded_body: Vec<u8>,
    pub forwarded_headers: Vec<(String, String)>,
    pub answer: Vec<u8>,
    /// Audit lines with the fields that depend on the clock removed.
    pub audit: Vec<Value>,
}

/// What an exchange is fed: request headers, body chunks, and optionally an answer.
pub struct Traffic<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub headers: &'a [(&'a str, &'a str)],
    pub body: Vec<&'a [u8]>,
    pub answer_type: &'a str,
    pub answer: Vec<&'a [u8]>,
}

/// Drive one exchange the way Envoy would: a body callback per chunk; while the filter holds
/// (pauses) the body, later chunks are appended to the buffer, otherwise each callback sees only
/// its own chunk and what the filter leaves in the buffer goes downstream.
pub fn run(engine: &Rc<Engine>, t: &Traffic<'_>) -> Observed {
    let mut host = FakeHost::request(t.method, t.path, t.headers);
    let mut ex = Exchange::new(Rc::clone(engine));
    let no_body = t.body.iter().all(|c| c.is_empty()) && t.body.len() <= 1;
    ex.on_request_headers(&mut host, no_body);
    if !no_body {
        for (i, chunk) in t.body.iter().enumerate() {
            if host.reply.is_some() {
                break;
            }
            host.request_body.extend_from_slice(chunk);
            let size = host.request_body.len();
            ex.on_request_body(&mut host, size, i + 1 == t.body.len());
        }
    }
    let forwarded_body = host.request_body.clone();
    let forwarded_headers = host.request_headers.clone();
    let mut answer = Vec::new();
    if host.reply.is_none() {
        host.response_headers = vec![
            (":status".into(), "200".into()),
            ("content-type".into(), t.answer_type.into()),
        ];
        let empty = t.answer.iter().all(|c| c.is_empty()) && t.answer.len() <= 1;
        ex.on_response_headers(&mut host, empty);
        let mut held = false;
        for (i, chunk) in t.answer.iter().enumerate() {
            if empty || host.reply.is_some() {
                break;
            }
            if !held {
                host.response_body.clear();
            }
            host.response_body.extend_from_slice(chunk);
            let size = host.response_body.len();
            let last = i + 1 == t.answer.len();
            held = ex.on_response_body(&mut host, size, last) == Flow::Pause;
            if !held || last {
                answer.extend_from_slice(&host.response_body);
                host.response_body.clear();
            }
        }
    }
    host.properties
        .insert("response.code".into(), 200u64.to_le_bytes().to_vec());
    ex.on_log(&mut host);
    let audit = host
        .audit_lines()
        .iter()
        .map(|line| {
            let mut v: Value = serde_json::from_str(line).expect("an audit line is JSON");
            strip_clock(&mut v);
            v
        })
        .collect();
    Observed {
        reply: host.reply.clone(),
        forwarded_body,
        forwarded_headers,
        answer,
        audit,
    }
}

/// Remove the members whose value depends on the fake clock (timestamps, durations).
fn strip_clock(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.retain(|k, _| k != "ts" && !k.ends_with("_us") && !k.ends_with("_ms"));
            map.values_mut().for_each(strip_clock);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_clock),
        _ => {}
    }
}
