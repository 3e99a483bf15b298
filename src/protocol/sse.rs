//! Incremental server-sent events: bytes arrive in arbitrary chunks; complete events come out as
//! soon as their blank line arrives, so a stream is handled event by event without buffering it.

/// One event as defined by the SSE format (fields other than these are ignored).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Event {
    pub event: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub data: String,
    pub id: Option<String>,
    pub retry: Option<u64>,
}

impl Event {
    /// A `message`-type event carrying `data`.
    pub fn data(data: impl Into<String>) -> Event {
        Event {
            data: data.into(),
            ..Event::default()
        }
    }

    /// Wire form, ending with the blank line that dispatches it.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = String::with_capacity(self.data.len() + 32);
        if let Some(e) = &self.event {
            out.push_str("event: ");
            out.push_str(e);
            out.push('\n');
        }
        if let Some(id) = &self.id {
            out.push_str("id: ");
            out.push_str(id);
            out.push('\n');
        }
        if let Some(r) = self.retry {
            out.push_str(&format!("retry: {r}\n"));
        }
        for line in self.data.split('\n') {
            out.push_str("data: ");
            out.push_str(line);
            out.push('\n');
        }
        out.push('\n');
        out.into_bytes()
    }
}

/// The stream broke a limit or was not text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SseError {
    /// An event grew beyond the configured maximum without being dispatched.
    EventTooLarge(usize),
    /// A line was not valid UTF-8.
    InvalidUtf8,
}

/// Parser state carried across chunks. Holds at most one unfinished event.
#[derive(Debug)]
pub struct SseParser {
    max_event_bytes: usize,
    /// Bytes of the current, unfinished line.
    line: Vec<u8>,
    /// The previous chunk ended in `\r`: a following `\n` belongs to it.
    after_cr: bool,
    current: Event,
    has_fields: bool,
    pending_bytes: usize,
}

impl SseParser {
    pub fn new(max_event_bytes: usize) -> SseParser {
        SseParser {
            max_event_bytes,
            line: Vec::new(),
            after_cr: false,
            current: Event::default(),
            has_fields: false,
            pending_bytes: 0,
        }
    }

    /// Feed the next chunk, appending the events it completes to `events`, in order. On an error
    /// the events completed before it are in `events` all the same, so a stream gives the same
    /// events, up to the same error, however it is chunked. The parser is not fed after an error.
    pub fn feed(&mut self, chunk: &[u8], events: &mut Vec<Event>) -> Result<(), SseError> {
        for &b in chunk {
            if self.after_cr {
                self.after_cr = false;
                if b == b'\n' {
                    continue;
                }
            }
            match b {
                b'\n' | b'\r' => {
                    self.after_cr = b == b'\r';
                    if let Some(event) = self.end_line()? {
                        events.push(event);
                    }
                }
                _ => {
                    self.line.push(b);
                    self.pending_bytes += 1;
                    if self.pending_bytes > self.max_event_bytes {
                        return Err(SseError::EventTooLarge(self.max_event_bytes));
                    }
                }
            }
        }
        Ok(())
    }

    /// Bytes received that do not yet form a complete event.
    pub fn pending_bytes(&self) -> usize {
        self.pending_bytes
    }

    fn end_line(&mut self) -> Result<Option<Event>, SseError> {
        let line = std::mem::take(&mut self.line);
        if line.is_empty() {
            self.pending_bytes = 0;
            if !self.has_fields {
                return Ok(None);
            }
            self.has_fields = false;
            let mut event = std::mem::take(&mut self.current);
            if event.data.ends_with('\n') {
                event.data.pop();
            }
            return Ok(Some(event));
        }
        let line = std::str::from_utf8(&line).map_err(|_| SseError::InvalidUtf8)?;
        if line.starts_with(':') {
            return Ok(None);
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "event" => self.current.event = Some(value.to_owned()),
            "data" => {
                self.current.data.push_str(value);
                self.current.data.push('\n');
            }
            "id" if !value.contains('\0') => self.current.id = Some(value.to_owned()),
            "retry" => {
                if let Ok(ms) = value.parse() {
                    self.current.retry = Some(ms);
                }
            }
            _ => return Ok(None),
        }
        self.has_fields = true;
        Ok(None)
    }
}

