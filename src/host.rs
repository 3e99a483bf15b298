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
    /// Every header of the request or response, in order: one host call where a dozen
    /// [`Host::header`] calls would cost a dozen.
    fn headers(&self, dir: Direction) -> Vec<Header>;
    /// Replace (`Some`) or remove (`None`) a header.
    fn set_header(&mut self, dir: Direction, name: &str, value: Option<&str>);
    /// `len` bytes of the buffered body starting at `start`.
    fn body(&self, dir: Direction, start: usize, len: usize) -> Option<Vec<u8>>;
    /// Replace the whole buffered body.
    fn set_body(&mut self, dir: Direction, body: &[u8]);
    /// A proxy property (for example `["source", "address"]`), raw bytes.
    fn property(&self, path: &[&str]) -> Option<Vec<u8>>;
    /// Set a property of this stream for the proxy's access log and RBAC (Envoy: filter state
    /// `wasm.<name>`, read with `%FILTER_STATE(wasm.<name>:PLAIN)%`). Best effort.
    fn set_property(&mut self, name: &str, value: &str);
    /// Answer the downstream directly; the request goes no further.
    fn send_reply(&mut self, status: u32, headers: &[(&str, &str)], body: &[u8]);
    /// Add `delta` to a counter or gauge.
    fn count(&self, metric: Metric<'_>, delta: i64);
    /// Record `value` in a histogram ([`Metric::AddedLatencyUs`]). Hosts without histograms
    /// ignore it.
    fn record(&self, _metric: Metric<'_>, _value: u64) {}
    /// Read a shared-data entry and its compare-and-swap token.
    fn shared_get(&self, key: &str) -> Option<(Vec<u8>, u32)>;
    /// Write a shared-data entry if its token is still `cas` (0 = unconditionally). False on conflict.
    fn shared_set(&self, key: &str, value: &[u8], cas: u32) -> bool;
}

/// The first value of header `name` in `all` (a map from [`Host::headers`]), or straight from
/// the host when it listed none.
pub fn first_header(
    host: &impl Host,
    dir: Direction,
    all: &[Header],
    name: &str,
) -> Option<String> {
    if all.is_empty() {
        return host.header(dir, name);
    }
    all.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
}

/// Decode a header map as proxy-wasm serialises it: a little-endian `u32` count, then a `u32`
/// key size and value size per pair, then each key and value followed by a NUL (required). Values that are
/// not UTF-8 are decoded lossily; `None` if the bytes do not hold a whole map.
pub fn decode_header_map(bytes: &[u8]) -> Option<Vec<Header>> {
    let word = |at: usize| -> Option<usize> {
        let b = bytes.get(at..at.checked_add(4)?)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    let count = word(0)?;
    let mut sizes_at = 4usize;
    let mut data_at = count.checked_mul(8)?.checked_add(4)?;
    let mut out = Vec::with_capacity(count.min(bytes.len() / 10));
    for _ in 0..count {
        let (key_len, value_len) = (word(sizes_at)?, word(sizes_at + 4)?);
        sizes_at += 8;
        let mut field = |len: usize| -> Option<&[u8]> {
            let end = data_at.checked_add(len)?;
            let text = bytes.get(data_at..end)?;
            (bytes.get(end) == Some(&0)).then_some(())?;
            data_at = end + 1;
            Some(text)
        };
        let (key, value) = (field(key_len)?, field(value_len)?);
        out.push((
            String::from_utf8_lossy(key).into_owned(),
            String::from_utf8_lossy(value).into_owned(),
        ));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::decode_header_map;

    fn encode(pairs: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = (pairs.len() as u32).to_le_bytes().to_vec();
        for (k, v) in pairs {
            out.extend((k.len() as u32).to_le_bytes());
            out.extend((v.len() as u32).to_le_bytes());
        }
        for (k, v) in pairs {
            out.extend(k.as_bytes());
            out.push(0);
            out.extend(*v);
            out.push(0);
        }
        out
    }

    #[test]
    fn header_maps_decode_in_order_and_lossily() {
        let bytes = encode(&[(":path", b"/a"), ("x-b", b"\xff1"), ("x-b", b"")]);
        let map = decode_header_map(&bytes).unwrap();
        assert_eq!(
            map,
            vec![
                (":path".to_owned(), "/a".to_owned()),
                ("x-b".to_owned(), "\u{fffd}1".to_owned()),
                ("x-b".to_owned(), String::new()),
            ]
        );
        assert_eq!(decode_header_map(&encode(&[])).unwrap(), vec![]);
    }

    #[test]
    fn truncated_or_hostile_maps_are_refused() {
        let bytes = encode(&[("a", b"b")]);
        for cut in 0..bytes.len() {
            assert_eq!(decode_header_map(&bytes[..cut]), None, "cut at {cut}");
        }
        // A count or sizes far beyond the bytes present.
        assert_eq!(decode_header_map(&u32::MAX.to_le_bytes()), None);
        let mut huge = encode(&[("a", b"b")]);
        huge[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(decode_header_map(&huge), None);
    }
}
