//! Native benchmark of the Aegis scanner: MB/s on realistic 4 KiB and 64 KiB agent request
//! bodies (chat messages, tool schemas, tool results with code and JSON), plus the heap the
//! compiled scanner holds, measured with a counting allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Instant;

use authensor_filter::aegis::{AegisConfig, Scanner};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// A deterministic pseudo-random generator, so every run scans the same bodies.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

const WORDS: &[&str] = &[
    "the",
    "customer",
    "order",
    "report",
    "quarterly",
    "revenue",
    "please",
    "summarize",
    "table",
    "shipment",
    "delayed",
    "because",
    "warehouse",
    "inventory",
    "update",
    "status",
    "meeting",
    "tomorrow",
    "analysis",
    "shows",
    "growth",
    "in",
    "region",
    "with",
    "and",
    "for",
    "of",
    "to",
    "a",
    "latency",
    "service",
    "deploy",
    "version",
    "release",
    "notes",
    "include",
    "changes",
    "dashboard",
    "metric",
    "error",
    "rate",
    "dropped",
    "after",
    "fix",
    "query",
    "database",
    "index",
    "cache",
    "hit",
    "ratio",
    "improved",
    "team",
    "review",
    "draft",
    "proposal",
];

const CODE: &[&str] = &[
    "def load(path):\n    with open(path) as f:\n        return json.load(f)\n",
    "for (const item of items) {\n  total += item.price * item.qty;\n}\n",
    "SELECT id, name, created_at FROM orders WHERE status = 'shipped' ORDER BY created_at DESC LIMIT 50;\n",
    "fn parse(input: &str) -> Result<Config, Error> {\n    serde_json::from_str(input).map_err(Error::from)\n}\n",
    "kubectl get pods -n payments -o wide | grep Running\n",
];

fn sentence(rng: &mut Rng) -> String {
    let n = 8 + (rng.next() % 12) as usize;
    let mut s: Vec<&str> = (0..n).map(|_| rng.pick(WORDS)).collect();
    if rng.next().is_multiple_of(6) {
        s.push("https://docs.example.com/guide/section-4");
    }
    let mut out = s.join(" ");
    out.push_str(". ");
    out
}

fn prose(rng: &mut Rng, bytes: usize) -> String {
    let mut out = String::new();
    while out.len() < bytes {
        out.push_str(&sentence(rng));
        if rng.next().is_multiple_of(5) {
            out.push_str(rng.pick(CODE));
        }
    }
    out
}

fn tool(rng: &mut Rng, i: usize) -> serde_json::Value {
    serde_json::json!({
        "type": "function",
        "function": {
            "name": format!("lookup_{}_{i}", rng.pick(WORDS)),
            "description": sentence(rng),
            "parameters": {
                "type": "object",
                "properties": {
                    "query": {"type": "string", "description": sentence(rng)},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 100},
                    "region": {"type": "string", "enum": ["eu-west-1", "us-east-1", "ap-south-1"]}
                },
                "required": ["query"]
            }
        }
    })
}

/// An OpenAI-style chat request of about `size` bytes.
fn body(size: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng(seed);
    let tools: Vec<_> = (0..4).map(|i| tool(&mut rng, i)).collect();
    let per_message = (size / 6).max(200);
    let mut messages = vec![serde_json::json!({"role": "system", "content": prose(&mut rng, 400)})];
    let mut i = 0;
    loop {
        let role = ["user", "assistant", "tool"][i % 3];
        let content = if role == "tool" {
            serde_json::json!({"rows": [{"id": 1042, "status": "ok", "note": prose(&mut rng, 120)}], "next": null}).to_string()
        } else {
            prose(&mut rng, per_message)
        };
        messages.push(serde_json::json!({"role": role, "content": content}));
        let doc = serde_json::json!({"model": "gpt-4o", "messages": messages, "tools": tools, "temperature": 0.2});
        let bytes = serde_json::to_vec(&doc).unwrap_or_default();
        if bytes.len() >= size {
            return bytes;
        }
        i += 1;
    }
}

fn measure(scanner: &Scanner, label: &str, size: usize) {
    let bodies: Vec<Vec<u8>> = (0..8).map(|s| body(size, 0x9E37_79B9 + s)).collect();
    let total: usize = bodies.iter().map(Vec::len).sum();
    let mut findings = 0;
    for b in &bodies {
        findings += scanner.scan_json(b).map(|r| r.findings.len()).unwrap_or(0);
    }
    let target_bytes = 256 * 1024 * 1024;
    let rounds = (target_bytes / total).max(1);
    let start = Instant::now();
    for _ in 0..rounds {
        for b in &bodies {
            let report = scanner.scan_json(std::hint::black_box(b));
            std::hint::black_box(&report);
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let mb = (total * rounds) as f64 / 1e6;
    // Calibration: the simplest scanning loop there is (count word starts, one branch per byte)
    // over the same bytes, to show what this machine does per byte at the time of the run.
    let calibration_start = Instant::now();
    let mut words = 0u64;
    for _ in 0..rounds {
        for b in &bodies {
            let mut prev = false;
            for &byte in std::hint::black_box(b.as_slice()) {
                let alnum = byte.is_ascii_alphanumeric();
                if alnum && !prev {
                    words += 1;
                }
                prev = alnum;
            }
        }
    }
    std::hint::black_box(words);
    let calibration = mb / calibration_start.elapsed().as_secs_f64();
    println!(
        "{label:>7} bodies (avg {:>6} B): {:>7.0} MB/s, {:>6.1} µs per body, {findings} findings in the sample (word-count loop on this machine: {calibration:.0} MB/s)",
        total / bodies.len(),
        mb / secs,
        secs * 1e6 / (rounds * bodies.len()) as f64
    );
    // The report's figures (benches/README.md): `scan_mb_per_s_native` is the 4 KiB one.
    let key = label.replace(' ', "_").to_ascii_lowercase();
    println!("RESULT scan_mb_per_s_native_{key}={:.1}", mb / secs);
    if label == "4 KiB" {
        println!("RESULT scan_mb_per_s_native={:.1}", mb / secs);
    }
}

fn main() {
    let before = LIVE.load(Ordering::Relaxed);
    // The memory of clean strings off: each body is scanned again and again, and with it on
    // only the first pass would run the detectors.
    let config = AegisConfig {
        memo_entries: 0,
        ..AegisConfig::default()
    };
    let scanner = match Scanner::compile(&config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("compile failed: {e}");
            std::process::exit(1);
        }
    };
    let heap = LIVE.load(Ordering::Relaxed) - before;
    println!(
        "compiled scanner: {} keywords, automaton {} KiB, whole scanner heap {} KiB",
        scanner.keyword_count(),
        scanner.automaton_bytes() / 1024,
        heap / 1024
    );
    println!("RESULT scanner_heap_bytes={heap}");
    measure(&scanner, "4 KiB", 4 * 1024);
    measure(&scanner, "64 KiB", 64 * 1024);
}