/// Every event of a complete, well-formed stream (for tests).
#[cfg(test)]
pub fn parse_all(stream: &[u8]) -> Vec<Event> {
    let mut events = Vec::new();
    SseParser::new(1 << 20)
        .feed(stream, &mut events)
        .expect("a well-formed stream");
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_in_chunks(input: &[u8], size: usize) -> Vec<Event> {
        let mut p = SseParser::new(1 << 16);
        let mut events = Vec::new();
        for c in input.chunks(size) {
            p.feed(c, &mut events).unwrap();
        }
        events
    }

    /// Events until the stream broke, and the error, feeding `size`-byte chunks.
    fn parse_until_error(input: &[u8], size: usize) -> (Vec<Event>, Option<SseError>) {
        let mut p = SseParser::new(64);
        let mut events = Vec::new();
        let error = input
            .chunks(size)
            .find_map(|c| p.feed(c, &mut events).err());
        (events, error)
    }

    #[test]
    fn events_come_out_the_same_however_the_stream_is_chunked() {
        let input = b"event: message\r\nid: 7\r\ndata: {\"a\":1}\r\n\r\n: keep-alive\n\ndata: line1\ndata: line2\n\nretry: 50\rdata: x\r\r";
        let whole = parse_in_chunks(input, input.len());
        assert_eq!(whole.len(), 3);
        assert_eq!(whole[0].event.as_deref(), Some("message"));
        assert_eq!(whole[0].id.as_deref(), Some("7"));
        assert_eq!(whole[0].data, "{\"a\":1}");
        assert_eq!(whole[1].data, "line1\nline2");
        assert_eq!((whole[2].retry, whole[2].data.as_str()), (Some(50), "x"));
        for size in 1..input.len() {
            assert_eq!(parse_in_chunks(input, size), whole, "chunk size {size}");
        }
    }

    #[test]
    fn rendering_round_trips() {
        let e = Event {
            event: Some("delta".into()),
            data: "a\nb".into(),
            id: Some("1".into()),
            retry: None,
        };
        assert_eq!(parse_in_chunks(&e.to_bytes(), 3), vec![e]);
    }

    #[test]
    fn an_unterminated_giant_event_is_an_error_not_unbounded_memory() {
        let mut p = SseParser::new(100);
        let mut events = Vec::new();
        assert_eq!(p.feed(&[b'a'; 50], &mut events), Ok(()));
        assert_eq!((events.len(), p.pending_bytes()), (0, 50));
        assert_eq!(
            p.feed(&[b'a'; 60], &mut events),
            Err(SseError::EventTooLarge(100))
        );
        let mut p = SseParser::new(100);
        assert_eq!(
            p.feed(b"data: \xff\n", &mut events),
            Err(SseError::InvalidUtf8)
        );
    }

    /// Fuzzing finding: a chunk holding a complete event and then a broken line lost the event,
    /// while the same stream fed in smaller chunks delivered it.
    #[test]
    fn events_before_an_error_come_out_however_the_stream_is_chunked() {
        let broken: &[u8] = b"data: one\n\ndata: \xc3\x28\n\n";
        let too_big = [b"data: two\n\ndata: ".as_slice(), &[b'x'; 80]].concat();
        for (input, error) in [
            (broken, SseError::InvalidUtf8),
            (too_big.as_slice(), SseError::EventTooLarge(64)),
        ] {
            let whole = parse_until_error(input, input.len());
            assert_eq!(whole.1, Some(error));
            assert_eq!(whole.0.len(), 1, "the complete event comes out");
            for size in 1..input.len() {
                assert_eq!(parse_until_error(input, size), whole, "chunk size {size}");
            }
        }
    }
}
