//! An in-memory [`Host`] for unit tests: records replies, logs, metrics and shared data.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};

use crate::audit::is_audit_line;
use crate::host::{Direction, Header, Host, LogLevel, Metric};
use crate::metrics::MetricCatalog;

/// A reply the filter sent: status, headers, body.
pub type Reply = (u32, Vec<(String, String)>, Vec<u8>);

/// Work another worker thread does between this worker's shared-data read and write.
pub type Interleaved = Box<dyn FnOnce(&FakeHost)>;

#[derive(Default)]
pub struct FakeHost {
    pub request_headers: Vec<(String, String)>,
    pub response_headers: Vec<(String, String)>,
    pub request_body: Vec<u8>,
    pub response_body: Vec<u8>,
    pub properties: HashMap<String, Vec<u8>>,
    /// Properties the filter set on the stream (`set_property`).
    pub stream_properties: HashMap<String, String>,
    pub reply: Option<Reply>,
    pub logs: RefCell<Vec<(LogLevel, String)>>,
    /// Counters by stat name (named by `catalog`), and histogram samples.
    pub metrics: RefCell<HashMap<String, i64>>,
    pub histograms: RefCell<HashMap<String, Vec<u64>>>,
    pub catalog: MetricCatalog,
    pub shared: RefCell<HashMap<String, (Vec<u8>, u32)>>,
    /// Run one queued closure at the start of each `shared_set` (not nested), to simulate
    /// other workers winning a compare-and-swap race.
    pub before_shared_set: RefCell<VecDeque<Interleaved>>,
    interleaving: Cell<bool>,
    /// Advances by one microsecond on every read, so timings are non-zero and deterministic.
    pub clock: Cell<u64>,
}

impl FakeHost {
    /// A host holding a request with the given method, path and extra headers.
    pub fn request(method: &str, path: &str, headers: &[(&str, &str)]) -> FakeHost {
        let mut all = vec![
            (":method".to_owned(), method.to_owned()),
            (":path".to_owned(), path.to_owned()),
        ];
        all.extend(headers.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        FakeHost {
            request_headers: all,
            ..FakeHost::default()
        }
    }

    /// The audit lines logged so far.
    pub fn audit_lines(&self) -> Vec<String> {
        self.logs
            .borrow()
            .iter()
            .filter(|(_, m)| is_audit_line(m))
            .map(|(_, m)| m.clone())
            .collect()
    }

    /// The stat name `metric` is counted under.
    pub fn stat(&self, metric: &Metric<'_>) -> String {
        let mut name = String::new();
        self.catalog.write_name(metric, &mut name);
        name
    }

    fn headers(&self, dir: Direction) -> &Vec<(String, String)> {
        match dir {
            Direction::Request => &self.request_headers,
            Direction::Response => &self.response_headers,
        }
    }
}

impl Host for FakeHost {
    fn now_nanos(&self) -> u64 {
        self.clock.set(self.clock.get() + 1_000);
        self.clock.get()
    }

    fn log(&self, level: LogLevel, message: &str) {
        self.logs.borrow_mut().push((level, message.to_owned()));
    }

    fn header(&self, dir: Direction, name: &str) -> Option<String> {
        self.headers(dir)
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    }

    fn headers(&self, dir: Direction) -> Vec<Header> {
        FakeHost::headers(self, dir).clone()
    }

    fn set_header(&mut self, dir: Direction, name: &str, value: Option<&str>) {
        let headers = match dir {
            Direction::Request => &mut self.request_headers,
            Direction::Response => &mut self.response_headers,
        };
        headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        if let Some(v) = value {
            headers.push((name.to_owned(), v.to_owned()));
        }
    }

    fn body(&self, dir: Direction, start: usize, len: usize) -> Option<Vec<u8>> {
        let body = match dir {
            Direction::Request => &self.request_body,
            Direction::Response => &self.response_body,
        };
        let end = start.checked_add(len)?.min(body.len());
        body.get(start..end).map(<[u8]>::to_vec)
    }

    fn set_body(&mut self, dir: Direction, body: &[u8]) {
        match dir {
            Direction::Request => self.request_body = body.to_vec(),
            Direction::Response => self.response_body = body.to_vec(),
        }
    }

    fn property(&self, path: &[&str]) -> Option<Vec<u8>> {
        self.properties.get(&path.join(".")).cloned()
    }

    fn set_property(&mut self, name: &str, value: &str) {
        self.stream_properties
            .insert(name.to_owned(), value.to_owned());
    }

    fn send_reply(&mut self, status: u32, headers: &[(&str, &str)], body: &[u8]) {
        let headers = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.reply = Some((status, headers, body.to_vec()));
    }

    fn count(&self, metric: Metric<'_>, delta: i64) {
        *self
            .metrics
            .borrow_mut()
            .entry(self.stat(&metric))
            .or_default() += delta;
    }

    fn record(&self, metric: Metric<'_>, value: u64) {
        let name = self.stat(&metric);
        self.histograms
            .borrow_mut()
            .entry(name)
            .or_default()
            .push(value);
    }

    fn shared_get(&self, key: &str) -> Option<(Vec<u8>, u32)> {
        self.shared.borrow().get(key).cloned()
    }

    fn shared_set(&self, key: &str, value: &[u8], cas: u32) -> bool {
        if !self.interleaving.get() {
            let other = self.before_shared_set.borrow_mut().pop_front();
            if let Some(other) = other {
                self.interleaving.set(true);
                other(self);
                self.interleaving.set(false);
            }
        }
        let mut shared = self.shared.borrow_mut();
        let current = shared.get(key).map_or(0, |(_, c)| *c);
        if cas != 0 && cas != current {
            return false;
        }
        shared.insert(key.to_owned(), (value.to_vec(), current + 1));
        true
    }
}
