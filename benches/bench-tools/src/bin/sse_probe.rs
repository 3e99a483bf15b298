//! Times a server-sent-event stream through a proxy: `sse-probe HOST:PORT PATH STREAMS`.
//! For each of STREAMS sequential requests it records the time to the first event and, for every
//! event carrying the upstream's send time (`"t":<unix nanos>`, see bench-upstream), its transit
//! time from the upstream's write to the moment the probe has the whole event. Prints one JSON
//! object: medians and percentiles in microseconds, event and stream counts.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bench_tools::percentile;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(addr), Some(path)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: sse-probe HOST:PORT PATH [STREAMS]");
        std::process::exit(2);
    };
    let streams: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(1);
    let mut ttfb = Vec::new();
    let mut transit = Vec::new();
    let mut events = 0usize;
    for _ in 0..streams {
        match probe(addr, path) {
            Ok(s) => {
                ttfb.push(s.ttfb_us);
                events += s.transit_us.len();
                transit.extend(s.transit_us);
            }
            Err(e) => {
                eprintln!("sse-probe: {e}");
                std::process::exit(1);
            }
        }
    }
    ttfb.sort_by(f64::total_cmp);
    transit.sort_by(f64::total_cmp);
    println!(
        "{{\"streams\":{streams},\"events\":{events},\"ttfb_us\":{:.1},\"transit_p50_us\":{:.1},\"transit_p90_us\":{:.1},\"transit_p99_us\":{:.1},\"transit_mean_us\":{:.1}}}",
        percentile(&ttfb, 50.0),
        percentile(&transit, 50.0),
        percentile(&transit, 90.0),
        percentile(&transit, 99.0),
        transit.iter().sum::<f64>() / transit.len().max(1) as f64,
    );
}

struct Stream {
    ttfb_us: f64,
    transit_us: Vec<f64>,
}

fn wall_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

fn bad(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_owned())
}

fn probe(addr: &str, path: &str) -> io::Result<Stream> {
    let mut conn = TcpStream::connect(addr)?;
    conn.set_nodelay(true)?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nhost: api.openai.com\r\naccept: text/event-stream\r\nconnection: close\r\n\r\n"
    );
    let start = Instant::now();
    conn.write_all(request.as_bytes())?;
    let mut input = BufReader::with_capacity(64 * 1024, conn);
    let mut line = String::new();
    input.read_line(&mut line)?;
    if !line.starts_with("HTTP/1.1 200") {
        return Err(bad(&format!("status line {line:?}")));
    }
    let mut chunked = false;
    loop {
        line.clear();
        if input.read_line(&mut line)? == 0 {
            return Err(bad("headers cut short"));
        }
        let l = line.trim_end().to_ascii_lowercase();
        if l.is_empty() {
            break;
        }
        chunked |= l.starts_with("transfer-encoding:") && l.ends_with("chunked");
    }
    if !chunked {
        return Err(bad("expected a chunked event stream"));
    }
    let mut pending: Vec<u8> = Vec::new();
    let mut out = Stream {
        ttfb_us: -1.0,
        transit_us: Vec::new(),
    };
    loop {
        line.clear();
        input.read_line(&mut line)?;
        let size = usize::from_str_radix(line.trim(), 16).map_err(|_| bad("chunk size"))?;
        if size == 0 {
            return Ok(out);
        }
        let at = pending.len();
        pending.resize(at + size, 0);
        input.read_exact(&mut pending[at..])?;
        let now = wall_nanos();
        if out.ttfb_us < 0.0 {
            out.ttfb_us = start.elapsed().as_nanos() as f64 / 1000.0;
        }
        while let Some(end) = find(&pending, b"\n\n") {
            if let Some(sent) = sent_at(&pending[..end]) {
                out.transit_us
                    .push(now.saturating_sub(sent) as f64 / 1000.0);
            }
            pending.drain(..end + 2);
        }
        line.clear();
        input.read_line(&mut line)?;
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The `"t":<digits>` send time of an event, if it has one.
fn sent_at(event: &[u8]) -> Option<u128> {
    let at = find(event, b"\"t\":")? + 4;
    let digits: String = event[at..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .map(|&b| b as char)
        .collect();
    digits.parse().ok()
}
