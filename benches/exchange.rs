//! Native micro-benchmarks of the filter's core, without a proxy: compiling the shipped
//! configuration, and one whole request (headers, body in 16 KiB steps, response, audit line)
//! through `Exchange` for every benchmark case, against an in-memory host that does no more work
//! than a proxy's hostcalls must (copies out headers and body bytes). Each body case is timed three
//! ways: `native_ns_<case>` with the memory of clean strings off (every text new to the filter),
//! `_resent` with the memory at its default size and the same body again, `_conversation` with
//! the memory at its default size and the newest text (at the manifest's `fresh_at`) new on every
//! request, the rest resent: an agent's next call.
//!
//! `cargo bench --bench exchange [-- --case NAME] [--iters N] [--new-only]` prints `RESULT
//! name=value` lines (`--new-only`: only the every-text-new timing, for instruction counts)
//! (the convention in benches/README.md). Without `--bench` (as `cargo test --benches` runs it)
//! every case runs once, as a smoke test. Inputs: the case manifest written by
//! benches/agent_traffic.py (`BENCH_CASES`, default target/bench/bodies/cases.json; only the GET
//! case without it) and the configuration (`BENCH_CONFIG`, default filter-config/config.json).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, RefCell};
use std::hint::black_box;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use authensor_filter::audit::chain::{seal_if_audit, Chain};
use authensor_filter::config::Engine;
use authensor_filter::exchange::Exchange;
use authensor_filter::host::{Direction, Host, LogLevel, Metric};
use authensor_filter::policy::state::{MemoryStore, SharedStore};

const BODY_STEP: usize = 16 * 1024;

thread_local! {
    /// The proxy's shared data, kept across requests as Envoy keeps it (rate-limit counters live
    /// there: a store that always misses would make every limited request fail closed).
    static SHARED: MemoryStore = MemoryStore::default();
    /// The VM's audit chain: the proxy host seals every audit line as it logs it.
    static CHAIN: RefCell<Chain> = RefCell::new(Chain::new("bench"));
}

/// The system allocator, counting allocations, so the report can say how many a request costs.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// One request shape from the manifest.
struct Case {
    name: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Offset of the newest text's placeholder in `body` (benches/agent_traffic.py).
    fresh_at: Option<usize>,
}

/// Width of the placeholder, and of the token that replaces it per request.
const FRESH_WIDTH: usize = 12;

/// Tokens handed out so far: none repeats within a run.
static TOKENS: AtomicU64 = AtomicU64::new(0);

/// The proxy side of one request, held in memory.
struct MemHost {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// How much of `body` the proxy has buffered so far.
    buffered: usize,
    replied: Option<u32>,
    logged_bytes: Cell<usize>,
    started: Instant,
}

impl MemHost {
    fn side(&self, dir: Direction) -> &[(String, String)] {
        match dir {
            Direction::Request => &self.headers,
            Direction::Response => &[],
        }
    }
}

impl Host for MemHost {
    fn now_nanos(&self) -> u64 {
        1_767_225_600_000_000_000 + self.started.elapsed().as_nanos() as u64
    }
    fn log(&self, _level: LogLevel, message: &str) {
        let line = CHAIN.with(|c| seal_if_audit(c, message, 15 * 1024).len());
        self.logged_bytes.set(self.logged_bytes.get() + line);
    }
    fn header(&self, dir: Direction, name: &str) -> Option<String> {
        self.side(dir)
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    }
    fn headers(&self, dir: Direction) -> Vec<(String, String)> {
        self.side(dir).to_vec()
    }
    fn set_header(&mut self, _dir: Direction, _name: &str, _value: Option<&str>) {}
    fn body(&self, dir: Direction, start: usize, len: usize) -> Option<Vec<u8>> {
        let body = match dir {
            Direction::Request => self.body.get(..self.buffered)?,
            Direction::Response => RESPONSE,
        };
        body.get(start..start.saturating_add(len).min(body.len()))
            .map(<[u8]>::to_vec)
    }
    fn set_body(&mut self, _dir: Direction, _body: &[u8]) {}
    fn property(&self, path: &[&str]) -> Option<Vec<u8>> {
        (path == ["response", "code"]).then(|| 200u64.to_le_bytes().to_vec())
    }
    fn set_property(&mut self, name: &str, value: &str) {
        black_box((name, value));
    }
    fn send_reply(&mut self, status: u32, _headers: &[(&str, &str)], body: &[u8]) {
        black_box(body);
        self.replied = Some(status);
    }
    fn count(&self, metric: Metric, delta: i64) {
        black_box((metric, delta));
    }
    fn shared_get(&self, key: &str) -> Option<(Vec<u8>, u32)> {
        SHARED.with(|s| s.get(key))
    }
    fn shared_set(&self, key: &str, value: &[u8], cas: u32) -> bool {
        SHARED.with(|s| s.set(key, value, cas))
    }
}

