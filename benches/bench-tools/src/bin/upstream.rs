//! The benchmark upstream: a small HTTP/1.1 keep-alive server on loopback, one thread per
//! connection, that reads every request body fully and answers like the services agents call:
//! a chat completion for `/v1/chat/completions`, a JSON-RPC result for `/mcp`, a model list for
//! `GET`, and for `GET /sse?n=N&gap_us=G` a `text/event-stream` of N chat-completion chunks, one
//! per write, each carrying the wall-clock nanoseconds it was sent at (`"t":…`) so the probe can
//! time its trip through the proxy.
//!
//! Usage: `bench-upstream [PORT]` (0 or absent: the kernel picks); prints `PORT <n>` when ready.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const CHAT_REPLY: &str = r#"{"id":"chatcmpl-bench","object":"chat.completion","created":1767225600,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"The build is green; the failing test was a flaky timeout and has been retried successfully."},"finish_reason":"stop"}],"usage":{"prompt_tokens":812,"completion_tokens":21,"total_tokens":833}}"#;
const MCP_REPLY: &str = r#"{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"3 open issues labelled bug: #412 crash on empty config, #415 timeout in CI, #420 typo in docs"}],"isError":false}}"#;
const GET_REPLY: &str = r#"{"object":"list","data":[{"id":"gpt-4o-mini","object":"model","owned_by":"system"},{"id":"gpt-4o","object":"model","owned_by":"system"}]}"#;

fn main() {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let listener = match TcpListener::bind(("127.0.0.1", port)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("bench-upstream: bind: {e}");
            std::process::exit(1);
        }
    };
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    println!("PORT {port}");
    let _ = io::stdout().flush();
    for stream in listener.incoming().flatten() {
        thread::spawn(move || {
            let _ = serve(stream);
        });
    }
}

/// One request's head: method, target and the headers that frame the body.
struct Head {
    method: String,
    target: String,
    content_length: usize,
    chunked: bool,
}

fn serve(stream: TcpStream) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut out = stream.try_clone()?;
    let mut input = BufReader::with_capacity(64 * 1024, stream);
    let mut sink = vec![0u8; 64 * 1024];
    while let Some(head) = read_head(&mut input)? {
        let received = read_body(&mut input, &head, &mut sink)?;
        if head.target.starts_with("/sse") {
            stream_events(&mut out, &head.target)?;
            continue;
        }
        let body = match (head.method.as_str(), head.target.as_str()) {
            ("GET", _) => GET_REPLY,
            (_, t) if t.starts_with("/mcp") => MCP_REPLY,
            _ => CHAT_REPLY,
        };
        let reply = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-received-bytes: {received}\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        out.write_all(reply.as_bytes())?;
    }
    Ok(())
}

fn read_head(input: &mut impl BufRead) -> io::Result<Option<Head>> {
    let mut line = String::new();
    if input.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let target = parts.next().unwrap_or("/").to_owned();
    let mut head = Head {
        method,
        target,
        content_length: 0,
        chunked: false,
    };
    loop {
        line.clear();
        if input.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        let field = line.trim_end();
        if field.is_empty() {
            return Ok(Some(head));
        }
        if let Some((name, value)) = field.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                head.content_length = value.parse().unwrap_or(0);
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                head.chunked = value.eq_ignore_ascii_case("chunked");
            }
        }
    }
}

/// Reads and discards the body; returns its length.
fn read_body(input: &mut impl BufRead, head: &Head, sink: &mut [u8]) -> io::Result<usize> {
    if !head.chunked {
        discard(input, head.content_length, sink)?;
        return Ok(head.content_length);
    }
    let mut total = 0;
    let mut line = String::new();
    loop {
        line.clear();
        input.read_line(&mut line)?;
        let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or("0"), 16)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad chunk size"))?;
        if size == 0 {
            // Trailers end with an empty line.
            loop {
                line.clear();
                if input.read_line(&mut line)? == 0 || line.trim().is_empty() {
                    return Ok(total);
                }
            }
        }
        discard(input, size, sink)?;
        total += size;
        line.clear();
        input.read_line(&mut line)?;
    }
}

fn discard(input: &mut impl Read, mut left: usize, sink: &mut [u8]) -> io::Result<()> {
    while left > 0 {
        let want = left.min(sink.len());
        let got = input.read(&mut sink[..want])?;
        if got == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        left -= got;
    }
    Ok(())
}

fn query(target: &str, key: &str) -> Option<u64> {
    let (_, q) = target.split_once('?')?;
    q.split('&')
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
        .and_then(|v| v.parse().ok())
}

fn wall_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// N SSE events, each its own chunk and write, `gap_us` apart, then `data: [DONE]`.
fn stream_events(out: &mut TcpStream, target: &str) -> io::Result<()> {
    let n = query(target, "n").unwrap_or(1000);
    let gap = Duration::from_micros(query(target, "gap_us").unwrap_or(1000));
    out.write_all(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n",
    )?;
    for i in 0..n {
        if i > 0 && !gap.is_zero() {
            thread::sleep(gap);
        }
        let event = format!(
            "data: {{\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"token{i} \"}}}}],\"i\":{i},\"t\":{}}}\n\n",
            wall_nanos()
        );
        out.write_all(format!("{:x}\r\n{event}\r\n", event.len()).as_bytes())?;
    }
    let done = "data: [DONE]\n\n";
    out.write_all(format!("{:x}\r\n{done}\r\n0\r\n\r\n", done.len()).as_bytes())?;
    Ok(())
}
