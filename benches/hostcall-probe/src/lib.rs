//! Makes one kind of hostcall N times in every request's header callback, as its plugin
//! configuration `KIND N` says (kinds: `header`, `header_pairs`, `time`, `property`, `metric`,
//! `histogram`, `log_info`, `log_debug`, `set_property`, `shared_get`, `shared_set`; anything
//! else: none). `benches/hostcalls.py` runs one Envoy per kind and
//! reads the cost of one call from the difference in Envoy's CPU per request.

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel, MapType, MetricType};
use std::hint::black_box;
use std::rc::Rc;

/// A stream property the filter sets (filter state `wasm.authensor.decision`).
const PROPERTY: &str = "authensor.decision";
/// A shared-data entry shaped like one of the filter's rate-limit slots (one 44-byte entry).
const SHARED_KEY: &str = "authensor/v1/probe/0";
const SHARED_VALUE: [u8; 44] = [7; 44];

/// An audit-line-sized message (about 400 bytes).
const LINE: &str = r#"{"audit":"authensor/v1","ts":"2026-11-25T11:02:56.328Z","request_id":"b7bde26c-1f0c-4d6e-9a57-3c1c1f0d2e4b","principal":{"id":"demo-agent","type":"agent","source":"config"},"method":"POST","authority":"api.openai.com","path":"/v1/chat/completions","decision":"allow","rule":null,"reasons":[],"status":200,"body_bytes":4096,"added_us":28.0}"#;

proxy_wasm::main! {{
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(Root { kind: Rc::from(""), repeat: 0, metric: 0, histogram: 0 })
    });
}}

struct Root {
    kind: Rc<str>,
    repeat: usize,
    metric: u32,
    histogram: u32,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let config = self.get_plugin_configuration().unwrap_or_default();
        let config = String::from_utf8_lossy(&config);
        let mut words = config.split_whitespace();
        self.kind = Rc::from(words.next().unwrap_or(""));
        self.repeat = words.next().and_then(|n| n.parse().ok()).unwrap_or(1);
        self.metric = hostcalls::define_metric(MetricType::Counter, "probe.calls").unwrap_or(0);
        self.histogram =
            hostcalls::define_metric(MetricType::Histogram, "probe.latency").unwrap_or(0);
        // The entry `shared_get` reads, present as a rate-limit slot is after the first request.
        let _ = hostcalls::set_shared_data(SHARED_KEY, Some(&SHARED_VALUE), None);
        true
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Probe {
            kind: Rc::clone(&self.kind),
            repeat: self.repeat,
            metric: self.metric,
            histogram: self.histogram,
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Probe {
    kind: Rc<str>,
    repeat: usize,
    metric: u32,
    histogram: u32,
}

impl Context for Probe {}

impl HttpContext for Probe {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        for i in 0..self.repeat {
            self.call(i);
        }
        Action::Continue
    }
}

impl Probe {
    fn call(&self, i: usize) {
        let request = MapType::HttpRequestHeaders;
        match &*self.kind {
            "header" => drop(black_box(hostcalls::get_map_value_bytes(request, ":path"))),
            "header_pairs" => drop(black_box(hostcalls::get_map_bytes(request))),
            "time" => drop(black_box(hostcalls::get_current_time())),
            "property" => drop(black_box(hostcalls::get_property(vec![
                "source", "address",
            ]))),
            "metric" => drop(hostcalls::increment_metric(self.metric, 1)),
            "histogram" => drop(hostcalls::record_metric(self.histogram, i as u64)),
            "set_property" => {
                let _ = hostcalls::set_property(vec![PROPERTY], Some(b"allow"));
            }
            "shared_get" => drop(black_box(hostcalls::get_shared_data(SHARED_KEY))),
            "shared_set" => drop(hostcalls::set_shared_data(
                SHARED_KEY,
                Some(&SHARED_VALUE),
                None,
            )),
            "log_info" => drop(hostcalls::log(LogLevel::Info, LINE)),
            "log_debug" => drop(hostcalls::log(LogLevel::Debug, LINE)),
            _ => {}
        }
    }
}
