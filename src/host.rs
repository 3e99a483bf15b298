//! The core's only window on the proxy: headers, bodies, properties, replies, logging, metrics
//! and shared data. The proxy-wasm adapter implements it with hostcalls; tests use an in-memory fake.

pub use crate::metrics::Metric;

/// Severity of a log line written through the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

/// Which HTTP message a header or body call refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Request,
    Response,
}

/// A header map entry as the filter sees it.
pub type Header = (String, String);

/// Everything the core needs from the proxy. Methods never panic; absent data is `None`.
pub trait Host {
    /// Wall-clock time in nanoseconds since the Unix epoch.
    fn now_nanos(&self) -> u64;
    /// Write one line to the proxy's log. A message that starts with the audit marker is an
    /// audit line: the host bounds it and seals it into this VM's chain ([`crate::audit::chain`]).
    fn log(&self, level: LogLevel, message: &str);
    /// One header of the request or response (first value if repeated).
    fn header(&self, dir: Direction, name: &str) -> Option<String>;
    /// Replace (`Some`) or remove (`None`) a header.
    fn set_header(&mut self, dir: Direction, name: &str, value: Option<&str>);
    /// `len` bytes of the buffered body starting at `start`.
    fn body(&self, dir: Direction, start: usize, len: usize) -> Option<Vec<u8>>;
    /// Replace the whole buffered body.
    fn set_body(&mut self, dir: Direction, body: &[u8]);
    /// A proxy property (for example `["source", "address"]`), raw bytes.
    fn property(&self, path: &[&str]) -> Option<Vec<u8>>;
    /// Answer the downstream directly; the request goes no further.
    fn send_reply(&mut self, status: u32, headers: &[(&str, &str)], body: &[u8]);
    /// Add `delta` to a counter.
    fn count(&self, metric: Metric<'_>, delta: i64);
    /// Record `value` in a histogram ([`Metric::AddedLatencyUs`]). Hosts without histograms
    /// ignore it.
    fn record(&self, _metric: Metric<'_>, _value: u64) {}
    /// Read a shared-data entry and its compare-and-swap token.
    fn shared_get(&self, key: &str) -> Option<(Vec<u8>, u32)>;
    /// Write a shared-data entry if its token is still `cas` (0 = unconditionally). False on conflict.
    fn shared_set(&self, key: &str, value: &[u8], cas: u32) -> bool;
}
