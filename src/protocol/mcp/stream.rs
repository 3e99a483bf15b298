//! A streamed MCP answer (`text/event-stream`), handled event by event as chunks arrive: each
//! complete event's JSON-RPC data goes through the gateway and is re-serialised (changed or not)
//! at once, so clean events are never held back longer than their own last byte. An incomplete
//! event stays in the shared [`SseParser`] until its blank line arrives. A broken stream (an event
//! over the size limit, not UTF-8, not strict JSON-RPC) ends with error answers for the requests
//! still waiting; nothing after it is passed on.

use super::config::Endpoint;
use super::gateway::{inspect_answer, refuse, rejoin, AnswerVerdict, Inspector, Note};
use super::messages::Pending;
use super::replies::sse_events;
use crate::host::Host;
use crate::protocol::sse::{Event, SseError, SseParser};

/// State of one streamed answer.
#[derive(Debug)]
pub struct AnswerStream {
    parser: SseParser,
    closed: bool,
}

impl AnswerStream {
    pub fn new(max_event_bytes: usize) -> AnswerStream {
        AnswerStream {
            parser: SseParser::new(max_event_bytes),
            closed: false,
        }
    }

    /// True once the stream was cut with error answers; later chunks are swallowed.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Feed the next chunk of the upstream's body; returns the bytes to pass downstream now.
    pub fn feed(
        &mut self,
        ep: &Endpoint<'_>,
        host: &impl Host,
        chunk: &[u8],
        pending: &mut Pending,
        inspector: &mut impl Inspector,
        notes: &mut Vec<Note>,
    ) -> Vec<u8> {
        if self.closed {
            return Vec::new();
        }
        let events = match self.parser.feed(chunk) {
            Ok(events) => events,
            Err(e) => {
                let why = match e {
                    SseError::EventTooLarge(max) => {
                        format!("an event is larger than {max} bytes")
                    }
                    SseError::InvalidUtf8 => "the event stream is not UTF-8".to_owned(),
                };
                return self.cut(ep, pending, &why, notes);
            }
        };
        let mut out = Vec::with_capacity(chunk.len() + 64);
        for event in events {
            if event.data.is_empty() {
                out.extend_from_slice(&event.to_bytes());
                continue;
            }
            match inspect_answer(ep, host, event.data.as_bytes(), pending, inspector, notes) {
                AnswerVerdict::Unchanged => out.extend_from_slice(&event.to_bytes()),
                AnswerVerdict::Replace(messages, batch) => {
                    if let Some(data) = rejoin(&messages, batch) {
                        out.extend_from_slice(&Event { data, ..event }.to_bytes());
                    }
                }
                AnswerVerdict::Refused(errors) => {
                    self.closed = true;
                    out.extend_from_slice(&sse_events(&errors));
                    return out;
                }
            }
        }
        out
    }

    fn cut(
        &mut self,
        ep: &Endpoint<'_>,
        pending: &mut Pending,
        why: &str,
        notes: &mut Vec<Note>,
    ) -> Vec<u8> {
        self.closed = true;
        sse_events(&refuse(ep, pending, why, notes))
    }
}
