//! A bounded load generator for `make soak` and the load test:
//! `load-gen ADDR TOTAL CONNECTIONS MAX_SECONDS ID_PREFIX REQUEST_FILE...`.
//! Each REQUEST_FILE is one complete raw HTTP/1.1 request (head and body). CONNECTIONS threads,
//! one keep-alive connection each, send requests 0..TOTAL between them in order, request `i`
//! being file `i % files` with the header `x-request-id: ID_PREFIX-<i>` added, and wait for each
//! answer. No request is retried: one that fails on the wire is counted as an error. New
//! requests stop after MAX_SECONDS even if fewer than TOTAL were sent.
//! Prints `PROGRESS <answered>` every TOTAL/20 answers, then one JSON object: answered
//! requests, wire errors, seconds, requests per second, and per file the count of each status.

use std::collections::BTreeMap;
use std::io::{self, BufReader, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bench_tools::read_response;

struct Shared {
    addr: String,
    total: usize,
    deadline: Instant,
    prefix: String,
    requests: Vec<(Vec<u8>, Vec<u8>)>,
    next: AtomicUsize,
    answered: AtomicUsize,
    errors: AtomicUsize,
    /// Per request file: status -> count.
    statuses: Mutex<Vec<BTreeMap<u16, usize>>>,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 6 {
        eprintln!("usage: load-gen ADDR TOTAL CONNECTIONS MAX_SECONDS ID_PREFIX REQUEST_FILE...");
        std::process::exit(2);
    }
    if let Err(e) = run(&args) {
        eprintln!("load-gen: {e}");
        std::process::exit(1);
    }
}

fn number(s: &str, what: &str) -> io::Result<u64> {
    s.parse()
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, format!("bad {what}")))
}

/// A request file split after its request line, where the id header goes.
fn split_request(raw: Vec<u8>) -> io::Result<(Vec<u8>, Vec<u8>)> {
    let at = raw
        .windows(2)
        .position(|w| w == b"\r\n")
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no request line"))?;
    Ok((raw[..at + 2].to_vec(), raw[at + 2..].to_vec()))
}

fn run(args: &[String]) -> io::Result<()> {
    let requests = args[5..]
        .iter()
        .map(|f| std::fs::read(f).and_then(split_request))
        .collect::<io::Result<Vec<_>>>()?;
    let connections = number(&args[2], "CONNECTIONS")?.max(1) as usize;
    let start = Instant::now();
    let shared = Shared {
        addr: args[0].clone(),
        total: number(&args[1], "TOTAL")? as usize,
        deadline: start + Duration::from_secs(number(&args[3], "MAX_SECONDS")?),
        prefix: args[4].clone(),
        statuses: Mutex::new(vec![BTreeMap::new(); requests.len()]),
        requests,
        next: AtomicUsize::new(0),
        answered: AtomicUsize::new(0),
        errors: AtomicUsize::new(0),
    };
    std::thread::scope(|scope| {
        for _ in 0..connections {
            scope.spawn(|| worker(&shared));
        }
    });
    let seconds = start.elapsed().as_secs_f64();
    let answered = shared.answered.load(Ordering::Relaxed);
    let files: Vec<String> = shared
        .statuses
        .lock()
        .map_err(|_| io::Error::other("poisoned"))?
        .iter()
        .map(|by_status| {
            let pairs: Vec<String> = by_status
                .iter()
                .map(|(s, n)| format!("\"{s}\":{n}"))
                .collect();
            format!("{{{}}}", pairs.join(","))
        })
        .collect();
    println!(
        "{{\"answered\":{answered},\"errors\":{},\"seconds\":{seconds:.3},\"rps\":{:.1},\"files\":[{}]}}",
        shared.errors.load(Ordering::Relaxed),
        answered as f64 / seconds.max(1e-9),
        files.join(",")
    );
    Ok(())
}

fn connect(addr: &str) -> io::Result<(TcpStream, BufReader<TcpStream>)> {
    let s = TcpStream::connect(addr)?;
    s.set_nodelay(true)?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    Ok((s.try_clone()?, BufReader::with_capacity(64 * 1024, s)))
}

fn worker(shared: &Shared) {
    let mut conn = None;
    let step = (shared.total / 20).max(1);
    let mut wire = Vec::new();
    loop {
        let i = shared.next.fetch_add(1, Ordering::Relaxed);
        if i >= shared.total || Instant::now() >= shared.deadline {
            return;
        }
        let file = i % shared.requests.len();
        let (line, rest) = &shared.requests[file];
        wire.clear();
        wire.extend_from_slice(line);
        let _ = write!(wire, "x-request-id: {}-{i}\r\n", shared.prefix);
        wire.extend_from_slice(rest);
        let answer = (|| {
            if conn.is_none() {
                conn = Some(connect(&shared.addr)?);
            }
            let (out, input) = conn
                .as_mut()
                .ok_or_else(|| io::Error::other("no connection"))?;
            out.write_all(&wire)?;
            read_response(input)
        })();
        match answer {
            Ok(response) => {
                if response.close {
                    conn = None;
                }
                if let Ok(mut statuses) = shared.statuses.lock() {
                    *statuses[file].entry(response.status).or_default() += 1;
                }
                let answered = shared.answered.fetch_add(1, Ordering::Relaxed) + 1;
                if answered.is_multiple_of(step) {
                    println!("PROGRESS {answered}");
                    let _ = io::stdout().flush();
                }
            }
            Err(e) => {
                eprintln!("load-gen: request {i}: {e}");
                shared.errors.fetch_add(1, Ordering::Relaxed);
                conn = None;
            }
        }
    }
}
