//! The proxy-wasm adapter: the root context compiles the configuration once per VM, HTTP
//! contexts forward every callback to the core's [`Exchange`], and [`ProxyHost`] implements the
//! core's [`Host`] with hostcalls (request data through [`crate::abi`], which cannot panic).
//! No decisions are made here. Per VM, the root also keeps the audit chain and the metric
//! registry, shared with every stream.

use std::cell::{Cell, RefCell};
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::rc::Rc;
use std::time::UNIX_EPOCH;

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, BufferType, ContextType, MapType};

use crate::abi;
use crate::audit::chain::{seal_if_audit, Chain};
use crate::config::Engine;
use crate::exchange::{Exchange, Flow};
use crate::host::{decode_header_map, Direction, Header, Host, LogLevel, Metric};
use crate::metrics::{MetricCatalog, MetricType, Registry};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(proxy_wasm::types::LogLevel::Info);
    std::panic::set_hook(Box::new(|info| {
        let _ = hostcalls::log(
            proxy_wasm::types::LogLevel::Critical,
            &format!("authensor-filter: panic (this is a bug): {info}"),
        );
    }));
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root::default()) });
}}

/// Per-VM state: the compiled configuration, the metric registry and the audit chain (kept
/// across reconfigurations, so one VM writes one chain).
#[derive(Default)]
struct Root {
    engine: Option<Rc<Engine>>,
    host: ProxyHost,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        let bytes = self.get_plugin_configuration().unwrap_or_default();
        let chain = self.host.chain.get_or_insert_with(|| {
            let started = ProxyHost::default().now_nanos();
            // A randomly keyed hasher: tells apart VMs started in the same nanosecond.
            let nonce = RandomState::new().hash_one(started);
            Rc::new(RefCell::new(Chain::for_vm(started, nonce)))
        });
        let chain = Rc::clone(chain);
        match Engine::from_json(&bytes) {
            Ok(engine) => {
                let catalog = MetricCatalog::new(&engine.policy);
                self.host = ProxyHost {
                    metrics: Rc::new(RefCell::new(Registry::new(catalog))),
                    chain: Some(chain),
                    max_line_bytes: engine.audit.max_line_bytes,
                };
                self.engine = Some(Rc::new(engine));
                self.host.count(Metric::ConfigReloads { ok: true }, 1);
                true
            }
            Err(e) => {
                self.host.count(Metric::ConfigReloads { ok: false }, 1);
                self.host.log(
                    LogLevel::Error,
                    &format!("authensor-filter: invalid configuration: {e}"),
                );
                false
            }
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        let engine = Rc::clone(self.engine.as_ref()?);
        Some(Box::new(Stream {
            exchange: Exchange::new(engine),
            host: self.host.clone(),
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

/// One HTTP stream: the core's exchange plus the hostcall-backed host it talks to.
struct Stream {
    exchange: Exchange,
    host: ProxyHost,
}

impl Context for Stream {}

impl HttpContext for Stream {
    fn on_http_request_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        action(
            self.exchange
                .on_request_headers(&mut self.host, end_of_stream),
        )
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        action(
            self.exchange
                .on_request_body(&mut self.host, body_size, end_of_stream),
        )
    }

    fn on_http_request_trailers(&mut self, num_trailers: usize) -> Action {
        action(
            self.exchange
                .on_request_trailers(&mut self.host, num_trailers),
        )
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        action(
            self.exchange
                .on_response_headers(&mut self.host, end_of_stream),
        )
    }

    fn on_http_response_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        action(
            self.exchange
                .on_response_body(&mut self.host, body_size, end_of_stream),
        )
    }

    fn on_http_response_trailers(&mut self, _num_trailers: usize) -> Action {
        action(self.exchange.on_response_trailers(&mut self.host))
    }

    fn on_log(&mut self) {
        self.exchange.on_log(&mut self.host);
        report_memory(&self.host);
    }
}

thread_local! {
    /// This VM's linear memory as last added to [`Metric::VmMemoryBytes`].
    static MEMORY_REPORTED: Cell<u64> = const { Cell::new(0) };
}

/// Adds this VM's linear-memory growth since its last report to the gauge, so that the gauge is
/// the sum over the proxy's filter VMs (wasm memory only grows; one hostcall per growth).
fn report_memory(host: &ProxyHost) {
    let now = core::arch::wasm32::memory_size(0) as u64 * 65_536;
    let before = MEMORY_REPORTED.with(|m| m.replace(now));
    if now != before {
        host.count(Metric::VmMemoryBytes, now as i64 - before as i64);
    }
}

fn action(flow: Flow) -> Action {
    match flow {
        Flow::Continue => Action::Continue,
        Flow::Pause => Action::Pause,
    }
}

/// The core's [`Host`], implemented with proxy-wasm hostcalls on the current context; the
/// metric registry and audit chain are the VM's, shared through the root.
#[derive(Default, Clone)]
struct ProxyHost {
    metrics: Rc<RefCell<Registry>>,
    chain: Option<Rc<RefCell<Chain>>>,
    max_line_bytes: usize,
}

impl ProxyHost {
    /// The proxy id of `metric`, defined on first use.
    fn metric_id(&self, metric: &Metric<'_>) -> Option<u32> {
        let mut registry = self.metrics.try_borrow_mut().ok()?;
        registry.id(metric, |name, kind| {
            let kind = match kind {
                MetricType::Counter => proxy_wasm::types::MetricType::Counter,
                MetricType::Gauge => proxy_wasm::types::MetricType::Gauge,
                MetricType::Histogram => proxy_wasm::types::MetricType::Histogram,
            };
            hostcalls::define_metric(kind, name).ok()
        })
    }
}

fn headers(dir: Direction) -> u32 {
    match dir {
        Direction::Request => MapType::HttpRequestHeaders as u32,
        Direction::Response => MapType::HttpResponseHeaders as u32,
    }
}

fn body_buffer(dir: Direction) -> u32 {
    match dir {
        Direction::Request => BufferType::HttpRequestBody as u32,
        Direction::Response => BufferType::HttpResponseBody as u32,
    }
}

impl Host for ProxyHost {
    fn now_nanos(&self) -> u64 {
        hostcalls::get_current_time()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as u64)
    }

    fn log(&self, level: LogLevel, message: &str) {
        let level = match level {
            LogLevel::Debug => proxy_wasm::types::LogLevel::Debug,
            LogLevel::Info => proxy_wasm::types::LogLevel::Info,
            LogLevel::Warn => proxy_wasm::types::LogLevel::Warn,
            LogLevel::Error => proxy_wasm::types::LogLevel::Error,
        };
        match &self.chain {
            Some(chain) => {
                let _ = hostcalls::log(level, &seal_if_audit(chain, message, self.max_line_bytes));
            }
            None => {
                let _ = hostcalls::log(level, message);
            }
        }
    }

    fn header(&self, dir: Direction, name: &str) -> Option<String> {
        abi::header(headers(dir), name).map(|v| String::from_utf8_lossy(&v).into_owned())
    }

    fn headers(&self, dir: Direction) -> Vec<Header> {
        abi::header_map(headers(dir))
            .and_then(|bytes| decode_header_map(&bytes))
            .unwrap_or_default()
    }

    fn set_header(&mut self, dir: Direction, name: &str, value: Option<&str>) {
        abi::set_header(headers(dir), name, value);
    }

    fn body(&self, dir: Direction, start: usize, len: usize) -> Option<Vec<u8>> {
        abi::buffer(body_buffer(dir), start, len)
    }

    fn set_body(&mut self, dir: Direction, body: &[u8]) {
        abi::set_buffer(body_buffer(dir), 0, usize::MAX, body);
    }

    fn property(&self, path: &[&str]) -> Option<Vec<u8>> {
        abi::property(path)
    }

    fn set_property(&mut self, name: &str, value: &str) {
        abi::set_property(name, value.as_bytes());
    }

    fn send_reply(&mut self, status: u32, headers: &[(&str, &str)], body: &[u8]) {
        let _ = hostcalls::send_http_response(status, headers.to_vec(), Some(body));
    }

    fn count(&self, metric: Metric<'_>, delta: i64) {
        if let Some(id) = self.metric_id(&metric) {
            let _ = hostcalls::increment_metric(id, delta);
        }
    }

    fn record(&self, metric: Metric<'_>, value: u64) {
        if let Some(id) = self.metric_id(&metric) {
            let _ = hostcalls::record_metric(id, value);
        }
    }

    fn shared_get(&self, key: &str) -> Option<(Vec<u8>, u32)> {
        abi::shared_get(key)
    }

    fn shared_set(&self, key: &str, value: &[u8], cas: u32) -> bool {
        abi::shared_set(key, value, cas)
    }
}
