//! Guarding a streamed answer (server-sent events) as its chunks pass. Each event is split into
//! pieces by the provider's module: text deltas on channels (a choice's content, a tool call's
//! arguments, a content block), channel ends, and whole documents (Responses' `done` and
//! `completed` events). Per channel the guard keeps only the tail that could still become a match
//! (as the scanner says), so a secret split across events is found, replaced or blocked, while
//! everything else is released at once. Changed events are re-serialised in the provider's
//! format; held text is released in a synthesised delta event just before its channel ends.
//! A tool call's arguments are checked whole when its channel ends, before the client can act on
//! them. After a block the guard emits nothing more; the caller appends the provider's error event.

use serde_json::{Map, Value};

use super::config::LlmSettings;
use super::edit::{apply_edits, Edit};
use super::json_path::{str_field, value_at, JsonPath, Texts};
use super::response::{scan_parts, texts_at, ToolCall};
use super::scan::{harden_for_raw_json, tidy, DocScan, TextScanner, Verdict};
use super::{anthropic, openai_chat, openai_responses, Api, Format, Role, TextKind};
use crate::protocol::sse::{Event, SseError, SseParser};

/// What kind of text a channel carries (it decides the field a released flush is written to).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    Text,
    Refusal,
    Reasoning,
    /// Tool-call arguments: raw JSON text, streamed.
    ToolArgs,
}

/// One independent text stream within an answer: `a` is the choice / output item / content
/// block index, `b` the part within it (content index, tool-call index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelKey {
    pub lane: Lane,
    pub a: u64,
    pub b: u64,
}

impl ChannelKey {
    pub fn new(lane: Lane, a: u64, b: u64) -> ChannelKey {
        ChannelKey { lane, a, b }
    }
}

/// Which channels an event ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Channel(ChannelKey),
    /// Every channel whose `a` is this (a finished choice, output item or content block).
    Group(u64),
    All,
}

impl Scope {
    fn covers(self, key: ChannelKey) -> bool {
        match self {
            Scope::Channel(k) => k == key,
            Scope::Group(a) => key.a == a,
            Scope::All => true,
        }
    }
}

/// A complete document inside an event, scanned whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Doc {
    /// A whole answer of the stream's API (Responses `response`, Anthropic `message`).
    Response,
    /// A Responses output item.
    OutputItem,
    /// A Responses content part.
    ContentPart,
    /// An Anthropic content block.
    ContentBlock,
    /// One string of the model's.
    Text(TextKind),
}

/// What an event carries, as the provider modules see it.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece<'a> {
    /// Text appended to a channel, found at `at` in the event's data.
    Delta {
        key: ChannelKey,
        at: JsonPath<'a>,
        text: &'a str,
        /// The output item it belongs to (Responses), repeated in flush events.
        item: Option<&'a str>,
    },
    /// A tool call begins on this channel.
    ToolStart {
        key: ChannelKey,
        name: &'a str,
    },
    End(Scope),
    Whole {
        at: JsonPath<'a>,
        doc: Doc,
    },
}

impl<'a> Piece<'a> {
    pub fn delta(key: ChannelKey, at: JsonPath<'a>, text: &'a str) -> Piece<'a> {
        Piece::Delta {
            key,
            at,
            text,
            item: None,
        }
    }
}

/// Why the stream must end now. `label` is safe to log (a detection label, a rule id, or
/// `llm.stream` for a stream the filter cannot read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub label: String,
    pub reason: String,
}

impl Block {
    fn unreadable(reason: impl Into<String>) -> Block {
        Block {
            label: "llm.stream".into(),
            reason: reason.into(),
        }
    }
}

/// A replacement made in the stream, for the audit line: label and where, never the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub label: String,
    pub at: String,
}

/// The result of one chunk: the bytes to send on now, what was replaced, and a block if the
/// stream must end (then `bytes` is what may still go out before the caller's error event).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct StreamStep {
    pub bytes: Vec<u8>,
    pub replaced: Vec<Finding>,
    pub blocked: Option<Block>,
}

/// Decides on a tool call the model made, once its arguments are complete.
pub type ToolCheck<'c> = dyn FnMut(&ToolCall) -> Option<Block> + 'c;

struct Channel {
    key: ChannelKey,
    /// Text received but not yet released.
    held: String,
    item_id: Option<String>,
    tool: Option<ToolState>,
}

struct ToolState {
    name: String,
    /// The arguments as received (before any replacement), checked whole at the end.
    args: String,
}

