//! What the probes and the load generator share: percentiles over sorted samples and an HTTP/1.1
//! response reader.

use std::io::{self, BufRead, BufReader, Read};
use std::net::TcpStream;

/// The `p`th percentile (nearest rank) of ascending `sorted` samples; -1 when there are none.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return -1.0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// What the client learns from one response.
pub struct Response {
    pub status: u16,
    /// The server said `connection: close`: open a new connection for the next request.
    pub close: bool,
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("bad {what}"))
}

/// Reads one response, its body framed by content-length or chunked (the filter re-frames answers
/// it may rewrite), and discards the body.
pub fn read_response(input: &mut BufReader<TcpStream>) -> io::Result<Response> {
    let mut line = String::new();
    if input.read_line(&mut line)? == 0 {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("status line"))?;
    let mut length = 0usize;
    let mut chunked = false;
    let mut close = false;
    loop {
        line.clear();
        if input.read_line(&mut line)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            let v = v.trim().to_ascii_lowercase();
            if k.eq_ignore_ascii_case("content-length") {
                length = v.parse().map_err(|_| bad("content-length"))?;
            } else if k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked") {
                chunked = true;
            } else if k.eq_ignore_ascii_case("connection") && v.contains("close") {
                close = true;
            }
        }
    }
    if !chunked {
        io::copy(&mut input.take(length as u64), &mut io::sink())?;
        return Ok(Response { status, close });
    }
    loop {
        line.clear();
        input.read_line(&mut line)?;
        let size = line.trim_end().split(';').next().unwrap_or("");
        let size = usize::from_str_radix(size, 16).map_err(|_| bad("chunk size"))?;
        if size == 0 {
            // Trailers, up to the blank line.
            loop {
                line.clear();
                if input.read_line(&mut line)? == 0 || line.trim_end().is_empty() {
                    return Ok(Response { status, close });
                }
            }
        }
        io::copy(&mut input.by_ref().take(size as u64), &mut io::sink())?;
        line.clear();
        input.read_line(&mut line)?;
    }
}