const RESPONSE: &[u8] = br#"{"id":"chatcmpl-bench","object":"chat.completion","model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"The build is green."},"finish_reason":"stop"}]}"#;

/// The proxy's side of request number `serial` of a case, before the filter sees it.
fn host_for(case: &Case, serial: u64) -> MemHost {
    let mut headers = case.headers.clone();
    headers.push(("x-request-id".into(), format!("bench-{serial}")));
    MemHost {
        headers,
        body: case.body.clone(),
        buffered: 0,
        replied: None,
        logged_bytes: Cell::new(0),
        started: Instant::now(),
    }
}

/// One request through the exchange, as the proxy delivers it. Returns the filter's own reply status.
fn drive(engine: &Rc<Engine>, host: &mut MemHost) -> Option<u32> {
    let mut ex = Exchange::new(Rc::clone(engine));
    ex.on_request_headers(host, host.body.is_empty());
    while host.buffered < host.body.len() && host.replied.is_none() {
        let buffered = (host.buffered + BODY_STEP).min(host.body.len());
        host.buffered = buffered;
        ex.on_request_body(host, buffered, buffered == host.body.len());
    }
    if host.replied.is_none() {
        ex.on_response_headers(host, false);
        ex.on_response_body(host, RESPONSE.len(), true);
    }
    ex.on_log(host);
    black_box(host.logged_bytes.get());
    host.replied
}

fn request(engine: &Rc<Engine>, case: &Case, serial: u64) -> Option<u32> {
    drive(engine, &mut host_for(case, serial))
}

/// The next request of a conversation: the case's body with a newest text never seen before.
fn next_turn(engine: &Rc<Engine>, case: &Case, serial: u64) -> Option<u32> {
    let mut host = host_for(case, serial);
    let k = TOKENS.fetch_add(1, Ordering::Relaxed);
    let token = format!("r{:03}f-{:06}", k / 1_000_000 % 1000, k % 1_000_000);
    if let Some(slot) = case
        .fresh_at
        .and_then(|at| host.body.get_mut(at..at + FRESH_WIDTH))
    {
        slot.copy_from_slice(token.as_bytes());
    }
    drive(engine, &mut host)
}

fn cases(root: &std::path::Path) -> Vec<Case> {
    let get = |name: &str, path: &str| Case {
        name: name.into(),
        headers: base_headers("GET", path, "api.openai.com"),
        body: Vec::new(),
        fresh_at: None,
    };
    let manifest = std::env::var_os("BENCH_CASES")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/bench/bodies/cases.json"));
    let Ok(text) = std::fs::read_to_string(&manifest) else {
        eprintln!(
            "note: {} not found (run benches/agent_traffic.py); GET only",
            manifest.display()
        );
        return vec![get("get", "/v1/models")];
    };
    let entries: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap_or_default();
    entries
        .iter()
        .filter_map(|e| {
            let s = |k: &str| e.get(k).and_then(|v| v.as_str());
            let mut headers = base_headers(s("method")?, s("path")?, s("host")?);
            for (k, v) in e.get("headers")?.as_object()? {
                headers.push((k.clone(), v.as_str()?.to_owned()));
            }
            let body = match s("body_file") {
                Some(file) => std::fs::read(file).ok()?,
                None => Vec::new(),
            };
            if !body.is_empty() {
                headers.push(("content-length".into(), body.len().to_string()));
            }
            let fresh_at = e.get("fresh_at").and_then(|v| v.as_u64());
            Some(Case {
                name: s("name")?.to_owned(),
                headers,
                fresh_at: fresh_at
                    .and_then(|at| usize::try_from(at).ok())
                    .filter(|at| at + FRESH_WIDTH <= body.len()),
                body,
            })
        })
        .collect()
}