/// Per-response stream state.
pub struct StreamGuard {
    api: Api,
    parser: SseParser,
    channels: Vec<Channel>,
    max_tool_call_bytes: usize,
    max_held_bytes: usize,
    /// Chat: the members every chunk repeats (id, model, ...), for flush chunks.
    chat_envelope: Map<String, Value>,
    /// Responses: the last `sequence_number` seen, for flush events.
    sequence: u64,
    blocked: bool,
}

impl StreamGuard {
    pub fn new(format: Format, settings: &LlmSettings) -> StreamGuard {
        StreamGuard {
            api: format.api,
            parser: SseParser::new(settings.max_event_bytes),
            channels: Vec::new(),
            max_tool_call_bytes: settings.max_tool_call_bytes,
            max_held_bytes: settings.max_event_bytes,
            chat_envelope: Map::new(),
            sequence: 0,
            blocked: false,
        }
    }

    /// Whether the stream was blocked; everything after is dropped.
    pub fn is_blocked(&self) -> bool {
        self.blocked
    }

    /// Take the next chunk of the answer.
    pub fn feed(
        &mut self,
        chunk: &[u8],
        scanner: &dyn TextScanner,
        check: &mut ToolCheck<'_>,
    ) -> StreamStep {
        let mut step = StreamStep::default();
        if self.blocked {
            return step;
        }
        let result = self.events(chunk, scanner, check, &mut step, |e| match e {
            SseError::EventTooLarge(n) => format!("a stream event exceeds {n} bytes"),
            SseError::InvalidUtf8 => "the stream is not valid UTF-8".into(),
        });
        self.settle(result, step)
    }

    /// The upstream ended the stream: dispatch an unterminated last event, release what is held
    /// (scanned as final) and check unfinished tool calls.
    pub fn finish(&mut self, scanner: &dyn TextScanner, check: &mut ToolCheck<'_>) -> StreamStep {
        let mut step = StreamStep::default();
        if self.blocked {
            return step;
        }
        let result = self
            .events(b"\n\n", scanner, check, &mut step, |_| {
                "the stream ended inside an unreadable event".into()
            })
            .and_then(|()| self.end_channels(Scope::All, None, scanner, check, &mut step));
        self.settle(result, step)
    }

    /// Parse `bytes` and handle the events they complete; a broken stream blocks after the
    /// events before the break were handled, so the outcome does not depend on the chunking.
    fn events(
        &mut self,
        bytes: &[u8],
        scanner: &dyn TextScanner,
        check: &mut ToolCheck<'_>,
        step: &mut StreamStep,
        broken: impl FnOnce(SseError) -> String,
    ) -> Result<(), Block> {
        let mut events = Vec::new();
        let parsed = self.parser.feed(bytes, &mut events);
        events
            .into_iter()
            .try_for_each(|ev| self.event(ev, scanner, check, step))?;
        parsed.map_err(|e| Block::unreadable(broken(e)))
    }

    fn settle(&mut self, result: Result<(), Block>, mut step: StreamStep) -> StreamStep {
        if let Err(block) = result {
            self.blocked = true;
            self.channels.clear();
            step.blocked = Some(block);
        }
        step
    }

    fn event(
        &mut self,
        ev: Event,
        scanner: &dyn TextScanner,
        check: &mut ToolCheck<'_>,
        step: &mut StreamStep,
    ) -> Result<(), Block> {
        let data = ev.data.trim();
        if data.is_empty() {
            step.bytes.extend_from_slice(&ev.to_bytes());
            return Ok(());
        }
        if data == "[DONE]" {
            self.end_channels(Scope::All, None, scanner, check, step)?;
            step.bytes.extend_from_slice(&ev.to_bytes());
            return Ok(());
        }
        let mut json: Value = serde_json::from_str(data).map_err(|_| {
            Block::unreadable("an event of the stream is not JSON; it cannot be scanned")
        })?;
        let edits = self.pieces(&json, scanner, check, step)?;
        if edits.is_empty() {
            step.bytes.extend_from_slice(&ev.to_bytes());
            return Ok(());
        }
        apply_edits(&mut json, edits)
            .map_err(|e| Block::unreadable(format!("could not rewrite a stream event: {e}")))?;
        let rewritten = Event {
            data: json.to_string(),
            ..ev
        };
        step.bytes.extend_from_slice(&rewritten.to_bytes());
        Ok(())
    }

