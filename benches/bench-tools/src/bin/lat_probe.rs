//! Paired latency through several proxies at a low, fixed pace:
//! `lat-probe ROUNDS GAP_US METHOD PATH HOST BODY_FILE|- FRESH_AT|- SALT ADDR... [-- NAME=VALUE...]`.
//! One keep-alive connection per address; each round sends the same request to every address in
//! turn (A, B, C, A, B, C, …), waiting for each answer, then pauses GAP_US. Every arm thus sees the
//! same moment-to-moment machine noise, which a shared machine has plenty of. Each round's body
//! carries at FRESH_AT (the newest text's placeholder, benches/agent_traffic.py) a token of the
//! same width unique to the round and the run (SALT), as benches/wrk.lua does. Prints one JSON
//! object: per address, latency percentiles in microseconds, the mean, and non-2xx answers.

use std::io::{self, BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use bench_tools::{percentile, read_response};

/// Width of the newest text's placeholder and of the token that replaces it.
const FRESH_WIDTH: usize = 12;

struct Conn {
    out: TcpStream,
    input: BufReader<TcpStream>,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (fixed, headers) = match args.iter().position(|a| a == "--") {
        Some(i) => (&args[..i], &args[i + 1..]),
        None => (&args[..], &[][..]),
    };
    if fixed.len() < 9 {
        eprintln!("usage: lat-probe ROUNDS GAP_US METHOD PATH HOST BODY_FILE|- FRESH_AT|- SALT ADDR... [-- NAME=VALUE...]");
        std::process::exit(2);
    }
    if let Err(e) = run(fixed, headers) {
        eprintln!("lat-probe: {e}");
        std::process::exit(1);
    }
}

fn run(fixed: &[String], headers: &[String]) -> io::Result<()> {
    let rounds: usize = fixed[0].parse().map_err(|_| bad("ROUNDS"))?;
    let gap = Duration::from_micros(fixed[1].parse().map_err(|_| bad("GAP_US"))?);
    let body = match fixed[5].as_str() {
        "-" => Vec::new(),
        file => std::fs::read(file)?,
    };
    let mut request = format!(
        "{} {} HTTP/1.1\r\nhost: {}\r\n",
        fixed[2], fixed[3], fixed[4]
    );
    for h in headers {
        if let Some((k, v)) = h.split_once('=') {
            request.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    if !body.is_empty() {
        request.push_str(&format!("content-length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    let fresh = match fixed[6].as_str() {
        "-" => None,
        at => Some(request.len() + at.parse::<usize>().map_err(|_| bad("FRESH_AT"))?),
    };
    let salt: u64 = fixed[7].parse().map_err(|_| bad("SALT"))?;
    let mut request = request.into_bytes();
    request.extend_from_slice(&body);
    if fresh.is_some_and(|at| at + FRESH_WIDTH > request.len()) {
        return Err(bad("FRESH_AT"));
    }

    let mut conns = fixed[8..]
        .iter()
        .map(|addr| {
            let s = TcpStream::connect(addr)?;
            s.set_nodelay(true)?;
            Ok(Conn {
                out: s.try_clone()?,
                input: BufReader::with_capacity(64 * 1024, s),
            })
        })
        .collect::<io::Result<Vec<_>>>()?;
    let mut samples = vec![Vec::with_capacity(rounds); conns.len()];
    let mut non_2xx = vec![0usize; conns.len()];
    for round in 0..rounds {
        if let Some(at) = fresh {
            let token = format!("r{:03}0-{:06}", salt % 1000, round % 1_000_000);
            request[at..at + FRESH_WIDTH].copy_from_slice(token.as_bytes());
        }
        for (i, c) in conns.iter_mut().enumerate() {
            let start = Instant::now();
            c.out.write_all(&request)?;
            let status = read_response(&mut c.input)?.status;
            // The first round only opens the proxies' upstream connections.
            if round > 0 {
                samples[i].push(start.elapsed().as_nanos() as f64 / 1000.0);
            }
            non_2xx[i] += usize::from(!(200..300).contains(&status));
        }
        std::thread::sleep(gap);
    }
    let arms: Vec<String> = samples
        .iter_mut()
        .zip(&non_2xx)
        .map(|(s, bad)| {
            let mean = s.iter().sum::<f64>() / s.len().max(1) as f64;
            s.sort_by(f64::total_cmp);
            format!(
                "{{\"requests\":{},\"p50_us\":{:.1},\"p90_us\":{:.1},\"p99_us\":{:.1},\"mean_us\":{mean:.1},\"non_2xx\":{bad}}}",
                s.len(),
                percentile(s, 50.0),
                percentile(s, 90.0),
                percentile(s, 99.0)
            )
        })
        .collect();
    println!("{{\"arms\":[{}]}}", arms.join(","));
    Ok(())
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, format!("bad {what}"))
}