fn base_headers(method: &str, path: &str, host: &str) -> Vec<(String, String)> {
    [
        (":method", method),
        (":path", path),
        (":authority", host),
        (":scheme", "http"),
        ("user-agent", "bench-agent/1.0"),
        ("x-forwarded-proto", "http"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// Median of `samples` timings of `iters` calls, in nanoseconds per call.
fn time_per_call(samples: usize, iters: u64, mut f: impl FnMut(u64)) -> f64 {
    let mut per_call: Vec<f64> = (0..samples)
        .map(|s| {
            let start = Instant::now();
            for i in 0..iters {
                f(s as u64 * iters + i);
            }
            start.elapsed().as_nanos() as f64 / iters as f64
        })
        .collect();
    per_call.sort_by(f64::total_cmp);
    per_call[per_call.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
    };
    let measuring = args.iter().any(|a| a == "--bench");
    let only = flag("--case");
    let fixed_iters: Option<u64> = flag("--iters").and_then(|n| n.parse().ok());
    let new_only = std::env::args().any(|a| a == "--new-only");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let config_path = std::env::var_os("BENCH_CONFIG")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("filter-config/config.json"));
    let config = match std::fs::read(&config_path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{}: {e}", config_path.display());
            std::process::exit(1);
        }
    };
    // Cold: the memory of clean texts off, every request's texts new to the filter. Resent and
    // conversation: the memory at its default size, whatever the configuration file says (the
    // driver may hand over a configuration with it off).
    let compile = |memo: Option<usize>| {
        let mut value: serde_json::Value = serde_json::from_slice(&config).unwrap_or_default();
        if let Some(root) = value.as_object_mut() {
            let aegis = root.entry("aegis").or_insert_with(|| serde_json::json!({}));
            if let Some(aegis) = aegis.as_object_mut() {
                match memo {
                    Some(entries) => aegis.insert("memo_entries".into(), entries.into()),
                    None => aegis.remove("memo_entries"),
                };
            }
        }
        let json = serde_json::to_vec(&value).unwrap_or_default();
        match Engine::from_json(&json) {
            Ok(e) => Rc::new(e),
            Err(e) => {
                eprintln!("{}: {e}", config_path.display());
                std::process::exit(1);
            }
        }
    };
    let engine = compile(Some(0));
    let resent = compile(None);
    let (samples, budget_ns) = if measuring { (7, 50e6) } else { (1, 0.0) };

    if only.is_none() {
        let once = time_per_call(1, 1, |_| drop(black_box(Engine::from_json(&config))));
        let iters = fixed_iters.unwrap_or(((budget_ns / once) as u64).clamp(1, 10_000));
        let ns = time_per_call(samples, iters, |_| {
            drop(black_box(Engine::from_json(&config)))
        });
        println!("RESULT config_compile_us={:.2}", ns / 1000.0);
    }
    for case in cases(&root) {
        if only.is_some_and(|o| *o != case.name) {
            continue;
        }
        let mut host = host_for(&case, 0);
        let before = ALLOCATIONS.load(Ordering::Relaxed);
        let replied = drive(&engine, &mut host);
        let allocs = ALLOCATIONS.load(Ordering::Relaxed) - before;
        println!("RESULT native_allocs_{}={allocs}", case.name);
        if let Some(status) = replied {
            eprintln!(
                "warning: case {} was answered by the filter itself ({status})",
                case.name
            );
        }
        let once = time_per_call(1, 3, |i| {
            black_box(request(&engine, &case, i));
        });
        let iters = fixed_iters.unwrap_or(((budget_ns / once) as u64).clamp(1, 100_000));
        let ns = time_per_call(samples, iters, |i| {
            black_box(request(&engine, &case, i));
        });
        println!("RESULT native_ns_{}={ns:.0}", case.name);
        if new_only {
            continue;
        }
        if !case.body.is_empty() {
            let mb_per_s = case.body.len() as f64 / ns * 1e3;
            println!("RESULT native_mb_per_s_{}={mb_per_s:.1}", case.name);
            let ns = time_per_call(samples, iters, |i| {
                black_box(request(&resent, &case, i));
            });
            println!("RESULT native_ns_{}_resent={ns:.0}", case.name);
        }
        if case.fresh_at.is_some() {
            let denied = (0..3).filter_map(|i| next_turn(&resent, &case, i)).count();
            if denied > 0 {
                eprintln!(
                    "warning: case {}: a conversation turn was answered by the filter itself",
                    case.name
                );
            }
            let ns = time_per_call(samples, iters, |i| {
                black_box(next_turn(&resent, &case, i));
            });
            println!("RESULT native_ns_{}_conversation={ns:.0}", case.name);
        }
    }
}