    /// Handle the pieces of one event; flush events go to `step` first, and the edits to make
    /// to this event are returned.
    fn pieces(
        &mut self,
        json: &Value,
        scanner: &dyn TextScanner,
        check: &mut ToolCheck<'_>,
        step: &mut StreamStep,
    ) -> Result<Vec<Edit>, Block> {
        let mut pieces = Vec::new();
        match self.api {
            Api::Chat => {
                if self.chat_envelope.is_empty() {
                    self.chat_envelope = openai_chat::envelope_of(json);
                }
                openai_chat::stream_pieces(json, &mut pieces);
            }
            Api::Responses => {
                if let Some(n) = json.get("sequence_number").and_then(Value::as_u64) {
                    self.sequence = n;
                }
                openai_responses::stream_pieces(json, &mut pieces);
            }
            Api::Messages => anthropic::stream_pieces(json, &mut pieces),
        }
        let ends: Vec<Scope> = pieces
            .iter()
            .filter_map(|p| match p {
                Piece::End(scope) => Some(*scope),
                _ => None,
            })
            .collect();
        let mut edits = Vec::new();
        for piece in &pieces {
            match piece {
                Piece::ToolStart { key, name } => {
                    let tool = self.channel(*key).tool.get_or_insert_with(|| ToolState {
                        name: String::new(),
                        args: String::new(),
                    });
                    if tool.name.is_empty() {
                        tool.name = (*name).to_owned();
                    }
                }
                Piece::Delta {
                    key,
                    at,
                    text,
                    item,
                } => {
                    let last = ends.iter().any(|s| s.covers(*key));
                    let (released, labels) = self.delta(*key, text, *item, last, scanner)?;
                    let where_ = at.to_string();
                    step.replaced
                        .extend(labels.into_iter().map(|label| Finding {
                            label,
                            at: where_.clone(),
                        }));
                    if released != *text {
                        edits.push(Edit {
                            path: at.clone().into_owned(),
                            start: 0,
                            end: text.len(),
                            replacement: released,
                        });
                    }
                }
                Piece::Whole { at, doc } => {
                    let scan = self.whole(json, at, *doc, scanner);
                    if let Some(found) = scan.blocked.into_iter().next() {
                        return Err(Block {
                            reason: format!(
                                "{} found in the streamed answer at {}",
                                found.label, found.path
                            ),
                            label: found.label,
                        });
                    }
                    step.replaced
                        .extend(scan.replaced.into_iter().map(|f| Finding {
                            label: f.label,
                            at: f.path,
                        }));
                    edits.extend(scan.edits);
                }
                Piece::End(_) => {}
            }
        }
        for scope in ends {
            self.end_channels(scope, Some(json), scanner, check, step)?;
        }
        Ok(edits)
    }

    /// Append a delta to its channel; return the text to send now in its place and the labels
    /// replaced in it.
    fn delta(
        &mut self,
        key: ChannelKey,
        text: &str,
        item: Option<&str>,
        last: bool,
        scanner: &dyn TextScanner,
    ) -> Result<(String, Vec<String>), Block> {
        let (max_tool, max_held) = (self.max_tool_call_bytes, self.max_held_bytes);
        let ch = self.channel(key);
        if ch.item_id.is_none() {
            ch.item_id = item.map(str::to_owned);
        }
        if key.lane == Lane::ToolArgs {
            let tool = ch.tool.get_or_insert_with(|| ToolState {
                name: String::new(),
                args: String::new(),
            });
            if tool.args.len() + text.len() > max_tool {
                return Err(Block {
                    label: "llm.max_tool_call_bytes".into(),
                    reason: format!(
                        "a streamed tool call exceeds {max_tool} bytes and cannot be checked"
                    ),
                });
            }
            tool.args.push_str(text);
        }
        ch.held.push_str(text);
        let released = release(&mut ch.held, key.lane, last, scanner)?;
        if ch.held.len() > max_held {
            return Err(Block::unreadable(format!(
                "the scanner held back more than {max_held} bytes of the stream"
            )));
        }
        Ok(released)
    }

    /// End the channels in `scope`: release what they hold in a flush event, check finished
    /// tool calls.
    fn end_channels(
        &mut self,
        scope: Scope,
        ending: Option<&Value>,
        scanner: &dyn TextScanner,
        check: &mut ToolCheck<'_>,
        step: &mut StreamStep,
    ) -> Result<(), Block> {
        let (ended, kept): (Vec<Channel>, Vec<Channel>) = std::mem::take(&mut self.channels)
            .into_iter()
            .partition(|c| scope.covers(c.key));
        self.channels = kept;
        for mut ch in ended {
            if !ch.held.is_empty() {
                let (text, labels) = release(&mut ch.held, ch.key.lane, true, scanner)?;
                step.replaced
                    .extend(labels.into_iter().map(|label| Finding {
                        label,
                        at: "flush".into(),
                    }));
                step.bytes
                    .extend_from_slice(&self.flush(&ch, &text, ending).to_bytes());
            }
            if let Some(tool) = ch.tool.filter(|_| ch.key.lane == Lane::ToolArgs) {
                let call = ToolCall::from_text(&tool.name, &tool.args, JsonPath::root());
                if let Some(block) = check(&call) {
                    return Err(block);
                }
            }
        }
        Ok(())
    }

    fn flush(&self, ch: &Channel, text: &str, ending: Option<&Value>) -> Event {
        match self.api {
            Api::Chat => {
                Event::data(openai_chat::flush_event(ch.key, text, &self.chat_envelope).to_string())
            }
            Api::Responses => {
                let item = ch
                    .item_id
                    .as_deref()
                    .or(ending.and_then(|e| str_field(e, "item_id")))
                    .unwrap_or("");
                let (name, data) = openai_responses::flush_event(ch.key, text, item, self.sequence);
                named(name, data)
            }
            Api::Messages => {
                let (name, data) = anthropic::flush_event(ch.key, text);
                named(name, data)
            }
        }
    }

    /// Scan a whole document inside an event.
    fn whole(
        &self,
        json: &Value,
        at: &JsonPath<'_>,
        doc: Doc,
        scanner: &dyn TextScanner,
    ) -> DocScan {
        let Some(v) = value_at(json, at) else {
            return DocScan::default();
        };
        let mut texts = Texts::new();
        let mut calls = Vec::new();
        match doc {
            Doc::Response => texts_at(self.api, v, at, &mut texts, &mut calls),
            Doc::OutputItem => openai_responses::output_item(v, at, &mut texts, &mut calls),
            Doc::ContentPart => openai_responses::part_texts(v, at, &mut texts),
            Doc::ContentBlock => anthropic::answer_block(v, at, &mut texts, &mut calls),
            Doc::Text(kind) => texts.string(Role::Assistant, kind, at.clone(), v),
        }
        scan_parts(&texts, &calls, scanner)
    }

    fn channel(&mut self, key: ChannelKey) -> &mut Channel {
        let i = match self.channels.iter().position(|c| c.key == key) {
            Some(i) => i,
            None => {
                self.channels.push(Channel {
                    key,
                    held: String::new(),
                    item_id: None,
                    tool: None,
                });
                self.channels.len() - 1
            }
        };
        &mut self.channels[i]
    }
}

fn named(name: &str, data: Value) -> Event {
    Event {
        event: Some(name.to_owned()),
        data: data.to_string(),
        ..Event::default()
    }
}

/// Scan what a channel holds; return the text that can go now (with replacements applied) and
/// the labels replaced, keeping only a tail that could still become a match. `last`: nothing
/// follows, release everything. A blocking match anywhere ends the stream.
fn release(
    held: &mut String,
    lane: Lane,
    last: bool,
    scanner: &dyn TextScanner,
) -> Result<(String, Vec<String>), Block> {
    let mut matches = tidy(scanner.find(held), held);
    if lane == Lane::ToolArgs {
        harden_for_raw_json(&mut matches, held);
    }
    if let Some(m) = matches.iter().find(|m| m.verdict == Verdict::Block) {
        return Err(Block {
            label: m.label.clone(),
            reason: format!("{} found in the streamed answer", m.label),
        });
    }
    let len = held.len();
    let mut cut = if last {
        len
    } else {
        scanner.hold_from(held).min(len)
    };
    if !last {
        // A match reaching the end may still grow (a longer key), unless it is as long as any can be.
        let max = scanner.max_match_len();
        if let Some(m) = matches
            .iter()
            .find(|m| m.end == len && m.end - m.start < max)
        {
            cut = cut.min(m.start);
        }
        for m in matches.iter().rev() {
            if m.start < cut && m.end > cut {
                cut = m.start;
            }
        }
        cut = held.floor_char_boundary(cut);
    }
    // `tidy` left sorted, disjoint spans on char boundaries, so every slice below exists.
    let slice = |from: usize, to: usize| {
        held.get(from..to).ok_or_else(|| {
            Block::unreadable("internal error: a match span does not fit the stream text")
        })
    };
    let mut out = String::with_capacity(cut);
    let mut labels = Vec::new();
    let mut pos = 0;
    for m in matches.into_iter().filter(|m| m.end <= cut) {
        if let Verdict::Replace(replacement) = m.verdict {
            out.push_str(slice(pos, m.start)?);
            out.push_str(&replacement);
            pos = m.end;
            labels.push(m.label);
        }
    }
    out.push_str(slice(pos, cut)?);
    held.drain(..cut);
    Ok((out, labels))
}

#[cfg(test)]
mod tests;
